"""Meter readings: recording, set-based validation, estimation, bulk import."""
