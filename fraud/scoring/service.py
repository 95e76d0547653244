"""Train the detectors, score the whole network for a month, read and export the ranking.

Scoring is for the whole network (the CLI, the worker: unrestricted principals); an
agency's staff read the scores of their territory. Services flush, never commit.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.audit import declare_bulk_job, each_row_audited
from core.bulk import copy_columns, text_values
from core.context import Actor
from core.errors import PermissionDeniedError
from core.periods import month_start
from core.territory import rule_sql
from fraud.enums import ModelKind
from fraud.errors import NothingToScoreError
from fraud.features.build import features_of
from fraud.features.matrix import FeatureMatrix
from fraud.features.series import History, load_history
from fraud.models import Score, ScoreRun
from fraud.scoring import detectors, pipeline, registry
from fraud.scoring.labels import labelled_matrix
from fraud.scoring.prepare import matrix_hash
from fraud.scoring.ranking import RankingRules

MONTHS = 24
MIN_CLASS = 5  # labels of each class before a supervised model is trained


def _require_whole_network(actor: Actor) -> None:
    if not actor.sees_all_territories:  # an agency's staff, or one company's of several
        raise PermissionDeniedError("models are trained and scored for the whole network")


@dataclass
class TrainReport:
    period: str
    usage_points: int
    isolation_forest: int  # version
    local_outlier_factor: int
    gradient_boosting: int | None
    labels: int
    positives: int
    metrics: dict[str, Any]


def _forest_version(session: Session, actor: Actor, matrix: FeatureMatrix) -> tuple[Any, int]:
    params = detectors.ForestParams()
    model = pipeline.fit_forest_model(matrix, params)
    row = registry.save(
        session,
        actor,
        kind=ModelKind.ISOLATION_FOREST,
        artefact=model,
        training_hash=matrix_hash(matrix.values),
        rows=len(matrix.values),
        positives=0,
        period=matrix.periods[0] if matrix.periods else date(1970, 1, 1),
        features=matrix.columns,
        parameters=asdict(params),
        metrics={"score_quantiles": _quantiles(model, matrix)},
    )
    return model, row.version


def _quantiles(model: pipeline.ForestModel, matrix: FeatureMatrix) -> list[float]:
    if not len(matrix.values):
        return []
    s = detectors.forest_score(model.forest, model.scaling.apply(matrix.values))
    return [round(float(q), 4) for q in np.quantile(s, [0.5, 0.9, 0.99])]


def train_models(
    session: Session, *, actor: Actor, period: date, months: int = MONTHS
) -> TrainReport:
    """Fit the isolation forest on the whole network's features of ``period``, record the
    zone LOF's parameters, and fit the gradient boosting on the labels when there are at
    least ``MIN_CLASS`` of each class (its metrics cross-validated by usage point)."""
    _require_whole_network(actor)
    period = month_start(period)
    matrix = features_of(load_history(session, period, months))
    if len(matrix.values) == 0:
        raise NothingToScoreError(f"no usage point has a meter fitted in the {months} months")
    _model, forest_version = _forest_version(session, actor, matrix)
    lof = registry.save(
        session,
        actor,
        kind=ModelKind.LOCAL_OUTLIER_FACTOR,
        artefact={"n_neighbors": pipeline.LOF_NEIGHBOURS, "zone": "transformer"},
        training_hash=matrix_hash(matrix.values),
        rows=len(matrix.values),
        positives=0,
        period=period,
        features=matrix.columns,
        parameters={"n_neighbors": pipeline.LOF_NEIGHBOURS, "zone": "transformer"},
        metrics={},
    )
    x, y, groups = labelled_matrix(session, months)
    positives = int(y.sum()) if len(y) else 0
    boosting_version = None
    metrics: dict[str, Any] = {}
    if positives >= MIN_CLASS and len(y) - positives >= MIN_CLASS:
        params = detectors.BoostingParams()
        metrics = cross_validated(x, y, groups, params)
        booster = detectors.fit_boosting(x, y, params)
        boosting_version = registry.save(
            session,
            actor,
            kind=ModelKind.GRADIENT_BOOSTING,
            artefact={"model": booster, "columns": matrix.columns},
            training_hash=matrix_hash(x, y),
            rows=len(y),
            positives=positives,
            period=period,
            features=matrix.columns,
            parameters=asdict(params),
            metrics=metrics,
        ).version
    return TrainReport(
        f"{period:%Y-%m}",
        len(matrix.values),
        forest_version,
        lof.version,
        boosting_version,
        len(y),
        positives,
        metrics,
    )


def cross_validated(
    x: np.ndarray, y: np.ndarray, groups: np.ndarray, params: detectors.BoostingParams
) -> dict[str, Any]:
    """ROC-AUC and PR-AUC of the boosting out of fold, folds split by usage point (a
    customer's labels never sit on both sides)."""
    from sklearn.metrics import average_precision_score, roc_auc_score
    from sklearn.model_selection import StratifiedGroupKFold

    minority = int(min(y.sum(), len(y) - y.sum()))
    folds = max(2, min(5, minority))
    predicted = np.full(len(y), np.nan)
    for train, test in StratifiedGroupKFold(folds, shuffle=True, random_state=7).split(
        x, y, groups
    ):
        if len(np.unique(y[train])) < 2:
            continue
        predicted[test] = detectors.fit_boosting(x[train], y[train], params).predict_proba(x[test])[
            :, 1
        ]
    ok = np.isfinite(predicted)
    if len(np.unique(y[ok])) < 2:
        return {"folds": folds}
    return {
        "folds": folds,
        "roc_auc": round(float(roc_auc_score(y[ok], predicted[ok])), 4),
        "pr_auc": round(float(average_precision_score(y[ok], predicted[ok])), 4),
    }


@dataclass
class ScoreReport:
    run_id: int
    period: str
    usage_points: int
    selected_priority: int
    selected_audit: int
    flags_opened: int
    models: dict[str, int]
    seconds: dict[str, float]


def _models(session: Session, actor: Actor, matrix: FeatureMatrix) -> tuple[Any, Any, dict]:
    used: dict[str, int] = {}
    row = registry.latest(session, ModelKind.ISOLATION_FOREST)
    forest = registry.load(row) if row is not None else None
    if forest is None or forest.columns != matrix.columns:
        forest, used["isolation_forest"] = _forest_version(session, actor, matrix)
    else:
        used["isolation_forest"] = row.version  # type: ignore[union-attr]
    booster = None
    boost_row = registry.latest(session, ModelKind.GRADIENT_BOOSTING)
    if boost_row is not None:
        stored = registry.load(boost_row)
        if stored["columns"] == matrix.columns:
            booster = stored["model"]
            used["gradient_boosting"] = boost_row.version
    return forest, booster, used


def score_network(
    session: Session,
    *,
    actor: Actor,
    period: date,
    rules: RankingRules | None = None,
    months: int = MONTHS,
    history: History | None = None,
) -> ScoreReport:
    """Score every usage point for ``period``'s month, store the run, its scores (with
    reasons) and open a flag for each usage point the budget selects (unless one is open)."""
    _require_whole_network(actor)
    rules = rules or RankingRules()
    period = month_start(period)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    history = history or load_history(session, period, months)
    seconds["load"] = round(time.perf_counter() - t0, 3)
    matrix = features_of(history)
    if len(matrix.values) == 0:
        raise NothingToScoreError(f"no usage point has a meter fitted in the {months} months")
    forest, booster, used = _models(session, actor, matrix)
    scored = pipeline.score(history, forest, rules, boosting=booster, matrix=matrix)
    seconds.update(scored.seconds)
    t0 = time.perf_counter()
    run = ScoreRun(
        period=period,
        models=used,
        rules=asdict(rules),
        usage_points=len(matrix.values),
        selected=int((scored.ranking.selection != None).sum()),  # noqa: E711
        seconds={},
        started_by=actor.username,
    )
    session.add(run)
    session.flush()
    opened = store_scores(session, run, scored, rules)
    seconds["store"] = round(time.perf_counter() - t0, 3)
    run.seconds = seconds
    session.flush()
    summary = pipeline.summary(scored)
    return ScoreReport(
        run.id,
        f"{period:%Y-%m}",
        summary["usage_points"],
        summary["selected_priority"],
        summary["selected_audit"],
        opened,
        used,
        seconds,
    )


_OPEN_FLAGS_SQL = """
INSERT INTO fraud_flag (usage_point_id, score_id, source, status, period, priority_minor,
                        probability, reasons)
SELECT s.usage_point_id, s.id, CASE s.selection WHEN 'audit' THEN 'audit' ELSE 'ranking' END,
       'new', r.period, s.priority_minor, s.probability, s.reasons
FROM fraud_score s JOIN fraud_score_run r ON r.id = s.run_id
WHERE s.run_id = :run AND s.selection IS NOT NULL
ORDER BY s.rank
ON CONFLICT (usage_point_id) WHERE status NOT IN ('confirmed', 'dismissed') DO NOTHING
"""


def store_scores(
    session: Session, run: ScoreRun, scored: pipeline.Scored, rules: RankingRules
) -> int:
    """COPY the run's scores (one row per usage point, reasons included) and open the
    flags; returns how many flags were opened."""
    declare_bulk_job(session, f"fraud-score-run-{run.id}")
    r = scored.ranking
    reasons = [json.dumps(x, ensure_ascii=False) for x in scored.reasons()]
    n = len(scored.probability)
    copy_columns(
        session,
        Score.__tablename__,
        {
            "run_id": [str(run.id)] * n,
            "usage_point_id": text_values(scored.matrix.usage_point_ids),
            "anomaly": text_values(np.round(scored.anomaly, 6)),
            "probability": text_values(np.round(scored.probability, 6)),
            "zone_factor": text_values(np.round(r.zone_factor, 4)),
            "recoverable_kwh": text_values(np.round(r.recoverable_kwh, 3)),
            "priority_minor": text_values(r.priority_minor),
            "currency": [rules.currency] * n,
            "rank": text_values(r.rank),
            "selection": text_values(r.selection),
            "reasons": text_values(reasons),
        },
    )
    # Flags are business records an analyst works on: audited row by row.
    with each_row_audited(session):
        result = session.execute(text(_OPEN_FLAGS_SQL), {"run": run.id})
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


# -- reading the ranking -------------------------------------------------------------------

EXTERNAL_KEY_SQL = (
    "coalesce((SELECT k.external_key FROM core_migration_key k WHERE k.entity = 'usage_points'"
    " AND k.kilowatch_id = up.id ORDER BY k.id LIMIT 1), up.code)"
)


def latest_run_id(session: Session, period: date | None = None) -> int | None:
    sql = "SELECT id FROM fraud_score_run"
    params: dict[str, Any] = {}
    if period is not None:
        sql += " WHERE period = :period"
        params["period"] = month_start(period)
    return session.scalar(text(sql + " ORDER BY id DESC LIMIT 1"), params)


def ranking_rows(
    session: Session,
    *,
    actor: Actor,
    run_id: int,
    limit: int | None = None,
    selected_only: bool = False,
) -> list[dict[str, Any]]:
    """The run's scores the actor sees, by rank: external key, code, category, transformer,
    probability, zone factor, recoverable kWh, priority, selection, reasons in words."""
    where = ["s.run_id = :run"]
    condition = rule_sql(actor, Score, "s")
    if condition:
        where.append(condition)
    if selected_only:
        where.append("s.selection IS NOT NULL")
    sql = f"""
SELECT s.rank, {EXTERNAL_KEY_SQL} AS external_key, up.code, up.category, t.code AS transformer,
       s.probability, s.anomaly, s.zone_factor, s.recoverable_kwh, s.priority_minor,
       s.currency, s.selection, s.reasons, s.usage_point_id
FROM fraud_score s
JOIN customer_usage_point up ON up.id = s.usage_point_id
JOIN customer_service_location sl ON sl.id = up.service_location_id
LEFT JOIN gis_service_point sp ON sp.id = sl.service_point_id
LEFT JOIN gis_power_transformer t ON t.id = sp.transformer_id
WHERE {" AND ".join(where)}
ORDER BY s.rank
{"LIMIT :limit" if limit else ""}
"""
    rows = session.execute(text(sql), {"run": run_id, "limit": limit}).mappings().all()
    return [dict(r) for r in rows]


def run_period(session: Session, run_id: int) -> date | None:
    return session.scalar(text("SELECT period FROM fraud_score_run WHERE id = :id"), {"id": run_id})
