"""Payments from every channel, posted once to the ledger and allocated by one set of rules."""
