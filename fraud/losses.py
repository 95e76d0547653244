"""Expected technical losses of a zone over a month, in kWh.

Two methods (``fraud.enums.LossMethod``):

- **opendss**: the zone has a loss model measured by load flows of its real network model
  (``fraud.loadflow``): samples ``(energy in per day, losses per day)`` at several load
  levels. The month's losses are ``days x f(energy_in / days)`` with ``f`` interpolated
  linearly between the samples (exact at a sample: what the engine reported for that load)
  and extended linearly past the first and last ones (never below zero).
- **load_length**: every other zone (generated networks, imports without a model). The
  physics of I²R on a three-phase line, ``loss = P² R / (V² cos²φ)``, with the zone's
  average power ``P = energy in / hours``, summed over what the zone holds:

      loss_kW = a x no_load_kW + c x [ copper x S x (P / (S cosφ))² x F
                                       + L_km x r x d x F / (n² V² 1000 cos²φ) x P² ]

  for a transformer zone (S its rating in kVA, L its LV length, V its LV voltage), and for a
  feeder zone its MV lines at the feeder's power plus each of its transformers' zones at
  theirs. ``a`` and ``c`` are the calibration (``LossCalibration``, :func:`fit_calibration`:
  fitted on the transformer zones of load-flow feeders; 1 and 1 without any); the other
  constants are :class:`LoadLengthConstants`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class LoadLengthConstants:
    """Documented constants of the load-and-length model (SI-ish units noted)."""

    lv_ohm_per_km: float = 0.64  # 50 mm² aluminium LV conductor (IEC 60228), per phase
    mv_ohm_per_km: float = 0.36  # 95 mm² aluminium MV conductor, per phase
    power_factor: float = 0.9
    lv_kv: float = 0.4  # when the transformer states no secondary voltage
    mv_kv: float = 20.0  # when the feeder states no nominal voltage
    # A load spread evenly along a line loses a third of what it would at the line's end.
    distributed: float = 1.0 / 3.0
    # LV circuits leaving a transformer: the zone's length is shared among them, and each
    # carries 1/n of the power, so the loss of the whole length is divided by n².
    lv_circuits: float = 4.0
    mv_branches: float = 3.0  # same reasoning on a branched MV feeder
    # Mean of P² over (mean P)² across a day's load curve (residential-dominated zones).
    form_factor: float = 1.4
    # Transformer load (copper) losses at rated power, as a share of the rating
    # (EN 50464-1 Bk class, 100-630 kVA: 1.1-1.3 %).
    copper_share: float = 0.012

    def no_load_kw(self, rated_kva: float) -> float:
        """Iron losses of a distribution transformer: 6.5 W x kVA^0.75, a fit of the
        EN 50464-1 class values (25 kVA: 72 W, 100: 206 W, 400: 735 W, 1000: 1156 W)."""
        return float(6.5 * max(rated_kva, 0.0) ** 0.75 / 1000.0)

    def line_k(self, ohm_per_km: float, kv: float, branches: float) -> float:
        """kW of loss per km per kW² of average power carried."""
        pf2 = self.power_factor**2
        return ohm_per_km * self.distributed * self.form_factor / (branches**2 * kv**2 * 1000 * pf2)


CONSTANTS = LoadLengthConstants()


@dataclass(frozen=True)
class TransformerZone:
    """What the load-and-length model needs of a transformer zone."""

    rated_kva: float
    lv_km: float
    lv_kv: float | None


def transformer_terms(
    zone: TransformerZone, power_kw: float, k: LoadLengthConstants = CONSTANTS
) -> tuple[float, float]:
    """(no-load kW, load kW before calibration) of a transformer zone at ``power_kw``."""
    rated = max(zone.rated_kva, 1.0)
    copper = k.copper_share * rated * (power_kw / (rated * k.power_factor)) ** 2 * k.form_factor
    lines = zone.lv_km * k.line_k(k.lv_ohm_per_km, zone.lv_kv or k.lv_kv, k.lv_circuits)
    return k.no_load_kw(zone.rated_kva), copper + lines * power_kw**2


@dataclass(frozen=True)
class Calibration:
    """Scales of the model's two terms, fitted on load flows (1, 1: the constants alone)."""

    no_load_factor: float = 1.0
    load_factor: float = 1.0
    zones: int = 0  # zones it was fitted on (0: the constants alone)


def transformer_loss_kwh(
    zone: TransformerZone, energy_kwh: float, hours: float, calibration: Calibration = Calibration()
) -> float:
    """Load-and-length losses of a transformer zone taking ``energy_kwh`` over ``hours``."""
    no_load, load = transformer_terms(zone, energy_kwh / hours)
    return hours * (calibration.no_load_factor * no_load + calibration.load_factor * load)


def feeder_line_loss_kwh(
    mv_km: float, kv: float | None, energy_kwh: float, hours: float, load_factor: float = 1.0
) -> float:
    """Load-and-length losses of a feeder's MV lines carrying ``energy_kwh`` over ``hours``."""
    k = CONSTANTS
    per_kw2 = mv_km * k.line_k(k.mv_ohm_per_km, kv or k.mv_kv, k.mv_branches)
    return hours * load_factor * per_kw2 * (energy_kwh / hours) ** 2


def interpolated_loss_kwh(
    samples: Sequence[Sequence[float]], energy_kwh: float, days: float
) -> float:
    """Load-flow losses over ``days`` for ``energy_kwh`` entering the zone: linear between
    the samples ``(energy in per day, loss per day)``, extended past the ends."""
    points = sorted((float(e), float(loss)) for e, loss in samples)
    if not points:
        raise ValueError("a loss model needs at least one sample")
    per_day = energy_kwh / days
    if len(points) == 1:
        e0, l0 = points[0]
        return days * (l0 * per_day / e0 if e0 else l0)
    energies = [e for e, _ in points]
    i = bisect.bisect_left(energies, per_day)
    i = min(max(i, 1), len(points) - 1)  # the segment holding per_day, or the nearest end's
    (e0, l0), (e1, l1) = points[i - 1], points[i]
    loss = l0 + (l1 - l0) * (per_day - e0) / (e1 - e0)
    return days * max(loss, 0.0)


def fit_calibration(
    zones: Sequence[tuple[TransformerZone, Sequence[Sequence[float]]]],
) -> Calibration | None:
    """Fit the model's two scales on load-flow samples ``(kWh in per day, kWh lost per
    day)`` of transformer zones. Each zone's samples are regressed on ``a + b x E²`` (the
    load flow's no-load and load parts); then ``no_load_factor = sum a / sum model no-load``
    and ``load_factor`` is the least-squares ratio of the ``b`` to the model's. Zones whose
    energy in does not grow with the load level (a transformer with nothing downstream: its
    "energy in" is its own no-load loss) tell nothing and are left out. None when no zone
    is left."""
    a_flow = a_model = bb = mm = 0.0
    used = 0
    for zone, samples in zones:
        energies = np.array([float(e) for e, _ in samples])
        lost = np.array([float(loss) for _, loss in samples])
        if len(samples) < 2 or not np.all(np.diff(energies) > 0) or lost[-1] > energies[-1] / 2:
            continue
        (a, b), *_ = np.linalg.lstsq(np.column_stack([np.ones_like(energies), energies**2]), lost)
        no_load, load = transformer_terms(zone, energies[-1] / 24)
        b_model = 24 * load / energies[-1] ** 2 if energies[-1] else 0.0
        a_flow, a_model = a_flow + a, a_model + 24 * no_load
        bb, mm = bb + b * b_model, mm + b_model * b_model
        used += 1
    if a_model <= 0 or mm <= 0:
        return None
    return Calibration(max(a_flow / a_model, 0.0), max(bb / mm, 0.0), used)
