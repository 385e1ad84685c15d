"""Home Assistant integration tests, driving the integration against the simulator."""
