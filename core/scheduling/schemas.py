"""Scheduled jobs over the API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobRead(BaseModel):  # type: ignore[no-redef]  # pydantic-mypy: the "kwargs" alias
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    task: str
    args: list[Any]
    # "kwargs" would shadow pydantic's own __init__(**kwargs) for type checkers.
    task_kwargs: dict[str, Any] = Field(validation_alias="kwargs")
    cron: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    task_registered: bool = False


class JobUpdate(BaseModel):
    """Fields to change; absent ones stay. ``cron``: minute hour day-of-month month
    day-of-week, in the utility's local time."""

    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(None, min_length=9, max_length=200)
    args: list[Any] | None = Field(None, max_length=20)
    task_kwargs: dict[str, Any] | None = None
    description: str | None = Field(None, max_length=500)
    enabled: bool | None = None


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job_id: int
    trigger: str
    due_at: datetime
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None
    outcome: str
    output: str | None
    requested_by: str | None
