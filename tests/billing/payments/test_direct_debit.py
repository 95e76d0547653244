"""SEPA direct debit: a mandate's bank account is checked; a batch collects what each
mandated account owes by the collection date, as a pain.008 that validates against its XSD,
and posts each debit once; a return (pain.002 or the documented CSV) re-opens the debt
exactly and adds the return fee; the same return file twice changes nothing."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import sepaxml
from lxml import etree
from sqlalchemy import text
from sqlalchemy.orm import Session

from billing.payments import direct_debit, direct_debit_returns, repository
from billing.payments.enums import ItemKind
from billing.payments.errors import (
    DirectDebitBatchEmptyError,
    DirectDebitReturnInvalidError,
    MandateConflictError,
    MandateInvalidError,
)
from billing.payments.schemas import MandateCreate
from core.context import SYSTEM
from core.settings import get_settings
from tests.billing.payments.helpers import (
    assert_books_hold,
    balance,
    charge,
    invoice,
    make_account,
)

XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.008.001.02.xsd"
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"}


@pytest.fixture(autouse=True)
def _creditor(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "utility_bank_account", "FR1420041010050500013M02606")
    monkeypatch.setattr(settings, "utility_bic", "PSSTFRPPLIL")
    monkeypatch.setattr(settings, "sepa_creditor_id", "FR72ZZZ123456")
    monkeypatch.setattr(settings, "direct_debit_return_fee", 1500)


def _mandate(db: Session, account, reference: str, **extra):
    return direct_debit.create_mandate(
        db,
        SYSTEM,
        data=MandateCreate(
            customer_account_id=account.id,
            reference=reference,
            signed_on=date(2026, 1, 5),
            debtor_name="Adjovi Kossou",
            iban=extra.pop("iban", "DE89 3704 0044 0532 0130 00"),
            **extra,
        ),
    )


def test_a_mandate_checks_its_bank_account(db: Session) -> None:
    account = make_account(db)
    with pytest.raises(MandateInvalidError, match="IBAN"):
        _mandate(db, account, "MND-BAD", iban="DE89370400440532013001")  # checksum off by one
    with pytest.raises(MandateInvalidError, match="not a bank of DE"):
        _mandate(db, account, "MND-BIC", bic="PSSTFRPPLIL")  # a French bank, a German IBAN
    mandate = _mandate(db, account, "MND-1")
    assert (mandate.iban, mandate.bic, mandate.sequence) == (
        "DE89370400440532013000",
        "COBADEFFXXX",  # schwifty's registry: the BIC of bank code 37040044
        "FRST",
    )
    with pytest.raises(MandateConflictError):
        _mandate(db, account, "MND-2")  # one active mandate per account


def test_a_batch_collects_and_a_return_reopens_the_debt(db: Session) -> None:
    account = make_account(db)
    other = make_account(db)
    old = invoice(db, account, 11_800, date(2026, 2, 10), "F-DD-1")
    new = invoice(db, account, 5_900, date(2026, 3, 10), "F-DD-2")
    later = invoice(db, account, 2_000, date(2026, 4, 10), "F-DD-3")  # not due yet
    invoice(db, other, 3_000, date(2026, 2, 1), "F-DD-4")  # no mandate: not collected
    _mandate(db, account, "MND-COLLECT")
    with pytest.raises(DirectDebitBatchEmptyError):
        direct_debit.make_batch(db, SYSTEM, collection_date=date(2026, 1, 31))

    batch = direct_debit.make_batch(db, SYSTEM, collection_date=date(2026, 3, 15))
    # owed on 15 March: 11 800 + 5 900 (the April bill is not due) = 17 700
    assert (batch.count, batch.total) == (1, 17_700)
    document = etree.fromstring(batch.xml.encode())
    assert etree.XMLSchema(etree.parse(str(XSD))).validate(document)
    tx = document.find(".//p:DrctDbtTxInf", NS)
    assert tx.findtext(".//p:InstdAmt", namespaces=NS) == "17700.00"  # XOF: whole units
    assert tx.findtext(".//p:MndtId", namespaces=NS) == "MND-COLLECT"
    assert document.findtext(".//p:SeqTp", namespaces=NS) == "FRST"
    [collection] = direct_debit.collections_of(db, batch)
    assert balance(db, account) == 11_800 + 5_900 + 2_000 - 17_700  # = 2 000, the April bill
    open_now = repository.open_amounts(db, [old.id, new.id, later.id])
    assert open_now == {old.id: 0, new.id: 0, later.id: 2_000}

    pain002 = f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.03"><CstmrPmtStsRpt>
<GrpHdr><MsgId>RET-1</MsgId><CreDtTm>2026-03-18T09:00:00</CreDtTm></GrpHdr>
<OrgnlGrpInfAndSts><OrgnlMsgId>{batch.message_id}</OrgnlMsgId>
<OrgnlMsgNmId>pain.008.001.02</OrgnlMsgNmId></OrgnlGrpInfAndSts>
<OrgnlPmtInfAndSts><OrgnlPmtInfId>X</OrgnlPmtInfId><TxInfAndSts>
<OrgnlEndToEndId>{collection.end_to_end_id}</OrgnlEndToEndId><TxSts>RJCT</TxSts>
<StsRsnInf><Rsn><Cd>AM04</Cd></Rsn></StsRsnInf></TxInfAndSts></OrgnlPmtInfAndSts>
</CstmrPmtStsRpt></Document>""".encode()
    report = direct_debit_returns.import_returns(db, SYSTEM, pain002)
    assert (report.returned, report.fees, report.revoked_mandates) == (
        [collection.end_to_end_id],
        1500,
        [],  # insufficient funds does not end the mandate
    )
    # the debt exactly as before the debit, plus the 1 500 return fee
    assert repository.open_amounts(db, [old.id, new.id, later.id]) == {
        old.id: 11_800,
        new.id: 5_900,
        later.id: 2_000,
    }
    assert balance(db, account) == 11_800 + 5_900 + 2_000 + 1_500
    fee = [i for i in repository.items_of(db, account.id) if i.kind == ItemKind.FEE.value]
    assert [(f.document_ref, f.amount) for f in fee] == [
        (f"DDRETURN {collection.end_to_end_id}", 1500)
    ]
    again = direct_debit_returns.import_returns(db, SYSTEM, pain002)
    assert (again.returned, again.already, again.fees) == ([], [collection.end_to_end_id], 0)
    db.refresh(batch)
    assert batch.returned == 1
    assert_books_hold(db)
    db.execute(text("SET CONSTRAINTS ALL DEFERRED"))  # the check made them immediate

    # the first debit never arrived: the next one is FRST again, then the bank says the
    # account is closed (CSV of returns): the mandate ends.
    second = direct_debit.make_batch(db, SYSTEM, collection_date=date(2026, 4, 15))
    # 11 800 + 5 900 + 2 000 + the 1 500 fee = 21 200
    assert second.total == 21_200
    assert etree.fromstring(second.xml.encode()).findtext(".//p:SeqTp", namespaces=NS) == "FRST"
    [debit] = direct_debit.collections_of(db, second)
    csv = f"end_to_end_id,reason_code,return_date\n{debit.end_to_end_id},AC04,2026-04-20\n"
    closed = direct_debit_returns.import_returns(db, SYSTEM, csv.encode())
    assert closed.revoked_mandates == ["MND-COLLECT"]
    assert balance(db, account) == 21_200 + 1_500
    assert_books_hold(db)


def test_a_bad_return_file_changes_nothing(db: Session) -> None:
    with pytest.raises(DirectDebitReturnInvalidError, match="no direct debit"):
        direct_debit_returns.import_returns(db, SYSTEM, b"end_to_end_id,reason_code\nNOPE,AM04\n")
    with pytest.raises(DirectDebitReturnInvalidError, match="reason code"):
        direct_debit_returns.import_returns(db, SYSTEM, b"end_to_end_id,reason_code\nX,ZZ99\n")
    with pytest.raises(DirectDebitReturnInvalidError):
        direct_debit_returns.import_returns(db, SYSTEM, b"<Document><oops")


def test_fees_are_collected_too(db: Session) -> None:
    account = make_account(db)
    charge(db, account, ItemKind.FEE, 700, date(2026, 2, 1), "FEE-DD")
    _mandate(db, account, "MND-FEE", recurring=True)
    batch = direct_debit.make_batch(db, SYSTEM, collection_date=date(2026, 2, 2))
    assert batch.total == 700
    assert etree.fromstring(batch.xml.encode()).findtext(".//p:SeqTp", namespaces=NS) == "RCUR"
    assert balance(db, account) == 0
    assert_books_hold(db)
