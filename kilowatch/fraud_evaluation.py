"""``kilowatch fraud evaluate``: the NTL detectors measured on the demo utility, whose
ground truth (``demo_ground_truth``) only this composition root may read.

For a seed: build the demo utility (idempotent per seed), compute its zone balances, load
24 months of features of its usage points, then score them

- unsupervised: isolation forest + zone LOF + direction rank (``fraud.scoring``), the
  probability alone and the priority with and without the zone factor;
- supervised: a gradient boosting's out-of-fold probability with every usage point's truth
  as its label, 5 folds split by customer (a usage point is one customer here);

and report ROC-AUC, PR-AUC, precision at k and the hit rate at the inspection budget
(k = budget), per attack type (and for the thieves begun before the data), how many honest
look-alikes (vacant, rooftop solar, new frugal occupant) the budget wastes on, and whether
the energy-neutral attacks (h5 flattened, h6 reversed) are caught while their zone's
balance sees nothing. Everything is seeded: the same seed prints the same tables.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import SYSTEM
from core.periods import add_months
from fraud import evaluation as ev
from fraud.features.build import features_of
from fraud.features.series import load_history
from fraud.scoring import detectors, pipeline
from fraud.scoring.ranking import RankingRules, balance_check, rank
from fraud.service import compute_balances
from kilowatch.demo_utility.builder import build_demo_utility, existing_batch

TRUTH_SQL = """
SELECT usage_point_id, attack, coalesce(attack_parameters ->> 'started_before_window', '')
         = 'true' AS before_window,
       events ->> 'lookalike' AS lookalike
FROM demo_ground_truth WHERE batch_id = :batch AND subject = 'usage_point'
ORDER BY usage_point_id
"""
ENERGY_NEUTRAL = ("h5", "h6")
out = Console()


def _truth(session: Session, batch_id: int) -> dict[str, np.ndarray]:
    rows = session.execute(text(TRUTH_SQL), {"batch": batch_id}).all()
    return {
        "ids": np.array([r[0] for r in rows], dtype=np.int64),
        "attack": np.array([r[1] or "" for r in rows], dtype=object),
        "before": np.array([bool(r[2]) for r in rows]),
        "lookalike": np.array([r[3] or "" for r in rows], dtype=object),
    }


def _overall(name: str, score: np.ndarray, y: np.ndarray, k: int) -> dict[str, Any]:
    picked = ev.top(score, k)
    return {
        "model": name,
        "roc_auc": ev.auc(score, y),
        "pr_auc": ev.pr_auc(score, y),
        f"precision_at_{k}": ev.precision_at(score, y, k),
        "recall_at_budget": round(float(y[picked].sum() / max(1, y.sum())), 4),
    }


def prepare_demo(session: Session, *, seed: int, customers: int) -> tuple[date, date]:
    """Build the demo utility of ``seed`` if missing and compute its zone balances; the
    first and last month of its window."""
    build_demo_utility(session, customers=customers, seed=seed)
    batch = existing_batch(session, seed)
    assert batch is not None
    first, period = batch.first_month, add_months(batch.first_month, batch.months - 1)
    compute_balances(session, actor=SYSTEM, first=first, last=period)
    return first, period


def evaluate_demo(
    session: Session,
    *,
    seed: int,
    customers: int = 2000,
    budget_share: float = 0.05,
    first_month: date | None = None,
) -> dict[str, Any]:
    """Build (if needed) and evaluate the demo utility of ``seed``; returns the tables."""
    report = build_demo_utility(session, customers=customers, seed=seed, first_month=first_month)
    batch = existing_batch(session, seed)
    assert batch is not None
    period = add_months(batch.first_month, batch.months - 1)
    if not session.scalar(
        text("SELECT EXISTS (SELECT 1 FROM fraud_zone_balance WHERE period_start = :p)"),
        {"p": period},
    ):
        compute_balances(session, actor=SYSTEM, first=batch.first_month, last=period)
    truth = _truth(session, batch.id)
    history = load_history(session, period, batch.months, truth["ids"].tolist())
    matrix = features_of(history)
    at = np.searchsorted(truth["ids"], matrix.usage_point_ids)
    attack, before, lookalike = truth["attack"][at], truth["before"][at], truth["lookalike"][at]
    y = attack != ""
    honest = ~y
    k = max(1, round(len(y) * budget_share))
    rules = RankingRules(budget=k, audit_share=0.0, seed=seed)
    model = pipeline.fit_forest_model(matrix, detectors.ForestParams(random_state=seed))
    scored = pipeline.score(history, model, rules, matrix=matrix)
    # The same without the honest explanations (move-in, zone balance), for comparison.
    unexplained = pipeline.score(history, model, rules, matrix=matrix, honest_weight=0.0)
    no_zone = rank(
        scored.probability,
        history.zone_ntl_share,
        scored.ranking.recoverable_kwh,
        RankingRules(budget=k, audit_share=0.0, seed=seed, use_zone_factor=False),
    )
    supervised = ev.out_of_fold(matrix.values, y, matrix.usage_point_ids, seed)
    monthly_missing = scored.ranking.recoverable_kwh / rules.horizon_months
    supervised_priority = rank(
        supervised,
        history.zone_ntl_share,
        scored.ranking.recoverable_kwh,
        rules,
        balance_check(history.zone_ntl_kwh, monthly_missing)
        if history.zone_ntl_kwh is not None
        else None,
    )
    scores = {
        "isolation_forest": scored.forest,
        "unsupervised_p_ntl": scored.probability,
        "unsupervised_p_ntl_without_explanations": unexplained.probability,
        "priority_with_zone": scored.ranking.priority_minor.astype(float),
        "priority_without_zone": no_zone.priority_minor.astype(float),
        "supervised_out_of_fold": supervised,
        "supervised_priority_with_zone": supervised_priority.priority_minor.astype(float),
    }
    overall = [_overall(name, s, y, k) for name, s in scores.items()]
    per_attack: dict[str, list[dict[str, Any]]] = {}
    looks: dict[str, dict[str, int]] = {}
    for name in (
        "unsupervised_p_ntl",
        "unsupervised_p_ntl_without_explanations",
        "priority_with_zone",
        "supervised_out_of_fold",
        "supervised_priority_with_zone",
    ):
        selected = np.zeros(len(y), dtype=bool)
        selected[ev.top(scores[name], k)] = True
        groups = np.where(before & y, "(begun before the data)", "")
        rows = ev.per_group(scores[name], attack, honest, selected)
        rows += ev.per_group(scores[name], groups, honest, selected)
        per_attack[name] = [asdict(r) for r in rows]
        looks[name] = {
            kind: int((selected & (lookalike == kind)).sum())
            for kind in sorted({x for x in lookalike.tolist() if x})
        }
        looks[name]["thieves"] = int((selected & y).sum())
    return {
        "seed": seed,
        "customers": customers,
        "usage_points": len(y),
        "thieves": int(y.sum()),
        "lookalikes": int((lookalike != "").sum()),
        "period": f"{period:%Y-%m}",
        "budget": k,
        "demo_built_now": report.created,
        "overall": overall,
        "per_attack": per_attack,
        "lookalikes_in_budget": looks,
        "energy_neutral": _energy_neutral(matrix, history, attack, honest, scores),
    }


def _energy_neutral(
    matrix: Any, history: Any, attack: np.ndarray, honest: np.ndarray, scores: dict
) -> list[dict[str, Any]]:
    """For the attacks that take nothing over the window in total (a flattened profile, a
    reversed order): their zones' NTL share beside clean zones', and how the shape features
    and the models rank them against honest customers."""
    out = []
    zone_share = history.zone_ntl_share
    for name in ENERGY_NEUTRAL:
        members = attack == name
        if not members.any():
            continue
        both = members | honest
        out.append(
            {
                "attack": name,
                "count": int(members.sum()),
                "zone_ntl_share_median": _median(zone_share[members]),
                "honest_zone_ntl_share_median": _median(zone_share[honest]),
                "auc_flat_profile": ev.auc(
                    -matrix.column("coefficient_of_variation")[both], members[both]
                ),
                "auc_off_season": ev.auc(-matrix.column("zone_correlation")[both], members[both]),
                "auc_unsupervised": ev.auc(scores["unsupervised_p_ntl"][both], members[both]),
                "auc_supervised": ev.auc(scores["supervised_out_of_fold"][both], members[both]),
            }
        )
    return out


def labelled_datasets(root: Path) -> list[Path]:
    """CSV files under ``root`` that carry a theft label column (``FLAG``, as the SGCC
    data set of Zheng et al. 2018 does, or ``label``/``fraud``): real labelled data the
    literature's protocol would run on."""
    found = []
    for path in sorted(root.rglob("*.csv")) if root.is_dir() else []:
        with path.open(encoding="utf-8", errors="replace") as handle:
            header = {c.strip().lower() for c in handle.readline().split(",")}
        if header & {"flag", "label", "fraud"}:
            found.append(path)
    return found


def _median(x: np.ndarray) -> float | None:
    x = x[np.isfinite(x)]
    return round(float(np.median(x)), 4) if len(x) else None


def evaluate_command(
    seed: int = typer.Option(42, help="The demo utility's seed (built if missing)"),
    customers: int = typer.Option(2000, help="Customers, if the demo must be built"),
    budget_share: float = typer.Option(0.05, help="Inspection budget, share of usage points"),
    as_json: bool = typer.Option(False, "--json", help="Print the tables as JSON"),
) -> None:
    """Measure the detectors on the demo utility (per attack type, look-alikes, zone
    gating, energy-neutral attacks); reproducible by seed."""
    from core.context import acting_as
    from core.db import session_scope

    with acting_as(SYSTEM, request_id=f"cli:fraud-evaluate:{seed}"):
        with session_scope() as session:  # the demo and its balances, kept for next time
            prepare_demo(session, seed=seed, customers=customers)
        with session_scope() as session:
            result = evaluate_demo(
                session, seed=seed, customers=customers, budget_share=budget_share
            )
    root = Path(os.environ.get("KILOWATCH_DATASETS", "../shared/datasets"))
    result["labelled_datasets"] = [str(p) for p in labelled_datasets(root)]
    if as_json:
        out.print_json(json.dumps(result))
        return
    print_tables(result)
    out.print(
        f"Real labelled datasets under {root}: "
        + (", ".join(result["labelled_datasets"]) or "none (no file with a theft label)")
    )


def print_tables(result: dict[str, Any]) -> None:
    out.print(
        f"demo seed {result['seed']}: {result['usage_points']} usage points, "
        f"{result['thieves']} thieves, {result['lookalikes']} honest look-alikes, period "
        f"{result['period']}, budget {result['budget']} inspections"
    )
    overall = result["overall"]
    table = Table(*overall[0].keys(), title="Overall")
    for row in overall:
        table.add_row(*(_cell(v) for v in row.values()))
    out.print(table)
    for name, rows in result["per_attack"].items():
        table = Table("attack", "count", "roc_auc", "recall_at_budget", "median_rank", title=name)
        for row in rows:
            table.add_row(*(_cell(v) for v in row.values()))
        out.print(table)
    table = Table("model", "in the budget", title="Honest look-alikes inside the budget")
    for name, counts in result["lookalikes_in_budget"].items():
        table.add_row(name, ", ".join(f"{k}: {v}" for k, v in counts.items()))
    out.print(table)
    if result["energy_neutral"]:
        rows = result["energy_neutral"]
        table = Table(*rows[0].keys(), title="Energy-neutral attacks")
        for row in rows:
            table.add_row(*(_cell(v) for v in row.values()))
        out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if isinstance(value, float) else str(value)
