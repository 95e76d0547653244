"""The meter domain's files of the data-migration format (in progress)."""
