"""Custom integrations (this repository ships one: v2x)."""
