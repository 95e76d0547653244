"""The documented features: name, unit and meaning in words an analyst understands.

Every family module declares its columns here (``feature(...)``); the ranking's reasons
quote ``meaning``. A column computed without a registry entry is a bug (the builder checks).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Feature:
    name: str
    unit: str  # "ratio", "kWh", "months", "reads", "m", "share" ...
    meaning: str  # one sentence an analyst reads in a flag's reasons
    family: str


REGISTRY: dict[str, Feature] = {}


def feature(family: str, name: str, unit: str, meaning: str) -> str:
    """Register a feature of ``family`` and return its name (the matrix column)."""
    REGISTRY[name] = Feature(name, unit, meaning, family)
    return name


def describe(name: str) -> Feature:
    return REGISTRY[name]
