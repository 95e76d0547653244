"""Every mapped table states how it is placed in a territory (core.territory): a rule that
compiles to SQL, or ``GLOBAL``. A new table that forgets it fails here, not in production
where ``visible()`` would raise on the first query."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from sqlalchemy import ColumnElement
from sqlalchemy.dialects import postgresql

import kilowatch.models_registry  # noqa: F401 - the schema's own list of model modules
from core.models import Base
from core.territory import GLOBAL, CompanyRule, Scope

DOMAIN_PACKAGES = [
    "core",
    "gis",
    "customers",
    "meters",
    "billing",
    "field",
    "fraud",
    "revenue_protection",
    "mobile_sync",
    "kilowatch",
]


def _import_every_models_module() -> None:
    """Also import model modules the registry forgot, so they cannot escape the check."""
    for name in DOMAIN_PACKAGES:
        try:
            package = importlib.import_module(name)
        except ModuleNotFoundError:
            continue  # a domain not written yet
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            leaf = info.name.rsplit(".", 1)[-1]
            if leaf == "models" or leaf.endswith("_models"):
                importlib.import_module(info.name)


_import_every_models_module()
MODELS = sorted((mapper.class_ for mapper in Base.registry.mappers), key=lambda c: c.__tablename__)


AGENCY = 987_654_321  # an agency id no other bound value of a rule can equal
COMPANY_ID = 987_654_329  # likewise, a company id


def _declared(model: type) -> bool:
    """``__territory__`` written on the model or a mixin of it, not inherited from Base."""
    return any(
        "__territory__" in vars(klass)
        for klass in model.__mro__
        if not (isinstance(klass, type) and issubclass(Base, klass))
    )


def test_the_schema_has_models_to_check() -> None:
    tables = {m.__tablename__ for m in MODELS}
    assert {"core_user", "gis_service_point", "customer_party", "meter_reading"} <= tables


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__tablename__)
def test_every_model_declares_its_territory(model: type) -> None:
    assert _declared(model), (
        f"{model.__module__}.{model.__name__} ({model.__tablename__}) declares no "
        "__territory__: add a rule (a staticmethod taking a core.territory.Scope and "
        "returning a SQL boolean) or `__territory__ = GLOBAL` if it holds nothing located"
    )
    rule = model.__territory__
    if rule is GLOBAL:
        return
    if isinstance(rule, CompanyRule):  # a company's own books: by the actor's company
        compiled = rule.condition(model, COMPANY_ID).compile(dialect=postgresql.dialect())
        assert COMPANY_ID in compiled.params.values(), f"{model.__name__}: {compiled}"
        return
    condition = rule(Scope(agency_id=AGENCY))
    assert isinstance(condition, ColumnElement), (
        f"{model.__name__}.__territory__ returned {condition!r}, not a SQL expression"
    )
    compiled = condition.compile(dialect=postgresql.dialect())
    # The agency's outline or id must reach the SQL: a rule ignoring the scope filters nothing.
    assert AGENCY in compiled.params.values(), (
        f"{model.__name__}.__territory__ does not depend on the scope: {compiled}"
    )
    # Under a company's outlines (an agency-less principal of a company, when this
    # Kilowatch serves several), the rule depends on that company instead.
    by_company = rule(Scope(agency_id=None, company_id=COMPANY_ID))
    compiled = by_company.compile(dialect=postgresql.dialect())
    assert COMPANY_ID in compiled.params.values(), (
        f"{model.__name__}.__territory__ does not depend on the company's scope: {compiled}"
    )
