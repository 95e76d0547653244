"""A file answered for download (or to show inline): one place that writes the
``Content-Disposition`` header, so every export names its file the same way."""

from __future__ import annotations

from fastapi import Response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def attachment(
    content: bytes | str, filename: str, media_type: str, *, inline: bool = False
) -> Response:
    """``content`` as a file called ``filename``: saved by the browser, or shown in it
    (``inline``, e.g. a PDF)."""
    disposition = "inline" if inline else "attachment"
    return Response(
        content,
        media_type=media_type,
        headers={"Content-Disposition": f'{disposition}; filename="{filename}"'},
    )
