"""Drive real Home Assistant and simulator processes (demo, benchmarks, browser tests)."""
