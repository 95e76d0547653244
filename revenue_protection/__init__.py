"""revenue_protection domain package."""
