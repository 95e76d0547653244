"""Reading codes and packed keys come from the enums: every member gets its own code, and
keys packed from them are distinct and unpack to what they were made of, whatever the
enums hold (a fifth source once collided with the first under a fixed ``* 4``)."""

from __future__ import annotations

import itertools
from enum import StrEnum

import numpy as np

from meters.enums import ReadingQuality, ReadingSource, ReadingStatus, ReasonCode
from meters.readings.codes import (
    BIT,
    CODES,
    FILE_QUALITIES,
    FILE_SOURCES,
    JUDGED_STATUSES,
    SOURCES,
    Vocabulary,
    bits_of,
    codes_of,
    pack,
    unpack,
)


def _all_keys(vocabularies: list[Vocabulary], majors: int = 3) -> list[np.ndarray]:
    """Every combination of a few major ids and every member of each vocabulary."""
    grid = itertools.product(range(majors), *(range(len(v)) for v in vocabularies))
    return [np.array(column, dtype=np.int64) for column in zip(*grid, strict=True)]


def test_every_member_of_every_reading_enum_has_a_code() -> None:
    assert set(SOURCES.values) == {s.value for s in ReadingSource}
    assert SOURCES.values == tuple(sorted(s.value for s in ReadingSource))  # ORDER BY source
    assert FILE_SOURCES.values == ("handheld", "self_read", "ami")
    assert FILE_QUALITIES.values == ("actual", "doubtful")
    assert JUDGED_STATUSES.values == ("accepted", "flagged", "rejected")
    assert set(CODES) == set(ReasonCode)
    assert sorted(BIT.values()) == [1 << i for i in range(len(ReasonCode))]
    for code in ReasonCode:
        assert codes_of(bits_of([code.value])) == [code.value]
    assert codes_of(bits_of([c.value for c in ReasonCode])) == [c.value for c in ReasonCode]


def test_keys_packed_from_the_real_enums_are_distinct_and_round_trip() -> None:
    vocabularies = [SOURCES, FILE_QUALITIES, JUDGED_STATUSES]
    digits = _all_keys(vocabularies)
    radices = [len(v) for v in vocabularies]
    keys = pack(digits, radices)
    assert len(np.unique(keys)) == len(keys)
    assert all((a == b).all() for a, b in zip(unpack(keys, radices), digits, strict=True))
    # Sorting by the key sorts by the digits in order.
    assert (np.argsort(keys, kind="stable") == np.lexsort(digits[::-1])).all()


def test_a_fifth_source_gets_keys_of_its_own() -> None:
    extended = StrEnum(  # type: ignore[misc]
        "ExtendedSource", {**{s.name: s.value for s in ReadingSource}, "DRONE": "drone"}
    )
    sources = Vocabulary.of(extended, by_text=True)
    assert len(sources) == len(ReadingSource) + 1
    digits = _all_keys([sources, Vocabulary.of(ReadingQuality), Vocabulary.of(ReadingStatus)])
    radices = [len(sources), len(ReadingQuality), len(ReadingStatus)]
    keys = pack(digits, radices)
    assert len(np.unique(keys)) == len(keys)
    assert all((a == b).all() for a, b in zip(unpack(keys, radices), digits, strict=True))
    # The packing the old code used (radix 4 for the sources) made them collide:
    old = digits[0] * 4 + digits[1]
    assert len(np.unique(old)) < len(np.unique(pack(digits[:2], radices[:1])))
