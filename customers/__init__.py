"""customers domain package."""
