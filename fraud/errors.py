"""Errors of the fraud domain (stable codes: clients branch on them)."""

from __future__ import annotations

from core.errors import (
    EntityConflictError,
    EntityNotFoundError,
    InputInvalidError,
    ReferenceUnknownError,
)


class ZoneNotFoundError(EntityNotFoundError):
    """A transformer or feeder zone that does not exist (or lies outside the territory)."""

    code = "zone_not_found"
    title = "No such zone"


class PeriodRangeError(InputInvalidError):
    """A range of months that ends before it starts, or is too long to compute at once."""

    code = "period_range_invalid"
    title = "Invalid range of months"


class FlagNotFoundError(EntityNotFoundError):
    code = "flag_not_found"
    title = "No such flag"


class FlagTransitionInvalidError(EntityConflictError):
    """A flag step its status does not allow now (e.g. confirming a flag never inspected)."""

    code = "flag_transition_invalid"
    title = "This step is not allowed for the flag now"


class FlagOpenExistsError(EntityConflictError):
    code = "flag_open_exists"
    title = "The usage point already has an open flag"


class UsagePointUnknownError(ReferenceUnknownError):
    """A usage point that does not exist or lies outside the caller's territory (the two
    look the same: the stable code is ``reference_unknown``)."""


class LabelFileInvalidError(InputInvalidError):
    code = "label_file_invalid"
    title = "The inspections file has rows that cannot be imported"


class ModelNotTrainedError(EntityConflictError):
    code = "model_not_trained"
    title = "No model of this kind is trained yet"


class ScoreRunNotFoundError(EntityNotFoundError):
    code = "score_run_not_found"
    title = "No such scoring run"


class NothingToScoreError(EntityConflictError):
    code = "nothing_to_score"
    title = "No usage point to score or train on"
