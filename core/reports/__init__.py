"""The report catalogue: a registry of reports, each a function of (session, actor,
filters) returning a table with its totals and a chart. Domains write their reports (they
know their tables); the composition root registers them (``kilowatch/reports.py``), so
core never imports a domain. Pages, CSV / XLSX exports and background exports work on any
registered report the same way."""
