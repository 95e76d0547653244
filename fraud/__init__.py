"""fraud domain package."""
