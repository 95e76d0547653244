"""field domain package."""
