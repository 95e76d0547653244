"""The customer ledger: a chart of accounts and double-entry, append-only postings."""
