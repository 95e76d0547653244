"""``kilowatch handheld simulate``: simulated handhelds over real HTTP, for the fault-matrix
test and the sync benchmark (``mobile_sync/PROTOCOL.md`` is what they speak)."""
