"""Server-rendered pages for each user group."""
