"""The connection process: price lists, requests, survey, quotes with versions, acceptance
(works, tax and deposit into the ledger), payment through billing's payments, the works as
work orders, and the contract started when the meter is in.

Services flush, never commit; callers pass the acting principal (staff, or a customer's
portal actor whose ownership the portal service has already checked)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from pyproj import CRS
from sqlalchemy import Sequence, func, select, text
from sqlalchemy.orm import Session

from billing.ledger import service as ledger
from billing.ledger.models import LedgerTransaction, TransactionKind
from billing.payments import service as payments
from billing.payments.enums import Channel, Instrument, ItemKind
from billing.payments.models import Payment
from billing.payments.schemas import PaymentCreate
from core.context import Actor
from core.errors import FieldError, ReferenceUnknownError
from core.flush import by_constraint, flush_guarded
from core.settings import get_settings
from core.territory import require_visible, visible
from customers import contract_service, premises_service
from customers.enums import ConnectionState, UsageCategory
from customers.models import Account, Contract, Party, ServiceLocation, UsagePoint
from customers.schemas import (
    AccountCreate,
    ChangePowerRequest,
    ContractUpdate,
    MoveInRequest,
    UsagePointCreate,
)
from field.connections.errors import (
    ConnectionRequestNotFoundError,
    NetworkTooFarError,
    PriceListExistsError,
    PriceListMissingError,
    QuoteInvalidError,
)
from field.connections.machine import CONNECTION, STEP_SLA
from field.connections.models import (
    ConnectionPriceList,
    ConnectionQuote,
    ConnectionRequest,
)
from field.connections.pricing import (
    ExtraLine,
    PricedQuote,
    PriceListDefinition,
    PricingError,
    price_quote,
)
from field.connections.schemas import (
    ConnectionRequestRead,
    DeskConnectionRequestIn,
    QuoteIn,
    QuoteRead,
)
from field.enums import WorkOrderKind
from field.models import WorkOrder
from field.schemas import WorkOrderCreate
from field.work_orders import create_work_order

REQUEST_NUMBER_SEQ = Sequence("connection_request_number_seq")


# --- price lists ---------------------------------------------------------------------


def define_price_list(
    session: Session,
    *,
    actor: Actor,
    version: int,
    valid_from: date,
    definition: PriceListDefinition,
    note: str | None = None,
) -> ConnectionPriceList:
    """A new version of the price list (never an edit: quotes name the version they used)."""
    row = ConnectionPriceList(
        version=version,
        valid_from=valid_from,
        definition=definition.model_dump(mode="json"),
        note=note,
    )
    flush_guarded(
        session,
        by_constraint(
            {
                "uq_connection_price_list_version": lambda: PriceListExistsError(
                    f"price list version {version} exists"
                )
            }
        ),
        lambda: session.add(row),
    )
    return row


def price_lists(session: Session) -> list[ConnectionPriceList]:
    """Every version of the price list, newest first."""
    return list(
        session.scalars(select(ConnectionPriceList).order_by(ConnectionPriceList.version.desc()))
    )


def price_list_in_force(session: Session, day: date) -> ConnectionPriceList:
    row = session.scalar(
        select(ConnectionPriceList)
        .where(ConnectionPriceList.valid_from <= day)
        .order_by(ConnectionPriceList.valid_from.desc(), ConnectionPriceList.version.desc())
        .limit(1)
    )
    if row is None:
        raise PriceListMissingError(f"no connection price list is in force on {day}")
    return row


# --- distance to the network -----------------------------------------------------------


def projected_srid() -> int:
    crs = CRS.from_user_input(get_settings().projected_crs)
    epsg = crs.to_epsg()
    if epsg is None:  # a settings error, not the customer's
        raise RuntimeError(f"projected_crs {get_settings().projected_crs} has no EPSG code")
    return int(epsg)


def distance_to_network(session: Session, service_location_id: int) -> Decimal:
    """Metres from the premises to the nearest service point (pole, cabinet) or
    transformer, measured in the deployment's projected CRS (not on the sphere's degrees).
    The KNN operator picks candidates in 4326; the exact distance is projected."""
    metres = session.execute(
        text(
            "SELECT min(ST_Distance(ST_Transform(n.geom, :srid), ST_Transform(l.geom, :srid))) "
            "FROM customer_service_location l, LATERAL ("
            "  (SELECT sp.geom FROM gis_service_point sp ORDER BY sp.geom <-> l.geom LIMIT 5)"
            "  UNION ALL"
            "  (SELECT t.geom FROM gis_power_transformer t WHERE t.geom IS NOT NULL"
            "   ORDER BY t.geom <-> l.geom LIMIT 5)"
            ") n WHERE l.id = :id AND l.geom IS NOT NULL"
        ),
        {"srid": projected_srid(), "id": service_location_id},
    ).scalar()
    if metres is None:
        raise NetworkTooFarError(
            "the premises has no position or there is no network to connect to",
            errors=[FieldError("service_location_id", "no network near this premises")],
        )
    return Decimal(str(metres)).quantize(Decimal("0.1"))


# --- requests --------------------------------------------------------------------------


def get_request(session: Session, request_id: int) -> ConnectionRequest:
    row = session.get(ConnectionRequest, request_id)
    if row is None:
        raise ConnectionRequestNotFoundError(f"no connection request {request_id}")
    return row


def _account_for(session: Session, actor: Actor, party_id: int) -> int:
    found = session.scalar(
        select(Account.id).where(Account.payer_party_id == party_id).order_by(Account.id).limit(1)
    )
    if found is not None:
        return int(found)
    return contract_service.create_account(
        session, actor=actor, data=AccountCreate(payer_party_id=party_id)
    ).id


def submit_request(
    session: Session,
    *,
    actor: Actor,
    party_id: int,
    service_location_id: int,
    connection_type: str,
    subscribed_kva: Decimal,
    kind: str = "new_connection",
    source: str = "desk",
    tariff_code: str | None = None,
    usage_point_id: int | None = None,
) -> ConnectionRequest:
    number = f"CR-{session.scalar(REQUEST_NUMBER_SEQ.next_value()):06d}"
    request = ConnectionRequest(
        number=number,
        kind=kind,
        source=source,
        party_id=party_id,
        service_location_id=service_location_id,
        usage_point_id=usage_point_id,
        account_id=_account_for(session, actor, party_id),
        connection_type=connection_type,
        subscribed_kva=subscribed_kva,
        tariff_code=tariff_code,
        status="submitted",
        step_started_at=datetime.now(UTC),
    )
    session.add(request)
    session.flush()
    CONNECTION.record(session, actor, request, "submit", None, "submitted")
    session.flush()
    return request


def _step(
    session: Session, actor: Actor, request: ConnectionRequest, event: str, **details: Any
) -> None:
    before = request.status
    CONNECTION.step(session, actor, request, event, details=details or None)
    if request.status != before:
        request.step_started_at = datetime.now(UTC)
    session.flush()


def order_survey(session: Session, *, actor: Actor, request_id: int) -> ConnectionRequest:
    """The site survey as a field inspection order (no usage point yet: the premises)."""
    request = get_request(session, request_id)
    _step(session, actor, request, "order_survey")
    order = create_work_order(
        session,
        actor=actor,
        data=WorkOrderCreate(
            kind=WorkOrderKind.SURVEY,
            usage_point_id=request.usage_point_id,
            reason=f"site survey for connection request {request.number}",
            source_key=f"connection:{request.id}:survey",
            instructions={
                "purpose": "connection_survey",
                "connection_request": request.number,
                "service_location_id": request.service_location_id,
            },
        ),
    )
    request.survey_work_order_id = order.id
    session.flush()
    return request


@dataclass(frozen=True)
class QuoteOptions:
    """What the desk may change when it re-prices a request in the quote editor: the
    surveyed cable length, the connection type and power, whether a meter is supplied, and
    lines for work the price list does not name. None: as the request / the map says."""

    distance_m: Decimal | None = None
    connection_type: str | None = None
    subscribed_kva: Decimal | None = None
    include_meter: bool | None = None
    extra_lines: tuple[ExtraLine, ...] = ()


def options_from(body: QuoteIn) -> QuoteOptions:
    """The editor's (or the API's) choices as pricing options."""
    return QuoteOptions(
        distance_m=body.distance_m,
        connection_type=body.connection_type,
        subscribed_kva=body.subscribed_kva,
        include_meter=body.include_meter,
        extra_lines=tuple(ExtraLine(x.label, x.quantity, x.unit_price) for x in body.extra_lines),
    )


def price_request(
    session: Session,
    request: ConnectionRequest,
    options: QuoteOptions = QuoteOptions(),
    on: date | None = None,
) -> tuple[ConnectionPriceList, Decimal, PricedQuote]:
    """Price the request with the list in force and ``options`` without storing anything
    (the editor's draft): the price list row, the distance used, the priced quote."""
    price_row = price_list_in_force(session, on or datetime.now(UTC).date())
    distance = (
        options.distance_m
        if options.distance_m is not None
        else distance_to_network(session, request.service_location_id)
    )
    try:
        priced = price_quote(
            PriceListDefinition.model_validate(price_row.definition),
            connection_type=options.connection_type or request.connection_type,
            distance_m=distance,
            subscribed_kva=Decimal(options.subscribed_kva or request.subscribed_kva),
            include_meter=(
                options.include_meter
                if options.include_meter is not None
                else request.kind == "new_connection"
            ),
            extra_lines=options.extra_lines,
        )
    except PricingError as exc:
        raise QuoteInvalidError(str(exc)) from exc
    return price_row, distance, priced


def issue_quote(
    session: Session,
    *,
    actor: Actor,
    request_id: int,
    distance_m: Decimal | None = None,
    on: date | None = None,
    options: QuoteOptions | None = None,
) -> ConnectionQuote:
    """Price the request with the list in force (a new version; the previous one is
    superseded). The distance is the surveyed one, else measured on the map; ``options``
    (the quote editor's) may change the type and power, which the request then takes."""
    request = get_request(session, request_id)
    if options is None:
        options = QuoteOptions(distance_m=distance_m)
    price_row, distance, priced = price_request(session, request, options, on)
    changed = {
        field: str(value)
        for field, value in (
            ("connection_type", options.connection_type),
            ("subscribed_kva", options.subscribed_kva),
        )
        if value is not None and str(value) != str(getattr(request, field))
    }
    _step(session, actor, request, "quote", distance_m=str(distance), **changed)
    if options.connection_type is not None:
        request.connection_type = options.connection_type
    if options.subscribed_kva is not None:
        request.subscribed_kva = options.subscribed_kva
    previous = session.scalars(
        select(ConnectionQuote).where(ConnectionQuote.request_id == request.id)
    ).all()
    for old in previous:
        if old.status == "issued":
            old.status = "superseded"
    request.distance_m = distance
    quote = ConnectionQuote(
        request_id=request.id,
        version=len(previous) + 1,
        price_list_id=price_row.id,
        distance_m=distance,
        currency=priced.currency,
        lines=quote_lines(priced),
        subtotal=priced.subtotal,
        tax=priced.tax,
        deposit=priced.deposit,
        total=priced.total,
        status="issued",
    )
    session.add(quote)
    session.flush()
    return quote


def quote_lines(priced: PricedQuote) -> list[dict[str, Any]]:
    """The priced lines as a quote stores and shows them."""
    return [
        {
            "code": line.code,
            "label": line.label,
            "quantity": str(line.quantity),
            "unit_price": line.unit_price,
            "amount": line.amount,
            "taxable": line.taxable,
        }
        for line in priced.lines
    ]


def quote_versions(session: Session, request_id: int) -> list[ConnectionQuote]:
    """Every version of a request's quote, newest first."""
    return list(
        session.scalars(
            select(ConnectionQuote)
            .where(ConnectionQuote.request_id == request_id)
            .order_by(ConnectionQuote.version.desc())
        )
    )


def current_quote(session: Session, request_id: int) -> ConnectionQuote | None:
    return session.scalar(
        select(ConnectionQuote)
        .where(ConnectionQuote.request_id == request_id)
        .order_by(ConnectionQuote.version.desc())
        .limit(1)
    )


def accept_quote(session: Session, *, actor: Actor, request_id: int) -> ConnectionQuote:
    """The customer accepts the current quote: the works and their tax become a receivable,
    the deposit a liability held for the customer (refunded or used at termination)."""
    request = get_request(session, request_id)
    quote = current_quote(session, request.id)
    if quote is None or quote.status != "issued":
        raise QuoteInvalidError("there is no issued quote to accept")
    _step(session, actor, request, "accept", quote_version=quote.version)
    assert request.account_id is not None  # set at submission
    today = datetime.now(UTC).date()
    ref = f"{request.number}-Q{quote.version}"
    lines = [ledger.Line("receivable", quote.total, request.account_id)]
    if quote.subtotal:
        lines.append(ledger.Line("revenue:connections", -quote.subtotal))
    if quote.tax:
        lines.append(ledger.Line("tax:vat", -quote.tax))
    if quote.deposit:
        lines.append(ledger.Line("liability:deposits", -quote.deposit))
    txn = ledger.post(
        session,
        actor,
        kind=TransactionKind.FEE,
        entry_date=today,
        currency=quote.currency,
        source_ref=ref,
        memo=f"connection quote {ref}",
        lines=lines,
    )
    payments.open_item(
        session,
        actor,
        customer_account_id=request.account_id,
        kind=ItemKind.FEE,
        document_ref=ref,
        due_date=today,
        amount=quote.total,
        currency=quote.currency,
        ledger_transaction_id=txn.id,
        allocate=False,
    )
    quote.status = "accepted"
    quote.accepted_at = datetime.now(UTC)
    session.flush()
    return quote


def pay_quote(session: Session, *, actor: Actor, request_id: int, external_id: str) -> Payment:
    """Payment of the quote (the online payment page's confirmation; an issued quote is
    accepted on the way), posted through billing's payments; then the works are ordered."""
    request = get_request(session, request_id)
    quote = current_quote(session, request.id)
    if quote is not None and quote.status == "paid" and quote.payment_id is not None:
        done = session.get(Payment, quote.payment_id)
        if done is not None and done.external_id == external_id:
            return done  # the same confirmation again (a retried click): paid once
    if quote is not None and quote.status == "issued":
        # Paying the quote on the payment page accepts it (one step for the customer).
        quote = accept_quote(session, actor=actor, request_id=request.id)
    if quote is None or quote.status != "accepted":
        raise QuoteInvalidError("there is no quote to pay")
    assert request.account_id is not None
    payment = payments.record_payment(
        session,
        actor,
        data=PaymentCreate(
            customer_account_id=request.account_id,
            amount=quote.total,
            currency=quote.currency,
            channel=Channel.BANK,
            instrument=Instrument.CARD,
            external_id=external_id,
            reference=f"{request.number}-Q{quote.version}",
        ),
    )
    quote.payment_id = payment.id
    quote.status = "paid"
    _step(session, actor, request, "pay", payment=payment.number)
    start_works(session, actor=actor, request_id=request.id)  # ordered as soon as paid
    return payment


def deposit_held(session: Session, request: ConnectionRequest) -> int:
    """The deposit this request put in the ledger's liability (0 before acceptance)."""
    total = session.scalar(
        select(func.coalesce(func.sum(ConnectionQuote.deposit), 0)).where(
            ConnectionQuote.request_id == request.id,
            ConnectionQuote.status.in_(("accepted", "paid")),
        )
    )
    return int(total or 0)


# --- works and the started contract ----------------------------------------------------

WORKS = (WorkOrderKind.EXTEND_NETWORK, WorkOrderKind.CONNECT, WorkOrderKind.INSTALL)


def _works_needed(request: ConnectionRequest, quote: ConnectionQuote) -> list[WorkOrderKind]:
    """The orders the paid quote calls for: extension only beyond the included cable, the
    meter only for a new supply (a power change re-sets the breaker: a connect order)."""
    codes = {line["code"] for line in quote.lines}
    needed = []
    if codes & {"cable", "poles"}:
        needed.append(WorkOrderKind.EXTEND_NETWORK)
    needed.append(WorkOrderKind.CONNECT)
    if request.kind == "new_connection":
        needed.append(WorkOrderKind.INSTALL)
    return needed


def start_works(session: Session, *, actor: Actor, request_id: int) -> list[WorkOrder]:
    """The works as field orders on the (new) usage point, once the quote is paid."""
    request = get_request(session, request_id)
    quote = current_quote(session, request.id)
    assert quote is not None  # paid, so quoted
    _step(session, actor, request, "start_works")
    if request.usage_point_id is None:
        # A premises supplied before (a former usage point) is reconnected, not duplicated.
        request.usage_point_id = session.scalar(
            select(UsagePoint.id).where(
                UsagePoint.service_location_id == request.service_location_id,
                UsagePoint.commodity == "electricity",
            )
        )
    if request.usage_point_id is None:
        point = premises_service.create_usage_point(
            session,
            actor=actor,
            data=UsagePointCreate(
                service_location_id=request.service_location_id,
                category=UsageCategory.RESIDENTIAL,
                subscribed_power_kva=request.subscribed_kva,
                connection_state=ConnectionState.DISCONNECTED,
            ),
        )
        request.usage_point_id = point.id
    orders = [
        create_work_order(
            session,
            actor=actor,
            data=WorkOrderCreate(
                kind=kind,
                usage_point_id=request.usage_point_id,
                reason=f"{kind.value.replace('_', ' ')} for connection request {request.number}",
                source_key=f"connection:{request.id}:{kind.value}",
                instructions={"connection_request": request.number, "quote": quote.version},
            ),
        )
        for kind in _works_needed(request, quote)
    ]
    session.flush()
    return orders


def works_orders(session: Session, request: ConnectionRequest) -> list[WorkOrder]:
    return list(
        session.scalars(
            select(WorkOrder)
            .where(WorkOrder.source_key.like(f"connection:{request.id}:%"))
            .order_by(WorkOrder.id)
        )
    )


def request_of_order(session: Session, order: WorkOrder) -> ConnectionRequest | None:
    number = (order.instructions or {}).get("connection_request")
    if not number:
        return None
    return session.scalar(select(ConnectionRequest).where(ConnectionRequest.number == number))


def work_order_done(session: Session, *, actor: Actor, work_order_id: int) -> None:
    """A field order of a request is done: a survey prices the quote (the map's distance
    unless the office entered the surveyed one); the last of the works connects."""
    order = session.get(WorkOrder, work_order_id)
    request = request_of_order(session, order) if order else None
    if order is None or request is None:
        return
    if order.kind == WorkOrderKind.SURVEY and request.status == "surveying":
        issue_quote(session, actor=actor, request_id=request.id)
    elif request.status == "works":
        orders = [o for o in works_orders(session, request) if o.kind != WorkOrderKind.SURVEY]
        if orders and all(o.status == "completed" for o in orders):
            connect(session, actor=actor, request_id=request.id, on=order.finished_at)


def connect(
    session: Session, *, actor: Actor, request_id: int, on: datetime | None = None
) -> ConnectionRequest:
    """The meter is in: the contract starts (or the power changes) and supply is on. The
    install order's start index is the first reading of the new contract."""
    request = get_request(session, request_id)
    assert request.usage_point_id is not None
    day = (on or datetime.now(UTC)).date()
    _step(session, actor, request, "connect")
    if request.kind == "new_connection":
        tariff = request.tariff_code or _tariff_for(session, request)
        assert tariff is not None  # _tariff_for raised when the price list names none
        contract = contract_service.move_in(
            session,
            actor=actor,
            data=MoveInRequest(
                usage_point_id=request.usage_point_id,
                holder_party_id=request.party_id,
                account_id=request.account_id,
                tariff_code=tariff,
                subscribed_power_kva=request.subscribed_kva,
                start_date=day,
            ),
        )
        request.contract_id = contract.id
        premises_service.set_connection_state(
            session, usage_point_id=request.usage_point_id, state=ConnectionState.CONNECTED, at=on
        )
    elif request.contract_id is not None:
        # A power change: the new power, and the tariff of the new connection type when
        # the price list names one (e.g. single- to three-phase moves tariff).
        tariff = request.tariff_code or _tariff_for(session, request, required=False)
        if tariff:
            contract_service.update_contract(
                session,
                actor=actor,
                contract_id=request.contract_id,
                data=ContractUpdate(tariff_code=tariff, reason=f"power change {request.number}"),
            )
        contract_service.change_power(
            session,
            actor=actor,
            contract_id=request.contract_id,
            data=ChangePowerRequest(
                subscribed_power_kva=request.subscribed_kva,
                effective_date=day,
                reason=f"power change {request.number}",
            ),
        )
    session.flush()
    return request


def _tariff_for(
    session: Session, request: ConnectionRequest, *, required: bool = True
) -> str | None:
    quote = current_quote(session, request.id)
    assert quote is not None
    row = session.get(ConnectionPriceList, quote.price_list_id)
    assert row is not None
    kind = PriceListDefinition.model_validate(row.definition).connection_types[
        request.connection_type
    ]
    if not kind.tariff_code and required:
        raise QuoteInvalidError(f"{request.connection_type} names no tariff: set the request's")
    return kind.tariff_code


def requests_of_party(session: Session, party_id: int) -> list[ConnectionRequest]:
    return list(
        session.scalars(
            select(ConnectionRequest)
            .where(ConnectionRequest.party_id == party_id)
            .order_by(ConnectionRequest.id.desc())
        )
    )


def request_of_party(session: Session, party_id: int, request_id: int) -> ConnectionRequest:
    """The party's own request; anyone else's answers 404 (its existence is not told)."""
    request = session.get(ConnectionRequest, request_id)
    if request is None or request.party_id != party_id:
        raise ConnectionRequestNotFoundError(f"no connection request {request_id} of yours")
    return request


def read(
    session: Session, request: ConnectionRequest, now: datetime | None = None
) -> ConnectionRequestRead:
    """The request as the API shows it: its current quote and its step's SLA clock."""
    quote = current_quote(session, request.id)
    sla = STEP_SLA.get(request.status)
    due = request.step_started_at + sla if sla else None
    out = ConnectionRequestRead.model_validate(request)
    out.quote = QuoteRead.model_validate(quote) if quote else None
    out.sla_due_at = due
    out.late = due is not None and (now or datetime.now(UTC)) > due
    return out


def staff_requests(
    session: Session, actor: Actor, *, status: str | None = None
) -> list[ConnectionRequest]:
    """The requests in the caller's territory (the pipeline), oldest step first."""
    query = select(ConnectionRequest).where(visible(actor, ConnectionRequest))
    if status is not None:
        query = query.where(ConnectionRequest.status == status)
    return list(session.scalars(query.order_by(ConnectionRequest.step_started_at).limit(500)))


def staff_request(session: Session, actor: Actor, request_id: int) -> ConnectionRequest:
    """One request, 404 outside the caller's territory (its existence is not told)."""
    found = session.scalar(
        select(ConnectionRequest).where(
            ConnectionRequest.id == request_id, visible(actor, ConnectionRequest)
        )
    )
    if found is None:
        raise ConnectionRequestNotFoundError(f"no connection request {request_id}")
    return found


def desk_request(
    session: Session, *, actor: Actor, data: DeskConnectionRequestIn
) -> ConnectionRequest:
    """A request taken at the desk: the party and premises must be the desk's to see."""
    for model, key, what in (
        (Party, data.party_id, "party_id"),
        (ServiceLocation, data.service_location_id, "service_location_id"),
    ):
        seen = session.scalar(select(model.id).where(model.id == key, visible(actor, model)))
        if seen is None:
            raise ReferenceUnknownError(
                f"no {what.removesuffix('_id')} {key}",
                errors=[FieldError(what, "unknown", "reference_unknown")],
            )
    if data.usage_point_id is not None:
        require_visible(session, actor, UsagePoint, data.usage_point_id, "usage point")
    request = submit_request(
        session,
        actor=actor,
        party_id=data.party_id,
        service_location_id=data.service_location_id,
        connection_type=data.connection_type,
        subscribed_kva=data.subscribed_kva,
        kind=data.kind,
        source="desk",
        tariff_code=data.tariff_code,
        usage_point_id=data.usage_point_id,
    )
    if data.kind == "power_change" and data.usage_point_id is not None:
        request.contract_id = session.scalar(
            select(Contract.id).where(
                Contract.usage_point_id == data.usage_point_id, Contract.status == "active"
            )
        )
    return request


# --- deposits at termination -----------------------------------------------------------------


def settle_deposit(
    session: Session, *, actor: Actor, contract_id: int, how: str, on: date | None = None
) -> int:
    """The guarantee deposit of the contract's connection leaves the liability at
    termination: ``use`` credits the customer's account (it pays what is still owed; any
    rest is a credit the desk pays out), ``refund`` pays it back at once (bank). Once per
    contract (the ledger refuses the same document twice). Returns the amount settled."""
    request = session.scalar(
        select(ConnectionRequest).where(ConnectionRequest.contract_id == contract_id)
    )
    if request is None or request.account_id is None:
        return 0
    amount = deposit_held(session, request)
    if amount == 0:
        return 0
    quote = current_quote(session, request.id)
    assert quote is not None  # a deposit comes from a quote
    other = (
        ledger.Line("receivable", -amount, request.account_id)
        if how == "use"
        else ledger.Line("bank", -amount)
    )
    ledger.post(
        session,
        actor,
        kind=TransactionKind.DEPOSIT,
        entry_date=on or datetime.now(UTC).date(),
        currency=quote.currency,
        source_ref=f"{request.number}-DEP",
        memo=f"guarantee deposit {how}d at termination",
        lines=[ledger.Line("liability:deposits", amount), other],
    )
    session.flush()
    return amount


def deposit_settled(session: Session, *, contract_id: int) -> bool:
    request = session.scalar(
        select(ConnectionRequest).where(ConnectionRequest.contract_id == contract_id)
    )
    if request is None:
        return False
    found = session.scalar(
        select(LedgerTransaction.id).where(
            LedgerTransaction.kind == TransactionKind.DEPOSIT.value,
            LedgerTransaction.source_ref == f"{request.number}-DEP",
        )
    )
    return found is not None
