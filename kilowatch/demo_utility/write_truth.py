"""Write a batch's ground truth: per usage point (true and registered kWh per month, the
attack if any, missing reads, rollovers, replacements, disconnections) and per zone (true
energy downstream, technical loss). Read only by evaluations, never by fraud models."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
from sqlalchemy.orm import Session

from core.bulk import copy_columns, text_values
from kilowatch.demo_utility.copying import Progress, ints
from kilowatch.demo_utility.network_input import NetworkInput
from kilowatch.demo_utility.plan_customers import CustomerPlan
from kilowatch.demo_utility.plan_energy import LOOKALIKES, EnergyPlan
from kilowatch.demo_utility.profiles import CATEGORIES, month_starts
from kilowatch.demo_utility.thefts import ATTACKS


def kwh_arrays(wh: np.ndarray) -> list[str]:
    """(rows, months) integer Wh -> PostgreSQL numeric[] literals in kWh, exact."""
    wh = np.asarray(wh, dtype=np.int64)
    sign = np.where(wh < 0, "-", "")
    whole = (np.abs(wh) // 1000).astype(str)
    frac = np.char.zfill((np.abs(wh) % 1000).astype(str), 3)
    cells = np.char.add(np.char.add(np.char.add(sign, whole), "."), frac)
    return ["{" + ",".join(row) + "}" for row in cells.tolist()]


def _usage_points(
    cust: CustomerPlan, energy: EnergyPlan, first_month: date, usage_points: np.ndarray
) -> dict[str, list[str]]:
    starts = month_starts(first_month, energy.true_wh.shape[1])
    thefts = energy.thefts
    attack, begin, end, params = [], [], [], []
    for u in range(cust.n):
        kind = int(thefts.attack[u])
        attack.append(ATTACKS[kind] if kind >= 0 else None)
        begin.append(starts[thefts.start[u]].isoformat() if kind >= 0 else None)
        end.append(starts[thefts.stop[u]].isoformat() if kind >= 0 else None)
        params.append(json.dumps(thefts.parameters[u]) if kind >= 0 else None)
    missing = [
        "{" + ",".join(map(str, np.flatnonzero(row).tolist())) + "}" for row in energy.missing
    ]
    events = []
    for u in range(cust.n):
        event = {}
        if energy.rollover_month[u] >= 0:
            event["rollover_month"] = int(energy.rollover_month[u])
        if energy.replaced_month[u] >= 0:
            event["replaced_month"] = int(energy.replaced_month[u])
        if cust.disconnect_month[u] >= 0:
            event["disconnected_month"] = int(cust.disconnect_month[u])
        if len(energy.lookalike) and energy.lookalike[u] >= 0:
            event["lookalike"] = LOOKALIKES[int(energy.lookalike[u])]
            event["lookalike_month"] = int(energy.lookalike_month[u])
        events.append(json.dumps(event))
    return {
        "subject": ["usage_point"] * cust.n,
        "usage_point_id": ints(usage_points),
        "category": [CATEGORIES[c] for c in cust.category.tolist()],
        "true_kwh": kwh_arrays(energy.true_wh),
        "metered_kwh": kwh_arrays(energy.registered_wh),
        "attack": text_values(attack),
        "attack_from": text_values(begin),
        "attack_to": text_values(end),
        "attack_parameters": text_values(params),
        "missing_read_months": missing,
        "events": events,
    }


def write_truth(
    session: Session,
    *,
    batch_id: int,
    cust: CustomerPlan,
    energy: EnergyPlan,
    net: NetworkInput,
    first_month: date,
    usage_points: np.ndarray,
    transformer_meters: np.ndarray,
    feeder_meters: np.ndarray,
    progress: Progress,
) -> int:
    rows = _usage_points(cust, energy, first_month, usage_points)
    n_tr, n_fd = len(net.tr_id), len(net.fd_id)
    # What each zone's loss rests on: the model's coefficients and the zone's own factors.
    zone_events = [
        json.dumps(
            {
                "no_load_kw": float(n),
                "load_kw_per_kw2": float(k),
                "no_load_factor": float(a),
                "load_factor": float(b),
            }
        )
        for n, k, (a, b) in zip(
            energy.tr_no_load_kw,
            energy.tr_load_kw_per_kw2,
            energy.tr_loss_factors.tolist(),
            strict=True,
        )
    ]
    zone_events += [
        json.dumps({"load_kw_per_kw2": float(k), "load_factor": float(b)})
        for k, b in zip(energy.fd_load_kw_per_kw2, energy.fd_loss_factor, strict=True)
    ]
    tr_feeder = [net.fd_id[f] if f >= 0 else None for f in net.tr_feeder.tolist()]
    zones = {
        "subject": ["transformer"] * n_tr + ["feeder"] * n_fd,
        "transformer_id": text_values([*net.tr_id.tolist(), *([None] * n_fd)]),
        "feeder_id": text_values([*tr_feeder, *net.fd_id.tolist()]),
        "meter_id": ints(np.concatenate([transformer_meters, feeder_meters])),
        "true_kwh": kwh_arrays(np.concatenate([energy.tr_true_wh, energy.fd_true_wh])),
        "metered_kwh": kwh_arrays(np.concatenate([energy.tr_in_wh, energy.fd_in_wh])),
        "loss_kwh": kwh_arrays(np.concatenate([energy.tr_loss_wh, energy.fd_loss_wh])),
        "events": zone_events,
    }
    written = copy_columns(
        session,
        "demo_ground_truth",
        {"batch_id": [str(batch_id)] * cust.n, **rows},
        progress,
        "ground truth: usage points",
    )
    written += copy_columns(
        session,
        "demo_ground_truth",
        {"batch_id": [str(batch_id)] * (n_tr + n_fd), **zones},
        progress,
        "ground truth: zones",
    )
    return written
