"""The server behind the browser tests closes every response, even one whose connection the
client reset (as Chromium does when a click navigates while the favicon is still loading)."""

from __future__ import annotations

import socket
import struct
import threading
from urllib.request import urlopen

from tests.e2e.conftest import serve


class Body:
    """A response body that yields once, then waits for ``release`` before it ends."""

    def __init__(self, release: threading.Event):
        self.release = release
        self.closes = 0
        self.closed = threading.Event()

    def __iter__(self):
        yield b"body"
        self.release.wait(10)

    def close(self) -> None:
        self.closes += 1
        self.closed.set()


def serve_body(body: Body):
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "4")])
        return body

    return serve(app)


def test_a_response_is_closed_when_the_client_resets_the_connection():
    release = threading.Event()
    body = Body(release)
    server, thread, base_url = serve_body(body)
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)) as client:
            client.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
            received = b""
            while not received.endswith(b"body"):
                received += client.recv(1024)
            # Close with a reset (linger 0), as a browser cancelling a request does.
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        release.set()  # the body ends after the reset: Werkzeug then reads a reset socket
        assert body.closed.wait(10), "the response was never closed"
        assert body.closes == 1
    finally:
        release.set()
        server.shutdown()
        thread.join(10)


def test_a_response_read_to_the_end_is_closed_once():
    release = threading.Event()
    release.set()
    body = Body(release)
    server, thread, base_url = serve_body(body)
    try:
        with urlopen(base_url) as response:
            assert response.read() == b"body"
        assert body.closed.wait(10)
        assert body.closes == 1
    finally:
        server.shutdown()
        thread.join(10)
