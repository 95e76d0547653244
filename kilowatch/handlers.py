"""Domain-event handlers, registered at start-up. Each domain's news reaches the domains
above it only through here."""
