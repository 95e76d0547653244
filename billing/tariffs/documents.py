"""Tariff documents: a tariff and its versions as YAML or JSON, read and written exactly.

Numbers are read as exact decimals (a YAML ``109.87`` is ``Decimal('109.87')``, never a
float) and written as quoted strings, so a document exported and imported again is the
same tariff to the last digit.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from billing.tariffs.errors import TariffDocumentInvalidError
from billing.tariffs.schemas import TariffCreate
from core.errors import FieldError

DOCUMENT_BYTES_MAX = 1_000_000


class _ExactLoader(yaml.SafeLoader):  # type: ignore[misc]
    """Safe YAML whose floats are Decimals."""


def _decimal(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _decimal)


class _ExactDumper(yaml.SafeDumper):  # type: ignore[misc]
    """Safe YAML writing Decimals as strings (exact) and keeping key order."""


_ExactDumper.add_representer(Decimal, lambda dumper, value: dumper.represent_str(str(value)))


def field_errors(exc: ValidationError) -> list[FieldError]:
    return [
        FieldError(".".join(str(p) for p in e["loc"]) or "document", e["msg"], e["type"])
        for e in exc.errors()[:50]
    ]


def parse_document(raw: bytes) -> TariffCreate:
    """A tariff document from YAML or JSON bytes (JSON is read as YAML: it is a subset)."""
    if len(raw) > DOCUMENT_BYTES_MAX:
        raise TariffDocumentInvalidError(f"a tariff document is at most {DOCUMENT_BYTES_MAX} bytes")
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=_ExactLoader)  # noqa: S506 - a safe loader
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TariffDocumentInvalidError(f"not a YAML or JSON document: {exc}") from exc
    if not isinstance(data, dict):
        raise TariffDocumentInvalidError("a tariff document is a mapping (code, name, versions)")
    try:
        return TariffCreate.model_validate(data)
    except ValidationError as exc:
        raise TariffDocumentInvalidError(
            "the tariff document does not validate", errors=field_errors(exc)
        ) from exc


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


def render_document(document: TariffCreate, fmt: Literal["yaml", "json"]) -> str:
    """The document as YAML or JSON text (defaults left out: they are re-applied on import)."""
    data = document.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.setdefault("versions", [])
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return str(yaml.dump(_plain(data), Dumper=_ExactDumper, sort_keys=False, allow_unicode=True))
