"""The composition root: CLI, worker bootstrap, event-handler registration, demo builder."""
