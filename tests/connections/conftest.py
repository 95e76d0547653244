"""Builders for connection tests: a price list, a premises near a pole at a known
projected distance, a customer who asks."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from pyproj import Transformer
from sqlalchemy import text
from sqlalchemy.orm import Session

from core.context import Actor
from customers import service as customers
from customers.models import Party, ServiceLocation
from customers.schemas import PartyCreate, ServiceLocationCreate
from field.connections import service
from field.connections.models import ConnectionPriceList
from field.connections.pricing import PriceListDefinition

DESK = Actor(
    user_id=None,
    username="test-desk",
    scopes=frozenset({"customers:write", "field:write", "billing:write", "payments:write"}),
)

# XOF has no minor unit: amounts are francs.
PRICES = PriceListDefinition.model_validate(
    {
        "currency": "XOF",
        "tax_rate": "0.18",
        "pole_fee": 85000,
        "pole_span_m": "40",
        "deposit_per_kva": 10000,
        "connection_types": {
            "mono": {
                "label": "Single-phase up to 9 kVA",
                "max_kva": "9",
                "base_fee": 150000,
                "included_length_m": "30",
                "per_metre_beyond": 2500,
                "meter_fee": 45000,
                "tariff_code": "BT1-DOM",
            },
            "tri": {
                "label": "Three-phase up to 36 kVA",
                "max_kva": "36",
                "base_fee": 420000,
                "included_length_m": "30",
                "per_metre_beyond": 4000,
                "meter_fee": 120000,
            },
        },
    }
)

# A premises and a pole placed in UTM zone 31N (the deployment's projected CRS): the pole
# is 90 m east and 120 m north of the premises, so 150 m away (a 3-4-5 triangle).
_TO_LONLAT = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
PREMISES_XY = (420000.0, 704000.0)
POLE_XY = (420090.0, 704120.0)


@pytest.fixture()
def price_list(db: Session) -> ConnectionPriceList:
    return service.define_price_list(
        db, actor=DESK, version=1, valid_from=date(2026, 1, 1), definition=PRICES
    )


@pytest.fixture()
def party(db: Session) -> Party:
    made, _ = customers.create_party(
        db, actor=DESK, data=PartyCreate(kind="person", first_name="Awa", last_name="Dossou")
    )
    return made


def place(db: Session, xy: tuple[float, float]) -> ServiceLocation:
    lon, lat = _TO_LONLAT.transform(*xy)
    return customers.create_location(
        db,
        actor=DESK,
        data=ServiceLocationCreate(
            address_line="Lot 7, Cocotomey",
            city="Abomey-Calavi",
            location={"type": "Point", "coordinates": [lon, lat]},
        ),
    )


@pytest.fixture()
def premises(db: Session) -> ServiceLocation:
    """The premises, with one pole 150 m away (nothing else on the network)."""
    lon, lat = _TO_LONLAT.transform(*POLE_XY)
    db.execute(
        text(
            "INSERT INTO gis_network_node (code, geom, location_precision) VALUES "
            "('TST-N1', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326), 'surveyed')"
        ),
        {"lon": lon, "lat": lat},
    )
    db.execute(
        text(
            "INSERT INTO gis_service_point (code, kind, node_id, geom, location_precision) "
            "SELECT 'TST-P1', 'pole', id, geom, 'surveyed' FROM gis_network_node WHERE code = 'TST-N1'"
        )
    )
    return place(db, PREMISES_XY)


KVA6 = Decimal(6)
