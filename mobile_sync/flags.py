"""Where and on what a record was taken, checked against where it should have been.

Distances are metric, computed in the deployment's projected CRS (setting
``projected_crs``, e.g. EPSG:32631 UTM 31N) from EPSG:4326 lon/lat with pyproj; the meter's
place is its premises' point. Thresholds: ``mobile_sync.enums``.
"""

from __future__ import annotations

import math
from functools import lru_cache

from pyproj import Transformer

from core.settings import get_settings
from mobile_sync.enums import FAR_FROM_METER_M, POOR_ACCURACY_M, Flag
from mobile_sync.schemas import GpsFix


@lru_cache(maxsize=4)
def _to_metric(crs: str) -> Transformer:
    return Transformer.from_crs("EPSG:4326", crs, always_xy=True)


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Metres between two lon/lat points (EPSG:4326), measured in the projected CRS."""
    transform = _to_metric(get_settings().projected_crs)
    ax, ay = transform.transform(*a)
    bx, by = transform.transform(*b)
    return math.hypot(ax - bx, ay - by)


def place_flags(gps: GpsFix | None, meter_at: tuple[float, float] | None) -> list[str]:
    """``no_gps``, ``poor_gps_accuracy`` (worse than 25 m), ``far_from_meter`` (over 30 m
    from the meter's premises; not judged when the premises has no point)."""
    if gps is None:
        return [Flag.NO_GPS.value]
    flags = []
    if gps.accuracy_m is not None and gps.accuracy_m > POOR_ACCURACY_M:
        flags.append(Flag.POOR_GPS_ACCURACY.value)
    if meter_at is not None and distance_m((gps.lon, gps.lat), meter_at) > FAR_FROM_METER_M:
        flags.append(Flag.FAR_FROM_METER.value)
    return flags


def serial_flags(scanned: str | None, expected: str | None) -> list[str]:
    """``serial_mismatch`` when a scanned serial is not the expected one (case and spaces
    aside); no scan, no judgement."""
    if not scanned or expected is None:
        return []
    if scanned.strip().upper() != expected.strip().upper():
        return [Flag.SERIAL_MISMATCH.value]
    return []
