"""Test helpers for the territory rule: an agency with an outline, usage points placed
inside or outside it (created directly: the customer services are not under test)."""

from __future__ import annotations

import uuid

from geoalchemy2 import WKTElement
from sqlalchemy.orm import Session

from core.auth.models import Agency
from customers.models import ServiceLocation, UsagePoint

EAST_OUTLINE = "MULTIPOLYGON(((2.40 6.30, 2.50 6.30, 2.50 6.45, 2.40 6.45, 2.40 6.30)))"
INSIDE, OUTSIDE = "POINT(2.45 6.35)", "POINT(2.10 6.50)"


def east_agency(db: Session, code: str) -> str:
    """An agency whose territory is EAST_OUTLINE, committed so that sign-ins see it."""
    db.add(Agency(code=code, name="East", territory=WKTElement(EAST_OUTLINE, srid=4326)))
    db.commit()
    return code


def usage_point_at(db: Session, where: str) -> UsagePoint:
    """A usage point whose premises stand at ``where`` (WKT, EPSG:4326)."""
    code = uuid.uuid4().hex[:10]
    premises = ServiceLocation(code=f"SL-{code}", geom=WKTElement(where, srid=4326))
    db.add(premises)
    db.flush()
    point = UsagePoint(
        code=f"UP-{code}",
        service_location_id=premises.id,
        category="residential",
        subscribed_power_kva=3,
    )
    db.add(point)
    db.flush()
    return point
