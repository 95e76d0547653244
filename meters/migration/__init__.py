"""The meter domain's files of the data-migration format (``core.migration``): meters,
installations at usage points and zone meters. Importing this package registers them (the
composition root does, in ``kilowatch.bootstrap``)."""

from meters.migration import installations, meters, zone_meters

__all__ = ["installations", "meters", "zone_meters"]
