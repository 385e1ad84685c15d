"""Commands end to end: entities and services, verified on the simulator's registers."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from homeassistant.components.number.const import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.v2x import controller as controller_module
from custom_components.v2x.const import (
    CONF_MAX_DISCHARGE_POWER,
    CONF_RESERVE_SOC,
    DEFAULT_OPTIONS,
    DOMAIN,
    EVENT_SESSION_ENDED,
)
from custom_components.v2x.devices import control
from custom_components.v2x.devices.model import (
    ChargerState,
    ChargerStatus,
    OperatingMode,
    SocReading,
)
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig, QuasarTwin
from simulator.world import Simulation

from .conftest import runtime, state_of
from .families import (
    MODE,
    PREFIX,
    REMOTE,
    RESERVE,
    SETPOINT,
    poll_status,
    quasar_device_id,
    quasar_service,
    select_mode,
    writes,
)
from .helpers import refresh_until


async def test_select_modes(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Discharge takes control and discharges at full power; charge; idle stops."""
    await select_mode(hass, "discharge")
    assert writes(twin)[:4] == [(81, 1), (82, 0), (83, 1), (88, 60)]
    assert writes(twin)[-2:] == [(257, 1), (260, (-7400) & 0xFFFF)]
    assert state_of(hass, MODE).state == "discharge"
    await asyncio.sleep(3)
    await poll_status(hass, init_integration)
    assert state_of(hass, f"sensor.{PREFIX}_charger_state").state == "discharging"
    assert state_of(hass, f"binary_sensor.{PREFIX}_discharging").state == "on"
    assert float(state_of(hass, SETPOINT).state) == -7400

    await select_mode(hass, "charge")
    assert writes(twin)[-2:] == [(257, 1), (260, 7400)]
    assert state_of(hass, MODE).state == "charge"

    await select_mode(hass, "idle")
    assert writes(twin)[-2:] == [(257, 2), (260, 0)]
    assert state_of(hass, MODE).state == "idle"
    assert twin.remote == 1


async def test_a_charger_on_its_own_is_not_shown_idle(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Out of remote control the Quasar follows the Wallbox app, which may charge at full
    power: the mode reads "the charger's own", not "idle"; choosing it hands back."""
    assert twin.remote == 0
    assert state_of(hass, MODE).state == "charger_own"
    await select_mode(hass, "charge")
    assert twin.remote == 1
    await select_mode(hass, "idle")
    assert state_of(hass, MODE).state == "idle"  # held at 0 W under remote control
    since = len(twin.writes)
    await select_mode(hass, "charger_own")
    assert (81, 0) in writes(twin, since)
    assert twin.remote == 0
    await poll_status(hass, init_integration)
    assert state_of(hass, MODE).state == "charger_own"


async def test_a_poll_begun_before_our_command_does_not_undo_it(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Who controls the charger: a full poll that read the registers before we handed it
    back must not make it look held again (nor the other way round)."""
    data = runtime(init_integration)
    await select_mode(hass, "charge")
    await data.full.async_refresh()
    held = data.full.data
    assert held.control is not None
    assert held.control.remote is True
    began = data.controller.now()
    await select_mode(hass, "charger_own")
    data.controller.update_limits(held, began)  # read before the hand-back
    assert data.controller.remote is False
    assert state_of(hass, MODE).state == "charger_own"
    data.controller.update_limits(held, data.controller.now())  # a newer read wins
    assert data.controller.remote is True


@pytest.mark.parametrize("entry_options", [{**DEFAULT_OPTIONS, CONF_MAX_DISCHARGE_POWER: 3000}])
async def test_backup_mode_uses_max_discharge_option(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Backup discharges at the configured maximum discharge power."""
    await select_mode(hass, "backup")
    assert twin.power_setpoint_w == -3000
    assert runtime(init_integration).controller.mode is OperatingMode.BACKUP


async def test_power_setpoint_number(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Negative discharges, positive charges, zero stops."""
    for value, expected in ((-2500, -2500), (4000, 4000)):
        await hass.services.async_call(
            "number",
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: value},
            blocking=True,
        )
        assert twin.power_setpoint_w == expected
        assert float(state_of(hass, SETPOINT).state) == expected
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: SETPOINT, ATTR_VALUE: 0}, blocking=True
    )
    assert twin.power_setpoint_w == 0
    assert not twin.running
    state = state_of(hass, SETPOINT)
    assert state.attributes["min"] == -7400
    assert state.attributes["max"] == 7400


async def test_reserve_number_updates_options(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The reserve number writes the option and the controller uses it at once."""
    await hass.services.async_call(
        "number", SERVICE_SET_VALUE, {ATTR_ENTITY_ID: RESERVE, ATTR_VALUE: 45}, blocking=True
    )
    await hass.async_block_till_done()
    assert init_integration.options[CONF_RESERVE_SOC] == 45
    assert runtime(init_integration).controller.reserve_soc_pct == 45
    assert float(state_of(hass, RESERVE).state) == 45


async def test_remote_control_switch(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """On takes control with the watchdog armed; off hands it back to the app."""
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: REMOTE}, blocking=True
    )
    assert (twin.remote, twin.autostart, twin.setpoint_type, twin.watchdog_s) == (1, 0, 1, 60)
    assert state_of(hass, REMOTE).state == "on"
    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: REMOTE}, blocking=True
    )
    assert (twin.remote, twin.autostart, twin.watchdog_s) == (0, 1, 0)
    assert state_of(hass, REMOTE).state == "off"


async def test_discharge_service_with_until_soc(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """v2x.discharge writes the power; it stops at until_soc with an event."""
    events = async_capture_events(hass, EVENT_SESSION_ENDED)
    await quasar_service(hass, "discharge", power_w=5000, until_soc_pct=59)
    assert twin.power_setpoint_w == -5000
    twin.set_soc(58.6)  # rounds to 59 in the register
    await asyncio.sleep(0.1)
    await poll_status(hass, init_integration)
    assert twin.power_setpoint_w == 0
    assert not twin.running
    assert len(events) == 1
    assert events[0].data == {
        "device_id": quasar_device_id(hass),
        "mode": "discharge",
        "reason": "target_reached",
    }


async def test_discharge_stops_at_reserve(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin, sim: Simulation
) -> None:
    """The physics carry the car down to the reserve: the controller stops it there."""
    events = async_capture_events(hass, EVENT_SESSION_ENDED)
    twin.set_soc(31.2)
    await asyncio.sleep(0.2)
    await poll_status(hass, init_integration)
    await quasar_service(hass, "discharge", power_w=7400)
    sim.clock.set_speed(200)  # 1 % of 40 kWh at 7.4 kW is ~3 simulated minutes
    await refresh_until(
        runtime(init_integration).status, lambda _: bool(events), what="the reserve stop"
    )
    sim.clock.set_speed(1)
    assert [e.data["reason"] for e in events] == ["reserve_reached"]
    assert twin.power_setpoint_w == 0
    assert twin.battery.soc_pct >= 29.5  # never meaningfully below the 30 % reserve


async def test_charge_service_with_duration(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A duration ends the session; the end is reported as an event."""
    events = async_capture_events(hass, EVENT_SESSION_ENDED)
    now = [1000.0]
    monkeypatch.setattr(runtime(init_integration).controller, "_clock", lambda: now[0])
    await quasar_service(hass, "charge", power_w=3000, duration=timedelta(minutes=5))
    assert twin.power_setpoint_w == 3000
    now[0] += 301
    await poll_status(hass, init_integration)
    assert [e.data["reason"] for e in events] == ["duration_elapsed"]
    assert twin.power_setpoint_w == 0


async def test_stop_service(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """v2x.stop ends the session."""
    await quasar_service(hass, "charge", power_w=2000)
    await quasar_service(hass, "stop")
    assert twin.power_setpoint_w == 0
    assert runtime(init_integration).controller.session is None


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"power_w": 3000, "until_soc_pct": 20}, "refused_until_below_reserve"),
        ({"power_w": 9000}, "power_above_maximum"),
        ({"power_w": 1000}, "power_below_minimum"),  # the Quasar runs from 6 A (1380 W)
    ],
)
async def test_refused_discharge_changes_nothing(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    data: dict[str, Any],
    key: str,
) -> None:
    """Unsafe or impossible requests raise a translated error; nothing is written."""
    before = len(twin.writes)
    with pytest.raises(ServiceValidationError) as err:
        await quasar_service(hass, "discharge", **data)
    assert err.value.translation_key == key
    assert err.value.translation_domain == DOMAIN
    assert len(twin.writes) == before


async def test_discharge_refused_at_reserve(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A car at or below the reserve is never discharged."""
    twin.set_soc(25)
    for _ in range(3):  # a jump of 35 points must repeat before it is believed
        await asyncio.sleep(0.05)
        await poll_status(hass, init_integration)
    assert runtime(init_integration).status.data.soc.value_pct == 25
    before = len(twin.writes)
    with pytest.raises(ServiceValidationError) as err:
        await quasar_service(hass, "discharge", power_w=3000)
    assert err.value.translation_key == "refused_at_reserve"
    assert len(twin.writes) == before
    with pytest.raises(ServiceValidationError):
        await select_mode(hass, "backup")
    assert len(twin.writes) == before


async def test_charge_refused_when_target_reached_and_without_car(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Charging to a level already reached, or with no car, is refused."""
    with pytest.raises(ServiceValidationError) as err:
        await quasar_service(hass, "charge", power_w=3000, until_soc_pct=50)
    assert err.value.translation_key == "refused_target_reached"
    twin.plug(False)
    await poll_status(hass, init_integration)
    with pytest.raises(ServiceValidationError) as err:
        await quasar_service(hass, "charge", power_w=3000)
    assert err.value.translation_key == "refused_no_vehicle"


async def test_service_validation(hass: HomeAssistant, init_integration: MockConfigEntry) -> None:
    """Out-of-range values and unknown devices are clear, translated errors."""
    with pytest.raises(ServiceValidationError) as err:
        await quasar_service(hass, "discharge", power_w=0)
    assert err.value.translation_key == "power_not_positive"
    with pytest.raises(ServiceValidationError) as err:
        await quasar_service(hass, "charge", power_w=1000, duration=timedelta(0))
    assert err.value.translation_key == "duration_out_of_range"
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "stop", {"device_id": "not-a-device"}, blocking=True)
    assert err.value.translation_key == "device_not_found"


@pytest.mark.parametrize("service", ["charge", "discharge"])
@pytest.mark.parametrize(
    "data",
    [
        {"power_w": True},
        {"power_w": False},
        {"power_w": 3000, "until_soc_pct": True},
        {"power_w": 3000, "duration": True},
    ],
)
async def test_booleans_are_not_numbers(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    service: str,
    data: dict[str, Any],
) -> None:
    """`power_w: true` is not 1 W: the schema refuses it and nothing reaches the charger."""
    import voluptuous as vol

    before = len(twin.writes)
    with pytest.raises(vol.Invalid) as err:
        await quasar_service(hass, service, **data)
    assert "boolean" in str(err.value)
    assert len(twin.writes) == before
    assert runtime(init_integration).controller.session is None


async def test_service_on_unloaded_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A service call for an unloaded charger says so."""
    device_id = quasar_device_id(hass)
    await hass.config_entries.async_unload(init_integration.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "stop", {"device_id": device_id}, blocking=True)
    assert err.value.translation_key == "entry_not_loaded"


async def test_service_on_foreign_device(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A device of another integration is not ours."""
    other = MockConfigEntry(domain="demo")
    other.add_to_hass(hass)
    device = dr.async_get(hass).async_get_or_create(
        config_entry_id=other.entry_id, identifiers={("demo", "x")}
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "stop", {"device_id": device.id}, blocking=True)
    assert err.value.translation_key == "device_not_found"


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, autostart=False)])
async def test_unknown_soc_is_probed_before_discharging(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """An idle Quasar reports no SoC: charge gently until it does, then discharge."""
    status = runtime(init_integration).status.data
    assert status.soc.value_pct is None
    before = len(twin.writes)
    await quasar_service(hass, "discharge", power_w=4000)
    setpoints = [value for address, value in writes(twin, before) if address == 260]
    assert setpoints[0] == control.SOC_PROBE_POWER_W
    await refresh_until(
        runtime(init_integration).status,
        lambda _: twin.power_setpoint_w == -4000,
        what="the requested power after the probe",
    )
    assert twin.power_setpoint_w == -4000
    assert state_of(hass, MODE).state == "discharge"


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, autostart=False)])
async def test_soc_probe_gives_up(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """If the SoC never shows, the session ends without discharging."""
    events = async_capture_events(hass, EVENT_SESSION_ENDED)
    now = [50.0]
    monkeypatch.setattr(runtime(init_integration).controller, "_clock", lambda: now[0])
    twin.config.car.charge_cap_pct = 0  # the car accepts no charge: no power, no SoC
    await quasar_service(hass, "discharge", power_w=4000)
    now[0] += control.SOC_PROBE_TIMEOUT_S + 1
    await poll_status(hass, init_integration)
    assert [e.data["reason"] for e in events] == ["soc_unavailable"]
    assert twin.power_setpoint_w == 0


async def test_unplug_ends_session(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Unplugging the car ends the session."""
    events = async_capture_events(hass, EVENT_SESSION_ENDED)
    await quasar_service(hass, "discharge", power_w=3000)
    twin.plug(False)
    await poll_status(hass, init_integration)
    assert [e.data["reason"] for e in events] == ["vehicle_disconnected"]


async def test_session_reapplied_after_reboot(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    sim: Simulation,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A charger that reboots mid-session is taken over again once it is back."""
    monkeypatch.setattr(controller_module, "REAPPLY_AFTER_S", 0.0)
    twin.config.reboot_boot_s = 0.5
    twin.config.reboot_error_s = 1.0
    await quasar_service(hass, "discharge", power_w=3000)
    twin.apply_fault(Fault(FaultKind.REBOOT))
    await sim.tick()
    assert twin.remote == 0
    data = runtime(init_integration)
    data.charger.transport.set_backoff_max(0.0)  # type: ignore[attr-defined]
    await refresh_until(
        data.status, lambda _: twin.state_code() == 11, what="the session re-applied"
    )
    assert twin.remote == 1
    assert twin.power_setpoint_w == -3000
    assert twin.state_code() == 11
    assert data.controller.mode is OperatingMode.DISCHARGE


async def test_stop_retried_until_confirmed(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    sim: Simulation,
) -> None:
    """When the stop at the end of a session fails, it is retried every poll."""
    await quasar_service(hass, "discharge", power_w=3000, until_soc_pct=59)
    # The car reaches the target while every write is refused by the charger.
    twin.set_soc(58.6)
    await asyncio.sleep(0.05)
    original_write = twin.write_single

    def refuse(address: int, value: int) -> int:
        from simulator.modbus_server import ModbusError

        raise ModbusError(4)

    twin.write_single = refuse  # type: ignore[method-assign]
    await poll_status(hass, init_integration)
    assert twin.power_setpoint_w == -3000  # not stopped yet
    assert runtime(init_integration).controller.session is None
    twin.write_single = original_write  # type: ignore[method-assign]
    await poll_status(hass, init_integration)
    assert twin.power_setpoint_w == 0
    assert not twin.running


async def test_command_error_is_translated(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin, sim: Simulation
) -> None:
    """A charger that refuses writes gives a translated HomeAssistantError."""
    twin.apply_fault(Fault(FaultKind.EXCEPTION, code=4))
    await sim.tick()
    with pytest.raises(HomeAssistantError) as err:
        await select_mode(hass, "charge")
    assert err.value.translation_key == "modbus_exception"
    assert runtime(init_integration).controller.session is None
    with pytest.raises(HomeAssistantError) as err:
        await quasar_service(hass, "stop")
    assert err.value.translation_key == "modbus_exception"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: REMOTE}, blocking=True
        )
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: REMOTE}, blocking=True
        )


async def test_command_while_unavailable(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Without any status yet, a session cannot be checked and is refused."""
    runtime(init_integration).controller.status = None
    with pytest.raises(HomeAssistantError) as err:
        await quasar_service(hass, "charge", power_w=2000)
    assert err.value.translation_key == "unavailable"


async def test_unload_stops_running_session(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Unloading the entry stops a discharge so nothing runs unattended."""
    await quasar_service(hass, "discharge", power_w=3000)
    assert twin.power_setpoint_w == -3000
    await hass.config_entries.async_unload(init_integration.entry_id)
    assert twin.power_setpoint_w == 0


async def test_adjust_power_and_shutdown_edges(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin, sim: Simulation
) -> None:
    """Adjusting without a session does nothing; failing writes are translated or logged."""
    controller = runtime(init_integration).controller
    before = len(twin.writes)
    await controller.async_adjust_power(1000)  # no session: nothing to adjust
    assert len(twin.writes) == before
    await quasar_service(hass, "discharge", power_w=3000)
    twin.apply_fault(Fault(FaultKind.EXCEPTION, code=4))
    await sim.tick()
    with pytest.raises(HomeAssistantError):
        await controller.async_adjust_power(2000)
    await controller.async_shutdown()  # the stop fails: logged, not raised
    assert controller.session is None


async def test_unowned_discharges_left_alone(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A discharge under the device's own logic, or with no remote switch, is not stopped."""
    controller = runtime(init_integration).controller
    status = ChargerStatus(
        state=ChargerState.DISCHARGING, state_code=0, power_w=-3000, soc=SocReading(60.0)
    )
    before = len(twin.writes)
    async with controller._lock:  # a command under way: the status is only recorded
        await controller.async_step(status)
    assert controller.status is status
    controller.remote = False
    await controller.async_step(status)
    controller.remote = None
    await controller.async_step(status)
    assert len(twin.writes) == before
