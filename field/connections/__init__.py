"""Connection requests and power changes: price list, quotes with versions, the process
from survey to started contract (field layer: it joins customers, billing and field)."""
