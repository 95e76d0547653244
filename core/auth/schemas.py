"""Pydantic shapes for staff accounts."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from core.auth.scopes import Role


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=3, max_length=150, pattern=r"^[A-Za-z0-9_.@-]+$")
    # No NUL: sign-in refuses it (core.auth.service), so such a password could not be used.
    password: str = Field(min_length=8, max_length=1024, pattern=r"^[^\x00]*$")
    roles: list[Role] = Field(min_length=1)
    agency_code: str | None = Field(default=None, max_length=50)
    full_name: str = Field(default="", max_length=200)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    full_name: str
    roles: list[str]
    agency_id: int | None
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None
