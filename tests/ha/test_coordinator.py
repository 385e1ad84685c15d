"""Polling: unavailability and recovery, every fault kind, watchdog, energy, options."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import itertools
import time
from typing import Any, cast

from homeassistant.const import EVENT_STATE_CHANGED, EVENT_STATE_REPORTED, STATE_UNAVAILABLE
from homeassistant.core import Event, HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.event import EventStateChangedData
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.v2x.const import (
    CONF_FULL_INTERVAL,
    CONF_MAX_DISCHARGE_POWER,
    CONF_STATUS_INTERVAL,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig, QuasarTwin
from simulator.world import Simulation

from .conftest import SERIAL, device_with, runtime, state_of
from .helpers import wait_until

PREFIX = "wallbox_quasar_1_20240117"
POWER = f"sensor.{PREFIX}_power"
STATE = f"sensor.{PREFIX}_charger_state"
CHARGED = f"sensor.{PREFIX}_energy_charged"
DISCHARGED = f"sensor.{PREFIX}_energy_discharged"
REMOTE = f"switch.{PREFIX}_remote_control"


async def _poll(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    data = runtime(entry)
    await data.status.async_refresh()
    await data.full.async_refresh()
    await hass.async_block_till_done()


@pytest.mark.parametrize(
    "fault",
    [
        Fault(FaultKind.REFUSE),
        Fault(FaultKind.STALL, delay_s=2.0),
        Fault(FaultKind.EXCEPTION, code=4),
        Fault(FaultKind.GARBAGE),
        Fault(FaultKind.DROP),
    ],
    ids=lambda fault: fault.kind.value,
)
async def test_fault_makes_entities_unavailable_then_recover(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sim: Simulation,
    twin: QuasarTwin,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
) -> None:
    """Each fault kind turns the entities unavailable, logged once; clearing recovers."""
    data = runtime(init_integration)
    data.charger.transport.timeout_s = 0.3  # type: ignore[attr-defined]
    assert state_of(hass, POWER).state != STATE_UNAVAILABLE
    twin.apply_fault(fault)
    await sim.tick()
    caplog.clear()
    for _ in range(3):
        await _poll(hass, init_integration)
        data.charger.transport.set_backoff_max(0.0)  # type: ignore[attr-defined]
    if fault.kind is FaultKind.DROP:
        # A dropped connection costs one failed poll at most; then it reconnects.
        assert state_of(hass, POWER).state != STATE_UNAVAILABLE
        assert data.charger.connects >= 2
        return
    assert state_of(hass, POWER).state == STATE_UNAVAILABLE
    assert state_of(hass, REMOTE).state == STATE_UNAVAILABLE
    unavailable_logs = [r for r in caplog.records if "Error fetching" in r.getMessage()]
    assert len(unavailable_logs) == 1  # once per device, not once per poll or poller
    twin.clear_faults()
    await sim.tick()
    await asyncio.sleep(0.1)
    caplog.clear()
    await _poll(hass, init_integration)
    await _poll(hass, init_integration)
    assert state_of(hass, POWER).state != STATE_UNAVAILABLE
    assert state_of(hass, REMOTE).state != STATE_UNAVAILABLE
    assert sum("recovered" in r.getMessage() for r in caplog.records) == 1


async def test_reboot_shows_error_state_then_recovers(
    hass: HomeAssistant, init_integration: MockConfigEntry, sim: Simulation, twin: QuasarTwin
) -> None:
    """A reboot: unavailable while booting, 'error' during its error phase, then normal."""
    twin.config.reboot_boot_s = 0.3
    # Long enough that a slow poll cannot miss it; the clock is jumped past it below.
    twin.config.reboot_error_s = 3600.0
    data = runtime(init_integration)
    data.charger.transport.timeout_s = 0.3  # type: ignore[attr-defined]
    twin.apply_fault(Fault(FaultKind.REBOOT))
    await sim.tick()
    await _poll(hass, init_integration)
    assert state_of(hass, STATE).state == STATE_UNAVAILABLE
    await wait_until(hass, lambda: not twin.booting, what="the end of booting")
    await sim.tick()
    data.charger.transport.set_backoff_max(0.0)  # type: ignore[attr-defined]
    await _poll(hass, init_integration)
    assert state_of(hass, STATE).state == "error"
    assert state_of(hass, f"binary_sensor.{PREFIX}_error").state == "on"
    sim.clock.advance(3600.0)
    assert not twin.rebooting
    await _poll(hass, init_integration)
    assert state_of(hass, STATE).state in ("charging", "waiting_for_car_demand")


async def test_error_codes_as_attributes(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The error binary sensor carries the vendor codes."""
    twin.apply_fault(Fault(FaultKind.ERROR, code=0x00050006))
    await _poll(hass, init_integration)
    state = state_of(hass, f"binary_sensor.{PREFIX}_error")
    assert state.state == "on"
    assert state.attributes["unrecoverable_error_code"] == 0x00050006
    assert state.attributes["state_code"] == 7


@pytest.mark.parametrize("sim_speed", [20.0])
@pytest.mark.parametrize(
    "entry_options",
    [{**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60, CONF_WATCHDOG: 10}],
)
async def test_watchdog_expires_when_home_assistant_goes_quiet(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The charger stops by itself when polling stops; the session is then re-applied."""
    data = runtime(init_integration)
    await data.controller.async_start(data.controller.mode.DISCHARGE, power_w=3000)
    assert twin.running
    assert twin.watchdog_s == 10
    await asyncio.sleep(0.8)  # 16 simulated seconds without a request
    await asyncio.sleep(0)
    assert twin.describe()["running"] is False
    assert twin.watchdog_expiries == 1
    data.controller._applied_at = -1e9  # as if the re-apply delay had passed
    await _poll(hass, init_integration)
    assert twin.describe()["running"] is True
    assert twin.power_setpoint_w == -3000


async def test_firmware_change_after_reconnect_updates_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    sim: Simulation,
    twin: QuasarTwin,
    device_registry: dr.DeviceRegistry,
) -> None:
    """After a reconnect the identity is read again; a new firmware reaches the registry."""
    twin.config.firmware = 5140
    twin.apply_fault(Fault(FaultKind.DROP))
    for _ in range(3):
        await _poll(hass, init_integration)
    device = device_with(hass, (DOMAIN, SERIAL))
    assert device is not None
    assert device.sw_version == "5.14.0"
    assert runtime(init_integration).full.identity.firmware_version == "5.14.0"


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, ramp_w_per_s=1e9)])
@pytest.mark.parametrize(
    "entry_options", [{**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}]
)
async def test_energy_integrated_from_power(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Charging at 7400 W for about a second adds about 2 Wh to the charged total."""
    await asyncio.sleep(1.0)
    await _poll(hass, init_integration)
    energy = runtime(init_integration).energy
    assert 0.0015 <= energy.charged_kwh <= 0.005
    assert energy.discharged_kwh == 0.0


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, ramp_w_per_s=1e9)])
@pytest.mark.parametrize(
    "entry_options", [{**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}]
)
async def test_energy_state_written_per_100_wh_or_minute_exact_at_each_write(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At 7.4 kW (2 Wh a second) the charged total's state is written once it has grown
    by 0.1 kWh, not at every poll; the value written is the total then. Eighty polls
    1.5 s apart (their samples fed to the counter as the status coordinator feeds them).
    A smaller change is written once a minute has passed since the last write."""
    data = runtime(init_integration)
    writes: list[str] = []

    @callback
    def written(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == CHARGED and (new := event.data["new_state"]):
            writes.append(new.state)

    hass.bus.async_listen(EVENT_STATE_CHANGED, written)
    energy = data.energy
    energy.break_gap()
    start = energy.charged_kwh
    sample_at = time.monotonic()
    energy.add(sample_at, 7400)
    for _ in range(80):  # 120 s at 7.4 kW: 247 Wh
        sample_at += 1.5
        energy.add(sample_at, 7400)
        data.status.async_update_listeners()
        await hass.async_block_till_done()
    total = energy.charged_kwh - start
    assert total == pytest.approx(0.247, abs=0.005)
    assert 2 <= len(writes) <= 3  # one per 0.1 kWh, not eighty
    assert float(writes[-1]) <= round(energy.charged_kwh, 3)
    assert round(energy.charged_kwh, 3) - float(writes[-1]) < 0.1  # at most a step behind
    assert all(float(b) - float(a) >= 0.1 for a, b in itertools.pairwise(writes))

    writes.clear()
    sample_at += 1.0
    energy.add(sample_at, 7400)  # 2 Wh more
    data.status.async_update_listeners()
    await hass.async_block_till_done()
    assert writes == []  # too small, too soon
    later = time.monotonic() + 61
    monkeypatch.setattr("custom_components.v2x.sensor.monotonic", lambda: later)
    data.status.async_update_listeners()
    await hass.async_block_till_done()
    assert writes == [str(round(energy.charged_kwh, 3))]  # a minute on: the exact total


def _writes_of(hass: HomeAssistant, prefix: str) -> list[str]:
    """Every state write (changed or reported unchanged) of entities named ``prefix``."""
    writes: list[str] = []

    @callback
    def ours(data: Any) -> bool:
        return prefix in data["entity_id"]

    @callback
    def heard(event: Event[Any]) -> None:
        writes.append(event.data["entity_id"])

    for event_type in (EVENT_STATE_CHANGED, EVENT_STATE_REPORTED):
        hass.bus.async_listen(event_type, heard, event_filter=ours)
    return writes


@pytest.mark.parametrize(
    "entry_options", [{**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}]
)
async def test_a_poll_that_changes_nothing_writes_nothing(
    hass: HomeAssistant, init_integration: MockConfigEntry, sim: Simulation, twin: QuasarTwin
) -> None:
    """Each status poll used to rewrite a dozen states that had not changed (Home
    Assistant reports each as a write). Now an update that changes nothing an entity
    shows writes nothing; a change writes the entities it changes, and unavailability
    is written once, not at every failed poll."""
    data = runtime(init_integration)
    writes = _writes_of(hass, PREFIX)
    for _ in range(5):  # the same reading heard five times
        data.status.async_update_listeners()
        data.full.async_update_listeners()
    await hass.async_block_till_done()
    assert writes == []

    twin.plug(False)  # the car leaves: state and power change, the rest does not
    await sim.tick()
    await data.status.async_refresh()
    await hass.async_block_till_done()
    assert STATE in writes
    assert POWER in writes
    assert len(writes) == len(set(writes))  # each changed entity once
    assert f"sensor.{PREFIX}_error" not in writes  # read by the same poll, unchanged

    writes.clear()
    data.charger.transport.timeout_s = 0.3  # type: ignore[attr-defined]
    twin.apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    for _ in range(4):
        data.charger.transport.set_backoff_max(0.0)  # type: ignore[attr-defined]
        await data.status.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, STATE).state == STATE_UNAVAILABLE
    assert writes.count(STATE) == 1  # unavailable, written once over the failed polls

    twin.clear_faults()
    await sim.tick()
    await data.status.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, STATE).state != STATE_UNAVAILABLE


async def test_energy_restored_after_restart(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Totals continue from the values saved before the restart."""
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(CHARGED, "12.5"),
                {"native_value": 12.5, "native_unit_of_measurement": "kWh"},
            ),
            (
                State(DISCHARGED, "3.25"),
                {"native_value": "3.25", "native_unit_of_measurement": "kWh"},
            ),
        ],
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert 12.5 <= float(state_of(hass, CHARGED).state) < 12.6
    assert float(state_of(hass, DISCHARGED).state) == 3.25
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_energy_restore_ignores_garbage(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """A saved value that is not a number is ignored."""
    mock_restore_cache_with_extra_data(
        hass,
        [(State(DISCHARGED, "x"), {"native_value": "x", "native_unit_of_measurement": "kWh"})],
    )
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert float(state_of(hass, DISCHARGED).state) == 0.0
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_options_apply_without_reload(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """New intervals, watchdog and limits take effect on the running entry."""
    data = runtime(init_integration)
    hass.config_entries.async_update_entry(
        init_integration,
        options={
            **DEFAULT_OPTIONS,
            CONF_STATUS_INTERVAL: 5,
            CONF_FULL_INTERVAL: 30,
            CONF_WATCHDOG: 90,
            CONF_MAX_DISCHARGE_POWER: 2000,
        },
    )
    await hass.async_block_till_done()
    assert data.status.update_interval == timedelta(seconds=5)
    assert data.full.update_interval == timedelta(seconds=30)
    assert data.charger.watchdog_s == 90
    assert data.controller.limits.max_discharge_power_w == 2000
    assert runtime(init_integration) is data  # no reload


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, ramp_w_per_s=1e9)])
@pytest.mark.parametrize(
    "entry_options", [{**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}]
)
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    snapshot: SnapshotAssertion,
) -> None:
    """Diagnostics show everything useful, with the serial and host redacted."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)
    assert SERIAL not in str(diagnostics)
    # The simulator's port is picked at random: check it, then keep the snapshot stable.
    entry_data = cast("dict[str, Any]", diagnostics["entry"])["data"]
    assert entry_data.pop("port") == twin.server.port
    assert diagnostics == snapshot
