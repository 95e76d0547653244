"""The handheld app: an installable offline web app for field technicians, served at
``/handheld/``.

The pages themselves hold no data and need no cookie: the app signs in with a bearer
token, keeps it on the device (IndexedDB) and speaks only the sync API
(``/api/v1/sync/...``), like a native app or the simulator would. This module serves the
app shell: its page, its web manifest and its service worker. The service worker lives at
``/handheld/sw.js`` so that its scope is ``/handheld/``; the other assets are ordinary
static files under ``/static/handheld/``.

The service worker caches the shell under a version that is the hash of every shell file,
so that a changed asset installs a new worker and a fresh cache, and an unchanged shell is
never fetched again (the app starts with no network at all).
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from api.web.navigation import NavItem, register_nav_item

HANDHELD_DIR = Path(__file__).resolve().parent.parent / "static" / "handheld"
STATIC_PREFIX = "/static/handheld/"
# The files the service worker caches at install: everything the app needs to start offline.
SHELL_ASSETS = (
    "app.js",
    "api.js",
    "db.js",
    "logic.js",
    "media.js",
    "scan.js",
    "sync.js",
    "views.js",
    "handheld.css",
    "icon.svg",
    "icon-192.png",
    "icon-512.png",
)
SHELL_PAGES = ("/handheld/", "/handheld/manifest.webmanifest")
VERSION_MARK = "__SHELL_VERSION__"
ASSETS_MARK = "__SHELL_ASSETS__"

router = APIRouter(include_in_schema=False)
register_nav_item(NavItem("Handheld", "/handheld/", "sync", order=15))


@cache
def shell_version() -> str:
    """The hash of every shell file (read once per process: the files ship with the code)."""
    digest = hashlib.sha256()
    for name in ("index.html", "manifest.webmanifest", "sw.js", *SHELL_ASSETS):
        digest.update(name.encode())
        digest.update((HANDHELD_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def _no_cache(response: Response) -> Response:
    # The browser revalidates the shell entry points; the service worker does the caching.
    response.headers["Cache-Control"] = "no-cache"
    return response


@router.get("/handheld")
def handheld_root() -> Response:
    return RedirectResponse("/handheld/", status_code=308)


@router.get("/handheld/")
def handheld_page() -> Response:
    return _no_cache(FileResponse(HANDHELD_DIR / "index.html", media_type="text/html"))


@router.get("/handheld/manifest.webmanifest")
def handheld_manifest() -> Response:
    return _no_cache(
        FileResponse(HANDHELD_DIR / "manifest.webmanifest", media_type="application/manifest+json")
    )


@router.get("/handheld/sw.js")
def handheld_service_worker() -> Response:
    """The service worker, with the shell's version and file list written in."""
    assets = [*SHELL_PAGES, *(STATIC_PREFIX + name for name in SHELL_ASSETS)]
    source = (HANDHELD_DIR / "sw.js").read_text(encoding="utf-8")
    source = source.replace(VERSION_MARK, shell_version()).replace(
        ASSETS_MARK, ", ".join(f'"{a}"' for a in assets)
    )
    return _no_cache(
        Response(
            source,
            media_type="text/javascript",
            headers={"Service-Worker-Allowed": "/handheld/"},
        )
    )
