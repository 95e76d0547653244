"""The customer domain's files of the data-migration format (``core.migration``):
parties, premises, usage points and contracts. Importing this package registers them (the
composition root does, in ``kilowatch.bootstrap``)."""

from customers.migration import contracts, parties, premises, usage_points

__all__ = ["contracts", "parties", "premises", "usage_points"]
