"""The advisory-lock registry: every key space distinct, and no lock taken anywhere else."""

from __future__ import annotations

from pathlib import Path

from core.locks import LockSpace

ROOT = Path(__file__).resolve().parents[2]
# Directories of the project's code (tests and tooling aside: only code takes locks).
SKIPPED = {"tests", ".venv", ".git", "node_modules", ".kilowatch"}


def test_no_two_lock_spaces_share_a_value() -> None:
    values = [space.value for space in LockSpace]
    assert len(values) == len(set(values)), sorted(values)
    # The first key of pg_advisory_xact_lock(int4, int4) is a signed 32-bit integer.
    assert all(-(2**31) <= v < 2**31 for v in values)


def test_no_module_outside_the_registry_takes_an_advisory_lock() -> None:
    needle = "pg_" + "advisory"  # spelled in two parts so this file does not match itself
    offenders = [
        str(path.relative_to(ROOT))
        for path in ROOT.rglob("*.py")
        if not SKIPPED & set(path.relative_to(ROOT).parts)
        and path != ROOT / "core" / "locks.py"
        and needle in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
