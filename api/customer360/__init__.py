"""The 360° views of a customer and of a premises (used by the API and the pages)."""
