"""Placeholder until the integration module lands."""
