"""Errors of the customer domain, each with a stable code clients can branch on."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError
from core.errors import ReferenceUnknownError as ReferenceUnknownError  # the kit's, re-exported


class PartyNotFoundError(EntityNotFoundError):
    code = "party_not_found"


class PartyDocumentExistsError(EntityConflictError):
    code = "party_identity_document_exists"
    title = "This identity document already belongs to a customer"


class PartyMergedError(EntityConflictError):
    code = "party_merged"
    title = "This customer was merged into another one"


class PartyMergeInvalidError(EntityConflictError):
    code = "party_merge_invalid"
    title = "These customers cannot be merged"


class PhoneInvalidError(InputInvalidError):
    code = "phone_invalid"


class ServiceLocationNotFoundError(EntityNotFoundError):
    code = "service_location_not_found"


class ServiceLocationCodeExistsError(EntityConflictError):
    code = "service_location_code_exists"


class ServicePointNotFoundError(EntityNotFoundError):
    code = "service_point_not_found"


class UsagePointNotFoundError(EntityNotFoundError):
    code = "usage_point_not_found"


class UsagePointExistsError(EntityConflictError):
    code = "usage_point_exists"
    title = "The premises already has a usage point for this commodity, or the code is taken"


class AccountNotFoundError(EntityNotFoundError):
    code = "account_not_found"


class ContractNotFoundError(EntityNotFoundError):
    code = "contract_not_found"


class ContractTransitionInvalidError(EntityConflictError):
    code = "contract_transition_invalid"
    title = "This contract cannot make that step from its current status"


class ContractOverlapError(EntityConflictError):
    code = "contract_overlap"
    title = "The usage point already has a contract for that period"


class ContractDatesInvalidError(InputInvalidError):
    code = "contract_dates_invalid"


class CaseNotFoundError(EntityNotFoundError):
    code = "case_not_found"


class CaseTransitionInvalidError(EntityConflictError):
    code = "case_transition_invalid"
    title = "This case cannot make that step from its current status"


class CaseAssigneeInvalidError(InputInvalidError):
    code = "case_assignee_invalid"


class CaseAssignmentRuleExistsError(EntityConflictError):
    code = "case_assignment_rule_exists"


class CaseAssignmentRuleNotFoundError(EntityNotFoundError):
    code = "case_assignment_rule_not_found"


class InteractionNotFoundError(EntityNotFoundError):
    code = "interaction_not_found"


class AgencyUnknownError(InputInvalidError):
    code = "agency_unknown"


class ValueOutOfRangeError(InputInvalidError):
    code = "value_out_of_range"
