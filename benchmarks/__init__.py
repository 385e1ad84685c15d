"""Reproducible measurements; each prints a table (see RESULTS.md)."""
