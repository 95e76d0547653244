"""Set-based upsert of a placed bundle: one ``INSERT ... SELECT FROM unnest(...) ON
CONFLICT (code) DO UPDATE`` per table, so a feeder of tens of thousands of assets is
written in a handful of statements. Re-importing updates rows by code (no duplicates);
the traced address (feeder_id, transformer_id) is left to the retrace that follows.

The import runs as a declared bulk job (one audit summary row per statement) for the rows
it creates; rows it *replaces* are written by a statement of their own, audited row by row,
so what a re-import overwrote (old geometry, ratings, attributes ...) stays recoverable from
the audit trail (``before`` of each ``update`` row)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from shapely import to_wkb
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import each_row_audited
from gis.io.bundle import Bundle, Record
from gis.io.placement import DERIVED, Placed, table_of

Progress = Callable[[str, int, int], None]


def _wkb(geom: Any) -> bytes | None:
    return None if geom is None else bytes(to_wkb(geom, hex=False))


def _json(values: dict[str, Any]) -> str:
    return json.dumps(values, sort_keys=True, default=str)


def _upsert(session: Session, sql: str, params: dict[str, Any]) -> tuple[dict[str, int], int]:
    """Run an upsert (``INSERT INTO <table> ...`` with codes in ``:c`` and one list per
    column) returning (id, code, inserted); -> ({code: id}, inserted count). Codes already
    present are upserted apart, audited row by row (see module doc)."""
    table = sql.split()[2]
    codes = params["c"]
    present = set(
        session.scalars(text(f"SELECT code FROM {table} WHERE code = ANY(:c)"), {"c": codes})
    )
    ids: dict[str, int] = {}
    inserted = 0
    for replacing in (True, False):
        keep = [(code in present) == replacing for code in codes]
        if not any(keep):
            continue
        part = {
            key: [v for v, k in zip(value, keep, strict=True) if k]
            if isinstance(value, list)
            else value
            for key, value in params.items()
        }
        with each_row_audited(session) if replacing else nullcontext():
            rows = session.execute(text(sql), part).all()
        ids.update({code: int(i) for i, code, _ins in rows})
        inserted += sum(1 for *_x, ins in rows if ins)
    return ids, inserted


_RETURNING = "RETURNING id, code, (xmax = 0) AS inserted"


def write_bundle(
    session: Session, bundle: Bundle, placed: Placed, progress: Progress | None = None
) -> tuple[list[int], dict[str, dict[str, int]]]:
    """Write everything; returns (feeder ids, {table: {"inserted": n, "updated": m}})."""
    by_table: dict[str, list[Record]] = {}
    for record in bundle.records:
        by_table.setdefault(table_of(record), []).append(record)
    steps = ["feeder", "node", "transformer", "segment", "switch", "service_point"]
    stats: dict[str, dict[str, int]] = {}

    def step(name: str, done: int) -> None:
        if progress:
            progress(f"writing {name}s", done, len(steps))

    heads = by_table.get("feeder", [])
    feeder_ids, inserted = _upsert(
        session,
        "INSERT INTO gis_feeder (code, name, nominal_kv, attributes) "
        "SELECT c, n, kv, a::jsonb FROM unnest(:c ::text[], :n ::text[], :kv ::float8[], "
        ":a ::text[]) AS u(c, n, kv, a) "
        "ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, nominal_kv = EXCLUDED.nominal_kv,"
        " attributes = EXCLUDED.attributes, updated_at = now() " + _RETURNING,
        {
            "c": [r.code for r in heads],
            "n": [r.values.get("name") or r.code for r in heads],
            "kv": [r.values.get("nominal_kv") for r in heads],
            "a": [_json(r.attributes) for r in heads],
        },
    )
    stats["feeder"] = {"inserted": inserted, "updated": len(heads) - inserted}
    home = feeder_ids[heads[0].code] if len(heads) == 1 else None
    step("feeder", 1)

    codes = sorted(placed.nodes)
    node_ids, inserted = _upsert(
        session,
        "INSERT INTO gis_network_node (code, geom, location_precision, home_feeder_id) "
        "SELECT c, ST_SetSRID(ST_MakePoint(x, y), 4326), p, h "
        "FROM unnest(:c ::text[], :x ::float8[], :y ::float8[], :p ::text[]) AS u(c, x, y, p) "
        "CROSS JOIN (SELECT :h ::bigint AS h) AS home "
        "ON CONFLICT (code) DO UPDATE SET geom = EXCLUDED.geom, "
        "location_precision = EXCLUDED.location_precision, "
        "home_feeder_id = coalesce(EXCLUDED.home_feeder_id, gis_network_node.home_feeder_id) "
        + _RETURNING,
        {
            "c": codes,
            "x": [placed.nodes[c][0] for c in codes],
            "y": [placed.nodes[c][1] for c in codes],
            "p": [placed.nodes[c][2] for c in codes],
            "h": home,
        },
    )
    stats["node"] = {"inserted": inserted, "updated": len(codes) - inserted}
    step("node", 2)

    def ids(records: list[Record], position: int) -> list[int]:
        return [node_ids[r.buses[position]] for r in records]

    common = {"h": home}
    rows = by_table.get("transformer", [])
    _ids, inserted = _upsert(
        session,
        "INSERT INTO gis_power_transformer (code, rated_kva, phases, primary_kv, secondary_kv, "
        "hv_node_id, lv_node_id, geom, location_precision, attributes, home_feeder_id) "
        "SELECT c, kva, ph, pkv, skv, hv, lv, ST_SetSRID(ST_GeomFromWKB(g), 4326), p, a::jsonb, "
        ":h ::bigint FROM unnest(:c ::text[], :kva ::float8[], :ph ::int[], :pkv ::float8[], "
        ":skv ::float8[], :hv ::bigint[], :lv ::bigint[], :g ::bytea[], :p ::text[], "
        ":a ::text[]) AS u(c, kva, ph, pkv, skv, hv, lv, g, p, a) "
        "ON CONFLICT (code) DO UPDATE SET rated_kva = EXCLUDED.rated_kva, "
        "phases = EXCLUDED.phases, primary_kv = EXCLUDED.primary_kv, "
        "secondary_kv = EXCLUDED.secondary_kv, hv_node_id = EXCLUDED.hv_node_id, "
        "lv_node_id = EXCLUDED.lv_node_id, geom = EXCLUDED.geom, "
        "location_precision = EXCLUDED.location_precision, attributes = EXCLUDED.attributes, "
        "home_feeder_id = coalesce(EXCLUDED.home_feeder_id, "
        "gis_power_transformer.home_feeder_id), updated_at = now() " + _RETURNING,
        {
            "c": [r.code for r in rows],
            "kva": [r.values["rated_kva"] for r in rows],
            "ph": [r.values["phases"] for r in rows],
            "pkv": [r.values.get("primary_kv") for r in rows],
            "skv": [r.values.get("secondary_kv") for r in rows],
            "hv": ids(rows, 0),
            "lv": ids(rows, 1),
            "g": [_wkb(r.geom) for r in rows],
            "p": [r.precision for r in rows],
            "a": [_json(r.attributes) for r in rows],
            **common,
        },
    )
    stats["transformer"] = {"inserted": inserted, "updated": len(rows) - inserted}
    step("transformer", 3)

    rows = by_table.get("segment", [])
    _ids, inserted = _upsert(
        session,
        "INSERT INTO gis_line_segment (code, voltage_level, kind, conductor, phases, length_m, "
        "from_node_id, to_node_id, geom, location_precision, attributes, home_feeder_id) "
        "SELECT c, vl, k, cd, ph, len, f, t, ST_SetSRID(ST_GeomFromWKB(g), 4326), p, a::jsonb, "
        ":h ::bigint FROM unnest(:c ::text[], :vl ::text[], :k ::text[], :cd ::text[], "
        ":ph ::int[], :len ::float8[], :f ::bigint[], :t ::bigint[], :g ::bytea[], :p ::text[], "
        ":a ::text[]) AS u(c, vl, k, cd, ph, len, f, t, g, p, a) "
        "ON CONFLICT (code) DO UPDATE SET voltage_level = EXCLUDED.voltage_level, "
        "kind = EXCLUDED.kind, conductor = EXCLUDED.conductor, phases = EXCLUDED.phases, "
        "length_m = EXCLUDED.length_m, from_node_id = EXCLUDED.from_node_id, "
        "to_node_id = EXCLUDED.to_node_id, geom = EXCLUDED.geom, "
        "location_precision = EXCLUDED.location_precision, attributes = EXCLUDED.attributes, "
        "home_feeder_id = coalesce(EXCLUDED.home_feeder_id, gis_line_segment.home_feeder_id), "
        "updated_at = now() " + _RETURNING,
        {
            "c": [r.code for r in rows],
            "vl": [r.values["voltage_level"] for r in rows],
            "k": [r.values["kind"] for r in rows],
            "cd": [r.values.get("conductor") for r in rows],
            "ph": [r.values.get("phases") for r in rows],
            "len": [r.values.get("length_m") for r in rows],
            "f": ids(rows, 0),
            "t": ids(rows, 1),
            "g": [_wkb(r.geom) for r in rows],
            "p": [r.precision for r in rows],
            "a": [_json(r.attributes) for r in rows],
            **common,
        },
    )
    stats["segment"] = {"inserted": inserted, "updated": len(rows) - inserted}
    step("segment", 4)

    rows = by_table.get("switch", [])
    _ids, inserted = _upsert(
        session,
        "INSERT INTO gis_switch (code, kind, from_node_id, to_node_id, normal_open, is_open, "
        "geom, attributes, home_feeder_id) "
        "SELECT c, k, f, t, no, io, ST_SetSRID(ST_GeomFromWKB(g), 4326), a::jsonb, :h ::bigint "
        "FROM unnest(:c ::text[], :k ::text[], :f ::bigint[], :t ::bigint[], :no ::bool[], "
        ":io ::bool[], :g ::bytea[], :a ::text[]) AS u(c, k, f, t, no, io, g, a) "
        "ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, "
        "from_node_id = EXCLUDED.from_node_id, to_node_id = EXCLUDED.to_node_id, "
        "normal_open = EXCLUDED.normal_open, is_open = EXCLUDED.is_open, geom = EXCLUDED.geom, "
        "attributes = EXCLUDED.attributes, "
        "home_feeder_id = coalesce(EXCLUDED.home_feeder_id, gis_switch.home_feeder_id), "
        "updated_at = now() " + _RETURNING,
        {
            "c": [r.code for r in rows],
            "k": [r.values["kind"] for r in rows],
            "f": ids(rows, 0),
            "t": ids(rows, 1),
            "no": [r.values["normal_open"] for r in rows],
            "io": [r.values["is_open"] for r in rows],
            "g": [_wkb(r.geom) for r in rows],
            "a": [
                _json(
                    {
                        **r.attributes,
                        **({"location_precision": DERIVED} if r.precision == DERIVED else {}),
                    }
                )
                for r in rows
            ],
            **common,
        },
    )
    stats["switch"] = {"inserted": inserted, "updated": len(rows) - inserted}
    step("switch", 5)

    rows = by_table.get("service_point", [])
    _ids, inserted = _upsert(
        session,
        "INSERT INTO gis_service_point (code, kind, node_id, geom, location_precision, "
        "attributes, home_feeder_id) "
        "SELECT c, k, n, ST_SetSRID(ST_GeomFromWKB(g), 4326), p, a::jsonb, :h ::bigint "
        "FROM unnest(:c ::text[], :k ::text[], :n ::bigint[], :g ::bytea[], :p ::text[], "
        ":a ::text[]) AS u(c, k, n, g, p, a) "
        "ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, node_id = EXCLUDED.node_id, "
        "geom = EXCLUDED.geom, location_precision = EXCLUDED.location_precision, "
        "attributes = EXCLUDED.attributes, "
        "home_feeder_id = coalesce(EXCLUDED.home_feeder_id, gis_service_point.home_feeder_id), "
        "updated_at = now() " + _RETURNING,
        {
            "c": [r.code for r in rows],
            "k": [r.values["kind"] for r in rows],
            "n": ids(rows, 0),
            "g": [_wkb(r.geom) for r in rows],
            "p": [r.precision for r in rows],
            "a": [_json(r.attributes) for r in rows],
            **common,
        },
    )
    stats["service_point"] = {"inserted": inserted, "updated": len(rows) - inserted}
    step("service_point", 6)

    session.execute(
        text(
            "UPDATE gis_feeder f SET head_node_id = u.n, topology_dirty = true "
            "FROM unnest(:c ::text[], :n ::bigint[]) AS u(c, n) WHERE f.code = u.c"
        ),
        {"c": [r.code for r in heads], "n": [node_ids[r.buses[0]] for r in heads]},
    )
    return [feeder_ids[r.code] for r in heads], stats


def kind_counts(bundle: Bundle) -> dict[str, int]:
    return dict(sorted(Counter(r.kind for r in bundle.records).items()))
