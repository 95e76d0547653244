"""Invoice documents: the printed invoice (PDF from an HTML template, WeasyPrint), its
payment reference (ISO 11649 RF) and QR code, the consumption history chart, and print
batches (many invoices in one file for a print shop).

Everything renders from a plain :class:`~billing.documents.document.InvoiceDocument`:
no database, so the layout is tested alone; the invoice service builds one from an
issued invoice.
"""
