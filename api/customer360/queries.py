"""The 360° views: the customer file gathered by ``customers.customer_file`` from each
domain's own sections (customers, meters; billing and fraud add theirs), shaped into the
API's answer. 404 when the customer or premises is unknown or outside the territory."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from api.customer360.schemas import Customer360, Premises360
from core.context import Actor
from customers.customer_file import customer_file, premises_file


def customer_360(
    session: Session, actor: Actor, party_id: int, *, now: datetime | None = None
) -> Customer360:
    """Everything known about customer ``party_id``."""
    return Customer360.model_validate(
        customer_file(session, actor, party_id, now=now or datetime.now(UTC))
    )


def premises_360(
    session: Session, actor: Actor, location_id: int, *, now: datetime | None = None
) -> Premises360:
    """Everything known about premises ``location_id``, its occupants over time included."""
    return Premises360.model_validate(
        premises_file(session, actor, location_id, now=now or datetime.now(UTC))
    )
