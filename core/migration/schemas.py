"""What the API answers about migration runs and their parked rows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict


class MigrationAccepted(BaseModel):
    """An upload accepted: its run, processed in the background."""

    run_id: int
    status: str


class MigrationRunRead(BaseModel):
    """One run: its status, its progress per file while it works, its report once done."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str
    dry_run: bool
    partial: bool
    source_name: str
    actor: str
    started_at: datetime
    finished_at: datetime | None
    progress: dict[str, Any]
    report: dict[str, Any] | None


class ParkedRowRead(BaseModel):
    """A row a partial run set aside: its file, line, text as read and its problems."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    entity: str
    line: int
    data: dict[str, str]
    problems: list[dict[str, Any]]
