"""Synthetic radial networks, realistic enough to demo, test and benchmark on: a street
grid, service points clustered like a city, transformers sized to their load, MV feeders
routed along the streets, normally-open ties between feeders."""

from gis.generator.service import (
    GenerationReport,
    delete_generated_network,
    generate_network,
    generated_network_exists,
    generated_prefix,
)

__all__ = [
    "GenerationReport",
    "delete_generated_network",
    "generate_network",
    "generated_network_exists",
    "generated_prefix",
]
