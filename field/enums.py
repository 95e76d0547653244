"""Closed vocabularies of the field domain (stored as text, validated here)."""

from __future__ import annotations

from enum import StrEnum


class Skill(StrEnum):
    """What a technician is trained and authorised to do."""

    READING = "reading"
    INSTALLATION = "installation"
    DISCONNECTION = "disconnection"
    SEALING = "sealing"
    INSPECTION = "inspection"


class RoundStatus(StrEnum):
    DRAFT = "draft"  # built, not yet given to a reader
    ASSIGNED = "assigned"
    CLOSED = "closed"  # the office closed it (what is still pending stays unread)


class RoundItemStatus(StrEnum):
    PENDING = "pending"
    READ = "read"
    SKIPPED = "skipped"


class SkipCode(StrEnum):
    """Why a reader could not read a meter (the codes printed on the paper round sheet)."""

    NO_ACCESS = "no_access"  # locked gate, nobody home
    DOG = "dog"
    METER_NOT_FOUND = "meter_not_found"
    DIAL_UNREADABLE = "dial_unreadable"
    METER_DAMAGED = "meter_damaged"
    PREMISES_DEMOLISHED = "premises_demolished"
    REFUSED = "refused"  # the occupant refused access
    UNSAFE = "unsafe"


class RoundSelection(StrEnum):
    """How the usage points of a round are chosen."""

    CYCLE = "cycle"
    TRANSFORMER = "transformer"  # the LV zone of one distribution transformer
    FEEDER = "feeder"  # the zone of one MV feeder
    POLYGON = "polygon"  # a polygon drawn on the map (GeoJSON, EPSG:4326)


class WorkOrderKind(StrEnum):
    INSTALL = "install"
    REMOVE = "remove"
    REPLACE = "replace"
    INSPECT = "inspect"
    SEAL = "seal"
    CUT = "cut"
    REDUCE_POWER = "reduce_power"
    RESTORE = "restore"
    RE_READ = "re_read"
    FINAL_READ = "final_read"
    INVESTIGATE = "investigate"
    # Connection works (field.connections): the survey is of premises not yet supplied.
    SURVEY = "survey"
    EXTEND_NETWORK = "extend_network"
    CONNECT = "connect"


class WorkOrderStatus(StrEnum):
    CREATED = "created"
    PLANNED = "planned"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


OPEN_WORK_ORDER_STATUSES = (
    WorkOrderStatus.CREATED,
    WorkOrderStatus.PLANNED,
    WorkOrderStatus.ASSIGNED,
    WorkOrderStatus.IN_PROGRESS,
)


class FailureCode(StrEnum):
    """Why a work order could not be done."""

    NO_ACCESS = "no_access"
    CUSTOMER_REFUSED = "customer_refused"
    METER_NOT_FOUND = "meter_not_found"
    MATERIAL_MISSING = "material_missing"
    UNSAFE = "unsafe"
    WRONG_ADDRESS = "wrong_address"
    OTHER = "other"


class SealStatus(StrEnum):
    IN_STOCK = "in_stock"
    ISSUED = "issued"  # in a technician's bag
    APPLIED = "applied"
    BROKEN = "broken"
    REMOVED = "removed"
    LOST = "lost"


class SealKind(StrEnum):
    PLASTIC = "plastic"
    WIRE = "wire"
    PADLOCK = "padlock"
    LABEL = "label"  # tamper-evident sticker


class SealPosition(StrEnum):
    TERMINAL_COVER = "terminal_cover"
    METER_COVER = "meter_cover"
    CABINET = "cabinet"
    BREAKER = "breaker"
    CT_BOX = "ct_box"


class SealEventKind(StrEnum):
    RECEIVE = "receive"  # the batch came into stock
    ISSUE = "issue"  # given to a technician
    RETURN = "return"  # given back to stock
    APPLY = "apply"
    VERIFY = "verify"  # checked intact
    BREAK = "break"  # broken on purpose (work on the meter)
    REMOVE = "remove"
    FOUND_BROKEN = "found_broken"  # found broken by someone else
    FOUND_MISSING = "found_missing"  # the seal that should be there is not
    FOUND_FOREIGN = "found_foreign"  # a seal that is not ours, or not the one recorded


# Events that happen at a meter: each is tied to a visit (a work order or a round item).
VISIT_SEAL_EVENTS = (
    SealEventKind.APPLY,
    SealEventKind.VERIFY,
    SealEventKind.BREAK,
    SealEventKind.REMOVE,
    SealEventKind.FOUND_BROKEN,
    SealEventKind.FOUND_MISSING,
    SealEventKind.FOUND_FOREIGN,
)
# What revenue protection wants to hear about.
SUSPICIOUS_SEAL_EVENTS = (
    SealEventKind.FOUND_BROKEN,
    SealEventKind.FOUND_MISSING,
    SealEventKind.FOUND_FOREIGN,
)
