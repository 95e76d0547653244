"""Errors of the field domain, each with a stable code clients can branch on."""

from __future__ import annotations

from core.errors import EntityConflictError, EntityNotFoundError, InputInvalidError
from core.errors import ReferenceUnknownError as ReferenceUnknownError  # the kit's, re-exported


class TeamNotFoundError(EntityNotFoundError):
    code = "field_team_not_found"


class TeamCodeTakenError(EntityConflictError):
    code = "field_team_code_taken"


class TechnicianNotFoundError(EntityNotFoundError):
    code = "technician_not_found"


class TechnicianExistsError(EntityConflictError):
    code = "technician_exists"
    title = "This user is already a technician, or the code is taken"


class NotATechnicianError(EntityConflictError):
    code = "not_a_technician"
    title = "The signed-in user is not a field technician"


class CycleNotFoundError(EntityNotFoundError):
    code = "reading_cycle_not_found"


class CycleCodeTakenError(EntityConflictError):
    code = "reading_cycle_code_taken"


class RoundNotFoundError(EntityNotFoundError):
    code = "reading_round_not_found"


class RoundSelectionInvalidError(InputInvalidError):
    code = "round_selection_invalid"


class RoundEmptyError(InputInvalidError):
    code = "round_empty"
    title = "The selection holds no usage point with a meter to read"


class RoundClosedError(EntityConflictError):
    code = "reading_round_closed"


class RoundItemNotFoundError(EntityNotFoundError):
    code = "round_item_not_found"


class RoundItemDoneError(EntityConflictError):
    code = "round_item_done"
    title = "This stop was already read or skipped"


class RoundItemNotYoursError(EntityConflictError):
    code = "round_item_not_assigned_to_you"


class WorkOrderNotFoundError(EntityNotFoundError):
    code = "work_order_not_found"


class WorkOrderTransitionInvalidError(EntityConflictError):
    code = "work_order_transition_invalid"
    title = "The work order cannot take this step now"


class WorkOrderOutcomeInvalidError(InputInvalidError):
    code = "work_order_outcome_invalid"


class WorkOrderNotYoursError(EntityConflictError):
    code = "work_order_not_assigned_to_you"


class SkillMissingError(EntityConflictError):
    code = "technician_skill_missing"


class TechnicianUnavailableError(EntityConflictError):
    code = "technician_unavailable"
    title = "The technician is inactive or does not work on the planned day"


class SealBatchOverlapError(EntityConflictError):
    code = "seal_numbers_taken"
    title = "Some seal numbers of this range already exist"


class SealNotFoundError(EntityNotFoundError):
    code = "seal_not_found"


class SealStateInvalidError(EntityConflictError):
    code = "seal_state_invalid"


class SealAlreadyAppliedError(EntityConflictError):
    code = "seal_already_applied"
    title = "This seal number was already applied (seals are single-use)"


class VisitRequiredError(InputInvalidError):
    code = "seal_visit_required"
    title = "A seal event at a meter belongs to a visit: a work order or a round item"
