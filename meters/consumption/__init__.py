"""Consumption per usage point and period, derived from reads (never typed in)."""
