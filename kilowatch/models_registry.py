"""Imports every domain's models so that one metadata describes the whole schema."""

from __future__ import annotations

import billing.collections.models
import billing.documents.models
import billing.invoices.models
import billing.ledger.models
import billing.payments.models
import billing.runs.models
import billing.tariffs.models
import core.audit
import core.auth.models
import core.idempotency
import core.migration.models
import core.notify.models
import core.outbox
import core.reports.models
import core.scheduling.models
import customers.models
import customers.portal.models
import field.connections.models
import field.models
import fraud.models
import gis.models
import kilowatch.demo_utility.models
import meters.models
import meters.zone_models
import mobile_sync.models
import revenue_protection.models
from core.models import Base

metadata = Base.metadata

__all__ = [
    "billing",
    "core",
    "customers",
    "field",
    "fraud",
    "gis",
    "kilowatch",
    "metadata",
    "meters",
    "mobile_sync",
    "revenue_protection",
]
