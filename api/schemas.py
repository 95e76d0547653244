"""Response shapes shared by several routes."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    """One invalid input field (``core.errors.FieldError``)."""

    field: str
    message: str
    code: str


class Problem(BaseModel):
    """RFC 9457 problem details, with Kilowatch's stable ``code`` and field ``errors``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    request_id: str | None = None
    errors: list[FieldProblem] | None = Field(default=None)


def _problem_schema() -> dict[str, Any]:
    """Problem's JSON schema with its one nested model inlined: a response's schema must
    stand alone (no ``$defs`` outside ``components``)."""
    schema = Problem.model_json_schema(ref_template="#/$defs/{model}")
    field_problem = schema.pop("$defs")["FieldProblem"]
    errors = schema["properties"]["errors"]
    errors["anyOf"] = [
        {"type": "array", "items": field_problem} if option.get("type") == "array" else option
        for option in errors["anyOf"]
    ]
    return schema


PROBLEM_SCHEMA = _problem_schema()


def problem_response(description: str) -> dict[str, Any]:
    """An error response as served: ``application/problem+json`` with the Problem schema
    (never ``application/json``, which ``model=`` would declare)."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": PROBLEM_SCHEMA}}}


# Every operation declares the problems any request can meet; "default" covers the rest
# (404, 409, 413, 429, 503 ...): whatever the status, an error is a Problem.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response("Not authenticated"),
    403: problem_response("Missing scope, or outside your territory"),
    422: problem_response("Input is invalid"),
    "default": problem_response("An error, as RFC 9457 problem details"),
}
