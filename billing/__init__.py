"""billing domain package."""
