"""Meter assets: lifecycle state machine, installation rules enforced by the database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.context import SYSTEM
from meters import repository, service
from meters.errors import (
    MeterIndexInvalidError,
    MeterInstallationConflictError,
    MeterSerialTakenError,
    MeterTransitionInvalidError,
)
from meters.schemas import MeterCreate
from tests.meters.conftest import utc


def test_install_remove_restock_scrap_follow_the_lifecycle(db, make_meter, make_usage_point):
    meter, point = make_meter(), make_usage_point()
    assert meter.status == "in_stock"
    service.install_meter(
        db,
        meter_id=meter.id,
        usage_point_id=point.id,
        installed_at=utc(2025, 1, 1),
        start_index=120,
    )
    assert meter.status == "installed"
    with pytest.raises(MeterTransitionInvalidError) as err:
        service.scrap_meter(db, actor=SYSTEM, meter_id=meter.id)
    assert err.value.status == 409 and err.value.extra["allowed_events"] == ["remove"]
    installation = service.remove_meter(
        db,
        actor=SYSTEM,
        meter_id=meter.id,
        removed_at=utc(2025, 3, 1),
        end_index=Decimal(900),
        to_stock_location="STORE-A",
    )
    assert installation.end_indexes == {"total": "900"}
    assert (meter.status, meter.stock_location) == ("removed", "STORE-A")
    service.scrap_meter(db, actor=SYSTEM, meter_id=meter.id)
    with pytest.raises(MeterTransitionInvalidError):
        service.install_meter(
            db,
            meter_id=meter.id,
            usage_point_id=point.id,
            installed_at=utc(2025, 4, 1),
            start_index=0,
        )


def test_serial_is_unique(db, make_meter):
    make_meter(serial="SN-1")
    with pytest.raises(MeterSerialTakenError):
        service.create_meter(db, data=MeterCreate(serial="SN-1", meter_type="smart"))


def test_a_usage_point_has_one_active_meter_per_register_set(db, make_meter, make_usage_point):
    point = make_usage_point()
    first, second = make_meter(), make_meter()
    service.install_meter(
        db, meter_id=first.id, usage_point_id=point.id, installed_at=utc(2025, 1, 1), start_index=0
    )
    with pytest.raises(MeterInstallationConflictError):
        service.install_meter(
            db,
            meter_id=second.id,
            usage_point_id=point.id,
            installed_at=utc(2025, 2, 1),
            start_index=0,
        )
    # A check meter is another register set: allowed alongside.
    service.install_meter(
        db,
        meter_id=second.id,
        usage_point_id=point.id,
        installed_at=utc(2025, 2, 1),
        start_index=0,
        register_set="check",
    )


def test_the_database_refuses_overlapping_installations_even_back_dated(
    db, make_meter, make_usage_point
):
    meter, a, b = make_meter(), make_usage_point(), make_usage_point()
    service.install_meter(
        db, meter_id=meter.id, usage_point_id=a.id, installed_at=utc(2025, 1, 1), start_index=0
    )
    savepoint = db.begin_nested()
    with pytest.raises(IntegrityError, match="ex_meter_installation_meter"):
        db.execute(
            text(
                "INSERT INTO meter_installation (meter_id, usage_point_id, installed_at, "
                "start_indexes, removed_at, end_indexes) VALUES (:m, :u, '2025-02-01Z', "
                '\'{"total": "0"}\', \'2025-03-01Z\', \'{"total": "5"}\')'
            ),
            {"m": meter.id, "u": b.id},
        )
    savepoint.rollback()


def test_replace_links_installations_and_frees_the_old_meter(db, make_meter, make_usage_point):
    point, old, new = make_usage_point(), make_meter(), make_meter()
    first = service.install_meter(
        db, meter_id=old.id, usage_point_id=point.id, installed_at=utc(2025, 1, 1), start_index=0
    )
    second = service.replace_meter(
        db,
        usage_point_id=point.id,
        new_meter_id=new.id,
        replaced_at=utc(2025, 6, 1),
        old_end_index=1500,
        new_start_index=3,
    )
    assert second.replaces_installation_id == first.id
    assert (old.status, new.status) == ("removed", "installed")
    assert [m.serial for m in repository.meters_for_usage_point(db, point.id)] == [
        old.serial,
        new.serial,
    ]
    assert [
        m.serial for m in repository.meters_for_usage_point(db, point.id, at=utc(2025, 7, 1))
    ] == [new.serial]


def test_start_index_must_fit_the_dials_and_cover_every_register(db, make_meter, make_usage_point):
    point = make_usage_point()
    small = make_meter(digits=4)
    with pytest.raises(MeterIndexInvalidError):
        service.install_meter(
            db,
            meter_id=small.id,
            usage_point_id=point.id,
            installed_at=utc(2025, 1, 1),
            start_index=10_000,
        )
    tou = make_meter(registers=["peak", "off_peak"])
    with pytest.raises(MeterIndexInvalidError):
        service.install_meter(
            db,
            meter_id=tou.id,
            usage_point_id=point.id,
            installed_at=utc(2025, 1, 1),
            start_index=5,
        )
    installation = service.install_meter(
        db,
        meter_id=tou.id,
        usage_point_id=point.id,
        installed_at=utc(2025, 1, 1),
        start_index={"peak": 5, "off_peak": 7},
    )
    assert installation.start_indexes == {"peak": "5", "off_peak": "7"}
