"""Backup sites end to end: a real Quasar (simulated) behind real HA switches."""

from __future__ import annotations

import asyncio
from unittest.mock import patch

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.const import (
    CONF_CAPACITY,
    CONF_RESERVE_SOC,
    CONF_SITE_TYPE,
    DEFAULT_OPTIONS,
    DOMAIN,
    SITE_BUILDING,
)
from custom_components.v2x.devices.quasar import MIN_POWER_W
from custom_components.v2x.site import REPAIR_CHECK_TICKS, TICK, BackupSite
from simulator.quasar import QuasarTwin

from .conftest import device_with, state_of
from .families import believed_soc
from .helpers import fire_timers, settle
from .site_helpers import (
    ELEVATOR,
    GRID,
    HEATER,
    TRANSFER,
    _settle,
    _site,
    _state,
    async_setup_site_entities,
    site_entry,
)

TICK_S = TICK.total_seconds() + 0.5  # fire the site's tick (and a 1 s grid poll) once


async def test_outage_and_return(hass: HomeAssistant, site: BackupSite, twin: QuasarTwin) -> None:
    """Grid lost: switch, shed, discharge the car; grid back: stop, switch back, restore.

    The Quasar was under its own logic (the app) and the car gave less than a percent:
    it is not recharged, and it is handed back to the app as it was.
    """
    started = async_capture_events(hass, "v2x_backup_started")
    ended = async_capture_events(hass, "v2x_backup_ended")
    before = (twin.remote, twin.power_setpoint_w, twin.autostart)
    assert before == (0, 0, 1)  # factory state: user control, autostart on
    assert state_of(hass, "sensor.home_backup_state").state == "grid"
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert state_of(hass, TRANSFER).state == "on"
    assert state_of(hass, HEATER).state == "off"
    assert state_of(hass, ELEVATOR).state == "on"
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    # The house load estimate (1 kW), raised to the Quasar's 1.38 kW minimum.
    assert twin.power_setpoint_w == -MIN_POWER_W
    assert state_of(hass, "sensor.home_backup_state").state == "on_vehicle_power"
    assert state_of(hass, "binary_sensor.home_on_vehicle_power").state == "on"
    device = device_with(hass, (DOMAIN, f"site_{site.entry.entry_id}"))
    assert device is not None
    assert [e.data["reason"] for e in started] == ["grid_lost"]
    assert started[0].data["device_id"] == device.id
    hass.states.async_set(GRID, "on")
    await _settle(hass, site)
    assert _state(site) is BackupState.GRID_BACK
    assert state_of(hass, TRANSFER).state == "on"  # waiting for the grid to stay
    await asyncio.sleep(0.6)
    await _settle(hass, site)
    assert _state(site) is BackupState.GRID
    assert state_of(hass, TRANSFER).state == "off"
    assert state_of(hass, HEATER).state == "on"
    await settle(hass)
    assert (twin.remote, twin.power_setpoint_w, twin.autostart) == before
    assert [e.data["reason"] for e in ended] == ["grid_restored"]
    assert site.book.before == {}
    assert site.book.release_pending == set()


@pytest.mark.parametrize("entry_options", [{**DEFAULT_OPTIONS, CONF_CAPACITY: 20.0}])
async def test_elevator_runtime_from_a_sakura(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A full 20 kWh Sakura over a 30 % reserve runs a 9-person elevator about 9 h 40 min."""
    twin.battery.soc_pct = 99.6  # still charging, so the charger reports the SoC
    for _ in range(4):  # a jump in SoC must repeat before it is believed
        await init_integration.runtime_data.status.async_refresh()
    await async_setup_site_entities(hass)
    entry = site_entry([init_integration.entry_id], {CONF_SITE_TYPE: SITE_BUILDING})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # 20 kWh x (100 % - 30 %) = 14 kWh over 250 W + 60 Wh x 20 trips an hour = 1450 W
    energy = state_of(hass, "sensor.home_energy_available_above_reserve")
    assert float(energy.state) == pytest.approx(14.0)
    runtime = state_of(hass, "sensor.home_runtime_remaining")
    assert runtime.attributes["summary"] == "about 9 h 40 min"
    assert float(runtime.state) == pytest.approx(14_000 / 1450, abs=0.05)  # in hours
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.mark.parametrize("entry_options", [{**DEFAULT_OPTIONS, CONF_RESERVE_SOC: 40}])
async def test_each_source_shows_the_floor_it_stops_at(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The site's reserve is 25 %, the charger's own 40 %: the car stops at 40 %, and the
    site says so per source (the energy above it is what the site counts)."""
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id], reserve_soc_pct=25))
    await _settle(hass, site)
    energy = state_of(hass, "sensor.home_energy_available_above_reserve")
    assert energy.attributes["sources"] == [
        {
            "name": init_integration.title,
            "soc_pct": 80.0,
            "floor_pct": 40.0,
            "energy_kwh": pytest.approx(40.0 * 0.40, abs=0.01),  # 40 kWh, 80 % - 40 %
        }
    ]
    assert float(energy.state) == pytest.approx(16.0, abs=0.01)
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_load_following_with_a_load_sensor(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The discharge power follows the measured site load (kW sensors too)."""
    await async_setup_site_entities(hass)
    hass.states.async_set("sensor.site_load", "2.5", {"unit_of_measurement": "kW"})
    entry = site_entry([init_integration.entry_id], {"load_sensor": "sensor.site_load"})
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    site: BackupSite = entry.runtime_data
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert twin.power_setpoint_w == -2500
    hass.states.async_set("sensor.site_load", "4.1", {"unit_of_measurement": "kW"})
    await _settle(hass, site)
    assert twin.power_setpoint_w == -4100
    assert state_of(hass, "sensor.home_site_load").state == "4100"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_switch_that_never_confirms(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A transfer switch that does not move: alarm and repair issue; nothing discharges."""
    from homeassistant.helpers import issue_registry as ir

    await async_setup_site_entities(hass, broken_switch=True)
    entry = site_entry([init_integration.entry_id], confirm_timeout_s=0.3)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    site: BackupSite = entry.runtime_data
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    await asyncio.sleep(0.35)
    await _settle(hass, site)
    assert _state(site) is BackupState.ALARM
    assert state_of(hass, "sensor.home_backup_state").attributes["alarm"] == (
        "transfer_switch_not_confirmed"
    )
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"alarm_{entry.entry_id}")
    assert issue is not None
    assert issue.translation_key == "transfer_switch_not_confirmed"
    assert all(w.address != 260 or w.value < 0x8000 for w in twin.writes)  # no discharge
    await hass.config_entries.async_unload(entry.entry_id)


async def test_failover_to_battery_then_reserve(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """The car is unplugged mid-outage: the battery takes over; at its floor: reserve."""
    failed = async_capture_events(hass, "v2x_source_failed")
    reserve = async_capture_events(hass, "v2x_reserve_reached")
    park = async_capture_events(hass, "v2x_elevator_park_requested")
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id, zendure_entry.entry_id]))
    zendure_twin = zendure_entry.runtime_data.sim.zendures["zendure"]
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert site.machine.active_source == init_integration.entry_id
    twin.plug(False)
    await init_integration.runtime_data.status.async_refresh()
    await _settle(hass, site)
    assert [e.data["reason"] for e in failed] == ["unavailable"]
    assert failed[0].data["source"] == init_integration.title
    assert site.machine.active_source == zendure_entry.entry_id
    assert zendure_twin.settings["acMode"] == 2
    assert zendure_twin.settings["outputLimit"] == 800  # its maximum, below the 1 kW load
    assert state_of(hass, "sensor.home_backup_state").attributes["active_source"] == "Zendure"
    zendure_twin.update_state({"soc_pct": 25})
    await zendure_entry.runtime_data.coordinator.async_refresh()
    await _settle(hass, site)
    assert [e.data["reason"] for e in reserve] == ["reserve"]
    assert [e.data["reason"] for e in park] == ["reserve_reached"]
    assert _state(site) is BackupState.RESERVE_REACHED
    assert zendure_twin.settings["outputLimit"] == 0  # stopped at the reserve
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_restart_in_the_middle_of_an_outage(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Reloaded mid-outage: stays on vehicle power, restarts the source, waits to return."""
    await async_setup_site_entities(hass)
    entry = site_entry([init_integration.entry_id], restore_delay_s=30)
    site = await _site(hass, entry)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    await hass.config_entries.async_unload(entry.entry_id)
    await init_integration.runtime_data.controller.async_stop()  # the session died with HA
    hass.states.async_set(GRID, "on")  # and the grid came back meanwhile
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    site = entry.runtime_data
    await _settle(hass, site)
    assert _state(site) is BackupState.GRID_BACK
    assert state_of(hass, TRANSFER).state == "on"  # not switched back blindly
    assert twin.power_setpoint_w == -MIN_POWER_W  # the car supplies the house again
    assert state_of(hass, HEATER).state == "off"
    await hass.config_entries.async_unload(entry.entry_id)


async def test_services_drill_and_automatic(
    hass: HomeAssistant, site: BackupSite, twin: QuasarTwin
) -> None:
    """start/end backup, the drill button and service, automatic off."""
    from homeassistant.exceptions import ServiceValidationError

    device = device_with(hass, (DOMAIN, f"site_{site.entry.entry_id}"))
    assert device is not None

    async def call(service: str, **data: object) -> None:
        await hass.services.async_call(
            DOMAIN, service, {"device_id": device.id, **data}, blocking=True
        )
        await _settle(hass, site)

    with pytest.raises(ServiceValidationError) as err:
        await call("end_backup")
    assert err.value.translation_key == "not_on_backup"
    await call("start_backup")
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    with pytest.raises(ServiceValidationError) as err:
        await call("start_backup")
    assert err.value.translation_key == "backup_busy"
    await call("end_backup")
    assert _state(site) is BackupState.GRID
    # Drill from the button: switches over with the grid present.
    await hass.services.async_call(
        "button", "press", {"entity_id": "button.home_run_drill"}, blocking=True
    )
    await _settle(hass, site)
    assert site.machine.drill
    assert state_of(hass, TRANSFER).state == "on"
    with pytest.raises(ServiceValidationError) as err:
        await call("run_drill")
    assert err.value.translation_key == "backup_busy"
    await call("end_backup")
    await call("run_drill", duration={"seconds": 1})
    assert site.machine.drill
    await asyncio.sleep(1.05)
    await _settle(hass, site)
    assert _state(site) is BackupState.GRID
    # Automatic off: an outage does not switch over by itself.
    await hass.services.async_call(
        "switch", "turn_off", {"entity_id": "switch.home_automatic_backup"}, blocking=True
    )
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.OUTAGE
    assert state_of(hass, TRANSFER).state == "off"
    with pytest.raises(ServiceValidationError) as err:
        await call("run_drill")
    assert err.value.translation_key == "drill_needs_grid"
    await call("start_backup")
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    await hass.services.async_call(
        "switch", "turn_on", {"entity_id": "switch.home_automatic_backup"}, blocking=True
    )
    assert site.automatic


async def test_service_validation_for_sites(
    hass: HomeAssistant, site: BackupSite, twin: QuasarTwin
) -> None:
    """Site services on a charger device, and starting with no usable source."""
    from homeassistant.exceptions import ServiceValidationError

    charger = device_with(hass, (DOMAIN, "20240117"))
    assert charger is not None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "start_backup", {"device_id": charger.id}, blocking=True
        )
    assert err.value.translation_key == "not_a_site"
    twin.plug(False)
    await hass.config_entries.async_get_entry(site.sources[0]).runtime_data.status.async_refresh()  # type: ignore[union-attr]
    device = device_with(hass, (DOMAIN, f"site_{site.entry.entry_id}"))
    assert device is not None
    for service in ("start_backup", "run_drill"):
        with pytest.raises(ServiceValidationError) as err:
            await hass.services.async_call(DOMAIN, service, {"device_id": device.id}, blocking=True)
        assert err.value.translation_key == "no_usable_source"


async def test_device_triggers(hass: HomeAssistant, site: BackupSite) -> None:
    """The site's events are device triggers of it; an automation runs on one.

    A house has no elevator: its site offers no "elevator asked to park" trigger.
    """
    from homeassistant.components.device_automation import DeviceAutomationType
    from homeassistant.setup import async_setup_component
    from pytest_homeassistant_custom_component.common import (
        async_get_device_automations,
        async_mock_service,
    )

    device = device_with(hass, (DOMAIN, f"site_{site.entry.entry_id}"))
    assert device is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    assert {t["type"] for t in triggers if t["domain"] == DOMAIN} == {
        "backup_started",
        "backup_ended",
        "reserve_reached",
        "source_failed",
    }
    charger = device_with(hass, (DOMAIN, "20240117"))
    assert charger is not None
    charger_triggers = await async_get_device_automations(
        hass, DeviceAutomationType.TRIGGER, charger.id
    )
    assert [t for t in charger_triggers if t["domain"] == DOMAIN] == []
    calls = async_mock_service(hass, "test", "automation")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "triggers": {
                    "platform": "device",
                    "domain": DOMAIN,
                    "device_id": device.id,
                    "type": "backup_started",
                },
                "actions": {
                    "action": "test.automation",
                    "data": {"reason": "{{ trigger.event.data.reason }}"},
                },
            }
        },
    )
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert [call.data["reason"] for call in calls] == ["grid_lost"]


async def test_repairs(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Missing entities and a reserve above every source's SoC are repair issues."""
    from homeassistant.helpers import issue_registry as ir

    await async_setup_site_entities(hass)
    entry = site_entry(
        [init_integration.entry_id, "gone-entry"],
        {"switch_confirm": "binary_sensor.not_there"},
        reserve_soc_pct=70,
    )
    await _site(hass, entry)
    issues = ir.async_get(hass)
    assert issues.async_get_issue(
        DOMAIN, f"missing_entity_{entry.entry_id}_binary_sensor.not_there"
    )
    assert issues.async_get_issue(DOMAIN, f"missing_source_{entry.entry_id}_gone-entry")
    cannot = issues.async_get_issue(DOMAIN, f"cannot_protect_{entry.entry_id}")
    assert cannot is not None  # the car is at 60 %, the reserve 70 %
    assert cannot.translation_placeholders == {"site": "Home", "reserve": "70"}
    hass.config_entries.async_update_entry(entry, options={**entry.options, "reserve_soc_pct": 30})
    await hass.async_block_till_done()
    for _ in range(REPAIR_CHECK_TICKS):  # the site checks its repairs once a minute
        await fire_timers(hass, TICK_S)
    assert issues.async_get_issue(DOMAIN, f"cannot_protect_{entry.entry_id}") is None
    await hass.config_entries.async_unload(entry.entry_id)
    assert not [i for (d, i) in issues.issues if d == DOMAIN and entry.entry_id in i]


async def test_voltage_sensor_grid_signal(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A voltage sensor counts the grid present above the threshold."""
    await async_setup_site_entities(hass)
    hass.states.async_set("sensor.grid_voltage", "230")
    site = await _site(
        hass, site_entry([init_integration.entry_id], {"grid_entity": "sensor.grid_voltage"})
    )
    assert site.observe().grid_available is True
    hass.states.async_set("sensor.grid_voltage", "12")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    hass.states.async_set("sensor.grid_voltage", "n/a")
    assert site.observe().grid_available is None
    hass.states.async_set("sensor.grid_voltage", "unavailable")
    assert site.observe().grid_available is None
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_grid_signal_from_a_device(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """The Zendure's gridState, polled fast, drives the site."""
    await async_setup_site_entities(hass)
    sim = zendure_entry.runtime_data.sim
    site = await _site(
        hass,
        site_entry(
            [init_integration.entry_id],
            {"grid_entity": None, "grid_device": zendure_entry.entry_id},
        ),
    )
    assert site.observe().grid_available is True
    sim.set_grid(False)
    await fire_timers(hass, TICK_S)  # the grid device's poll (once a second)
    await settle(hass)  # the poll runs as a background task
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    sim.zendures["zendure"].apply_fault(
        __import__("simulator.faults", fromlist=["Fault"]).Fault(
            __import__("simulator.faults", fromlist=["FaultKind"]).FaultKind.REFUSE
        )
    )
    await sim.tick()
    await fire_timers(hass, TICK_S)
    await settle(hass)
    assert site.observe().grid_available is None
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_sources_tell_the_grid_their_own_way(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """A charger's grid state comes with its status poll; a battery's is read on its own."""
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id, zendure_entry.entry_id]))
    charger = site.observer.source(init_integration.entry_id)
    battery = site.observer.source(zendure_entry.entry_id)
    assert charger is not None
    assert battery is not None
    assert (charger.polls_grid, battery.polls_grid) == (False, True)
    requests = twin.server.requests
    # A fresh status is enough; one older than the site's grid poll is read again.
    assert await charger.async_read_grid(60) == charger.grid_available()
    assert twin.server.requests == requests
    assert await charger.async_read_grid(0) == charger.grid_available()
    assert twin.server.requests > requests
    assert battery.grid_available() is None
    assert await battery.async_read_grid(60) is True
    assert site.observer.source("not-an-entry") is None
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_refresh_ticks_and_reloaded_sources(
    hass: HomeAssistant, site: BackupSite, init_integration: MockConfigEntry
) -> None:
    """A coordinator refresh, the periodic repair check, a source reloaded under the site."""
    await site.async_refresh()
    assert site.data.state is BackupState.GRID
    with patch("custom_components.v2x.site.async_check_site") as check:
        for _ in range(REPAIR_CHECK_TICKS):
            await fire_timers(hass, TICK_S)
    assert check.call_count == 1
    old = init_integration.runtime_data.status
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await hass.async_block_till_done()
    site.async_step()
    assert init_integration.runtime_data.status is not old
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER


async def test_unusable_inputs_fall_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A non-numeric load sensor, a grid device that is not a battery, a missing source."""
    await async_setup_site_entities(hass)
    hass.states.async_set("sensor.site_load", "n/a")
    site = await _site(
        hass,
        site_entry(
            [init_integration.entry_id],
            {
                "load_sensor": "sensor.site_load",
                "grid_entity": None,
                "grid_device": init_integration.entry_id,
            },
        ),
    )
    assert site.observe().load_w == 1000  # the option's estimate
    assert site.observe().grid_available is None  # a Quasar reports no grid
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_failed_commands_fail_over_and_alarm_clears(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A source that is not loaded fails over; a late switch confirmation clears the alarm."""
    # A source that is not loaded is waited for this long after the start, then skipped.
    monkeypatch.setattr("custom_components.v2x.site.STARTUP_WAIT_S", 0.1)
    await async_setup_site_entities(hass, broken_switch=True)
    site = await _site(
        hass, site_entry(["not-loaded", init_integration.entry_id], confirm_timeout_s=0.2)
    )
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    await asyncio.sleep(0.25)
    await _settle(hass, site)
    assert _state(site) is BackupState.ALARM
    # Someone throws the switch by hand: the site confirms and supplies.
    await hass.services.async_call(
        "input_boolean", "turn_on", {"entity_id": "input_boolean.transfer"}, blocking=True
    )
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert site.machine.active_source == init_integration.entry_id
    assert site.machine.alarm is None
    # A service that fails is logged and does not stop the machine.
    hass.states.async_set(GRID, "on")
    await asyncio.sleep(0.6)
    await _settle(hass, site)
    assert _state(site) is BackupState.GRID
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_start_failure_marks_source_failed(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A charger that refuses the start is failed for now, never a false reserve; retried."""
    from simulator.faults import Fault, FaultKind

    reserve = async_capture_events(hass, "v2x_reserve_reached")
    park = async_capture_events(hass, "v2x_elevator_park_requested")
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id], source_recover_after_s=0.5))
    twin.apply_fault(Fault(FaultKind.EXCEPTION, code=4))
    hass.states.async_set(GRID, "off")
    await _settle(hass, site, rounds=5)
    # The car's energy is still there: no reserve event, no park request.
    assert reserve == []
    assert park == []
    assert _state(site) is BackupState.NO_SOURCE
    assert state_of(hass, TRANSFER).state == "on"
    # The fault ends; once the charger has answered for the recovery time it supplies.
    twin.clear_faults()
    await init_integration.runtime_data.status.async_refresh()
    await asyncio.sleep(0.6)
    await init_integration.runtime_data.status.async_refresh()
    await _settle(hass, site, rounds=5)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert site.machine.active_source == init_integration.entry_id
    assert twin.power_setpoint_w == -MIN_POWER_W
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_after_the_outage_no_car_and_the_battery_as_it_was(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After the outage: no car to recharge is fine; the Zendure is put back as it was.

    It fed the home at 200 W (output mode) before the outage, and so it does after it,
    its charging limit (800 W) untouched; every write is verified, nothing fails.
    """
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([zendure_entry.entry_id, init_integration.entry_id]))
    zendure_twin = zendure_entry.runtime_data.sim.zendures["zendure"]
    keys = ("acMode", "outputLimit", "inputLimit")
    before = {key: zendure_twin.settings[key] for key in keys}
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert site.machine.active_source == zendure_entry.entry_id
    assert zendure_twin.settings["outputLimit"] == 800  # supplying the 1 kW house
    twin.plug(False)
    await init_integration.runtime_data.status.async_refresh()
    hass.states.async_set(GRID, "on")
    await asyncio.sleep(0.6)
    await _settle(hass, site)
    await settle(hass)
    assert _state(site) is BackupState.GRID
    assert {key: zendure_twin.settings[key] for key in keys} == before
    assert "failed" not in caplog.text
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_switchover_is_timed_not_ticked(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """With a debounce the switch moves right after it, not at the next 1-second tick."""
    from datetime import timedelta

    await async_setup_site_entities(hass)
    with patch("custom_components.v2x.site.TICK", timedelta(minutes=5)):  # no tick to help
        site = await _site(hass, site_entry([init_integration.entry_id], outage_debounce_s=0.3))
    hass.states.async_set(GRID, "off")
    await hass.async_block_till_done()
    assert state_of(hass, TRANSFER).state == "off"
    await asyncio.sleep(0.4)
    await hass.async_block_till_done()
    assert state_of(hass, TRANSFER).state == "on"
    await hass.config_entries.async_unload(site.entry.entry_id)
