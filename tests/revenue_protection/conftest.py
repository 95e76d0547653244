"""Revenue protection test helpers: the field fixtures (office, technicians) and a
customer with a year of bills, the first half normal, the second half under-recorded."""

from __future__ import annotations

from tests.field.conftest import make_technician, office

__all__ = ["make_technician", "office"]
