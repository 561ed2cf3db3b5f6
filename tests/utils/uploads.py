"""Multipart bodies for upload tests, encoded by Werkzeug.

``encode_multipart`` builds the body in memory: the test client's own ``data={"file": ...}``
path spools bodies over 500 kB to a temporary file it never closes, a ResourceWarning that
our warnings-are-errors setting turns into a failure.
"""

from __future__ import annotations

import io

from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart


def multipart(filename: str, content: bytes, **fields) -> tuple[bytes, str]:
    """``(body, content_type)`` of a form with ``fields`` and ``content`` as the file."""
    values = {key: str(value) for key, value in fields.items()}
    values["file"] = FileStorage(io.BytesIO(content), filename=filename, content_type="text/csv")
    boundary, body = encode_multipart(values)
    return body, f"multipart/form-data; boundary={boundary}"
