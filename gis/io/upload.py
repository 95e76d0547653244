"""An uploaded network file, staged in a private temporary folder: written under a size
limit with a name of our own (the client's name is never used as a path), told apart by
its content (``gis.io.sniff``, whatever its name says), and a zip extracted safely (no absolute or parent paths,
no links, bounded size) to the OpenDSS folder or the single GeoJSON / GeoPackage inside.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Final

from gis.errors import NetworkFormatUnsupportedError
from gis.io.sniff import sniff

MAX_UPLOAD_BYTES: Final = 200 * 1024 * 1024
MAX_UNZIPPED_BYTES: Final = 1024 * 1024 * 1024
MAX_ZIP_MEMBERS: Final = 10_000


def _safe_name(filename: str | None) -> str:
    """The client's file name reduced to a plain name (reports show it); never a path."""
    name = PurePosixPath((filename or "").replace("\\", "/")).name
    name = "".join(c if c.isalnum() or c in "._-" else "_" for c in name).lstrip(".")
    return name[:100] or "upload"


def _save(stream: BinaryIO, folder: Path, filename: str | None) -> Path:
    (folder / "upload").mkdir()
    target = folder / "upload" / _safe_name(filename)
    written = 0
    with target.open("wb") as sink:
        while chunk := stream.read(1024 * 1024):
            written += len(chunk)
            if written > MAX_UPLOAD_BYTES:
                raise NetworkFormatUnsupportedError("the upload is larger than 200 MB")
            sink.write(chunk)
    return target


def _unzip(archive: Path, folder: Path) -> Path:
    target = folder / "unzipped"
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = bundle.infolist()
            too_big = sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES
            if too_big or len(members) > MAX_ZIP_MEMBERS:
                raise NetworkFormatUnsupportedError("the zip is too large once extracted")
            for member in members:
                parts = PurePosixPath(member.filename.replace("\\", "/")).parts
                if member.filename.startswith(("/", "\\")) or ".." in parts:
                    raise NetworkFormatUnsupportedError(f"unsafe path in zip: {member.filename!r}")
                # Unix mode bits in the high word: 0o12 is a symbolic link.
                if (member.external_attr >> 28) == 0o12:
                    raise NetworkFormatUnsupportedError(
                        f"symbolic link in zip: {member.filename!r}"
                    )
            bundle.extractall(target)
    except zipfile.BadZipFile as exc:
        raise NetworkFormatUnsupportedError(f"not a zip file: {exc}") from None
    masters = sorted(p for p in target.rglob("*.dss") if p.name.lower().startswith("master"))
    if masters:
        return masters[0].parent
    files = [p for p in sorted(target.rglob("*")) if p.is_file() and not p.is_symlink()]
    inside = [p for p in files if sniff(p) in {"geojson", "gpkg"}] if len(files) == 1 else []
    if inside:
        return inside[0]
    raise NetworkFormatUnsupportedError(
        "the zip holds neither an OpenDSS Master*.dss file nor a single GeoJSON or GeoPackage"
    )


def stage_upload(stream: BinaryIO, filename: str | None, folder: Path) -> Path:
    """Write the upload into ``folder`` (which the caller removes) and return the path to
    import: a GeoJSON or GeoPackage file, or an OpenDSS folder."""
    path = _save(stream, folder, filename)
    kind = sniff(path)
    if kind == "zip":
        return _unzip(path, folder)
    if kind == "opendss":
        raise NetworkFormatUnsupportedError("upload an OpenDSS bundle as a .zip of its folder")
    return path
