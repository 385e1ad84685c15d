"""A failing Modbus device is logged once, in our words, not once per request by pymodbus."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarTwin
from simulator.world import Simulation

from .conftest import runtime, state_of

POWER = "sensor.wallbox_quasar_1_20240117_power"
POLLS = 15


def _loud(caplog: pytest.LogCaptureFixture, prefix: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name.startswith(prefix) and record.levelno >= logging.WARNING
    ]


def _succeeded(coordinator: DataUpdateCoordinator[Any]) -> bool:
    """The last poll's outcome (read through a call: no type narrowing)."""
    return bool(coordinator.last_update_success)


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    data = runtime(entry)
    await data.status.async_refresh()
    await data.full.async_refresh()
    await hass.async_block_till_done()


async def test_exception_fault_is_one_log_line_per_coordinator(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sim: Simulation,
    twin: QuasarTwin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Every request answered with a Modbus exception for many polls, then recovery."""
    caplog.set_level(logging.INFO)
    data = runtime(init_integration)
    twin.apply_fault(Fault(FaultKind.EXCEPTION, duration_s=60, code=4))
    await sim.tick()
    caplog.clear()
    for _ in range(POLLS):
        await _poll(hass, init_integration)
    assert state_of(hass, POWER).state == STATE_UNAVAILABLE
    assert data.charger.requests_sent > POLLS  # the device really was asked, again and again
    assert _loud(caplog, "pymodbus") == []
    ours = _loud(caplog, "custom_components.v2x")
    # One line when the device starts failing, nothing while it keeps failing: the
    # status poll says so; the full poll stays quiet while the status poll fails.
    assert len(ours) == 1
    assert data.status.name in ours[0].getMessage()

    twin.clear_faults()
    await sim.tick()
    await asyncio.sleep(0.1)
    caplog.clear()
    for _ in range(3):
        await _poll(hass, init_integration)
    assert state_of(hass, POWER).state != STATE_UNAVAILABLE
    assert _loud(caplog, "pymodbus") == []
    assert _loud(caplog, "custom_components.v2x") == []
    recovered = [r for r in caplog.records if "recovered" in r.getMessage()]
    assert {r.levelno for r in recovered} == {logging.INFO}
    assert len(recovered) == 1


async def test_full_poll_failing_alone_is_logged_once_by_itself(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Only the control registers fail (the status still reads): one warning, one recovery."""
    from simulator.modbus_server import ModbusError

    caplog.set_level(logging.INFO)
    data = runtime(init_integration)
    original = twin.read_holding

    def control_registers_fail(address: int, count: int) -> list[int]:
        if address <= 88 < address + count:
            raise ModbusError(4)
        return original(address, count)

    twin.read_holding = control_registers_fail  # type: ignore[method-assign]
    caplog.clear()
    for _ in range(5):
        await _poll(hass, init_integration)
    assert data.status.last_update_success
    assert _succeeded(data.full) is False
    ours = _loud(caplog, "custom_components.v2x")
    assert [r.levelno for r in ours] == [logging.WARNING]
    assert "Full poll" in ours[0].getMessage()
    twin.read_holding = original  # type: ignore[method-assign]
    caplog.clear()
    await _poll(hass, init_integration)
    assert _succeeded(data.full) is True
    assert [r.getMessage() for r in caplog.records if "recovered" in r.getMessage()] == [
        f"Full poll of {init_integration.title} recovered"
    ]
