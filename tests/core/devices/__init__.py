"""Device-layer tests: no Home Assistant, real loopback sockets to the simulator."""
