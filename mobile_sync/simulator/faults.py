"""The faults a simulated handheld injects, drawn from a seed (the same seed, the same
faults): connections dropped before a request leaves, while its body is on the wire, or
after it was sent (the answer never read: the server may or may not have committed);
batches sent twice and records reordered; records captured on a stale route version;
photos held back and sent later; a device clock days off."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

PUSH_MODES = ("none", "drop_before", "drop_during", "drop_after", "duplicate")
# Weights of the push modes under faults: most pushes go through.
PUSH_WEIGHTS = (60, 10, 10, 12, 8)


@dataclass
class Faults:
    """One device's fault plan; ``seed`` None: no faults at all."""

    seed: int | None
    injected: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.active = self.seed is not None
        # A third of the devices run with a clock days or hours off, either way.
        skewed = self.active and self.rng.random() < 0.34
        hours = self.rng.choice([-72, -5, 3, 30, 400 * 24]) if skewed else 0
        self.clock_offset = timedelta(hours=hours)
        if skewed:
            self.count("wrong_clock")

    def count(self, what: str) -> None:
        self.injected[what] = self.injected.get(what, 0) + 1

    def push_mode(self) -> str:
        if not self.active:
            return "none"
        mode = self.rng.choices(PUSH_MODES, weights=PUSH_WEIGHTS)[0]
        if mode != "none":
            self.count(mode)
        return mode

    def read_timeout(self) -> float:
        """A timeout short enough to give up before the answer (seconds)."""
        return self.rng.uniform(0.0005, 0.02)

    def reorder(self, batch: list[dict[str, object]]) -> list[dict[str, object]]:
        if self.active and len(batch) > 1 and self.rng.random() < 0.3:
            self.count("reordered")
            batch = list(batch)
            self.rng.shuffle(batch)
        return batch

    def stale(self) -> bool:
        """Capture this record on the route version before the one pulled."""
        hit = self.active and self.rng.random() < 0.1
        if hit:
            self.count("stale_route_version")
        return hit

    def hold_photo(self) -> bool:
        """Keep this photo back at first (the record goes without it)."""
        hit = self.active and self.rng.random() < 0.4
        if hit:
            self.count("photo_held")
        return hit

    def chunked(self) -> bool:
        return self.active and self.rng.random() < 0.5

    def drop_upload(self) -> bool:
        hit = self.active and self.rng.random() < 0.2
        if hit:
            self.count("upload_dropped")
        return hit
