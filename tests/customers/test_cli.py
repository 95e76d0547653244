"""``kilowatch customers duplicates`` lists likely duplicate pairs (committed data)."""

from __future__ import annotations

import json

from sqlalchemy import delete
from typer.testing import CliRunner

from core.db import session_scope
from customers.models import Party, PartyPhone
from kilowatch.cli import app
from tests.customers.conftest import make_party


def test_duplicates_command_lists_the_pair_once(database_url: str) -> None:
    with session_scope() as session:
        first = make_party(
            session,
            first_name="Gbèdo",
            last_name="Quenum-Cli",
            phones=[{"number": "+229 95 55 66 77"}],
        ).id
        second = make_party(
            session, first_name="Gbedo", last_name="Kenum-Cli", phones=[{"number": "95556677"}]
        ).id
    try:
        result = CliRunner().invoke(app, ["customers", "duplicates", "--json"])
        assert result.exit_code == 0, result.output
        pairs = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
        ours = [p for p in pairs if {p["party_id"], p["other_id"]} == {first, second}]
        assert len(ours) == 1
        assert (ours[0]["party_id"], ours[0]["reasons"]) == (first, ["name", "phone"])
    finally:
        with session_scope() as session:
            session.execute(delete(PartyPhone).where(PartyPhone.party_id.in_([first, second])))
            session.execute(delete(Party).where(Party.id.in_([first, second])))
