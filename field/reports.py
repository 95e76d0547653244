"""Field's report for the catalogue (core.reports): productivity per technician."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.context import Actor
from core.reports.catalogue import Column, ReportFilters, ReportTable
from field.models import Technician, WorkOrder


def field_productivity(session: Session, actor: Actor, filters: ReportFilters) -> ReportTable:
    """Work orders finished in the period (local days of ``finished_at``) per technician:
    completed, failed, and the mean hours from start to finish of the completed ones."""
    start, end = filters.period.bounds_utc()
    done = WorkOrder.status == "completed"
    hours = func.extract("epoch", WorkOrder.finished_at - WorkOrder.started_at) / 3600
    query = (
        select(
            Technician.code,
            func.count().filter(done),
            func.count().filter(WorkOrder.status == "failed"),
            func.avg(hours).filter(done),
        )
        .join(Technician, Technician.id == WorkOrder.technician_id)
        .where(
            WorkOrder.finished_at >= start,
            WorkOrder.finished_at < end,
            filters.where(actor, WorkOrder),
        )
        .group_by(Technician.code)
        .order_by(Technician.code)
    )
    rows = [
        {
            "technician": code,
            "completed": completed,
            "failed": failed,
            "mean_hours": None if mean is None else round(float(mean), 2),
        }
        for code, completed, failed, mean in session.execute(query)
    ]
    return ReportTable(
        columns=[
            Column("technician", "Technician"),
            Column("completed", "Completed", "int", total=True),
            Column("failed", "Failed", "int", total=True),
            Column("mean_hours", "Mean hours (start to finish)", "decimal"),
        ],
        rows=rows,
        chart_x="technician",
        chart_y=["completed", "failed"],
        notes=["Category does not apply to work orders."],
    )
