"""The report catalogue's entries (core.reports), registered here so core never imports a
domain. Revenue protection adds "NTL recovered" the same way: one ``register`` call."""

from __future__ import annotations

from sqlalchemy.orm import Session

from billing.reports import aged_debt, billing_summary, collection_rate
from core.context import Actor
from core.reports.catalogue import Column, ReportDef, ReportFilters, ReportTable, register
from field.reports import field_productivity
from fraud.reports import energy_balance


def regulator_monthly(session: Session, actor: Actor, filters: ReportFilters) -> ReportTable:
    """The regulator's monthly indicators, one line each, from the other reports (so they
    can never disagree with them): documents, kWh and amounts billed, collection rate,
    energy in and losses."""
    billed = billing_summary(session, actor, filters).totals
    collected = collection_rate(session, actor, filters)
    balance = energy_balance(session, actor, filters)
    energy_in = balance.totals.get("energy_in_kwh", 0)
    losses = balance.totals.get("technical_loss_kwh", 0) + balance.totals.get("ntl_kwh", 0)
    lines = [
        ("bills", "Bills issued", billed.get("bills", 0)),
        ("credit_notes", "Credit notes issued", billed.get("credit_notes", 0)),
        ("kwh_billed", "Energy billed (kWh)", billed.get("kwh", 0)),
        ("amount_billed", "Amount billed (minor units)", billed.get("total", 0)),
        (
            "amount_collected",
            "Amount collected (minor units)",
            collected.totals.get("collected", 0),
        ),
    ]
    for row in collected.rows:
        lines.append(
            (
                f"collection_rate_{row['currency']}",
                f"Collection rate {row['currency']} (%)",
                row["rate"],
            )
        )
    lines.append(("energy_in_kwh", "Energy into the network (kWh)", energy_in))
    lines.append(
        ("loss_percent", "Losses (%)", round(100 * losses / energy_in, 2) if energy_in else None)
    )
    return ReportTable(
        columns=[
            Column("indicator", "Indicator code"),
            Column("label", "Indicator"),
            Column("value", "Value"),
        ],
        rows=[{"indicator": k, "label": label, "value": v} for k, label, v in lines],
    )


for report in (
    ReportDef(
        "billing_summary",
        "Billing summary",
        "Bills and credit notes by tariff and category",
        billing_summary,
    ),
    ReportDef(
        "collection_rate",
        "Collection rate",
        "Billed and collected, from the ledger",
        collection_rate,
        uses_category=False,
    ),
    ReportDef(
        "aged_debt",
        "Aged debt",
        "Open receivable items by days past due",
        aged_debt,
        uses_category=False,
    ),
    ReportDef(
        "energy_balance",
        "Energy balance and losses",
        "Feeder zones: energy in, metered, losses",
        energy_balance,
        uses_category=False,
    ),
    ReportDef(
        "field_productivity",
        "Field productivity",
        "Work orders finished per technician",
        field_productivity,
        uses_category=False,
    ),
    ReportDef(
        "regulator_monthly",
        "Regulator's monthly indicators",
        "The indicators reported every month",
        regulator_monthly,
    ),
):
    register(report)
