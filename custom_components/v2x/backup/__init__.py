"""Outage backup as pure logic: the state machine and runtime estimates. No Home Assistant."""
