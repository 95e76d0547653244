"""Errors of revenue protection, each with a stable code clients can branch on."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError
from core.errors import ReferenceUnknownError as ReferenceUnknownError  # the kit's


class NtlCaseNotFoundError(EntityNotFoundError):
    code = "ntl_case_not_found"


class NtlCaseTransitionInvalidError(EntityConflictError):
    code = "ntl_case_transition_invalid"
    title = "This step is not allowed for the case now"


class NtlCaseOpenExistsError(EntityConflictError):
    code = "ntl_case_open_exists"
    title = "The usage point already has an open NTL case"


class AssessmentNotPossibleError(InputInvalidError):
    code = "ntl_assessment_not_possible"
    title = "No assessment method of the rule set applies to this case"


class AssessmentRulesInvalidError(InputInvalidError):
    code = "ntl_assessment_rules_invalid"


class AssessmentRulesMissingError(EntityNotFoundError):
    code = "ntl_assessment_rules_missing"
    title = "No assessment rule set is in force on that day"


class CampaignNotFoundError(EntityNotFoundError):
    code = "campaign_not_found"
