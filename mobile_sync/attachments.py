"""Photos from handhelds: resumable, idempotent uploads checked against their sha256.

The bytes live in the attachment folder (setting ``sync_attachments_dir``), content-
addressed: ``<dir>/<first two hex>/<sha256>``; a photo still arriving is
``<dir>/partial/<sha256>.part`` (its size is the ``Upload-Offset`` a device resumes from).
The database row (``SyncAttachment``) is written only once the whole file hashed right and
sits in its final place, so the row is the proof: a file without a row (a transaction
rolled back after the rename) is simply received again, the same bytes to the same name.

Chunks: ``Content-Range: bytes a-b/total``. A chunk may start anywhere up to the bytes
already received (a retried chunk overwrites its own tail); beyond them it is refused (409,
with the ``Upload-Offset`` to resume from). Concurrent uploads of one photo take turns on a
file lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from core.context import Actor
from core.settings import get_settings
from mobile_sync.errors import (
    AttachmentHashMismatchError,
    AttachmentNotFoundError,
    AttachmentRangeError,
    AttachmentTypeError,
)
from mobile_sync.models import SyncAttachment, SyncDevice

ACCEPTED_TYPES = {"image/jpeg", "image/png"}
_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15})$")
_MAGIC = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


@dataclass(frozen=True)
class UploadState:
    sha256: str
    received: int  # bytes held so far (the whole size once complete)
    total: int | None
    complete: bool
    created: bool = False  # this request completed it


def attachments_dir() -> Path:
    settings = get_settings()
    return settings.sync_attachments_dir or settings.data_dir / "attachments"


def final_path(sha256: str) -> Path:
    return attachments_dir() / sha256[:2] / sha256


def _partial_path(sha256: str) -> Path:
    return attachments_dir() / "partial" / f"{sha256}.part"


def parse_range(header: str | None, length: int) -> tuple[int, int]:
    """(first byte, total size) of a chunk of ``length`` bytes; no header: the whole file."""
    if header is None:
        return 0, length
    match = _RANGE.match(header.strip())
    if match is None:
        raise AttachmentRangeError("Content-Range must read 'bytes <first>-<last>/<total>'")
    first, last, total = (int(g) for g in match.groups())
    if last < first or last - first + 1 != length or last >= total:
        raise AttachmentRangeError(
            f"Content-Range {first}-{last}/{total} does not match the {length} bytes sent"
        )
    return first, total


def _sniff(path: Path) -> str | None:
    with path.open("rb") as handle:
        head = handle.read(8)
    return next((kind for magic, kind in _MAGIC if head.startswith(magic)), None)


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def _locked(sha256: str) -> Iterator[Path]:
    partial = _partial_path(sha256)
    partial.parent.mkdir(parents=True, exist_ok=True)
    with (partial.parent / f"{sha256}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield partial
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def stored(session: Session, sha256: str) -> SyncAttachment | None:
    return session.scalar(select(SyncAttachment).where(SyncAttachment.sha256 == sha256))


def state(session: Session, *, sha256: str) -> UploadState:
    """How much of a photo the server holds (HEAD): complete, partial, or unknown (404)."""
    row = stored(session, sha256)
    if row is not None:
        return UploadState(sha256, row.size, row.size, True)
    partial = _partial_path(sha256)
    if partial.exists():
        return UploadState(sha256, partial.stat().st_size, None, False)
    raise AttachmentNotFoundError(f"no photo {sha256} received")


def receive(
    session: Session,
    *,
    actor: Actor,
    device: SyncDevice | None,
    sha256: str,
    body: bytes,
    content_type: str | None,
    content_range: str | None,
) -> UploadState:
    """Take one chunk (or the whole photo) of ``sha256``; once all bytes are there, check
    the hash and the image type, move it into place and record it. Idempotent. ``device``
    is None for a photo sent from no handheld (a customer's meter photo on the portal)."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media and media not in ACCEPTED_TYPES | {"application/octet-stream"}:
        raise AttachmentTypeError(f"photos are JPEG or PNG, not {media}")
    row = stored(session, sha256)
    if row is not None:
        return UploadState(sha256, row.size, row.size, True)
    first, total = parse_range(content_range, len(body))
    limit = get_settings().sync_attachment_max_bytes
    if total > limit:
        raise AttachmentRangeError(f"a photo may not pass {limit} bytes")
    with _locked(sha256) as partial:
        held = partial.stat().st_size if partial.exists() else 0
        if first > held:
            raise AttachmentRangeError(
                f"this chunk starts at byte {first} but {held} are received; resume there",
                extra={"upload_offset": held},
            )
        with partial.open("r+b" if partial.exists() else "wb") as handle:
            handle.truncate(first)
            handle.seek(first)
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        received = first + len(body)
        if received < total:
            return UploadState(sha256, received, total, False)
        return _complete(session, actor, device, sha256, partial, received)


def _complete(
    session: Session,
    actor: Actor,
    device: SyncDevice | None,
    sha256: str,
    partial: Path,
    size: int,
) -> UploadState:
    if _hash_file(partial) != sha256:
        partial.unlink(missing_ok=True)
        raise AttachmentHashMismatchError(
            f"the {size} bytes received do not hash to {sha256}; nothing was stored"
        )
    kind = _sniff(partial)
    if kind is None:
        partial.unlink(missing_ok=True)
        raise AttachmentTypeError("the bytes are neither a JPEG nor a PNG image")
    target = final_path(sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    _fsync_dir(target.parent)
    result = session.execute(
        insert(SyncAttachment)
        .values(
            sha256=sha256,
            size=size,
            content_type=kind,
            uploaded_by=actor.user_id,
            device_id=device.id if device is not None else None,
        )
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return UploadState(sha256, size, size, True, created=bool(result.rowcount))


def present(session: Session, hashes: set[str]) -> set[str]:
    """Which of ``hashes`` are stored whole."""
    if not hashes:
        return set()
    return set(
        session.scalars(select(SyncAttachment.sha256).where(SyncAttachment.sha256.in_(hashes)))
    )


def file_matches(sha256: str) -> bool:
    """The stored file still hashes to its name (a check for tests and audits)."""
    path = final_path(sha256)
    return path.exists() and _hash_file(path) == sha256
