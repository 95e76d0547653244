"""Errors of the network domain, each with a stable ``code`` clients can branch on."""

from __future__ import annotations

from core.errors import EntityNotFoundError, InputInvalidError


class NetworkImportInvalidError(InputInvalidError):
    """An import file has bad records; ``errors`` names each one (kind:code, problem) and
    nothing was written."""

    code = "network_import_invalid"
    title = "The network file has invalid records"


class NetworkFormatUnsupportedError(InputInvalidError):
    code = "network_format_unsupported"
    title = "Unsupported network file format"


class FeederNotFoundError(EntityNotFoundError):
    code = "feeder_not_found"
    title = "No such feeder"


class SwitchNotFoundError(EntityNotFoundError):
    code = "switch_not_found"
    title = "No such switch"


class AssetNotFoundError(EntityNotFoundError):
    """A trace was asked to start from an asset (service point, node ...) that is unknown."""

    code = "network_asset_not_found"
    title = "No such network asset"


class TraceStartInvalidError(InputInvalidError):
    code = "trace_start_invalid"
    title = "A trace needs a feeder or a start asset"


class NetworkFileRefusedError(InputInvalidError):
    """An uploaded network file reaches outside itself (an OpenDSS command naming a file
    outside the bundle, an absolute path, a symbolic link) or asks the engine for more than
    reading a network (a shell or export command): refused before anything is read."""

    code = "network_file_refused"
    title = "The network file reaches outside the upload"
