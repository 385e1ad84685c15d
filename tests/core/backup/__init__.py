"""Pure backup-logic tests: no Home Assistant."""
