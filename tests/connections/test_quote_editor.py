"""The staff quote editor and price list pages (browser-free, through the app): a quoted
request re-priced as a draft (nothing stored), then issued as version 2; refused input
re-renders the editor with the reason; a price list page per version. Amounts by hand
with the prices of tests/connections (XOF)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from field.connections import service
from field.connections.models import ConnectionPriceList
from tests.connections.conftest import DESK, KVA6


def _quoted(db: Session, party, premises) -> int:  # type: ignore[no-untyped-def]
    request = service.submit_request(
        db,
        actor=DESK,
        party_id=party.id,
        service_location_id=premises.id,
        connection_type="mono",
        subscribed_kva=KVA6,
        source="desk",
    )
    service.issue_quote(db, actor=DESK, request_id=request.id)  # 150 m on the map: 945 000
    db.commit()
    return request.id


EDIT = {
    "distance_m": "110",
    "connection_type": "mono",
    "subscribed_kva": "6",
    "include_meter": "on",
    "extra_label_1": "Road crossing",
    "extra_quantity_1": "2",
    "extra_price_1": "35000",
}
# 110 m: extra 80 m -> cable 200 000, 2 poles 170 000; + connection 150 000, meter 45 000,
# road crossing 2 x 35 000 = 70 000: works 635 000; tax 18 % = 114 300; deposit 60 000;
# total 809 300.


def test_the_editor_recomputes_a_draft_then_issues_a_new_version(
    client: TestClient,
    db: Session,
    make_user,
    price_list: ConnectionPriceList,
    party,
    premises,  # type: ignore[no-untyped-def]
) -> None:
    request_id = _quoted(db, party, premises)
    client.cookies.set("kw_token", make_user("admin"))
    page = client.get(f"/connections/{request_id}/quote")
    assert page.status_code == 200 and "945000 XOF" in page.text
    draft = client.get(f"/connections/{request_id}/quote", params=EDIT)
    assert draft.status_code == 200
    assert "= <b>809300 XOF</b>" in draft.text and 'data-testid="draft-lines"' in draft.text
    assert [q.version for q in service.quote_versions(db, request_id)] == [1]  # a draft
    issued = client.post(f"/connections/{request_id}/quote", data=EDIT, follow_redirects=False)
    assert issued.status_code == 303, issued.text
    versions = service.quote_versions(db, request_id)
    assert [(q.version, q.status, q.total) for q in versions] == [
        (2, "issued", 809300),
        (1, "superseded", 945000),
    ]
    assert [(line["code"], line["amount"]) for line in versions[0].lines] == [
        ("connection", 150000),
        ("cable", 200000),
        ("poles", 170000),
        ("meter", 45000),
        ("extra", 70000),
        ("deposit", 60000),
    ]
    # Without the meter (the customer has one): 635 000 - 45 000 = 590 000 works,
    # tax 106 200, deposit 60 000 -> 756 200, version 3.
    no_meter = {k: v for k, v in EDIT.items() if k != "include_meter"}
    client.post(f"/connections/{request_id}/quote", data=no_meter, follow_redirects=False)
    assert service.current_quote(db, request_id).total == 756200


def test_refused_input_says_why_and_stores_nothing(
    client: TestClient,
    db: Session,
    make_user,
    price_list: ConnectionPriceList,
    party,
    premises,  # type: ignore[no-untyped-def]
) -> None:
    request_id = _quoted(db, party, premises)
    client.cookies.set("kw_token", make_user("admin"))
    too_much = {**EDIT, "subscribed_kva": "12"}  # mono allows 9 kVA at most
    page = client.post(f"/connections/{request_id}/quote", data=too_much, follow_redirects=False)
    assert page.status_code == 422 and "mono allows at most 9 kVA" in page.text
    negative = client.get(f"/connections/{request_id}/quote", params={**EDIT, "distance_m": "-5"})
    assert negative.status_code == 422 and 'data-testid="error"' in negative.text
    assert [q.version for q in service.quote_versions(db, request_id)] == [1]


def test_price_list_page_and_pipeline_link(
    client: TestClient,
    db: Session,
    make_user,
    price_list: ConnectionPriceList,
    party,
    premises,  # type: ignore[no-untyped-def]
) -> None:
    request_id = _quoted(db, party, premises)
    client.cookies.set("kw_token", make_user("admin"))
    prices = client.get("/connections/prices")
    assert prices.status_code == 200
    assert 'data-version="1"' in prices.text and 'data-type="tri"' in prices.text
    board = client.get("/connections")
    assert f'href="/connections/{request_id}/quote"' in board.text
    client.cookies.set("kw_token", make_user("technician"))
    assert client.get("/connections/prices").status_code in (302, 303, 403)
