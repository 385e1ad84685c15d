"""Fixtures of the device-library tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.v2x.devices.echonet import EchonetEndpoint

# The twins' real and simulated time and their supply, as the simulator tests have them.
from tests.simulator.conftest import clock, grid, wall  # noqa: F401


@pytest.fixture
async def endpoint(allow_loopback: None) -> AsyncIterator[EchonetEndpoint]:
    """An ECHONET Lite endpoint on an ephemeral loopback port."""
    opened = await EchonetEndpoint.async_open(local_host="127.0.0.1", local_port=0)
    yield opened
    opened.close()
