"""Billing runs: select, simulate, control, approve, issue (resumable, in chunks)."""
