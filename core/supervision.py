"""Process supervision: every long-lived process (contracts, cases, work orders, billing
runs, flags; later NTL cases, restorations, connection requests) seen in one place.

A domain describes its process once as a ``ProcessSource`` (its subject table, the
lifecycle history its ``core.lifecycle.Lifecycle`` writes, its final states and SLAs) and
the composition root registers it (``kilowatch/processes.py``): core never imports a
domain. Everything is computed from the history, in the database, under the caller's
territory (the subject's own rule):

- instances by current state;
- time spent in each state (a step: from entering a state to leaving it), p50 / p95;
- the stuck ones: in a non-final state for longer than that state's SLA;
- one instance's steps with their durations (drill-down);
- entries into each state per month (the chart over time).

A subject's initial state is entered at its ``created_at`` unless its history has a row
from no state (``from_status IS NULL``): that row is then the entry.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import EntityNotFoundError
from core.lifecycle import Lifecycle
from core.territory import rule_sql


class ProcessUnknownError(EntityNotFoundError):
    code = "process_unknown"


@dataclass(frozen=True)
class ProcessSource:
    """One kind of long-lived process and where its steps are recorded."""

    name: str  # "work_order": the URL's and the registry's key
    label: str  # "Work orders"
    subject: type[Any]  # the model whose rows are the instances (has id, created_at)
    history: type[Any]  # its lifecycle history model (subject_key, from/to_status, at)
    subject_key: str
    states: tuple[str, ...]
    initial: str
    final: frozenset[str]
    sla: dict[str, timedelta] = field(default_factory=dict)  # per state; absent: no SLA
    state_field: str = "status"

    @classmethod
    def of(
        cls,
        name: str,
        label: str,
        lifecycle: Lifecycle,
        subject: type[Any],
        sla: dict[str, timedelta] | None = None,
    ) -> ProcessSource:
        """A source described by the domain's ``Lifecycle`` (states, final states)."""
        assert lifecycle.history is not None, f"{name}: a supervised process keeps a history"
        states = list(lifecycle.machine.states)
        return cls(
            name=name,
            label=label,
            subject=subject,
            history=lifecycle.history,
            subject_key=lifecycle.subject_key,
            states=tuple(s.id for s in states),
            initial=next(s.id for s in states if s.initial),
            final=frozenset(s.id for s in states if s.final),
            sla=dict(sla or {}),
            state_field=lifecycle.state_field,
        )


_SOURCES: dict[str, ProcessSource] = {}


def register(source: ProcessSource) -> None:
    """Register (or replace: idempotent at start-up) a process source."""
    _SOURCES[source.name] = source


def sources() -> list[ProcessSource]:
    return sorted(_SOURCES.values(), key=lambda s: s.label)


def source(name: str) -> ProcessSource:
    try:
        return _SOURCES[name]
    except KeyError:
        raise ProcessUnknownError(f"no supervised process {name!r}") from None


@dataclass(frozen=True)
class StepFigures:
    state: str
    done: int  # steps finished (the state was left)
    p50_seconds: float | None
    p95_seconds: float | None
    mean_seconds: float | None


@dataclass(frozen=True)
class StuckInstance:
    id: int
    state: str
    since: datetime
    age_seconds: float
    sla_seconds: float


@dataclass(frozen=True)
class Step:
    state: str
    entered_at: datetime
    left_at: datetime | None
    seconds: float | None
    event: str | None
    actor: str | None


def _names(src: ProcessSource) -> dict[str, str]:
    return {
        "subject": src.subject.__tablename__,
        "history": src.history.__tablename__,
        "key": src.subject_key,
        "state": src.state_field,
    }


def _entries_sql(src: ProcessSource, actor: Actor) -> str:
    """Every entry into a state, one row each: (subject_id, state, at, event, actor,
    left_at) with left_at the next entry's time (NULL while still in it)."""
    n = _names(src)
    territory = rule_sql(actor, src.subject, "s") or "true"
    return f"""
        WITH subjects AS (
            SELECT s.id, s.created_at, s.{n["state"]} AS state FROM {n["subject"]} AS s
            WHERE {territory}
        ), entries AS (
            SELECT h.{n["key"]} AS subject_id, h.to_status AS state, h.at, h.id AS seq,
                   h.event, h.actor
            FROM {n["history"]} AS h JOIN subjects ON subjects.id = h.{n["key"]}
            UNION ALL
            SELECT subjects.id, :initial, subjects.created_at, 0, NULL, NULL
            FROM subjects
            WHERE NOT EXISTS (
                SELECT 1 FROM {n["history"]} AS h0
                WHERE h0.{n["key"]} = subjects.id AND h0.from_status IS NULL
            )
        )
        SELECT subject_id, state, at, event, actor,
               lead(at) OVER (PARTITION BY subject_id ORDER BY at, seq) AS left_at
        FROM entries
    """


def by_state(session: Session, actor: Actor, src: ProcessSource) -> dict[str, int]:
    """How many instances are in each state now (every state listed, zeros included)."""
    n = _names(src)
    territory = rule_sql(actor, src.subject, "s") or "true"
    rows = session.execute(
        text(
            f"SELECT s.{n['state']}, count(*) FROM {n['subject']} AS s WHERE {territory} GROUP BY 1"
        )
    ).all()
    counts = dict.fromkeys(src.states, 0)
    counts.update({state: int(count) for state, count in rows})
    return counts


def step_durations(
    session: Session,
    actor: Actor,
    src: ProcessSource,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[StepFigures]:
    """Per state: the finished steps (entered in [since, until)) and their p50 / p95 /
    mean time in the state, in seconds (PostgreSQL ``percentile_cont``: interpolated)."""
    rows = session.execute(
        text(
            f"""
            SELECT state, count(*),
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY secs),
                   percentile_cont(0.95) WITHIN GROUP (ORDER BY secs),
                   avg(secs)
            FROM (
                SELECT state, extract(epoch FROM left_at - at)::float8 AS secs, at
                FROM ({_entries_sql(src, actor)}) AS e
                WHERE left_at IS NOT NULL
                  AND (CAST(:since AS timestamptz) IS NULL OR at >= :since)
                  AND (CAST(:until AS timestamptz) IS NULL OR at < :until)
            ) AS steps
            GROUP BY state
            """
        ),
        {"initial": src.initial, "since": since, "until": until},
    ).all()
    found = {r[0]: r for r in rows}
    figures = []
    for state in src.states:
        if state in src.final:
            continue
        row = found.get(state)
        figures.append(
            StepFigures(state, int(row[1]), float(row[2]), float(row[3]), float(row[4]))
            if row
            else StepFigures(state, 0, None, None, None)
        )
    return figures


def stuck(
    session: Session, actor: Actor, src: ProcessSource, now: datetime, limit: int = 200
) -> list[StuckInstance]:
    """Instances in a non-final state with an SLA, there for longer than it (oldest first)."""
    if not src.sla:
        return []
    slas = ", ".join(f"('{state}', {int(d.total_seconds())})" for state, d in src.sla.items())
    rows = session.execute(
        text(
            f"""
            SELECT e.subject_id, e.state, e.at, extract(epoch FROM :now - e.at)::float8, sla.secs
            FROM ({_entries_sql(src, actor)}) AS e
            JOIN (VALUES {slas}) AS sla(state, secs) ON sla.state = e.state
            WHERE e.left_at IS NULL AND e.at < :now - make_interval(secs => sla.secs)
            ORDER BY e.at, e.subject_id
            LIMIT :limit
            """
        ),
        {"initial": src.initial, "now": now, "limit": limit},
    ).all()
    return [StuckInstance(int(r[0]), r[1], r[2], float(r[3]), float(r[4])) for r in rows]


def instance_steps(
    session: Session, actor: Actor, src: ProcessSource, subject_id: int
) -> list[Step]:
    """One instance's steps in order, with the time spent in each (drill-down). An
    instance outside the caller's territory does not exist for them (404)."""
    rows = session.execute(
        text(
            f"SELECT state, at, left_at, extract(epoch FROM left_at - at)::float8, event, actor"
            f" FROM ({_entries_sql(src, actor)}) AS e WHERE subject_id = :id ORDER BY at"
        ),
        {"initial": src.initial, "id": subject_id},
    ).all()
    if not rows:
        raise ProcessUnknownError(f"no {src.label.lower()} instance {subject_id}")
    return [Step(r[0], r[1], r[2], None if r[3] is None else float(r[3]), r[4], r[5]) for r in rows]


def monthly_entries(
    session: Session, actor: Actor, src: ProcessSource, *, tz: str
) -> list[tuple[str, str, int]]:
    """(month ``YYYY-MM`` in local time, state, entries): the chart over time."""
    rows = session.execute(
        text(
            f"SELECT to_char(at AT TIME ZONE :tz, 'YYYY-MM'), state, count(*)"
            f" FROM ({_entries_sql(src, actor)}) AS e GROUP BY 1, 2 ORDER BY 1, 2"
        ),
        {"initial": src.initial, "tz": tz},
    ).all()
    return [(r[0], r[1], int(r[2])) for r in rows]
