"""core/migration/FORMAT.md is the reference generated from the registry, kept current."""

from __future__ import annotations

from pathlib import Path

from core.migration.export import format_reference

FORMAT_MD = Path(__file__).resolve().parents[2] / "core" / "migration" / "FORMAT.md"


def test_the_committed_format_reference_is_the_generated_one(database_url: str) -> None:
    # database_url: the session fixture bootstraps, which registers every domain's files.
    assert FORMAT_MD.read_text() == format_reference(), (
        "core/migration/FORMAT.md is stale: kilowatch migrate formats > core/migration/FORMAT.md"
    )
