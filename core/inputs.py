"""The base of request bodies that carry free text: unknown fields are refused, and so is a
NUL character in any text field (PostgreSQL cannot store one: it would surface as a 500 at
the first INSERT instead of a 422 naming the field)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator


def no_nul(value: str) -> str:
    """``value`` unchanged, or a ValueError naming the problem (pydantic turns it into a 422)."""
    if "\x00" in value:
        raise ValueError("text must not contain NUL characters")
    return value


class TextInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        return no_nul(value) if isinstance(value, str) else value
