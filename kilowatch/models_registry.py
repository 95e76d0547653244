"""Imports every domain's models so that one metadata describes the whole schema."""

from __future__ import annotations

import core.audit
import core.auth.models
import core.outbox  # noqa: F401
from core.models import Base

metadata = Base.metadata
