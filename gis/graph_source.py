"""Reading the network graph's raw rows out of PostgreSQL, fast.

Rows are streamed with ``COPY ... TO STDOUT (FORMAT binary)`` straight into numpy: every
column is a non-null ``bigint``, so each row has the same size and the whole result is one
structured array over the received bytes (no Python object per row). On a million service
points this is several times faster than fetching rows through the driver.

Two reads exist: the structure (nodes, edges and their ends, service-point attachments,
feeder heads), and the switch states alone (``is_open`` by switch id), which is all a
switching operation changes.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy.orm import Session

from gis.graph import GraphInput

_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
_HEADER = len(_SIGNATURE) + 8  # + flags (int32) + header-extension length (int32)


def _int8_columns(session: Session, select: str, width: int) -> list[np.ndarray]:
    """The ``width`` bigint columns of ``select`` (no NULLs) as int64 arrays, in the
    session's own transaction."""
    raw = session.connection().connection.driver_connection
    chunks: list[bytes] = []
    with raw.cursor() as cursor, cursor.copy(f"COPY ({select}) TO STDOUT (FORMAT binary)") as copy:
        for block in copy:
            chunks.append(bytes(block))
    buffer = b"".join(chunks)
    if not buffer.startswith(_SIGNATURE):
        raise ValueError("unexpected COPY binary header")
    extension = int.from_bytes(buffer[_HEADER - 4 : _HEADER], "big")
    start = _HEADER + extension
    # A row: field count (int16), then per field its length (int32) and value (int64).
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i in range(width):
        fields += [(f"len{i}", ">i4"), (f"v{i}", ">i8")]
    row = np.dtype(fields)
    rows = (len(buffer) - start - 2) // row.itemsize  # the trailer is one int16 (-1)
    table = np.frombuffer(buffer, dtype=row, count=rows, offset=start)
    if rows and not (np.all(table["count"] == width) and np.all(table["len0"] == 8)):
        raise ValueError("COPY rows are not all non-null bigint columns")
    return [table[f"v{i}"].astype(np.int64) for i in range(width)]


def load_switch_states(session: Session) -> tuple[np.ndarray, np.ndarray]:
    """(switch ids sorted, is_open flags in the same order)."""
    ids, is_open = _int8_columns(
        session, "SELECT id, is_open::int::int8 FROM gis_switch ORDER BY id", 2
    )
    return ids, is_open.astype(bool)


def load_input(session: Session) -> GraphInput:
    """The whole graph's raw rows (structure and current switch states)."""
    (node_ids,) = _int8_columns(session, "SELECT id FROM gis_network_node", 1)
    seg = _int8_columns(
        session, "SELECT id, from_node_id, to_node_id FROM gis_line_segment ORDER BY id", 3
    )
    sw = _int8_columns(
        session,
        "SELECT id, from_node_id, to_node_id, is_open::int::int8 FROM gis_switch ORDER BY id",
        4,
    )
    tx = _int8_columns(
        session, "SELECT id, hv_node_id, lv_node_id FROM gis_power_transformer ORDER BY id", 3
    )
    sp = _int8_columns(session, "SELECT id, node_id FROM gis_service_point", 2)
    fd = _int8_columns(
        session, "SELECT id, coalesce(head_node_id, -1) FROM gis_feeder ORDER BY id", 2
    )
    return GraphInput(
        node_ids=node_ids,
        segment_ids=seg[0],
        segment_from=seg[1],
        segment_to=seg[2],
        switch_ids=sw[0],
        switch_from=sw[1],
        switch_to=sw[2],
        switch_open=sw[3].astype(bool),
        transformer_ids=tx[0],
        transformer_hv=tx[1],
        transformer_lv=tx[2],
        service_point_ids=sp[0],
        service_point_node=sp[1],
        feeder_ids=fd[0],
        feeder_head=fd[1],
    )
