"""The demo utility: customers, premises, meters, 24 months of readings with injected
thefts and zone meters, built set-based on the generated network (see ``builder``)."""
