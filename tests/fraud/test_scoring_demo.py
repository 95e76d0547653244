"""Scoring the demo utility end to end: the run, its scores with reasons, the budget's
selection and the flags it opens; thieves rank above honest customers."""

from __future__ import annotations

from datetime import date

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM, acting_as
from fraud.scoring import service as scoring
from fraud.scoring.ranking import RankingRules
from kilowatch.demo_utility.builder import build_demo_utility

SEED = 7_313
FIRST = date(2024, 1, 1)
PERIOD = date(2025, 12, 1)


def test_scoring_the_demo_utility(db: Session) -> None:
    with acting_as(SYSTEM, request_id="test-fraud-scoring-demo"):
        build_demo_utility(db, customers=300, seed=SEED, first_month=FIRST)
        rules = RankingRules(budget=20, audit_share=0.1, seed=3)
        report = scoring.score_network(db, actor=SYSTEM, period=PERIOD, rules=rules)
        again = scoring.score_network(db, actor=SYSTEM, period=PERIOD, rules=rules)
    # round(20 x 0.1) = 2 audits; the other 18 by priority (all positive here).
    assert (report.selected_priority, report.selected_audit) == (18, 2)
    assert report.flags_opened == 20
    assert again.flags_opened == 0  # every selected usage point already has an open flag
    assert again.models == report.models == {"isolation_forest": 1}  # reused, not retrained
    rows = db.execute(
        text(
            "SELECT s.probability, g.attack IS NOT NULL, s.reasons, s.selection "
            "FROM fraud_score s JOIN demo_ground_truth g ON g.usage_point_id = s.usage_point_id "
            "WHERE s.run_id = :run"
        ),
        {"run": report.run_id},
    ).all()
    assert len(rows) == report.usage_points
    p = np.array([r[0] for r in rows])
    thief = np.array([r[1] for r in rows])
    assert _auc(p[thief], p[~thief]) > 0.75
    assert all(r[2] and r[2][0]["text"] for r in rows)  # every score says why


def _auc(positive: np.ndarray, negative: np.ndarray) -> float:
    diff = positive[:, None] - negative[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_past_inspections_train_the_gradient_boosting(db: Session) -> None:
    """Inspections imported as labels (a CSV of usage point codes) train the supervised
    model; the registry keeps its version, training hash and cross-validated metrics, and
    the next scoring uses it."""
    from fraud.scoring.labels import import_labels

    with acting_as(SYSTEM, request_id="test-fraud-supervised"):
        build_demo_utility(db, customers=300, seed=SEED, first_month=FIRST)
        rows = db.execute(
            text(
                "SELECT up.code, g.attack FROM demo_ground_truth g "
                "JOIN customer_usage_point up ON up.id = g.usage_point_id "
                "WHERE g.subject = 'usage_point' ORDER BY up.code"
            )
        ).all()
        # Every other customer was inspected on 5 January 2026 (labels of December 2025).
        csv = "usage_point,date,outcome,kind\n" + "".join(
            f"{code},2026-01-05,{'fraud' if attack else 'no_fraud'},{attack or ''}\n"
            for code, attack in rows[::2]
        )
        imported = import_labels(db, actor=SYSTEM, content=csv, source="import:test.csv")
        report = scoring.train_models(db, actor=SYSTEM, period=PERIOD)
        scored = scoring.score_network(db, actor=SYSTEM, period=PERIOD)
    assert imported.inserted == len(rows[::2]) == report.labels == 150
    assert report.gradient_boosting == 1 and report.positives >= 5
    assert report.metrics["roc_auc"] > 0.7  # out of fold, folds split by usage point
    assert scored.models == {"isolation_forest": 1, "gradient_boosting": 1}
    version = db.execute(
        text(
            "SELECT training_rows, training_positives, length(training_hash), metrics "
            "FROM fraud_model_version WHERE kind = 'gradient_boosting'"
        )
    ).one()
    assert version[:3] == (150, report.positives, 64) and version[3] == report.metrics
