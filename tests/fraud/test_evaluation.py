"""``kilowatch fraud evaluate`` on a small demo utility: every table is there, the numbers
are sane, and the same seed gives the very same tables."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from core.context import SYSTEM, acting_as
from kilowatch.fraud_evaluation import evaluate_demo

SEED = 7_313


def test_evaluation_is_reproducible_by_seed(db: Session) -> None:
    with acting_as(SYSTEM, request_id="test-fraud-evaluate"):
        first = evaluate_demo(db, seed=SEED, customers=300, first_month=date(2024, 1, 1))
        again = evaluate_demo(db, seed=SEED, customers=300, first_month=date(2024, 1, 1))
    assert first["demo_built_now"] and not again["demo_built_now"]
    first.pop("demo_built_now"), again.pop("demo_built_now")
    assert first == again
    assert (first["usage_points"], first["thieves"], first["budget"]) == (300, 15, 15)
    models = {row["model"]: row for row in first["overall"]}
    assert set(models) == {
        "isolation_forest",
        "unsupervised_p_ntl",
        "unsupervised_p_ntl_without_explanations",
        "priority_with_zone",
        "priority_without_zone",
        "supervised_out_of_fold",
        "supervised_priority_with_zone",
    }
    # Thieves rank above honest customers far more often than chance.
    assert models["unsupervised_p_ntl"]["roc_auc"] > 0.75
    assert models["supervised_out_of_fold"]["roc_auc"] > 0.75
    attacks = {row["group"] for row in first["per_attack"]["unsupervised_p_ntl"]}
    assert {"partial_bypass", "intermittent", "seasonal", "meter_stopped"} <= attacks
    assert set(first["lookalikes_in_budget"]["unsupervised_p_ntl"]) >= {"thieves"}


def test_honest_lookalikes_stay_out_of_the_top_100(db: Session) -> None:
    """The CLI's demo (seed 42, 2,000 customers, 60 honest look-alikes, budget 100): the
    honest explanations (a move-in at the fall, a zone balance that did not move) keep
    most look-alikes out of the unsupervised top 100. Measured when written: 10 with them
    (vacant 5, rooftop solar 4, new frugal occupant 1), 34 without (19, 1, 14)."""
    with acting_as(SYSTEM, request_id="test-fraud-evaluate-lookalikes"):
        result = evaluate_demo(db, seed=42, customers=2000)
    assert result["budget"] == 100 and result["lookalikes"] == 60

    def honest(model: str) -> int:
        counts = result["lookalikes_in_budget"][model]
        return sum(v for k, v in counts.items() if k != "thieves")

    assert honest("unsupervised_p_ntl") <= 15
    assert honest("unsupervised_p_ntl_without_explanations") >= 2 * honest("unsupervised_p_ntl")
    assert result["lookalikes_in_budget"]["unsupervised_p_ntl"]["frugal_new_occupant"] <= 3
