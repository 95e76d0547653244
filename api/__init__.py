"""HTTP: the FastAPI application, routes per domain, server-rendered pages, static assets."""
