"""File downloads: one way to answer with an attachment."""

from __future__ import annotations

import io
from collections.abc import Iterable

from flask import Response, send_file


def attachment(data: bytes | str | Iterable[bytes], filename: str, mimetype: str) -> Response:
    """Answer ``data`` as a download named ``filename``; an iterable of byte chunks (a
    generator) is streamed as it is produced, without a Content-Length.

    Names come from users (data set names, uploaded file names): ``send_file`` encodes
    non-ASCII names per RFC 6266 (``filename*=UTF-8''…``) with an ASCII fallback, which a
    hand-written ``Content-Disposition`` would not; servers refuse non-Latin-1 headers.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    # A CR or LF (or any control character) in a name would split the header: a space instead.
    filename = "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in filename)
    source = io.BytesIO(data) if isinstance(data, bytes) else _ChunkFile(data)
    return send_file(source, mimetype=mimetype, as_attachment=True, download_name=filename)


class _ChunkFile(io.RawIOBase):
    """A read-only file over an iterable of byte chunks, for ``send_file`` to stream."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._chunk = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._chunk:
            piece = next(self._chunks, None)
            if piece is None:
                return 0
            self._chunk = memoryview(piece)
        n = min(len(buffer), len(self._chunk))
        buffer[:n] = self._chunk[:n]
        self._chunk = self._chunk[n:]
        return n
