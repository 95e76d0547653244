"""Where and on what a record was taken, checked against where it should have been.

Distances are metric, computed set-based in SQL (``mobile_sync.repository.register_places``:
``ST_Distance`` after ``ST_Transform`` to the deployment's projected CRS, setting
``projected_crs``, e.g. EPSG:32631 UTM 31N) from EPSG:4326 lon/lat; the meter's place is its
premises' point. Thresholds: ``mobile_sync.enums``.
"""

from __future__ import annotations

from mobile_sync.enums import FAR_FROM_METER_M, POOR_ACCURACY_M, Flag
from mobile_sync.schemas import GpsFix


def place_flags(gps: GpsFix | None, distance_m: float | None) -> list[str]:
    """``no_gps``, ``poor_gps_accuracy`` (worse than 25 m), ``far_from_meter`` (over 30 m
    from the meter's premises; not judged when the premises has no point)."""
    if gps is None:
        return [Flag.NO_GPS.value]
    flags = []
    if gps.accuracy_m is not None and gps.accuracy_m > POOR_ACCURACY_M:
        flags.append(Flag.POOR_GPS_ACCURACY.value)
    if distance_m is not None and distance_m > FAR_FROM_METER_M:
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
