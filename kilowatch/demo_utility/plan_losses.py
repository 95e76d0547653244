"""Energy entering each zone of the demo network and its technical losses, month by month
(integer Wh, pure numpy, deterministic per seed).

The generated network loses what fraud's load-and-length model (``fraud.losses``) says a
network of its lengths and ratings loses, so that the zone balance of a clean zone comes
to about zero NTL: the demo tests the balance, not a disagreement between two physics.

- A transformer zone: iron (no-load) losses of its rating around the clock, plus copper
  losses of the transformer and I²R on its LV length, both growing with the square of the
  average power through it (``fraud.losses.transformer_terms``).
- A feeder zone: I²R on its MV length at the feeder's power
  (``fraud.losses.feeder_line_loss_kwh``) on top of its transformer zones' energy in.

No real network is exactly its model: each zone's real losses are the model's times a
factor drawn once per zone and term, uniform in ``1 ± NO_LOAD_SPREAD`` for the iron
losses (IEC 60076-1 tolerates +15 % on a transformer's component losses) and
``1 ± LOAD_SPREAD`` for the load losses (conductor lengths, joints, phase imbalance and
load curves that differ from the model's form factor). With losses of 1 to 3 % of the
energy in, the model's error on a clean zone stays under half a point of NTL share.

A zone meter reads what enters the zone: the energy ``T`` its customers take plus the
losses that energy causes on the way, ``E = T + h (n + k (E / h)²)`` over ``h`` hours,
solved exactly (the physical, smaller root).
"""

from __future__ import annotations

import numpy as np

from fraud.losses import TransformerZone, feeder_line_loss_kwh, transformer_terms
from kilowatch.demo_utility.network_input import NetworkInput

NO_LOAD_SPREAD = 0.10
LOAD_SPREAD = 0.20


def _kv(value: float) -> float | None:
    return None if np.isnan(value) else float(value)


def transformer_coefficients(net: NetworkInput) -> tuple[np.ndarray, np.ndarray]:
    """Per transformer zone: the model's no-load kW and load kW per kW² of average power."""
    terms = [
        transformer_terms(TransformerZone(float(kva), float(km), _kv(kv)), 1.0)
        for kva, km, kv in zip(net.tr_kva, net.tr_lv_km, net.tr_lv_kv, strict=True)
    ]
    no_load = np.array([t[0] for t in terms], dtype=float).reshape(-1)
    return no_load, np.array([t[1] for t in terms], dtype=float).reshape(-1)


def feeder_coefficients(net: NetworkInput) -> np.ndarray:
    """Per feeder: the model's MV line loss kW per kW² of average power."""
    return np.array(
        [
            feeder_line_loss_kwh(float(km), _kv(kv), 1.0, 1.0)
            for km, kv in zip(net.fd_mv_km, net.fd_kv, strict=True)
        ],
        dtype=float,
    ).reshape(-1)


def energy_in_wh(
    taken_wh: np.ndarray, hours: np.ndarray, no_load_kw: np.ndarray, kw_per_kw2: np.ndarray
) -> np.ndarray:
    """(zones, months) Wh entering zones whose customers take ``taken_wh``: the smaller root
    of ``(k / h) E² - E + T + h n = 0`` (E, T in kWh), written stably as 2c / (1 + √(1 - 4qc))."""
    c = taken_wh / 1000.0 + no_load_kw[:, None] * hours[None, :]
    q = kw_per_kw2[:, None] / hours[None, :]
    root = np.sqrt(np.clip(1.0 - 4.0 * q * c, 0.0, None))
    energy_kwh: np.ndarray = 2.0 * c / (1.0 + root)
    return np.rint(energy_kwh * 1000.0).astype(np.int64)


def plan_zones(
    rng: np.random.Generator,
    net: NetworkInput,
    up_tr: np.ndarray,
    up_fd: np.ndarray,
    true_wh: np.ndarray,
    bounds: np.ndarray,
) -> dict[str, np.ndarray]:
    """True energy downstream of each transformer and feeder (``up_tr`` / ``up_fd``: each
    usage point's zones, -1 none), the technical losses, the loss factors drawn and the
    zone meters' starting indexes."""
    months = true_wh.shape[1]
    n_tr, n_fd = len(net.tr_id), len(net.fd_id)
    hours = np.diff(bounds) * 24.0
    tr_true = np.zeros((n_tr, months), dtype=np.int64)
    np.add.at(tr_true, up_tr[up_tr >= 0], true_wh[up_tr >= 0])
    no_load, load = transformer_coefficients(net)
    tr_factors = (
        np.column_stack(
            [rng.uniform(-1, 1, n_tr) * NO_LOAD_SPREAD, rng.uniform(-1, 1, n_tr) * LOAD_SPREAD]
        )
        + 1.0
    )
    tr_loss = energy_in_wh(tr_true, hours, no_load * tr_factors[:, 0], load * tr_factors[:, 1])
    tr_loss -= tr_true
    # Energy entering a feeder: its transformers' zone energy and any MV-connected customer.
    fd_true = np.zeros((n_fd, months), dtype=np.int64)
    on_tr = net.tr_feeder >= 0
    np.add.at(fd_true, net.tr_feeder[on_tr], (tr_true + tr_loss)[on_tr])
    direct = (up_tr < 0) & (up_fd >= 0)
    np.add.at(fd_true, up_fd[direct], true_wh[direct])
    mv = feeder_coefficients(net)
    fd_factor = 1.0 + rng.uniform(-1, 1, n_fd) * LOAD_SPREAD
    fd_loss = energy_in_wh(fd_true, hours, np.zeros(n_fd), mv * fd_factor) - fd_true
    return {
        "tr_true_wh": tr_true,
        "tr_loss_wh": tr_loss,
        "fd_true_wh": fd_true,
        "fd_loss_wh": fd_loss,
        "tr_no_load_kw": no_load,
        "tr_load_kw_per_kw2": load,
        "tr_loss_factors": tr_factors,
        "fd_load_kw_per_kw2": mv,
        "fd_loss_factor": fd_factor,
        "tr_start_index_wh": rng.integers(0, 5_000_000, n_tr) * 1000,
        "fd_start_index_wh": rng.integers(0, 50_000_000, n_fd) * 1000,
    }
