"""Traces asked for by a person: from a feeder's head, a transformer's LV zone, or a
service point back to its source, as RFC 7946 FeatureCollections (EPSG:4326).

A start the caller may not see answers as if it did not exist (404); what the trace
reaches is then limited to the caller's territory (``territory_limited``).
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy.orm import Session

from core.context import Actor
from gis.catalogue import is_visible, service_point_code
from gis.errors import AssetNotFoundError, FeederNotFoundError
from gis.models import Feeder, PowerTransformer, ServicePoint
from gis.topology import trace
from gis.trace_geojson import trace_feature_collection


def feeder_trace(
    session: Session,
    *,
    actor: Actor,
    code: str,
    direction: Literal["downstream", "upstream"] = "downstream",
) -> dict[str, Any]:
    """What the feeder's head feeds now (open switches stop the trace), or (upstream) the
    head itself."""
    if not is_visible(session, Feeder, code, actor=actor):
        raise FeederNotFoundError(f"no feeder with code {code!r}")
    result = trace(session, feeder_code=code, direction=direction)
    return trace_feature_collection(session, result, {"start": {"feeder": code}}, actor=actor)


def transformer_zone(session: Session, *, actor: Actor, code: str) -> dict[str, Any]:
    """Everything the transformer feeds now (its LV zone)."""
    if not is_visible(session, PowerTransformer, code, actor=actor):
        raise AssetNotFoundError(f"no transformer with code {code!r}")
    result = trace(session, start=("transformer", code), direction="downstream")
    return trace_feature_collection(session, result, {"start": {"transformer": code}}, actor=actor)


def service_point_supply(session: Session, *, actor: Actor, reference: str) -> dict[str, Any]:
    """The supply path of a service point (by code, else by database id: see
    ``catalogue.service_point_code``) back to its feeder's head."""
    code = service_point_code(session, reference)
    if code is None or not is_visible(session, ServicePoint, code, actor=actor):
        raise AssetNotFoundError(f"no service point with code or id {reference!r}")
    result = trace(session, start=("service_point", code), direction="upstream")
    return trace_feature_collection(
        session, result, {"start": {"service_point": code}}, actor=actor
    )
