"""Cash desks: placeholder replaced below."""
