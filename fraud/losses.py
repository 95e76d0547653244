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

      loss_kW = no_load_kW + c x [ copper x S x (P / (S cosφ))² x F
                                   + L_km x r x d x F / (n² V² 1000 cos²φ) x P² ]

  for a transformer zone (S its rating in kVA, L its LV length, V its LV voltage), and for a
  feeder zone its MV lines at the feeder's power plus each of its transformers' zones at
  theirs. ``c`` is the calibration (``LossCalibration``: fitted on the zones of load-flow
  feeders, 1 without any); the other constants are :class:`LoadLengthConstants`.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass


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
        return 6.5 * max(rated_kva, 0.0) ** 0.75 / 1000.0

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


def transformer_loss_kwh(
    zone: TransformerZone, energy_kwh: float, hours: float, factor: float = 1.0
) -> float:
    """Load-and-length losses of a transformer zone taking ``energy_kwh`` over ``hours``."""
    no_load, load = transformer_terms(zone, energy_kwh / hours)
    return hours * (no_load + factor * load)


def feeder_line_loss_kwh(
    mv_km: float, kv: float | None, energy_kwh: float, hours: float, factor: float = 1.0
) -> float:
    """Load-and-length losses of a feeder's MV lines carrying ``energy_kwh`` over ``hours``."""
    k = CONSTANTS
    per_kw2 = mv_km * k.line_k(k.mv_ohm_per_km, kv or k.mv_kv, k.mv_branches)
    return hours * factor * per_kw2 * (energy_kwh / hours) ** 2


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


def fit_factor(pairs: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares factor ``c`` (through the origin) making ``c x model_load`` match
    ``load-flow loss - model no-load`` over ``pairs`` of (model_load, target); None when
    the pairs cannot tell (no load at all)."""
    den = sum(m * m for m, _ in pairs)
    if den <= 0:
        return None
    return max(sum(m * t for m, t in pairs) / den, 0.0)
