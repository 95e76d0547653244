"""Invoices and credit notes: issued documents, immutable, numbered without gaps."""
