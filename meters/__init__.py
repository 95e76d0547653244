"""meters domain package."""
