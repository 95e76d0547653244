"""Network services: operate switches, import and export feeders, retrace feeders
(``gis.retrace``). Keyword-only, take the caller's session and principal, flush, never
commit; every one is limited to the caller's territory (``core.territory``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.context import Actor
from core.db import state_reason
from core.outbox import emit
from core.territory import visible
from gis.enums import LocationPrecision, ServicePointKind
from gis.errors import SwitchNotFoundError
from gis.events import SwitchOperated
from gis.io.export import export_feeder as _export_feeder
from gis.io.importer import ImportReport
from gis.io.importer import import_network as _import_network
from gis.models import NetworkNode, Switch
from gis.retrace import retrace_feeders

__all__ = [
    "SwitchOperation",
    "derive_service_points",
    "export_feeder",
    "import_network",
    "operate_switch",
    "retrace_feeders",
]


@dataclass(frozen=True)
class SwitchOperation:
    """The switch after an operation, and whether the operation changed its state."""

    switch: Switch
    changed: bool


# -- switching -----------------------------------------------------------------------------


def operate_switch(
    session: Session, *, actor: Actor, code: str, open: bool, reason: str | None = None
) -> SwitchOperation:
    """Open or close a switch now. The feeders on both sides are marked ``topology_dirty``
    and ``gis.switch_operated`` is emitted (its handler retraces them after commit).
    Operating a switch into the state it already has changes nothing and emits nothing.
    A switch outside the caller's territory is as unknown as a missing one."""
    switch = session.scalars(
        select(Switch).where(Switch.code == code, visible(actor, Switch)).with_for_update()
    ).first()
    if switch is None:
        raise SwitchNotFoundError(f"no switch with code {code!r}")
    if switch.is_open == open:
        return SwitchOperation(switch, changed=False)
    if reason:
        state_reason(session, reason)  # the audit trigger records it with the change
    switch.is_open = open
    ends = session.execute(
        select(NetworkNode.feeder_id).where(
            NetworkNode.id.in_([switch.from_node_id, switch.to_node_id])
        )
    ).scalars()
    feeders = sorted({f for f in (switch.feeder_id, *ends) if f is not None})
    if feeders:
        session.execute(
            text("UPDATE gis_feeder SET topology_dirty = true WHERE id = ANY(:f)"), {"f": feeders}
        )
    session.flush()
    emit(
        session,
        SwitchOperated(
            switch_id=switch.id,
            code=switch.code,
            open=open,
            feeder_ids=feeders,
            actor=actor.username,
            reason=reason,
        ),
    )
    return SwitchOperation(switch, changed=True)


# -- import / export (the readers and writers live in gis.io) ------------------------------


def import_network(
    session: Session,
    *,
    actor: Actor,
    path: Path,
    format: str | None = None,
    crs: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Import a feeder file or folder (GeoJSON, GeoPackage, OpenDSS). See gis.io.importer."""
    return _import_network(
        session, actor=actor, path=path, format=format, crs=crs, progress=progress
    )


def export_feeder(session: Session, *, actor: Actor, code: str, format: str) -> bytes:
    """One feeder as a GeoJSON or GeoPackage file's bytes (EPSG:4326): of a feeder that
    crosses the caller's territory, the part inside it (see gis.io.export)."""
    return _export_feeder(session, actor=actor, code=code, format=format)


# -- service points derived from a transformer ----------------------------------------------

_DERIVE_SQL = text(
    """
    WITH wanted AS (
      SELECT u.ref, u.t, ST_SetSRID(ST_MakePoint(u.x, u.y), 4326) AS g,
             nextval(pg_get_serial_sequence('gis_service_point', 'id')) AS id
      FROM unnest(CAST(:refs AS bigint[]), CAST(:t AS bigint[]), CAST(:x AS float8[]),
                  CAST(:y AS float8[])) AS u (ref, t, x, y)
    ), made AS (
      INSERT INTO gis_service_point (id, code, kind, node_id, geom, location_precision,
                                     feeder_id, transformer_id, home_feeder_id, attributes)
      SELECT w.id, 'SPD-' || lpad(w.id::text, 8, '0'), :kind, tr.lv_node_id, w.g, :precision,
             tr.feeder_id, tr.id, tr.home_feeder_id,
             jsonb_build_object('derived_from_transformer', tr.code)
      FROM wanted w JOIN gis_power_transformer tr ON tr.id = w.t
      RETURNING id
    )
    SELECT w.ref, w.id FROM wanted w JOIN made m ON m.id = w.id
    """
)


def derive_service_points(
    session: Session,
    *,
    refs: Sequence[int],
    transformer_ids: Sequence[int],
    lons: Sequence[float],
    lats: Sequence[float],
) -> dict[int, int]:
    """New service points (customer connections) at the given positions (EPSG:4326), each
    hanging on the LV side of its distribution transformer: where a customer is known to
    be supplied but no pole or cabinet was ever surveyed near it. Their position is the
    customer's, ``location_precision`` says ``derived``, and their electrical address is
    the transformer's (feeder, transformer), as a retrace would find it from the
    transformer's LV node. Set-based: one statement for any number. ``refs`` are the
    caller's names for the points (e.g. file lines); returns ``{ref: service point id}``."""
    if not refs:
        return {}
    rows = session.execute(
        _DERIVE_SQL,
        {
            "refs": list(refs),
            "t": list(transformer_ids),
            "x": list(lons),
            "y": list(lats),
            "kind": ServicePointKind.CONNECTION.value,
            "precision": LocationPrecision.DERIVED.value,
        },
    ).all()
    return {int(ref): int(sp) for ref, sp in rows}
