"""Errors of the connection process (stable codes)."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError


class ConnectionRequestNotFoundError(EntityNotFoundError):
    code = "connection_request_not_found"
    title = "No such connection request"


class ConnectionStepInvalidError(EntityConflictError):
    code = "connection_step_invalid"
    title = "This step is not allowed now"


class PriceListMissingError(EntityConflictError):
    code = "connection_price_list_missing"
    title = "No connection price list is in force"


class PriceListExistsError(EntityConflictError):
    code = "connection_price_list_exists"
    title = "This price-list version exists"


class QuoteInvalidError(InputInvalidError):
    code = "connection_quote_invalid"
    title = "The request cannot be quoted"


class NetworkTooFarError(InputInvalidError):
    code = "connection_network_unknown"
    title = "No service point or transformer to connect to"
