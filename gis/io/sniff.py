"""What a network file is, told from its content (never from its name), and the GDAL
settings under which the one format still read through GDAL (GeoPackage) is opened.

A file named ``.geojson`` may be a GDAL VRT pointing at any file on the server, a
``/vsicurl/`` path would reach the network: neither ever reaches GDAL. GeoJSON is parsed
by the reader itself (``gis.io.geojson``), a GeoPackage must be an SQLite database
carrying the GeoPackage application id, an OpenDSS bundle is a folder of text files.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import pyogrio

from gis.errors import NetworkFormatUnsupportedError

_SQLITE: Final = b"SQLite format 3\x00"
_ZIP: Final = (b"PK\x03\x04", b"PK\x05\x06")
# The SQLite header's application_id (offset 68): "GPKG", or "GP10"/"GP11" of GeoPackage
# 1.0 / 1.1 files.
_GPKG_IDS: Final = (b"GPKG", b"GP10", b"GP11")
_UTF8_BOM: Final = b"\xef\xbb\xbf"
_DSS_WORDS: Final = ("clear", "new ", "redirect", "compile", "set ", "!", "//")

# GDAL must read the one local file it is given and nothing else: no HTTP or cloud
# virtual file systems, no SQLite virtual tables over other files, no Python in VRTs.
GDAL_SAFE_OPTIONS: Final = {
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".kilowatch-no-remote-files",
    "GDAL_HTTP_MAX_RETRY": "0",
    "GDAL_HTTP_TIMEOUT": "1",
    "GDAL_HTTP_CONNECTTIMEOUT": "1",
    "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
    "GDAL_VRT_ENABLE_PYTHON": "NO",
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
}
pyogrio.set_gdal_config_options(GDAL_SAFE_OPTIONS)


def _head(path: Path, size: int = 100) -> bytes:
    with path.open("rb") as stream:
        return stream.read(size)


def sniff(path: Path) -> str:
    """``geojson`` | ``gpkg`` | ``zip`` | ``opendss`` (a folder, or a text file of OpenDSS
    commands), from the content; anything else is a NetworkFormatUnsupportedError."""
    if "/vsi" in str(path).lower():
        raise NetworkFormatUnsupportedError("GDAL virtual file system paths are not files")
    if path.is_symlink():
        raise NetworkFormatUnsupportedError(f"{path.name!r} is a symbolic link, not a file")
    if path.is_dir():
        return "opendss"
    if not path.is_file():
        raise NetworkFormatUnsupportedError(f"{path.name!r} is not a regular file")
    head = _head(path)
    if head.startswith(_SQLITE):
        if head[68:72] in _GPKG_IDS:
            return "gpkg"
        raise NetworkFormatUnsupportedError(
            f"{path.name!r} is an SQLite database but not a GeoPackage"
        )
    if head.startswith(_ZIP):
        return "zip"
    text = head.removeprefix(_UTF8_BOM).lstrip()
    if text.startswith(b"{"):
        return "geojson"
    if b"\x00" not in head and text.lower().startswith(tuple(w.encode() for w in _DSS_WORDS)):
        return "opendss"
    raise NetworkFormatUnsupportedError(
        f"{path.name!r} is neither GeoJSON, a GeoPackage nor an OpenDSS file"
    )
