"""File downloads: one way to answer with an attachment."""

from __future__ import annotations

import io

from flask import Response, send_file


def attachment(data: bytes | str, filename: str, mimetype: str) -> Response:
    """Answer ``data`` as a download named ``filename``.

    Names come from users (data set names, uploaded file names): ``send_file`` encodes
    non-ASCII names per RFC 6266 (``filename*=UTF-8''…``) with an ASCII fallback, which a
    hand-written ``Content-Disposition`` would not; servers refuse non-Latin-1 headers.
    """
    if isinstance(data, str):
        data = data.encode("utf-8")
    # A CR or LF (or any control character) in a name would split the header: a space instead.
    filename = "".join(" " if ord(ch) < 0x20 or ord(ch) == 0x7F else ch for ch in filename)
    return send_file(
        io.BytesIO(data), mimetype=mimetype, as_attachment=True, download_name=filename
    )
