"""What the permission matrix needs to call every operation: how to get each path parameter's
value in the own and the other territory, the required query values, and a valid body.

A route whose path parameter, required query parameter or request body is missing here
fails the matrix with a message saying what to add, so a new route cannot skip it.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from billing.payments import mobile_money
from gis import tiles
from tests.api.matrix_world import (
    MATRIX_PHOTO,
    MATRIX_PHOTO_SHA,
    MATRIX_PRICE_LIST,
    PORTAL_PASSWORD,
    TILE_X,
    TILE_Y,
    TILE_Z,
    Side,
    camt_upload,
    geojson_upload,
    migration_upload,
    place,
)


@dataclass(frozen=True)
class Ref:
    """A parameter naming a record of one side: ``Side.ids[key]``, stored in ``table`` where
    ``column`` equals it (the record whose row must not change under a refused write)."""

    key: str
    table: str
    column: str = "id"
    # False: the record is not located (a meter in stock), so it has no "other territory";
    # only a body naming the other territory's records is refused.
    located: bool = True

    def value(self, side: Side) -> Any:
        return side.ids[self.key]


# Path parameters naming records. ``code`` depends on the collection it follows.
PATH_PARAMS: dict[str, Ref | dict[str, Ref]] = {
    "party_id": Ref("party", "customer_party"),
    "location_id": Ref("location", "customer_service_location"),
    "usage_point_id": Ref("usage_point", "customer_usage_point"),
    "account_id": Ref("account", "customer_account"),
    "contract_id": Ref("contract", "customer_contract"),
    "case_id": Ref("case", "customer_case"),
    "interaction_id": Ref("interaction", "customer_interaction"),
    "rule_id": Ref("rule", "customer_case_assignment_rule"),
    "meter_id": Ref("meter", "meter_asset"),
    "billing_run_id": Ref("billing_run", "billing_run"),
    "invoice_id": Ref("invoice", "billing_invoice"),
    "batch_id": Ref("print_batch", "billing_print_batch"),
    "payment_id": Ref("payment", "billing_payment"),
    "session_id": Ref("cash_session", "billing_cash_session"),
    "cancellation_id": Ref("cancellation", "billing_payment_cancellation"),
    "receipt_id": Ref("unmatched", "billing_unmatched_receipt"),
    "vend_id": Ref("vend", "billing_prepaid_vend"),
    "mandate_id": Ref("mandate", "billing_dd_mandate"),
    "dd_batch_id": Ref("dd_batch", "billing_dd_batch"),
    "technician_id": Ref("technician", "field_technician"),
    "round_id": Ref("round", "field_reading_round"),
    "round_item_id": Ref("round_item", "field_round_item"),
    "work_order_id": Ref("work_order", "field_work_order"),
    # A migration run is the whole base's, placed nowhere: both sides see every run.
    "run_id": Ref("migration_run", "core_migration_run", located=False),
    # A handheld and a queued sync conflict: placed by the technician's agency.
    "device_id": Ref("device", "sync_device"),
    "conflict_id": Ref("conflict", "sync_conflict"),
    "flag_id": Ref("flag", "fraud_flag"),
    "write_off_id": Ref("write_off", "collection_write_off"),
    "request_id": Ref("connection_request", "connection_request"),
    "ntl_case_id": Ref("ntl_case", "rp_ntl_case"),
    "campaign_id": Ref("campaign", "rp_campaign"),
    "job_id": Ref("scheduled_job", "core_scheduled_job", located=False),
    # Supervision's drill-down: the shared "process" is work_order, so a work order.
    "instance_id": Ref("work_order", "field_work_order"),
    # A background export: placed in its requester's territory (a user of each side's).
    "export_id": Ref("report_export", "core_report_export"),
    "code": {
        "substations": Ref("substation", "gis_substation", "code"),
        "feeders": Ref("feeder", "gis_feeder", "code"),
        "transformers": Ref("transformer", "gis_power_transformer", "code"),
        "switches": Ref("switch", "gis_switch", "code"),
        "service-points": Ref("service_point", "gis_service_point", "code"),
        # A company's own books: the other side's tariff is the second company's.
        "tariffs": Ref("tariff", "billing_tariff", "code"),
    },
    # Dunning policies are GLOBAL (the utility's rules); a payment plan is its account's.
    "policy_id": Ref("policy", "collection_policy", located=False),
    "plan_id": Ref("plan", "collection_plan"),
}

# Where one route needs another record than the parameter's usual one.
PATH_OVERRIDES: dict[tuple[str, str], dict[str, Ref]] = {
    # Installing needs a meter in stock (the installed one answers 409 whatever the body).
    ("POST", "/api/v1/meters/{meter_id}/install"): {
        "meter_id": Ref("spare_meter", "meter_asset", located=False)
    },
}

# Path parameters that name no record: one value (or several) shared by both sides. The tile
# holds both territories, so what a bound user must not get is the other side's features.
SHARED_PATH_PARAMS: dict[str, list[Any]] = {
    "layer": sorted(tiles.LAYERS),
    "z": [TILE_Z],
    "x": [TILE_X],
    "y": [TILE_Y],
    "version": [1],  # a tariff's first version
    "sha256": [MATRIX_PHOTO_SHA],  # a photo (addressed by its hash: GLOBAL)
    "process": ["work_order"],  # a supervised process (core.supervision)
    "report": ["billing_summary", "collection_rate", "aged_debt", "regulator_monthly"],
}

# Required query parameters: one value matching both sides.
REQUIRED_QUERY: dict[str, Any] = {
    "q": "KWM",
    "entity": "customer_party",
    "period_from": "2025-01-01T00:00:00Z",
    "period_to": "2025-06-01T00:00:00Z",
    "day": "2025-03-14",
}


@dataclass(frozen=True)
class CallbackAuth:
    """A security scheme of callers that are not staff (an operator's signed callback): the
    settings the matrix runs under, and how it authenticates a body under the scheme. Such
    operations are called with every role's staff token (refused: 401) and signed (2xx)."""

    settings: dict[str, Any]
    sign: Callable[[bytes], dict[str, str]]


MATRIX_OPERATOR_SECRET = "matrix-operator-secret"  # a test fixture's, not a real one

CALLBACK_SCHEMES: dict[str, CallbackAuth] = {
    "OperatorSignature": CallbackAuth(
        settings={"mobile_money_secret": MATRIX_OPERATOR_SECRET, "mobile_money_allowlist": []},
        sign=lambda body: {
            "X-Kilowatch-Signature": mobile_money.signature(MATRIX_OPERATOR_SECRET, body)
        },
    ),
}

# Required request headers: a value per call (an Idempotency-Key is new for every call, so
# that a call is never answered from an earlier call's stored answer).
# Security schemes of the customers' principal (the self-care portal): a customer of each
# side signs in; operations under them are checked as that customer, never as staff.
CUSTOMER_SCHEMES = frozenset({"PortalBearer"})

REQUIRED_HEADERS: dict[str, Callable[[], str]] = {
    "Idempotency-Key": lambda: f"matrix-{uuid.uuid4()}",
}

# Optional query parameters that filter by a record: called again with the other side's
# value, the answer must still hold nothing of the other side.
PROBE_QUERY: dict[str, Callable[[Side], Any]] = {
    "party_id": lambda s: s["party"],
    "payer_party_id": lambda s: s["party"],
    "parent_party_id": lambda s: s["party"],
    "usage_point_id": lambda s: s["usage_point"],
    "service_location_id": lambda s: s["location"],
    "account_id": lambda s: s["account"],
    "case_id": lambda s: s["case"],
    "agency_id": lambda s: s.agency_id,
    "key": lambda s: str(s["party"]),
    "technician_id": lambda s: s["technician"],
}


@dataclass(frozen=True)
class Body:
    """A valid request body built from one side's ids. ``territorial``: the body itself
    names located records (a usage point, a point, a meter serial), so built from the other
    side it must be refused even on an own-territory path."""

    build: Callable[[Side], dict[str, Any]]
    territorial: bool
    kind: str = "json"  # or "files" (multipart), "data" (form)


def _json(build: Callable[[Side], dict[str, Any]], territorial: bool = False) -> Body:
    return Body(build, territorial)


AT = "2025-04-01T08:00:00Z"
MATRIX_TARIFF = {"energy": [{"code": "kwh", "blocks": [{"price": "100"}]}]}
DATE = "2025-06-01"

BODIES: dict[tuple[str, str], Body] = {
    # -- connection requests and the customers' portal ---------------------------------------
    ("POST", "/api/v1/connection-price-lists"): _json(
        lambda s: {"version": 2, "valid_from": "2020-06-01", "definition": MATRIX_PRICE_LIST}
    ),
    ("POST", "/api/v1/connection-requests"): _json(
        lambda s: {
            "party_id": s["party"],
            "service_location_id": s["location"],
            "connection_type": "mono",
            "subscribed_kva": "6",
        },
        territorial=True,
    ),
    ("POST", "/api/v1/connection-requests/{request_id}/quote"): _json(
        lambda s: {"distance_m": "40"}
    ),
    ("POST", "/api/v1/portal/register"): _json(
        lambda s: {
            "first_name": "New",
            "last_name": "Customer",
            "login": "new-matrix-customer@example.org",
            "password": "a long new password",
        }
    ),
    ("POST", "/api/v1/portal/verify"): _json(
        lambda s: {"login": s["portal_pending_login"], "code": s["portal_verify_code"]}
    ),
    ("POST", "/api/v1/portal/token"): Body(
        lambda s: {"username": s["portal_login"], "password": PORTAL_PASSWORD}, False, "data"
    ),
    ("POST", "/api/v1/portal/password-reset"): _json(lambda s: {"login": s["portal_login"]}),
    ("POST", "/api/v1/portal/password-reset/confirm"): _json(
        lambda s: {
            "login": s["portal_login"],
            "code": s["portal_reset_code"],
            "password": "a brand new password",
        }
    ),
    ("POST", "/api/v1/portal/cases"): _json(
        lambda s: {"case_type": "complaint", "subject": "Voltage drops every evening"}
    ),
    ("PUT", "/api/v1/portal/me/preferences"): _json(
        lambda s: {"language": "en", "channels": {"outage": "none", "invoice": "email"}}
    ),
    ("POST", "/api/v1/portal/connection-requests"): _json(
        lambda s: {
            "site": {"address_line": "Lot 1", "city": "Cotonou", "lon": 2.41, "lat": 6.40},
            "connection_type": "mono",
            "subscribed_kva": "3",
        }
    ),
    ("POST", "/api/v1/print-batches"): _json(
        lambda s: {"invoice_ids": [s["invoice"]], "output": "pdf"}, territorial=True
    ),
    # -- customers --------------------------------------------------------------------------
    ("POST", "/api/v1/customers"): _json(
        lambda s: {"kind": "person", "first_name": "Nouveau", "last_name": "Client"}
    ),
    ("PATCH", "/api/v1/customers/{party_id}"): _json(lambda s: {"notes": "matrix"}),
    ("POST", "/api/v1/customers/{party_id}/contacts"): _json(
        lambda s: {"emails": ["contact@example.com"]}
    ),
    ("POST", "/api/v1/customers/{party_id}/merge"): _json(
        lambda s: {"duplicate_id": s["party2"], "reason": "matrix"}, territorial=True
    ),
    ("POST", "/api/v1/premises"): _json(
        lambda s: {
            "address_line": "Rue nouvelle",
            "location": {"type": "Point", "coordinates": place(s.name, 2.43, 6.40)},
            "service_point_id": s["service_point_id"],
        },
        territorial=True,
    ),
    ("PATCH", "/api/v1/premises/{location_id}"): _json(
        lambda s: {"landmark": "matrix", "service_point_id": s["service_point_id"]},
        territorial=True,
    ),
    ("POST", "/api/v1/usage-points"): _json(
        lambda s: {
            "service_location_id": s["location3"],
            "category": "industrial",
            "subscribed_power_kva": "10",
        },
        territorial=True,
    ),
    ("PATCH", "/api/v1/usage-points/{usage_point_id}"): _json(lambda s: {"phases": 3}),
    ("POST", "/api/v1/accounts"): _json(lambda s: {"payer_party_id": s["party"]}, territorial=True),
    ("PATCH", "/api/v1/accounts/{account_id}"): _json(
        lambda s: {"delivery_email": "new@example.com"}
    ),
    ("POST", "/api/v1/contracts/move-in"): _json(
        lambda s: {
            "usage_point_id": s["usage_point2"],
            "holder_party_id": s["party2"],
            "tariff_code": "BT1-DOM",
            "subscribed_power_kva": "3.3",
            "start_date": "2025-02-01",
            "activate": True,
        },
        territorial=True,
    ),
    ("PATCH", "/api/v1/contracts/{contract_id}"): _json(lambda s: {"tariff_code": "BT2-PRO"}),
    ("POST", "/api/v1/contracts/{contract_id}/activate"): _json(lambda s: {"reason": "matrix"}),
    ("POST", "/api/v1/contracts/{contract_id}/cancel"): _json(lambda s: {"reason": "matrix"}),
    ("POST", "/api/v1/contracts/{contract_id}/move-out"): _json(lambda s: {"end_date": DATE}),
    ("POST", "/api/v1/contracts/{contract_id}/transfer"): _json(
        lambda s: {"new_holder_party_id": s["party2"], "transfer_date": DATE}, territorial=True
    ),
    ("POST", "/api/v1/contracts/{contract_id}/change-power"): _json(
        lambda s: {"subscribed_power_kva": "6.6", "effective_date": DATE}
    ),
    ("POST", "/api/v1/contracts/{contract_id}/terminate"): _json(
        lambda s: {"end_date": DATE, "reason": "matrix"}
    ),
    ("POST", "/api/v1/cases"): _json(
        lambda s: {
            "case_type": "dispute",
            "subject": "Nouvelle réclamation",
            "party_id": s["party"],
            "service_location_id": s["location"],
            "usage_point_id": s["usage_point"],
        },
        territorial=True,
    ),
    ("POST", "/api/v1/cases/assignment-rules"): _json(
        lambda s: {
            "case_type": "dispute",
            "agency_id": s.agency_id,
            "assignee_group": "customer_desk",
        },
        territorial=True,
    ),
    ("PATCH", "/api/v1/cases/{case_id}"): _json(lambda s: {"subject": "Sujet corrigé"}),
    ("POST", "/api/v1/cases/{case_id}/transitions"): _json(lambda s: {"event": "start"}),
    ("POST", "/api/v1/cases/{case_id}/assign"): _json(lambda s: {"assignee_group": "manager"}),
    ("POST", "/api/v1/interactions"): _json(
        lambda s: {
            "party_id": s["party"],
            "case_id": s["case"],
            "channel": "desk",
            "direction": "in",
            "subject": "Visite",
        },
        territorial=True,
    ),
    # -- meters and readings ----------------------------------------------------------------
    ("POST", "/api/v1/meters"): _json(
        lambda s: {"serial": "KWM-NEW-0001", "meter_type": "postpaid"}
    ),
    ("PATCH", "/api/v1/meters/{meter_id}"): _json(lambda s: {"make": "Acme"}),
    ("POST", "/api/v1/meters/{meter_id}/install"): _json(
        lambda s: {"usage_point_id": s["usage_point2"], "installed_at": AT, "start_index": "0"},
        territorial=True,
    ),
    ("POST", "/api/v1/meters/{meter_id}/remove"): _json(
        lambda s: {"removed_at": AT, "end_index": "300"}
    ),
    ("POST", "/api/v1/usage-points/{usage_point_id}/replace-meter"): _json(
        # The new meter comes from stock: not located, so not territorial.
        lambda s: {
            "new_meter_id": s["spare_meter"],
            "replaced_at": AT,
            "old_end_index": "300",
            "new_start_index": "0",
        }
    ),
    ("POST", "/api/v1/readings"): _json(
        lambda s: {
            "meter_serial": s["meter_serial"],
            "read_at": AT,
            "value": "300",
            "source": "handheld",
        },
        territorial=True,
    ),
    ("POST", "/api/v1/readings/imports"): Body(
        lambda s: {
            "file": (
                "reads.csv",
                f"serial,read_at,value,source\n{s['meter_serial']},{AT},300,handheld\n".encode(),
                "text/csv",
            )
        },
        territorial=True,
        kind="files",
    ),
    ("POST", "/api/v1/readings/estimates"): _json(
        lambda s: {"register_id": s["meter_register"], "at": AT}, territorial=True
    ),
    ("POST", "/api/v1/readings/rule-sets"): _json(lambda s: {"name": "matrix", "parameters": {}}),
    # -- data migration (the base is processed later, by the worker, as its uploader) --------
    # -- billing runs and invoices ----------------------------------------------------------
    ("POST", "/api/v1/billing-runs"): _json(
        lambda s: {
            "period_start": "2025-03-01",
            "period_end": "2025-04-01",
            "selection": {"usage_point_ids": [s["usage_point"]]},
        },
        territorial=True,
    ),
    ("POST", "/api/v1/billing-runs/{billing_run_id}/approve"): _json(lambda s: {"note": "ok"}),
    ("POST", "/api/v1/billing-runs/{billing_run_id}/cancel"): _json(lambda s: {"note": "no"}),
    ("POST", "/api/v1/invoices/{invoice_id}/credit"): _json(lambda s: {"note": "matrix"}),
    ("POST", "/api/v1/invoices/{invoice_id}/rebill"): _json(
        lambda s: {"kwh": {"total": "90"}, "note": "matrix"}
    ),
    ("PATCH", "/api/v1/ops/jobs/{job_id}"): _json(lambda s: {"description": "matrix"}),
    ("POST", "/api/v1/reports/{report}/exports"): _json(
        lambda s: {"period_start": "2025-02-01", "period_end": "2025-03-01", "format": "csv"}
    ),
    ("POST", "/api/v1/migrations"): Body(lambda s: migration_upload(), False, kind="files"),
    # -- network ------------------------------------------------------------------------------
    ("POST", "/api/v1/network/imports"): Body(
        lambda s: geojson_upload(s.name), territorial=True, kind="files"
    ),
    ("POST", "/api/v1/network/switches/{code}/operate"): _json(lambda s: {"open": True}),
    # -- tariffs (GLOBAL: no body names a located record) --------------------------------------
    ("POST", "/api/v1/tariffs"): _json(
        lambda s: {
            "code": "KWM-NEW-TARIFF",
            "name": "Nouveau tarif",
            "currency": "XOF",
            "versions": [{"effective_from": "2025-01-01", "definition": MATRIX_TARIFF}],
        }
    ),
    ("POST", "/api/v1/tariffs/{code}/versions"): _json(
        lambda s: {"effective_from": "2030-01-01", "definition": MATRIX_TARIFF}
    ),
    ("POST", "/api/v1/tariffs/{code}/simulate"): _json(
        lambda s: {"start": "2025-03-01", "end": "2025-04-01", "kwh": {"total": "150"}}
    ),
    ("POST", "/api/v1/tariffs/imports"): Body(
        lambda s: {
            "file": (
                "tariff.json",
                json.dumps(
                    {
                        "code": "KWM-IMPORTED",
                        "name": "Importé",
                        "currency": "XOF",
                        "versions": [{"effective_from": "2025-01-01", "definition": MATRIX_TARIFF}],
                    }
                ).encode(),
                "application/json",
            )
        },
        territorial=False,
        kind="files",
    ),
    # -- mobile sync ------------------------------------------------------------------------------
    ("POST", "/api/v1/sync/devices"): _json(
        lambda s: {"device_uuid": "matrix-new-phone", "label": "matrix"}
    ),
    ("POST", "/api/v1/sync/devices/{device_id}/revoke"): _json(lambda s: {"reason": "matrix"}),
    # A push answers 200 with a receipt per record: a record naming another territory's
    # register is answered "rejected" (reference_unknown) in its receipt, not refused with
    # the batch (tests/mobile_sync/test_push.py checks it), so the body is not territorial.
    ("POST", "/api/v1/sync/push"): _json(
        lambda s: {
            "device_time": AT,
            "records": [
                {
                    "uuid": "00000000-0000-4000-8000-00000000a001",
                    "kind": "reading",
                    "captured_at": "2025-03-20T08:00:00Z",
                    "data": {"register_id": s["meter_register"], "value": 240},
                }
            ],
        }
    ),
    ("PUT", "/api/v1/sync/attachments/{sha256}"): Body(
        lambda s: MATRIX_PHOTO,  # type: ignore[arg-type, return-value]
        territorial=False,
        kind="content",
    ),
    ("POST", "/api/v1/sync/conflicts/{conflict_id}/resolve"): _json(
        lambda s: {"action": "discard", "note": "matrix"}
    ),
    # -- payments -------------------------------------------------------------------------------
    ("POST", "/api/v1/payments"): _json(
        lambda s: {"customer_account_id": s["account"], "amount": 500}, territorial=True
    ),
    ("POST", "/api/v1/payments/{payment_id}/reallocate"): _json(
        lambda s: {"reason": "matrix reallocation"}
    ),
    ("POST", "/api/v1/payments/{payment_id}/reverse"): _json(lambda s: {"reason": "matrix"}),
    ("POST", "/api/v1/payments/{payment_id}/bounce"): _json(lambda s: {"reason": "matrix"}),
    ("POST", "/api/v1/receivable-items"): _json(
        lambda s: {
            "customer_account_id": s["account"],
            "kind": "fee",
            "document_ref": f"FEE-{s.name}",
            "due_date": DATE,
            "amount": 700,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/cash-sessions"): _json(
        lambda s: {"agency_id": s.agency_id, "business_date": "2025-03-14"}, territorial=True
    ),
    ("POST", "/api/v1/cash-sessions/{session_id}/close"): _json(
        lambda s: {"count": [{"denomination": 1000, "pieces": 1}]}
    ),
    ("POST", "/api/v1/cash-sessions/{session_id}/deposits"): _json(
        lambda s: {"amount": 500, "bank_reference": f"SLIP-{s.name}", "deposited_on": DATE}
    ),
    ("POST", "/api/v1/payments/{payment_id}/cancellation"): _json(
        lambda s: {"reason": "matrix cancellation"}
    ),
    ("POST", "/api/v1/prepaid-vends"): _json(
        lambda s: {"contract_id": s["contract"], "meter_serial": s["meter_serial"], "amount": 5000},
        territorial=True,
    ),
    ("POST", "/api/v1/prepaid-vends/{vend_id}/reverse"): _json(lambda s: {"reason": "matrix"}),
    ("POST", "/api/v1/bank-statements"): Body(
        lambda s: camt_upload(f"MATRIX-{s.name}", "Payeur inconnu"), False, kind="files"
    ),
    ("POST", "/api/v1/unmatched-receipts/{receipt_id}/match"): _json(
        lambda s: {"customer_account_id": s["account"]}, territorial=True
    ),
    ("POST", "/api/v1/mobile-money/reconciliations"): Body(
        lambda s: {
            "file": ("momo.csv", b"transaction_id,amount,date\nMX-1,100,2025-03-14\n", "text/csv")
        },
        False,
        kind="files",
    ),
    **{
        ("POST", f"/api/v1/mobile-money/mpesa/{step}"): _json(
            lambda s: {
                "TransID": f"MX-{s.name}",
                "TransAmount": "1500",
                "TransTime": "20250314093000",
                "BillRefNumber": s["account_number"],
            }
        )
        for step in ("validation", "confirmation")
    },
    **{
        ("POST", f"/api/v1/mobile-money/aggregator/{step}"): _json(
            lambda s: {
                "operator": "matrix-momo",
                "transaction_id": f"AG-{s.name}",
                "amount": "1500",
                "currency": "XOF",
                "reference": s["account_number"],
            }
        )
        for step in ("validation", "confirmation")
    },
    ("POST", "/api/v1/mandates"): _json(
        lambda s: {
            "customer_account_id": s["account"],
            "reference": f"MND-NEW-{s.name}",
            "signed_on": DATE,
            "debtor_name": "Matrix",
            "iban": "DE89370400440532013000",
        },
        territorial=True,
    ),
    ("POST", "/api/v1/mandates/{mandate_id}/revoke"): _json(lambda s: {"reason": "matrix"}),
    ("POST", "/api/v1/direct-debit/batches"): _json(lambda s: {"collection_date": "2025-03-25"}),
    ("POST", "/api/v1/direct-debit/returns"): Body(
        lambda s: {
            "file": ("returns.csv", b"end_to_end_id,reason_code\nNONE-1,AM04\n", "text/csv")
        },
        False,
        kind="files",
    ),
    # -- fraud ----------------------------------------------------------------------------------
    ("POST", "/api/v1/fraud/flags"): _json(
        lambda s: {"usage_point_id": s["usage_point2"], "note": "matrix"}, territorial=True
    ),
    ("POST", "/api/v1/fraud/flags/{flag_id}/transitions"): _json(lambda s: {"event": "review"}),
    # -- revenue protection -----------------------------------------------------------------
    ("POST", "/api/v1/revenue-protection/cases"): _json(
        lambda s: {"usage_point_id": s["usage_point2"], "source": "field_tip"}, territorial=True
    ),
    ("POST", "/api/v1/revenue-protection/cases/{ntl_case_id}/findings"): _json(
        lambda s: {"load_kw": "2.5", "irregularity": "bypass"}
    ),
    ("POST", "/api/v1/revenue-protection/cases/{ntl_case_id}/assessment"): _json(lambda s: {}),
    ("POST", "/api/v1/revenue-protection/cases/{ntl_case_id}/contestation"): _json(
        lambda s: {"reason": "matrix"}
    ),
    ("POST", "/api/v1/revenue-protection/cases/{ntl_case_id}/contestation/decision"): _json(
        lambda s: {"accepted": False, "reason": "matrix"}
    ),
    ("POST", "/api/v1/revenue-protection/cases/{ntl_case_id}/close"): _json(lambda s: {}),
    ("POST", "/api/v1/revenue-protection/cases/{ntl_case_id}/dismiss"): _json(
        lambda s: {"reason": "matrix"}
    ),
    ("POST", "/api/v1/revenue-protection/campaigns"): _json(
        lambda s: {
            "name": "matrix",
            "kind": "inspect",
            "agency_id": s.agency_id,
            "criteria": {"usage_point_ids": [s["usage_point2"]]},
        },
        territorial=True,
    ),
    ("POST", "/api/v1/revenue-protection/campaigns/{campaign_id}/dispatch"): _json(
        lambda s: {"technician_ids": [s["technician"]], "planned_date": "2025-06-02"}
    ),
    ("POST", "/api/v1/revenue-protection/assessment-rules"): _json(
        lambda s: {
            "effective_from": "2020-01-01",
            "definition": {"methods": ["highest_normal_month"]},
        }
    ),
    # -- field ----------------------------------------------------------------------------------
    ("POST", "/api/v1/field/teams"): _json(
        lambda s: {"code": "KWM-NEW-TEAM", "name": "Nouvelle équipe", "agency_id": s.agency_id},
        territorial=True,
    ),
    ("POST", "/api/v1/field/technicians"): _json(
        lambda s: {"user_id": s["tech_user2"], "code": "KWM-NEW-TECH"}, territorial=True
    ),
    ("PATCH", "/api/v1/field/technicians/{technician_id}"): _json(
        lambda s: {"full_name": "Renommé"}
    ),
    ("POST", "/api/v1/field/cycles"): _json(
        lambda s: {
            "code": "KWM-NEW-CYCLE",
            "agency_id": s.agency_id,
            "usage_point_ids": [s["usage_point"]],
        },
        territorial=True,
    ),
    ("POST", "/api/v1/field/rounds"): _json(
        lambda s: {
            "period_start": "2025-05-01",
            "by": "polygon",
            "polygon": s["round_polygon"],
            "agency_id": s.agency_id,
            "planned_date": "2025-05-01",
        },
        territorial=True,
    ),
    ("POST", "/api/v1/field/rounds/{round_id}/assign"): _json(
        lambda s: {"technician_id": s["technician"]}, territorial=True
    ),
    ("POST", "/api/v1/field/rounds/{round_id}/reorder"): _json(lambda s: {"ordering": "ortools"}),
    ("POST", "/api/v1/field/round-items/{round_item_id}/reading"): _json(
        lambda s: {"values": {"total": "300"}, "read_at": AT}
    ),
    ("POST", "/api/v1/field/round-items/{round_item_id}/skip"): _json(
        lambda s: {"code": "no_access", "at": AT}
    ),
    ("POST", "/api/v1/field/work-orders"): _json(
        lambda s: {"kind": "inspect", "usage_point_id": s["usage_point"]}, territorial=True
    ),
    ("POST", "/api/v1/field/work-orders/{work_order_id}/plan"): _json(
        lambda s: {"planned_date": DATE}
    ),
    ("POST", "/api/v1/field/work-orders/{work_order_id}/assign"): _json(
        lambda s: {"technician_id": s["technician"]}, territorial=True
    ),
    ("POST", "/api/v1/field/work-orders/{work_order_id}/cancel"): _json(
        lambda s: {"reason": "matrix"}
    ),
    ("POST", "/api/v1/field/work-orders/{work_order_id}/start"): _json(lambda s: {"at": AT}),
    ("POST", "/api/v1/field/work-orders/{work_order_id}/complete"): _json(
        lambda s: {"completed_at": AT, "finding": "meter_ok"}
    ),
    ("POST", "/api/v1/field/work-orders/{work_order_id}/fail"): _json(
        lambda s: {"code": "no_access", "at": AT}
    ),
    ("POST", "/api/v1/field/seal-batches"): _json(
        lambda s: {
            "code": "KWM-NEW-SEALS",
            "kind": "wire",
            "prefix": "N-",
            "first_number": 1,
            "last_number": 5,
            "digits": 6,
            "agency_id": s.agency_id,
            "received_at": AT,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/field/seals/issue"): _json(
        lambda s: {"technician_id": s["technician"], "numbers": [s["seal2"]], "at": AT},
        territorial=True,
    ),
    ("POST", "/api/v1/field/seals/apply"): _json(
        lambda s: {
            "number": s["seal"],
            "visit": {"work_order_id": s["work_order"]},
            "position": "terminal_cover",
            "at": AT,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/field/seals/events"): _json(
        lambda s: {
            "event": "verify",
            "number": s["seal"],
            "visit": {"work_order_id": s["work_order"]},
            "at": AT,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/field/seals/anomalies"): _json(
        lambda s: {
            "anomaly": "found_foreign",
            "number": "FOREIGN-1",
            "visit": {"round_item_id": s["round_item"]},
            "at": AT,
        },
        territorial=True,
    ),
    # -- staff ----------------------------------------------------------------------------------
    ("POST", "/api/v1/users"): _json(
        lambda s: {
            "username": f"kwm-new-{s.name}",
            "password": "a-long-enough-password",
            "roles": ["technician"],
            "agency_code": s.agency_code,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/auth/token"): Body(
        lambda s: {"username": "kwm-matrix-head-office", "password": "correct-horse-battery"},
        territorial=False,
        kind="data",
    ),
    # -- collections ----------------------------------------------------------------------------
    ("POST", "/api/v1/collections/policies"): _json(
        lambda s: {
            "code": f"matrix-{s.name}-{uuid.uuid4().hex[:8]}",
            "name": "matrix policy",
            "category": "matrix-none",
            "steps": [{"code": "reminder", "delay": 5, "channel": "sms"}],
        }
    ),
    ("POST", "/api/v1/collections/holds"): _json(
        lambda s: {
            "customer_account_id": s["account"],
            "kind": "dispute",
            "blocks": ["*"],
            "start_date": DATE,
            "reason": "matrix",
        },
        territorial=True,
    ),
    ("POST", "/api/v1/collections/plans"): _json(
        lambda s: {
            "customer_account_id": s["account"],
            "item_ids": [2**62],
            "instalments": 2,
            "first_due_date": "2025-07-01",
            "agreed_on": DATE,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/collections/write-offs"): _json(
        lambda s: {"customer_account_id": s["account"], "reason": "matrix", "amount": 1},
        territorial=True,
    ),
    ("POST", "/api/v1/collections/write-offs/{write_off_id}/decision"): _json(
        lambda s: {"approve": False, "on": DATE}
    ),
    ("POST", "/api/v1/collections/litigation"): _json(
        lambda s: {
            "customer_account_id": s["account"],
            "handler_kind": "bailiff",
            "handler_name": "Me Matrix",
            "on": DATE,
        },
        territorial=True,
    ),
    ("POST", "/api/v1/revenue-protection/supply-policy"): _json(
        lambda s: {"policy": {"rules": [{"vulnerable": True, "action": "reduce"}]}}
    ),
    ("PUT", "/api/v1/collections/policies/{policy_id}"): _json(
        lambda s: {
            "name": "matrix policy (edited)",
            "category": "matrix-none",
            "steps": [{"code": "reminder", "delay": 6, "channel": "sms"}],
        }
    ),
    # -- the portal's self-reads (h-portal): 330 on 2025-04-01 is 100 kWh after the 230 of
    # 2025-03-01, under the residential profile's bound (6 kWh/day x 31 d x 4 = 744).
    ("POST", "/api/v1/portal/meters/{meter_id}/readings"): Body(
        lambda s: {"value": "330", "read_at": "2025-04-01T08:00:00Z"}, False, "data"
    ),
}


def record_ref(name: str, method: str, path: str) -> Ref | None:
    """The Ref of path parameter ``name`` in ``path``; None when the tables lack it."""
    override = PATH_OVERRIDES.get((method, path), {}).get(name)
    if override is not None:
        return override
    entry = PATH_PARAMS.get(name)
    if isinstance(entry, dict):
        segments = path.split("/")
        collection = segments[segments.index("{" + name + "}") - 1]
        return entry.get(collection)
    return entry
