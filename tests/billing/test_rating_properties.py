"""Properties of rating: a block tariff is monotone in consumption; a period billed in two
parts (each with the kWh its months carry, ``BillableUsage.split``) sums to the bill of the
whole up to the rounding of each line."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from billing.tariffs.rating import BillableUsage, rate
from core.periods import Period
from tests.billing.tariffs import versions

MODES = st.sampled_from(["incremental", "block_reached"])
ROUNDINGS = st.sampled_from(["half_up", "half_even", "down", "up"])


@st.composite
def block_tariffs(draw: st.DrawFn) -> dict[str, Any]:
    """Blocks with rising prices (what makes "block reached" monotone), maybe a social
    first block with a ceiling, a fixed charge, a tax with a threshold, taxes on taxes."""
    widths = draw(st.lists(st.integers(1, 300), min_size=0, max_size=4))
    prices = sorted(
        draw(st.lists(st.integers(1, 500), min_size=len(widths) + 1, max_size=len(widths) + 1))
    )
    bounds, top = [], 0
    for width in widths:
        top += width
        bounds.append(str(top))
    blocks: list[dict[str, Any]] = [
        {"up_to": u, "price": str(p)} for u, p in zip([*bounds, None], prices, strict=True)
    ]
    if len(blocks) > 1 and draw(st.booleans()):
        blocks[0]["lost_above"] = str(draw(st.integers(int(bounds[0]), int(bounds[0]) + 100)))
    rounding = {"mode": draw(ROUNDINGS)}
    return {
        "fixed_charges": [{"code": "abo", "amount": str(draw(st.integers(0, 2000)))}],
        "energy": [{"code": "kwh", "mode": draw(MODES), "blocks": blocks, "rounding": rounding}],
        "taxes": [
            {
                "code": "duty",
                "rate": "0.02",
                "base": ["energy"],
                "exempt_up_to": {
                    "kwh": str(draw(st.integers(0, 200))),
                    "basis": draw(st.sampled_from(["whole", "excess"])),
                },
            },
            {"code": "vat", "rate": "0.18", "base": ["energy", "fixed", "duty"]},
        ],
    }


@settings(max_examples=150, deadline=None, derandomize=True)
@given(definition=block_tariffs(), low=st.integers(0, 2000), extra=st.integers(0, 500))
def test_a_block_tariff_is_monotone_in_consumption(
    definition: dict[str, Any], low: int, extra: int
) -> None:
    tariff = versions(("2020-01-01", definition))
    period = Period(date(2025, 3, 1), date(2025, 4, 1))

    def total(kwh: int) -> int:
        return rate(tariff, BillableUsage(period, {"total": Decimal(kwh)})).total

    assert total(low) <= total(low + extra)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(
    definition=block_tariffs(),
    later=block_tariffs(),
    start_offset=st.integers(0, 400),
    days=st.integers(2, 120),
    cut=st.floats(0.01, 0.99),
    change=st.integers(-60, 180),
    kwh=st.integers(0, 3000),
)
def test_a_period_split_in_two_sums_to_the_whole(
    definition: dict[str, Any],
    later: dict[str, Any],
    start_offset: int,
    days: int,
    cut: float,
    change: int,
    kwh: int,
) -> None:
    # kWh are not rounded to whole units here: the parts carry fractions of a kWh.
    fine = {"kwh_rounding": {"step": "0.000001"}}
    start = date(2024, 1, 1) + timedelta(days=start_offset)
    tariff = versions(
        ("2020-01-01", definition | fine),
        ((start + timedelta(days=max(change, 1))).isoformat(), later | fine),
    )
    period = Period(start, start + timedelta(days=days))
    at = start + timedelta(days=min(days - 1, max(1, int(days * cut))))
    usage = BillableUsage(period, {"total": Decimal(kwh)})
    first, second = usage.split(at)
    assert first.kwh["total"] + second.kwh["total"] == Decimal(kwh)
    whole, one, two = rate(tariff, usage), rate(tariff, first), rate(tariff, second)
    # The stated rounding: each line is rounded to a minor unit once (at most 1 off, a tax
    # at most 1 off plus its rate times its base's error), so the bills differ by at most
    # one minor unit per line of the three bills.
    bound = len(whole.lines) + len(one.lines) + len(two.lines)
    assert abs(whole.total - (one.total + two.total)) <= bound
