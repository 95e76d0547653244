"""What the handheld browser tests share: a phone's browser context, a request counter
around the app, a camera photo, and waiting for the service worker."""

from __future__ import annotations

import struct
import zlib
from typing import Any

# A mid-range Android phone in Cotonou, with location allowed.
PHONE: dict[str, Any] = {
    "viewport": {"width": 393, "height": 851},
    "device_scale_factor": 2.75,
    "is_mobile": True,
    "has_touch": True,
    "geolocation": {"longitude": 2.3912, "latitude": 6.3703, "accuracy": 8},
    "permissions": ["geolocation"],
    "service_workers": "allow",
}


class CountingApp:
    """An ASGI wrapper that counts the HTTP requests reaching the server."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.requests = 0
        self.paths: list[str] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.requests += 1
            self.paths.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


# The browser's own check for a newer service worker (on navigation) is not covered by
# Playwright's offline emulation (microsoft/playwright#2311): a phone without network fails
# it and keeps the worker it has. Every other request while "offline" is a test failure.
SW_UPDATE_CHECK = "GET /handheld/sw.js"


def requests_since(server: CountingApp, start: int) -> list[str]:
    """What reached the server after request number ``start``, the SW update check aside."""
    return [p for p in server.paths[start:] if p != SW_UPDATE_CHECK]


def wait_for_service_worker(page: Any) -> None:
    """Until the service worker is active, has cached the shell and controls the page."""
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    page.wait_for_function("navigator.serviceWorker.controller !== null")


def camera_png(width: int = 1200, height: int = 900) -> bytes:
    """A PNG as a phone's camera might hand one over (a gradient, so it compresses like a
    picture rather than a blank page)."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes(((x * 255) // width, (y * 255) // height, ((x + y) * 7) % 256))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows), 6))
        + chunk(b"IEND", b"")
    )
