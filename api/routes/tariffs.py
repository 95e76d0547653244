"""Tariffs: the tariff book (list, read, create, publish versions, import and export YAML or
JSON documents) and the bill calculator. Tariffs are the same for every agency."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, File, Path, Query, UploadFile
from fastapi.responses import Response
from sqlalchemy.orm import Session

from api.deps import CurrentActor, DbSession
from api.downloads import attachment
from api.params import Limit, Offset
from api.schemas import PROBLEM_RESPONSES
from billing.tariffs import repository, service
from billing.tariffs.documents import DOCUMENT_BYTES_MAX, parse_document
from billing.tariffs.errors import TariffDocumentInvalidError
from billing.tariffs.models import Tariff
from billing.tariffs.rating import Bill, shown
from billing.tariffs.schemas import (
    BillLineRead,
    BillRead,
    ImportReport,
    SimulateRequest,
    TariffCreate,
    TariffRead,
    TariffSummary,
    TariffVersionCreate,
    TariffVersionRead,
)
from core.money import format_money, minor_exponent, to_major
from core.pages import Page

router = APIRouter(prefix="/api/v1", tags=["tariffs"], responses=PROBLEM_RESPONSES)

_MORE = {409: PROBLEM_RESPONSES[422], 404: PROBLEM_RESPONSES[422]}
Code = Annotated[str, Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
VersionNumber = Annotated[int, Path(ge=1, le=1_000_000)]


def _read(session: Session, tariff: Tariff) -> TariffRead:
    versions = repository.versions_of(session, tariff.id)
    reads = []
    for version, following in zip(versions, [*versions[1:], None], strict=False):
        read = TariffVersionRead.model_validate(version)
        reads.append(
            read.model_copy(update={"effective_to": following and following.effective_from})
        )
    return TariffRead.model_validate(
        {**TariffSummary.model_validate(tariff).model_dump(), "versions": reads}
    )


@router.get("/tariffs", response_model=Page[TariffSummary])
def list_tariffs(
    session: DbSession,
    actor: CurrentActor("tariffs:read"),  # type: ignore[valid-type]
    q: str | None = Query(None, max_length=100, description="part of the code or name"),
    offset: Offset = 0,
    limit: Limit = 50,
) -> Page[TariffSummary]:
    tariffs, total = repository.tariffs_page(session, actor, q=q, offset=offset, limit=limit)
    return Page(
        items=[TariffSummary.model_validate(t) for t in tariffs],
        total=total,
        offset=offset,
        limit=limit,
    )


@router.post("/tariffs", response_model=TariffRead, status_code=201, responses=_MORE)
def create_tariff(
    body: TariffCreate, session: DbSession, actor: CurrentActor("tariffs:write")
) -> TariffRead:  # type: ignore[valid-type]
    """A new tariff, with the versions the body holds (each from its date)."""
    return _read(session, service.create_tariff(session, actor=actor, data=body))


@router.post("/tariffs/imports", response_model=ImportReport, responses=_MORE)
def import_tariff(
    session: DbSession,
    actor: CurrentActor("tariffs:write"),  # type: ignore[valid-type]
    file: UploadFile = File(..., description="Tariff document, YAML or JSON"),
) -> ImportReport:
    """Import a tariff document: the tariff is created if new, versions not yet present
    are published, versions already present with the same content are left alone, and a
    present version with other content refuses the whole document (409)."""
    raw = file.file.read(DOCUMENT_BYTES_MAX + 1)
    if len(raw) > DOCUMENT_BYTES_MAX:
        raise TariffDocumentInvalidError(f"a tariff document is at most {DOCUMENT_BYTES_MAX} bytes")
    return service.import_document(session, actor=actor, document=parse_document(raw))


@router.get("/tariffs/{code}", response_model=TariffRead, responses=_MORE)
def get_tariff(code: Code, session: DbSession, actor: CurrentActor("tariffs:read")) -> TariffRead:  # type: ignore[valid-type]
    """The tariff with every version and its dates (``effective_to``: the next one's start)."""
    return _read(session, repository.require_tariff(session, code, actor=actor))


@router.post(
    "/tariffs/{code}/versions", response_model=TariffVersionRead, status_code=201, responses=_MORE
)
def add_version(
    code: Code, body: TariffVersionCreate, session: DbSession, actor: CurrentActor("tariffs:write")
) -> TariffVersionRead:  # type: ignore[valid-type]
    """Publish a new version from its ``effective_from`` (versions are never edited)."""
    version = service.add_version(session, actor=actor, code=code, data=body)
    return TariffVersionRead.model_validate(version)


@router.get("/tariffs/{code}/versions/{version}", response_model=TariffVersionRead, responses=_MORE)
def get_version(
    code: Code, version: VersionNumber, session: DbSession, actor: CurrentActor("tariffs:read")
) -> TariffVersionRead:  # type: ignore[valid-type]
    return TariffVersionRead.model_validate(
        service.get_version(session, code=code, number=version, actor=actor)
    )


@router.get(
    "/tariffs/{code}/export",
    response_class=Response,
    responses={
        **_MORE,
        200: {
            "description": "The tariff document",
            "content": {"application/yaml": {}, "application/json": {}},
        },
    },
)
def export_tariff(
    code: Code,
    session: DbSession,
    actor: CurrentActor("tariffs:read"),  # type: ignore[valid-type]
    format: Literal["yaml", "json"] = "yaml",
) -> Response:
    """The tariff and its versions as a document that imports back to the same tariff."""
    text = service.export_document(session, code=code, fmt=format, actor=actor)
    return attachment(text, f"{code}.{format}", f"application/{format}")


def bill_read(bill: Bill) -> BillRead:
    currency = bill.currency
    return BillRead(
        tariff_code=bill.tariff_code,
        currency=currency,
        minor_exponent=minor_exponent(currency),
        start=bill.period.start,
        end=bill.period.end,
        days=bill.period.days,
        months=shown(bill.months),
        kwh=dict(bill.kwh),
        lines=[
            BillLineRead(
                kind=line.kind,
                component=line.component,
                label=line.label,
                start=line.start,
                end=line.end,
                quantity=line.quantity,
                unit=line.unit,
                unit_price=line.unit_price,
                amount=line.amount,
                amount_major=to_major(line.amount, currency),
                tax_base=line.tax_base,
                block=line.block,
            )
            for line in bill.lines
        ],
        net=bill.net,
        taxes=bill.taxes,
        rounding=bill.rounding,
        total=bill.total,
        total_formatted=format_money(bill.total, currency),
    )


@router.post("/tariffs/{code}/simulate", response_model=BillRead, responses=_MORE)
def simulate(
    code: Code, body: SimulateRequest, session: DbSession, actor: CurrentActor("tariffs:read")
) -> BillRead:  # type: ignore[valid-type]
    """The bill calculator: rate any consumption over any date range ``[start, end)`` with
    the versions in force (cut where they change), every line shown. Nothing is stored."""
    return bill_read(service.simulate(session, code=code, request=body, actor=actor))
