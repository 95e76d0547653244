"""Re-trace feeders: materialise every asset's electrical address (its feeder, and its
transformer for LV assets) from the oriented network graph. Set-based; flushes, never
commits. Used after imports and switching (gis.tasks), and by the import itself."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job
from gis.graph import NetworkGraph
from gis.topology import TopologyReport, get_graph, topology_report


def _assignments(
    graph: NetworkGraph,
) -> dict[str, tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Per table: (row ids, feeder id (0 = none), transformer id or None when the table has
    no transformer column), computed from the oriented graph."""
    f_from, f_to = graph.node_feeder[graph.edge_from], graph.node_feeder[graph.edge_to]
    edge_feeder = np.where(f_from != 0, f_from, f_to)
    t_from = graph.node_transformer[graph.edge_from]
    t_to = graph.node_transformer[graph.edge_to]
    edge_transformer = np.where(t_to != 0, t_to, t_from)
    o = graph.edge_offsets
    seg, sw, tx = slice(o[0], o[1]), slice(o[1], o[2]), slice(o[2], o[3])
    return {
        "gis_network_node": (graph.node_ids, graph.node_feeder, None),
        "gis_line_segment": (graph.edge_id[seg], edge_feeder[seg], edge_transformer[seg]),
        "gis_switch": (graph.edge_id[sw], edge_feeder[sw], None),
        # A transformer belongs to the feeder of its HV side.
        "gis_power_transformer": (graph.edge_id[tx], f_from[tx], None),
        "gis_service_point": (
            graph.sp_ids,
            graph.node_feeder[graph.sp_node],
            graph.node_transformer[graph.sp_node],
        ),
    }


def _nullable(values: np.ndarray) -> list[int | None]:
    return [int(v) if v else None for v in values.tolist()]


def _materialise(
    session: Session,
    table: str,
    ids: np.ndarray,
    feeders: np.ndarray,
    transformers: np.ndarray | None,
    feeder_ids: list[int],
) -> int:
    """Write the traced address of every row that is, or was, in one of ``feeder_ids``."""
    wanted = np.asarray(feeder_ids, np.int64)
    was = session.execute(
        text(f"SELECT id FROM {table} WHERE feeder_id = ANY(:f)"), {"f": feeder_ids}
    ).scalars()
    was_ids = np.fromiter(was, np.int64)
    order = np.argsort(ids)
    pick = np.isin(feeders, wanted)
    if was_ids.size:
        pick[order[np.searchsorted(ids, was_ids, sorter=order)]] = True
    if not pick.any():
        return 0
    params: dict[str, Any] = {"ids": ids[pick].tolist(), "f": _nullable(feeders[pick])}
    if transformers is None:
        sql = (
            f"UPDATE {table} t SET feeder_id = u.f FROM unnest(:ids ::bigint[], :f ::bigint[]) "
            f"AS u(id, f) WHERE t.id = u.id AND t.feeder_id IS DISTINCT FROM u.f"
        )
    else:
        params["t"] = _nullable(transformers[pick])
        sql = (
            f"UPDATE {table} t SET feeder_id = u.f, transformer_id = u.t "
            f"FROM unnest(:ids ::bigint[], :f ::bigint[], :t ::bigint[]) AS u(id, f, t) "
            f"WHERE t.id = u.id AND (t.feeder_id IS DISTINCT FROM u.f "
            f"OR t.transformer_id IS DISTINCT FROM u.t)"
        )
    return int(session.execute(text(sql), params).rowcount or 0)  # type: ignore[attr-defined]


def retrace_feeders(session: Session, *, feeder_ids: list[int] | None = None) -> TopologyReport:
    """Trace ``feeder_ids`` (None: every feeder marked ``topology_dirty``) and materialise
    each node's, edge's and service point's ``feeder_id`` and each LV item's
    ``transformer_id``. What no head reaches any more gets a NULL feeder; its transformer
    zone (a physical fact) is kept while the transformer still feeds it. Set-based; returns the
    whole network's topology report with the rows updated per table."""
    if feeder_ids is None:
        feeder_ids = list(
            session.execute(
                text("SELECT id FROM gis_feeder WHERE topology_dirty ORDER BY id")
            ).scalars()
        )
    graph = get_graph(session)
    report = topology_report(session, graph)
    if not feeder_ids:
        return report
    declare_bulk_job(session, f"gis.retrace:{','.join(map(str, feeder_ids[:20]))}")
    updated: dict[str, int] = {}
    for table, (ids, feeders, transformers) in _assignments(graph).items():
        updated[table] = _materialise(session, table, ids, feeders, transformers, feeder_ids)
    codes = session.execute(
        text(
            "UPDATE gis_feeder SET topology_dirty = false, traced_at = now() "
            "WHERE id = ANY(:f) RETURNING code"
        ),
        {"f": feeder_ids},
    ).scalars()
    report.retraced_feeders = sorted(codes)
    report.updated_rows = updated
    session.expire_all()  # ORM objects loaded before now hold stale addresses
    return report
