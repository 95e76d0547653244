"""Fraud's report for the catalogue (core.reports): energy balance and losses per feeder
zone and month (the feeder-level balances; transformer zones sit inside them)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import Actor
from core.reports.catalogue import Column, ReportFilters, ReportTable
from fraud.models import ZoneBalance
from gis.models import Feeder


def energy_balance(session: Session, actor: Actor, filters: ReportFilters) -> ReportTable:
    """Per month (balances starting in the period) over the analysable feeder zones:
    energy in, metered, unmetered, technical loss, NTL (kWh) and losses in percent of the
    energy in (technical + NTL). Zones not analysable are counted, never summed as zero."""
    ok = ZoneBalance.analysable.is_(True)
    query = (
        select(
            ZoneBalance.period_start,
            func.count().filter(ok),
            func.count().filter(~ok),
            func.coalesce(func.sum(ZoneBalance.energy_in_kwh).filter(ok), 0),
            func.coalesce(func.sum(ZoneBalance.metered_kwh).filter(ok), 0),
            func.coalesce(func.sum(ZoneBalance.unmetered_kwh).filter(ok), 0),
            func.coalesce(func.sum(ZoneBalance.technical_loss_kwh).filter(ok), 0),
            func.coalesce(func.sum(ZoneBalance.ntl_kwh).filter(ok), 0),
        )
        .join(Feeder, Feeder.id == ZoneBalance.feeder_id)
        .where(
            ZoneBalance.feeder_id.is_not(None),
            ZoneBalance.period_start >= filters.period.start,
            ZoneBalance.period_start < filters.period.end,
            filters.where(actor, ZoneBalance),
        )
        .group_by(ZoneBalance.period_start)
        .order_by(ZoneBalance.period_start)
    )
    rows = []
    for month, zones, skipped, energy_in, metered, unmetered, technical, ntl in session.execute(
        query
    ):
        loss = technical + ntl
        rows.append(
            {
                "month": month.strftime("%Y-%m"),
                "zones": zones,
                "zones_not_analysable": skipped,
                "energy_in_kwh": energy_in,
                "metered_kwh": metered,
                "unmetered_kwh": unmetered,
                "technical_loss_kwh": technical,
                "ntl_kwh": ntl,
                "loss_percent": round(100 * loss / energy_in, 2) if energy_in else None,
            }
        )
    return ReportTable(
        columns=[
            Column("month", "Month"),
            Column("zones", "Feeder zones", "int", total=True),
            Column("zones_not_analysable", "Not analysable", "int", total=True),
            Column("energy_in_kwh", "Energy in (kWh)", "decimal", total=True),
            Column("metered_kwh", "Metered (kWh)", "decimal", total=True),
            Column("unmetered_kwh", "Unmetered (kWh)", "decimal", total=True),
            Column("technical_loss_kwh", "Technical loss (kWh)", "decimal", total=True),
            Column("ntl_kwh", "NTL (kWh)", "decimal", total=True),
            Column("loss_percent", "Losses (%)", "percent"),
        ],
        rows=rows,
        chart_x="month",
        chart_y=["metered_kwh", "technical_loss_kwh", "ntl_kwh"],
    )
