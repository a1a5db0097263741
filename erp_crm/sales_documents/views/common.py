"""What the document pages share (and the billing pages and the API reuse): file downloads."""

from __future__ import annotations

from urllib.parse import quote

from werkzeug.wrappers import Response

MIMETYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "zip": "application/zip",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def send_bytes(data: bytes, filename: str, fmt: str, *, inline: bool = False) -> Response:
    """A download with a Cyrillic file name (RFC 6266 filename*), never cached by proxies."""
    ascii_name = filename.encode("ascii", "replace").decode().replace("?", "_")
    disposition = "inline" if inline else "attachment"
    response = Response(data, mimetype=MIMETYPES[fmt])
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response
