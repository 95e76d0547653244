"""mobile_sync domain package."""
