"""What every reader produces: one feeder's (or a few feeders') records in a common shape,
with the problems found while reading. Positions are lon/lat in EPSG:4326 by then."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry.base import BaseGeometry


@dataclass(frozen=True)
class Problem:
    """One bad record: its kind, its code (or ``#index`` in the file) and what is wrong."""

    kind: str
    ref: str
    message: str
    code: str

    @property
    def field(self) -> str:
        return f"{self.kind}:{self.ref}"


@dataclass
class Record:
    """One asset as read from a file. ``bus``/``bus1``/``bus2`` name nodes by code;
    ``geom`` is a shapely geometry in EPSG:4326 or None."""

    kind: str  # the file kind (mv_segment, switch, lv_consumer_unit ...)
    code: str
    ref: str  # where it is in the file, for problems (#12 or its code)
    buses: tuple[str, ...]
    geom: BaseGeometry | None = None
    precision: str | None = None  # as declared by the file (exports keep "derived")
    values: dict[str, Any] = field(default_factory=dict)  # typed model fields
    attributes: dict[str, Any] = field(default_factory=dict)  # source facts kept as JSON


@dataclass
class Bundle:
    """A file's network, ready to validate, place and write."""

    source: str
    format: str
    crs: str
    records: list[Record] = field(default_factory=list)
    # Explicit nodes (OpenDSS buses, GeoJSON "node" features): code -> (lon, lat) or None.
    # When None, nodes are implied by the edges' ends.
    nodes: dict[str, tuple[float, float] | None] | None = None
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def problem(self, kind: str, ref: str, message: str, code: str) -> None:
        self.problems.append(Problem(kind=kind, ref=ref, message=message, code=code))


def clean(value: Any) -> Any:
    """Missing values from pandas / GDAL (NaN, NA, empty strings) become None."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, str) and not value.strip():
        return None
    try:
        import pandas as pd

        if value is pd.NA:
            return None
    except ImportError:  # pragma: no cover - pandas ships with geopandas
        pass
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return value.item()  # numpy scalars -> Python
    return value
