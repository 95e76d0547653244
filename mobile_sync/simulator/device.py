"""One simulated handheld: a real HTTP client (httpx) speaking the sync protocol, with a
durable outbox (``mobile_sync.simulator.outbox``) and its fault plan.

It signs in, enrolls, pulls its assignments, captures records (into the outbox first),
then syncs until the outbox is empty and every photo is stored: batches of the oldest
records, each record deleted only with its receipt; photos uploaded (resumably) when a
receipt says they are missing. Every transport failure is retried with a growing pause,
so a server killed mid-request and restarted is simply waited for.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from mobile_sync.simulator.faults import Faults
from mobile_sync.simulator.outbox import Outbox

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# Answers that mean "nothing was saved, send it again": a transaction that lost to a
# concurrent one, the database restarting or busy, the server failing.
RETRY_CODES = {"transaction_conflict", "database_unavailable", "database_busy"}


def retryable(response: httpx.Response) -> bool:
    if response.status_code >= 500:
        return True
    if response.status_code in (409, 503) and "problem+json" in response.headers.get(
        "content-type", ""
    ):
        return response.json().get("code") in RETRY_CODES
    return False


class DroppedError(Exception):
    """A connection the fault plan cut."""


class GaveUpError(Exception):
    """The server did not come back within the deadline."""


@dataclass
class DeviceSpec:
    """Who carries the device and what they read when no round is assigned."""

    index: int
    username: str
    password: str
    registers: list[int] = field(default_factory=list)
    token: str | None = None  # a bearer token instead of signing in


@dataclass
class DeviceReport:
    index: int
    username: str
    device_id: int | None = None
    created: int = 0
    receipts: dict[str, int] = field(default_factory=dict)
    pushes: int = 0
    retries: int = 0
    photos_uploaded: int = 0
    batch_ms: list[float] = field(default_factory=list)
    pull_ms: list[float] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)


class Device:
    def __init__(
        self,
        spec: DeviceSpec,
        *,
        url: str,
        state_dir: Path,
        faults: Faults,
        batch_size: int = 50,
        deadline_s: float = 120.0,
        timeout_s: float = 30.0,
        photo_every: int = 4,
    ) -> None:
        self.spec = spec
        self.photo_every = photo_every
        self.faults = faults
        self.batch_size = batch_size
        self.deadline_s = deadline_s
        self.outbox = Outbox(state_dir / f"device-{spec.index:05d}.sqlite")
        self.http = httpx.Client(base_url=url, timeout=timeout_s)
        self.token: str | None = None
        self.report = DeviceReport(spec.index, spec.username)

    def close(self) -> None:
        self.http.close()
        self.outbox.close()

    # -- plumbing ---------------------------------------------------------------------------

    def _retrying(self) -> Iterator[int]:
        """Attempts until the deadline, pausing longer after each failure."""
        started = time.monotonic()
        pause = 0.05
        attempt = 0
        while time.monotonic() - started < self.deadline_s:
            yield attempt
            attempt += 1
            self.report.retries += 1
            time.sleep(pause)
            pause = min(pause * 1.6, 0.5)
        raise GaveUpError(f"device {self.spec.index}: no answer within {self.deadline_s}s")

    def _headers(self) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"}
        device = self.outbox.get("device")
        if device:
            headers["X-Kilowatch-Device"] = device
        return headers

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried on transport errors and 5xx (the server restarting)."""
        for _ in self._retrying():
            try:
                response = self.http.request(method, path, headers=self._headers(), **kwargs)
            except httpx.TransportError:
                continue
            if retryable(response):
                continue
            return response
        raise AssertionError("unreachable")

    def _ok(self, response: httpx.Response, what: str) -> Any:
        if response.status_code >= 300:
            raise RuntimeError(f"{what}: {response.status_code} {response.text[:300]}")
        return response.json() if response.content else None

    # -- the protocol -------------------------------------------------------------------------

    def sign_in(self) -> None:
        if self.spec.token:
            self.token = self.spec.token
            return
        for _ in self._retrying():
            try:
                response = self.http.post(
                    "/api/v1/auth/token",
                    data={"username": self.spec.username, "password": self.spec.password},
                )
            except httpx.TransportError:
                continue
            if response.status_code < 500:
                self.token = self._ok(response, "sign in")["access_token"]
                return

    def enroll(self) -> None:
        if self.outbox.get("device"):
            self.report.device_id = int(str(self.outbox.get("device")).split(".")[0])
            return
        device_uuid = self.outbox.get("device_uuid") or f"sim-{uuid.uuid4().hex}"
        self.outbox.put(device_uuid=device_uuid)
        body = self._ok(
            self._call(
                "POST",
                "/api/v1/sync/devices",
                json={"device_uuid": device_uuid, "label": f"simulator {self.spec.index}"},
            ),
            "enroll",
        )
        self.outbox.put(device=f"{body['device_id']}.{body['device_secret']}")
        self.report.device_id = body["device_id"]

    def pull(self) -> None:
        while True:
            cursor = self.outbox.get("cursor")
            params = {"cursor": cursor} if cursor else {}
            began = time.perf_counter()
            page = self._ok(self._call("GET", "/api/v1/sync/pull", params=params), "pull")
            self.report.pull_ms.append((time.perf_counter() - began) * 1000)
            self.outbox.apply_changes(page["changes"], page["cursor"], page["route_version"])
            if not page["has_more"]:
                return

    def now(self) -> datetime:
        """The device's clock (wrong by the fault plan's offset)."""
        return datetime.now(UTC) + self.faults.clock_offset

    def capture(self, count: int) -> None:
        """Create ``count`` records (reads on the round's stops, some skips, some photos)
        into the outbox, unless this device already created them (a resumed run)."""
        if self.outbox.count("created") >= count:
            return
        stops = [s for s in self.outbox.assignments("round_item")]
        rng = (
            self.faults.rng if self.faults.active else __import__("random").Random(self.spec.index)
        )
        records: list[dict[str, Any]] = []
        photos: dict[str, bytes] = {}
        start = self.now() - timedelta(minutes=count + 5)
        for n in range(count):
            captured = start + timedelta(minutes=n, seconds=self.spec.index % 60)
            record = self._record(n, stops, captured, rng)
            if record is None:
                break
            if self.photo_every and n % self.photo_every == 1:
                data = PNG_MAGIC + rng.randbytes(rng.randint(2_000, 9_000))
                sha = hashlib.sha256(data).hexdigest()
                photos[sha] = data
                record["photos"] = [sha]
            records.append(record)
        self.outbox.add(records, photos)
        self.report.created = self.outbox.count("created")

    def _record(
        self, n: int, stops: list[dict[str, Any]], captured: datetime, rng: Any
    ) -> dict[str, Any] | None:
        base: dict[str, Any] = {
            "uuid": str(uuid.uuid4()),
            "captured_at": captured.isoformat(),
            "photos": [],
            "scanned_serial": None,
            "gps": None,
        }
        if stops:
            stop = stops[n % len(stops)]
            data = stop["data"]
            version = stop["version"] - 1 if self.faults.stale() else stop["version"]
            location = data.get("location") or {}
            if location:
                far = 0.0006 if rng.random() < 0.1 else 0.00002  # ~66 m or ~2 m north
                base["gps"] = {
                    "lon": location["lon"],
                    "lat": location["lat"] + far,
                    "accuracy_m": 5.0,
                }
            serial = data.get("meter_serial")
            base["scanned_serial"] = "WRONG-SERIAL" if rng.random() < 0.07 else serial
            if n < len(stops) and n % 5 == 3:
                return {
                    **base,
                    "kind": "skip",
                    "base_version": version,
                    "data": {"round_item_id": stop["id"], "skip_code": "no_access"},
                }
            register = data["registers"][0]["register_id"]
            return {
                **base,
                "kind": "reading",
                "base_version": version,
                "data": {
                    "round_item_id": stop["id"],
                    "register_id": register,
                    "value": 10 * (n + 1),
                    "confirmed_implausible": False,
                },
            }
        if not self.spec.registers:
            return None
        register = self.spec.registers[n % len(self.spec.registers)]
        return {
            **base,
            "kind": "reading",
            "base_version": None,
            "data": {"round_item_id": None, "register_id": register, "value": 10 * (n + 1)},
        }

    def sync(self) -> None:
        """Push and upload until nothing is waiting."""
        while True:
            batch = self.outbox.pending(self.batch_size)
            if batch:
                self._push(batch)
                continue
            waiting = self.outbox.photos_waiting()
            if not waiting:
                return
            for sha, data in waiting:
                self._upload(sha, data)

    def _push(self, batch: list[dict[str, Any]]) -> None:
        batch = self.faults.reorder(batch)
        for _ in self._retrying():
            mode = self.faults.push_mode()
            payload = json.dumps({"device_time": self.now().isoformat(), "records": batch})
            try:
                receipts = self._send(payload.encode(), mode)
            except (httpx.TransportError, DroppedError):
                continue
            if receipts is None:
                continue
            if mode == "duplicate":  # the same batch again: every record a duplicate
                again = self._send(payload.encode(), "none")
                if again is not None:
                    # (a UUID another user holds stays rejected, never a duplicate)
                    assert all(
                        r["status"] == "duplicate" or r["code"] == "uuid_taken" for r in again
                    ), again
            self.outbox.settle(receipts)
            for receipt in receipts:
                status = receipt["status"]
                self.report.receipts[status] = self.report.receipts.get(status, 0) + 1
            # The photos these records still miss; a held one goes at the end.
            missing = {sha for r in receipts for sha in r.get("photos_missing") or []}
            for sha, data in self.outbox.photos_waiting():
                if sha in missing and not self.faults.hold_photo():
                    self._upload(sha, data)
            return

    def _send(self, payload: bytes, mode: str) -> list[dict[str, Any]] | None:
        """One push request under the fault ``mode``; the receipts, or None (retry)."""
        headers = {**self._headers(), "Content-Type": "application/json"}
        if mode == "drop_before":
            raise DroppedError("no network")
        if mode == "drop_during":

            def half() -> Iterator[bytes]:
                yield payload[: len(payload) // 2]
                raise DroppedError("the connection dropped mid-upload")

            try:
                self.http.post("/api/v1/sync/push", headers=headers, content=half())
            except Exception:
                return None
            return None
        timeout = (
            httpx.Timeout(30.0, read=self.faults.read_timeout()) if mode == "drop_after" else None
        )
        began = time.perf_counter()
        try:
            kwargs: dict[str, Any] = {"timeout": timeout} if timeout else {}
            response = self.http.post(
                "/api/v1/sync/push", headers=headers, content=payload, **kwargs
            )
        except httpx.TransportError:
            return None
        elapsed = (time.perf_counter() - began) * 1000
        if retryable(response):
            return None
        body = self._ok(response, "push")
        self.report.pushes += 1
        self.report.batch_ms.append(elapsed)
        return list(body["receipts"])

    def _upload(self, sha: str, data: bytes) -> None:
        """Upload a photo from where the server's copy ends (HEAD), maybe in chunks."""
        for _ in self._retrying():
            try:
                if self._upload_once(sha, data):
                    self.outbox.photo_stored(sha)
                    self.report.photos_uploaded += 1
                    return
            except (httpx.TransportError, DroppedError):
                continue

    def _upload_once(self, sha: str, data: bytes) -> bool:
        path = f"/api/v1/sync/attachments/{sha}"
        head = self.http.head(path, headers=self._headers())
        if head.status_code >= 500:
            return False
        offset = int(head.headers.get("Upload-Offset", "0")) if head.status_code == 200 else 0
        if head.status_code == 200 and head.headers.get("Upload-Complete") == "True":
            return True
        chunk = max(1024, len(data) // 3) if self.faults.chunked() else len(data)
        while offset < len(data):
            if self.faults.drop_upload():
                raise DroppedError("the connection dropped between chunks")
            end = min(len(data), offset + chunk)
            headers = {**self._headers(), "Content-Type": "image/png"}
            if offset > 0 or end < len(data):
                headers["Content-Range"] = f"bytes {offset}-{end - 1}/{len(data)}"
            response = self.http.put(path, headers=headers, content=data[offset:end])
            if response.status_code >= 500:
                return False
            if response.status_code == 409:  # resume where the server's copy ends
                offset = int(response.headers.get("Upload-Offset", "0") or 0)
                return False
            body = self._ok(response, "upload")
            if body["complete"]:
                return True
            offset = body["received"]
        return False
