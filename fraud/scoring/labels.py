"""Labels: what inspections found. Imported from past inspections (CSV) or written when
an analyst decides a flag; the supervised model learns from them.

The CSV has a header and the columns ``usage_point`` (the usage point's external key from
the data migration, or its Kilowatch code), ``date`` (YYYY-MM-DD, the inspection's day),
``outcome`` (fraud, irregularity, no_fraud; also confirmed/yes/1 and dismissed/no/0) and
``kind`` (free text: bypass, tampered seal ...; may be empty). The whole file is checked
first: with any bad row nothing is written and every bad row is reported (line and why).
Re-importing the same file changes nothing (one label per usage point, day and kind).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from core.errors import FieldError
from core.periods import add_months, month_start
from core.territory import rule_sql
from customers.models import UsagePoint
from fraud.enums import LabelOutcome
from fraud.errors import LabelFileInvalidError
from fraud.features.build import features_of
from fraud.features.series import load_history

COLUMNS = ("usage_point", "date", "outcome", "kind")
OUTCOMES = {
    "fraud": LabelOutcome.FRAUD,
    "confirmed": LabelOutcome.FRAUD,
    "yes": LabelOutcome.FRAUD,
    "1": LabelOutcome.FRAUD,
    "irregularity": LabelOutcome.IRREGULARITY,
    "no_fraud": LabelOutcome.NO_FRAUD,
    "dismissed": LabelOutcome.NO_FRAUD,
    "no": LabelOutcome.NO_FRAUD,
    "0": LabelOutcome.NO_FRAUD,
}
MAX_ROWS = 1_000_000


@dataclass
class LabelImport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


def _resolve(session: Session, actor: Actor, keys: list[str]) -> dict[str, int]:
    """External key or code -> usage point id, for the usage points the actor sees."""
    condition = rule_sql(actor, UsagePoint, "up")
    sql = """
SELECT k.key, coalesce(
  (SELECT m.kilowatch_id FROM core_migration_key m
   WHERE m.entity = 'usage_points' AND m.external_key = k.key ORDER BY m.id LIMIT 1),
  (SELECT up.id FROM customer_usage_point up WHERE up.code = k.key)) AS id
FROM unnest(CAST(:keys AS text[])) AS k(key)
"""
    found = {k: i for k, i in session.execute(text(sql), {"keys": keys}) if i is not None}
    if condition and found:
        seen = set(
            session.scalars(
                text(
                    f"SELECT up.id FROM customer_usage_point up WHERE up.id = ANY(:ids) AND {condition}"
                ),
                {"ids": list(found.values())},
            )
        )
        found = {k: i for k, i in found.items() if i in seen}
    return found


def parse(content: str) -> tuple[list[tuple[int, str, date, str, str]], list[dict[str, Any]]]:
    """Rows ``(line, key, day, outcome, kind)`` and the problems of the bad ones."""
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    missing = [c for c in COLUMNS[:3] if c not in (reader.fieldnames or [])]
    if missing:
        return [], [{"line": 1, "problem": f"missing columns: {', '.join(missing)}"}]
    rows, problems = [], []
    for line, record in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            problems.append({"line": line, "problem": f"more than {MAX_ROWS} rows"})
            break
        key = (record.get("usage_point") or "").strip()
        outcome = OUTCOMES.get((record.get("outcome") or "").strip().lower())
        kind = (record.get("kind") or "").strip()
        try:
            day = date.fromisoformat((record.get("date") or "").strip())
        except ValueError:
            day = None
        why = []
        if not key:
            why.append("no usage point")
        if day is None:
            why.append(f"date {record.get('date')!r} is not YYYY-MM-DD")
        if outcome is None:
            why.append(
                f"outcome {record.get('outcome')!r} is not one of fraud, irregularity, no_fraud"
            )
        if why:
            problems.append({"line": line, "problem": "; ".join(why)})
        else:
            rows.append((line, key, day, outcome.value, kind))  # type: ignore[union-attr]
    return rows, problems


_UPSERT_SQL = """
INSERT INTO fraud_label AS l (usage_point_id, inspected_on, outcome, kind, source)
SELECT * FROM unnest(CAST(:ups AS bigint[]), CAST(:days AS date[]), CAST(:outcomes AS text[]),
                     CAST(:kinds AS text[]), CAST(:sources AS text[]))
ON CONFLICT (usage_point_id, inspected_on, kind) DO UPDATE
SET outcome = excluded.outcome, updated_at = now()
WHERE l.outcome IS DISTINCT FROM excluded.outcome
RETURNING (xmax = 0) AS inserted
"""


def import_labels(session: Session, *, actor: Actor, content: str, source: str) -> LabelImport:
    """Import past inspections (see the module doc); raises ``LabelFileInvalidError``
    listing every bad row, having written nothing, when any row is bad."""
    rows, problems = parse(content)
    report = LabelImport(rows=len(rows) + len(problems))
    ids = _resolve(session, actor, sorted({r[1] for r in rows}))
    seen: dict[tuple[int, date, str], int] = {}
    for line, key, day, _outcome, kind in rows:
        if key not in ids:
            problems.append({"line": line, "problem": f"unknown usage point {key!r}"})
            continue
        first = seen.setdefault((ids[key], day, kind), line)
        if first != line:
            problems.append({"line": line, "problem": f"repeats line {first}"})
    if problems:
        problems.sort(key=lambda p: p["line"])
        raise LabelFileInvalidError(
            f"{len(problems)} of {report.rows} rows cannot be imported: nothing was written",
            errors=[FieldError(f"line {p['line']}", p["problem"]) for p in problems],
            extra={"problems": problems},
        )
    result = session.execute(
        text(_UPSERT_SQL),
        {
            "ups": [ids[r[1]] for r in rows],
            "days": [r[2] for r in rows],
            "outcomes": [r[3] for r in rows],
            "kinds": [r[4] for r in rows],
            "sources": [source] * len(rows),
        },
    ).all()
    report.inserted = sum(1 for (inserted,) in result if inserted)
    report.updated = len(result) - report.inserted
    report.unchanged = len(rows) - len(result)
    return report


def labelled_matrix(session: Session, months: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Features of each labelled usage point at its inspection's month (the month before
    the visit: what the model would have seen), the labels (1: fraud or irregularity) and
    the usage point of each row (to split folds by customer)."""
    labels = session.execute(
        text(
            "SELECT usage_point_id, inspected_on, outcome <> 'no_fraud' FROM fraud_label "
            "ORDER BY inspected_on, usage_point_id"
        )
    ).all()
    by_month: dict[date, dict[int, bool]] = {}
    for up, day, positive in labels:
        month = add_months(month_start(day), -1)
        got = by_month.setdefault(month, {})
        got[int(up)] = got.get(int(up), False) or bool(positive)
    xs, ys, groups = [], [], []
    for month, points in sorted(by_month.items()):
        matrix = features_of(load_history(session, month, months, sorted(points)))
        xs.append(matrix.values)
        ys.append([points[int(u)] for u in matrix.usage_point_ids])
        groups.append(matrix.usage_point_ids)
    if not xs:
        return np.empty((0, 0)), np.empty(0), np.empty(0, dtype=np.int64)
    return np.vstack(xs), np.concatenate(ys).astype(float), np.concatenate(groups)
