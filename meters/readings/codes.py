"""The reading vocabularies as small integers, and the keys packed from them, derived from
the enums of ``meters.enums`` so that a new member can never collide with an old one.

The bulk pipeline computes on whole columns, so a read's source, quality, status and
reason codes travel as integers: positions in a :class:`Vocabulary` built from the enum,
and a bit mask of the reason codes. Where several such integers are packed into one sort
or grouping key, :func:`pack` uses each vocabulary's size as its radix: a fifth source
widens its digit instead of spilling into its neighbour's (a fixed ``* 4`` once made the
keys of a fifth source collide, and new reads were silently dropped as duplicates).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from meters.enums import ReadingQuality, ReadingSource, ReadingStatus, ReasonCode


@dataclass(frozen=True)
class Vocabulary:
    """Enum values in a fixed order; a value's code is its position."""

    values: tuple[str, ...]

    @classmethod
    def of(
        cls, members: Iterable[StrEnum], *, exclude: Iterable[StrEnum] = (), by_text: bool = False
    ) -> Vocabulary:
        """The members (declaration order, or PostgreSQL's text order with ``by_text``)."""
        left_out = {e.value for e in exclude}
        values = [m.value for m in members if m.value not in left_out]
        return cls(tuple(sorted(values) if by_text else values))

    def __len__(self) -> int:
        return len(self.values)

    def code(self, value: str) -> int:
        return self.values.index(value)

    def codes(self, values: Iterable[str]) -> np.ndarray:
        index = {v: i for i, v in enumerate(self.values)}
        return np.array([index[v] for v in values], dtype=np.int8)

    def value(self, code: int) -> str:
        return self.values[code]


# Every source a stored read may carry, in PostgreSQL's text order: the tie-break between
# reads of one register at one instant, as ORDER BY source would give it.
SOURCES = Vocabulary.of(ReadingSource, by_text=True)
# What a file or a single read may carry: estimates are computed by Kilowatch.
FILE_SOURCES = Vocabulary.of(ReadingSource, exclude=[ReadingSource.ESTIMATED])
FILE_QUALITIES = Vocabulary.of(ReadingQuality, exclude=[ReadingQuality.ESTIMATED])
# What the judge gives a new read, from the mildest: the worst severity wins.
JUDGED_STATUSES = Vocabulary.of(ReadingStatus, exclude=[ReadingStatus.SUPERSEDED])
ACCEPTED, FLAGGED, REJECTED = (
    JUDGED_STATUSES.code(s)
    for s in (ReadingStatus.ACCEPTED, ReadingStatus.FLAGGED, ReadingStatus.REJECTED)
)
# Reason codes as bits, in the order they are listed on a read (row-level checks first,
# as the enum declares them).
CODES: tuple[ReasonCode, ...] = tuple(ReasonCode)
BIT = {code: 1 << i for i, code in enumerate(CODES)}
assert len(CODES) <= 31, "reason codes are an int32 bit mask"


def bits_of(codes: Iterable[str]) -> int:
    """The mask of reason codes (their values)."""
    return sum(BIT[ReasonCode(c)] for c in codes)


def codes_of(mask: int) -> list[str]:
    """The reason codes of a mask, in listing order."""
    return [c.value for c in CODES if mask & BIT[c]]


def pack(digits: Sequence[np.ndarray], radices: Sequence[int]) -> np.ndarray:
    """One int64 key per row from mixed-radix ``digits`` (the first is the most
    significant, and may be any non-negative int; each later digit is below its radix).

    Sorting by the key sorts by the digits in order; equal keys mean equal digits."""
    if len(digits) != len(radices) + 1:
        raise ValueError("one radix per digit after the first")
    key = np.asarray(digits[0], dtype=np.int64)
    for digit, radix in zip(digits[1:], radices, strict=True):
        key = key * radix + np.asarray(digit, dtype=np.int64)
    return key


def unpack(key: np.ndarray, radices: Sequence[int]) -> list[np.ndarray]:
    """The digits :func:`pack` made ``key`` from."""
    out: list[np.ndarray] = []
    rest = np.asarray(key, dtype=np.int64)
    for radix in reversed(radices):
        rest, digit = np.divmod(rest, radix)
        out.append(digit)
    return [rest, *reversed(out)]
