"""Errors of the network generator, each with a stable ``code``."""

from __future__ import annotations

from core.errors import EntityConflictError, InputInvalidError


class NetworkAlreadyGeneratedError(EntityConflictError):
    """A network with this seed's code prefix exists: generate with another seed, or
    replace it."""

    code = "network_already_generated"
    title = "A network with this seed already exists"


class GeneratorInputInvalidError(InputInvalidError):
    code = "generator_input_invalid"
    title = "The generator's parameters are invalid"
