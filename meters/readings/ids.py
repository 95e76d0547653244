"""Reading ids drawn from ``meter_reading_id_seq`` ahead of a bulk write, on a second
connection while this one judges: a ``nextval()`` default costs the loading backend about
a quarter of a microsecond per row. Sequences are not transactional, so ids drawn for a load
that rolls back are only a gap, as with the default."""

from __future__ import annotations

import threading

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

# Runs of consecutive ids (a session's cached block of the sequence), in drawing order.
_RUNS_SQL = """
SELECT min(id), count(*)::int8 FROM (
  SELECT id, id - row_number() OVER () AS run
  FROM (SELECT nextval('meter_reading_id_seq') AS id FROM generate_series(1, :n)) AS drawn
) AS numbered GROUP BY run ORDER BY min(id)
"""


class ReadingIds:
    """``count`` fresh ids, drawn in the background; ``get()`` waits for them."""

    def __init__(self, session: Session, count: int) -> None:
        self._engine = session.connection().engine
        self._count = count
        self._ids: np.ndarray | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._draw, name="readings-ids")
        self._thread.start()

    def _draw(self) -> None:
        try:
            with self._engine.connect() as conn:
                runs = conn.execute(text(_RUNS_SQL), {"n": self._count}).all()
                conn.commit()
            starts = np.array([r[0] for r in runs], dtype=np.int64)
            lengths = np.array([r[1] for r in runs], dtype=np.int64)
            offsets = np.arange(self._count, dtype=np.int64) - np.repeat(
                np.cumsum(lengths) - lengths, lengths
            )
            self._ids = np.repeat(starts, lengths) + offsets
        except BaseException as error:
            self._error = error

    def get(self) -> np.ndarray:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._ids is not None
        return self._ids
