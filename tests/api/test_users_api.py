"""Staff administration under the territory rule: an agency's administrator manages the
agency's own accounts, head office manages everyone's."""

from __future__ import annotations

from core.auth import service
from tests.conftest import bearer
from tests.support.territory import east_agency


def test_a_territory_bound_admin_sees_and_creates_only_own_agency_accounts(client, db, make_user):
    east = east_agency(db, "EAST-U")
    service.get_or_create_agency(db, code="WEST-U")
    service.create_user(
        db, username="west_clerk", password="x" * 12, roles=["cashier"], agency_code="WEST-U"
    )
    service.create_user(
        db, username="east_clerk", password="x" * 12, roles=["cashier"], agency_code=east
    )
    db.commit()
    admin = make_user("admin", agency=east, username="east_admin")
    listed = client.get("/api/v1/users", headers=bearer(admin), params={"limit": 200})
    assert listed.status_code == 200
    names = {u["username"] for u in listed.json()}
    assert "east_clerk" in names and "west_clerk" not in names

    body = {"username": "new_west", "password": "y" * 12, "roles": ["cashier"]}
    for agency in ("WEST-U", None):
        refused = client.post(
            "/api/v1/users", headers=bearer(admin), json={**body, "agency_code": agency}
        )
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "outside_territory"
    created = client.post(
        "/api/v1/users", headers=bearer(admin), json={**body, "agency_code": east}
    )
    assert created.status_code == 201, created.text


def test_head_office_admin_sees_every_agency(client, db, make_user):
    service.get_or_create_agency(db, code="WEST-H")
    service.create_user(
        db, username="west_h", password="x" * 12, roles=["cashier"], agency_code="WEST-H"
    )
    db.commit()
    admin = make_user("admin")
    names = {
        u["username"]
        for u in client.get("/api/v1/users", headers=bearer(admin), params={"limit": 200}).json()
    }
    assert "west_h" in names
