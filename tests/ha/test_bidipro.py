"""The EVTEC BiDiPro 10 end to end: added in the flow, gated entities, control, a backup drill.

The family is one profile module and one twin; nothing in the Home Assistant layer
names it. These tests go through the config flow, the mode select and a backup site
the way a user does, against the twin over loopback Modbus TCP.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any, cast

from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, InvalidData
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.const import (
    CONF_DEMAND_CHARGE,
    CONF_DEPARTURE,
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_KIND,
    CONF_LOAD_FORECAST,
    CONF_STATUS_INTERVAL,
    CONF_TARGET_SOC,
    CONF_UNIT_ID,
    CONF_VEHICLE_SETTINGS,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.models import ChargerRuntimeData
from custom_components.v2x.planner.schedule import STEP
from simulator.bidipro import BiDiProConfig, BiDiProTwin
from simulator.world import ScenarioConfig, Simulation

from .building_helpers import FORECAST, METER, MakeBuilding, _now, building_entry, replan
from .conftest import state_of
from .families import refresh_charger
from .flows import open_device_form
from .helpers import setup_entry, unload_entries, wait_until

SERIAL = "BDP10-000042"
PREFIX = "evtec_bidipro_10_bdp10_000042"


@pytest.fixture
async def dsim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """One BiDiPro 10 with a 58 kWh car at 60 %."""
    sim = Simulation(ScenarioConfig(control_port=0, bidipros=[BiDiProConfig(port=0)]))
    await sim.start()
    yield sim
    await sim.stop()


def _twin(sim: Simulation) -> BiDiProTwin:
    return sim.bidipros["bidipro"]


def _data(sim: Simulation) -> dict[str, Any]:
    return {
        CONF_KIND: "charger",
        CONF_FAMILY: "bidipro",
        CONF_HOST: "127.0.0.1",
        CONF_PORT: _twin(sim).server.port,
        CONF_UNIT_ID: 1,
    }


def _entry(sim: Simulation, **options: Any) -> MockConfigEntry:
    slow = {CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"EVTEC BiDiPro 10 {SERIAL}",
        unique_id=SERIAL,
        data=_data(sim),
        options={**DEFAULT_OPTIONS, **slow, **options},
    )


async def test_added_through_the_flow_with_its_documented_defaults(
    hass: HomeAssistant, dsim: Simulation
) -> None:
    """Port 5020 and unit 1 are suggested; the entry is named by the charger's identity."""
    result = await open_device_form(hass, "bidipro")
    schema = result["data_schema"]
    assert schema is not None
    defaults = {str(key): key.default() for key in schema.schema if callable(key.default)}
    assert defaults[CONF_PORT] == 5020
    assert defaults[CONF_UNIT_ID] == 1
    user_input = {k: v for k, v in _data(dsim).items() if k not in (CONF_KIND, CONF_FAMILY)}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"EVTEC BiDiPro 10 {SERIAL}"
    assert result["result"].unique_id == SERIAL
    assert result["data"] == _data(dsim)
    await hass.async_block_till_done()
    await unload_entries(hass, cast("MockConfigEntry", result["result"]))


async def test_entities_follow_what_the_charger_has(hass: HomeAssistant, dsim: Simulation) -> None:
    """SoC, power, capacity and energy in the car; no remote switch, grid or AC sensors."""
    data = await setup_entry(hass, _entry(dsim), ChargerRuntimeData)
    assert state_of(hass, f"sensor.{PREFIX}_vehicle_state_of_charge").state == "60.0"
    charger_state = state_of(hass, f"sensor.{PREFIX}_charger_state")
    assert charger_state.state == "standby"
    assert {"waiting_for_grid", "charge_complete"} <= set(charger_state.attributes["options"])
    assert "controlled_by_app" not in charger_state.attributes["options"]
    assert state_of(hass, f"switch.{PREFIX}_remote_control").state == "off"
    assert state_of(hass, f"sensor.{PREFIX}_vehicle_battery_capacity").state == "58.0"
    assert state_of(hass, f"sensor.{PREFIX}_energy_in_vehicle").state == "34.8"
    unit = cast("MockConfigEntry", data.full.config_entry)
    entries = er.async_entries_for_config_entry(er.async_get(hass), unit.entry_id)
    ids = {e.entity_id for e in entries}
    assert f"switch.{PREFIX}_remote_control" in ids  # V2X's idle timeout armed or not
    assert f"binary_sensor.{PREFIX}_grid_present" not in ids
    assert not [i for i in ids if i.endswith(("_ac_current", "_ac_voltage"))]
    await unload_entries(hass, cast("MockConfigEntry", data.full.config_entry))


async def test_discharge_from_the_mode_select_arms_the_watchdog_at_most_600_s(
    hass: HomeAssistant, dsim: Simulation
) -> None:
    """A 900 s watchdog option is written as the charger's maximum, 600 s."""
    twin = _twin(dsim)
    twin.idle_timeout_s = 300  # the installer's
    data = await setup_entry(hass, _entry(dsim, **{CONF_WATCHDOG: 900}), ChargerRuntimeData)
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: f"select.{PREFIX}_operating_mode", ATTR_OPTION: "discharge"},
        blocking=True,
    )
    assert twin.idle_timeout_s == 600
    assert twin.action == 1
    assert twin.setpoint_w < 0
    await asyncio.sleep(1.5)
    await refresh_charger(data)
    assert float(state_of(hass, f"sensor.{PREFIX}_power").state) < 0
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: f"select.{PREFIX}_operating_mode", ATTR_OPTION: "idle"},
        blocking=True,
    )
    await hass.async_block_till_done()
    assert (twin.action, twin.setpoint_w, twin.idle_timeout_s) == (0, 0, 600)
    await hass.services.async_call(
        "select",
        SERVICE_SELECT_OPTION,
        {ATTR_ENTITY_ID: f"select.{PREFIX}_operating_mode", ATTR_OPTION: "charger_own"},
        blocking=True,
    )
    assert twin.idle_timeout_s == 300  # the installer's, put back when V2X lets go
    await unload_entries(hass, cast("MockConfigEntry", data.full.config_entry))


async def test_the_options_refuse_a_watchdog_beyond_the_charger(
    hass: HomeAssistant, dsim: Simulation
) -> None:
    data = await setup_entry(hass, _entry(dsim), ChargerRuntimeData)
    entry = cast("MockConfigEntry", data.full.config_entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    form = {**DEFAULT_OPTIONS, **entry.options}
    schema = result["data_schema"]
    assert schema is not None
    fields = {str(k): form[str(k)] for k in schema.schema if str(k) in form}
    with pytest.raises(InvalidData, match="watchdog_s"):
        await hass.config_entries.options.async_configure(
            result["flow_id"], {**fields, CONF_WATCHDOG: 900}
        )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**fields, CONF_WATCHDOG: 600}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_WATCHDOG] == 600
    await unload_entries(hass, entry)


async def test_a_backup_drill_runs_on_the_bidipro_and_puts_it_back(
    hass: HomeAssistant, dsim: Simulation
) -> None:
    """A site with the BiDiPro as its only source: it feeds the house, then stands idle again."""
    from .site_helpers import (
        _settle,
        _site,
        _state,
        async_setup_site_entities,
        run_drill,
        site_entry,
    )

    twin = _twin(dsim)
    data = await setup_entry(hass, _entry(dsim), ChargerRuntimeData)
    unit = cast("MockConfigEntry", data.full.config_entry)
    twin.idle_timeout_s = 120  # the installer's
    before = (twin.action, twin.setpoint_w, twin.idle_timeout_s)
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([unit.entry_id]))
    await run_drill(hass, site, 1)
    session = data.controller.session
    assert session is not None
    assert session.mode is OperatingMode.BACKUP
    assert twin.action == 1
    assert twin.setpoint_w < 0
    await asyncio.sleep(1.05)
    await _settle(hass, site)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(site).value == "grid"
    assert (twin.action, twin.setpoint_w, twin.idle_timeout_s) == before
    assert data.controller.session is None
    await hass.config_entries.async_unload(site.entry.entry_id)
    await unload_entries(hass, unit)


async def test_the_bidipro_is_a_building_car(
    hass: HomeAssistant,
    dsim: Simulation,
    make_building: MakeBuilding,
    frozen_clock: list[datetime],
) -> None:
    """In a building's bay it is planned like any car: discharged at the forecast peak."""
    data = await setup_entry(hass, _entry(dsim), ChargerRuntimeData)
    unit = cast("MockConfigEntry", data.full.config_entry)
    start = _now().replace(minute=0)
    peak = range(2, 6)  # 14:30 to 15:30
    hass.states.async_set(
        FORECAST,
        "50",
        {
            "unit_of_measurement": "kW",
            "forecast": [
                {"start": (start + i * STEP).isoformat(), "value": 56.0 if i in peak else 50.0}
                for i in range(-2, 16)
            ],
        },
    )
    template = building_entry([unit.entry_id], {CONF_LOAD_FORECAST: FORECAST})
    settings = {unit.entry_id: {CONF_DEPARTURE: "19:00:00", CONF_TARGET_SOC: 70}}
    manager = await make_building(
        entry=MockConfigEntry(
            domain=DOMAIN,
            title=template.title,
            data=dict(template.data),
            options={
                **template.options,
                CONF_DEMAND_CHARGE: 10.0,
                CONF_VEHICLE_SETTINGS: settings,
            },
        )
    )
    frozen_clock[0] = start + 2 * STEP + timedelta(minutes=1)
    hass.states.async_set(METER, "56", {"unit_of_measurement": "kW", "device_class": "power"})
    await replan(hass, manager)
    plan = manager.data.plan
    assert plan is not None
    (vehicle,) = plan.vehicles
    assert float(vehicle.power_kw[0]) < -1.0  # it gives at the peak
    assert vehicle.shortfall_kwh == 0.0
    twin = _twin(dsim)
    await wait_until(hass, lambda: twin.action == 1 and twin.setpoint_w < -1000, what="discharge")
    assert twin.idle_timeout_s == data.charger.watchdog_s  # armed while the building drives it
    await unload_entries(hass, unit)
