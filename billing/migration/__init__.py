"""The billing domain's files of the data-migration format (``core.migration``): opening
balances. Importing this package registers them (the composition root does, in
``kilowatch.bootstrap``)."""

from billing.migration import opening_balances

__all__ = ["opening_balances"]
