"""A building whose only bay is a stationary battery: an ECHONET Lite storage battery.

The battery is the simulator's 0x027D01 twin (a node without an EV charger), reached
over real loopback UDP through the shared ECHONET Lite endpoint, set up as a charger
entry of the ``echonet_storage`` family like any other. It never leaves: the plan gives
it no departure and no target, discharges it in the dear afternoon hours and never
below its reserve, and the bay has no departure, target or departure-SoC entity.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.building import (
    BuildingManager,
    building_device_identifier,
    vehicle_device_identifier,
)
from custom_components.v2x.const import (
    CONF_DEMAND_CHARGE,
    CONF_DEPARTURE,
    CONF_LOAD_FORECAST,
    CONF_RESERVE_SOC,
    CONF_TARGET_SOC,
    CONF_VEHICLE_SETTINGS,
    DOMAIN,
)
from custom_components.v2x.echonet_support import EchonetShared
from custom_components.v2x.models import ChargerRuntimeData
from custom_components.v2x.planner.schedule import STEP
from simulator.world import Simulation, parse_scenario

from .building_helpers import FORECAST, METER, MakeBuilding, _now, building_entry, replan
from .conftest import device_with
from .families import charger_entry, echonet_twin
from .helpers import wait_until

FAMILY_STORAGE = "echonet_storage"
CAPACITY_KWH = 10.0
SOC_PCT = 60.0
RESERVE_PCT = 40.0
PEAK = slice(2, 6)  # plan steps 14:30 to 15:30
PEAK_STEPS = range(PEAK.start, PEAK.stop)


@pytest.fixture
async def storage_sim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """An ECHONET Lite node holding only a 10 kWh storage battery at 60 %, ±3 kW."""
    sim = Simulation(
        parse_scenario(
            {
                "echonet": [
                    {
                        "port": 0,
                        "ev_charger": False,
                        "storage": {
                            "capacity_kwh": CAPACITY_KWH,
                            "soc_pct": SOC_PCT,
                            "rated_charge_w": 3000,
                            "rated_discharge_w": 3000,
                        },
                    }
                ]
            }
        ),
        control_port=0,
    )
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def storage_entry(
    hass: HomeAssistant, storage_sim: Simulation, echonet_on_loopback: EchonetShared
) -> AsyncIterator[MockConfigEntry]:
    """The storage battery's charger entry, loaded."""
    entry = charger_entry(storage_sim, FAMILY_STORAGE)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    yield entry
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


def _battery_building(storage: MockConfigEntry, data: dict[str, Any]) -> MockConfigEntry:
    """The office of the other tests (peak price 13:00-16:00) with the battery as its bay,
    and a demand charge of 10 per kW.

    The bay asks for a departure and a target, as a car's settings would: a stationary
    battery's are ignored.
    """
    entry = building_entry([storage.entry_id], data, **{CONF_DEMAND_CHARGE: 10.0})
    settings: dict[str, Any] = {
        storage.entry_id: {
            CONF_DEPARTURE: "15:00:00",
            CONF_TARGET_SOC: 100,
            CONF_RESERVE_SOC: RESERVE_PCT,
        }
    }
    return MockConfigEntry(
        domain=DOMAIN,
        title=entry.title,
        data=dict(entry.data),
        options={**entry.options, CONF_VEHICLE_SETTINGS: settings},
    )


def _forecast(hass: HomeAssistant, start: datetime) -> None:
    """50 kW, but 56 kW from 14:30 to 15:30 (plan steps 2 to 5)."""
    hass.states.async_set(
        FORECAST,
        "50",
        {
            "unit_of_measurement": "kW",
            "forecast": [
                {
                    "start": (start + i * STEP).isoformat(),
                    "value": 56.0 if i in PEAK_STEPS else 50.0,
                }
                for i in range(-2, 16)
            ],
        },
    )


async def _battery_office(
    hass: HomeAssistant, make_building: MakeBuilding, storage: MockConfigEntry
) -> BuildingManager:
    """The office with the battery as its only bay and the forecast's peak, planned."""
    data: ChargerRuntimeData = storage.runtime_data
    assert data.charger.capabilities.stationary
    _forecast(hass, _now().replace(minute=0))
    manager = await make_building(entry=_battery_building(storage, {CONF_LOAD_FORECAST: FORECAST}))
    assert manager.data.load_source == "forecast"
    return manager


async def test_a_stationary_battery_cuts_the_peak_and_keeps_its_reserve(
    hass: HomeAssistant, make_building: MakeBuilding, storage_entry: MockConfigEntry
) -> None:
    manager = await _battery_office(hass, make_building, storage_entry)
    vid = storage_entry.entry_id

    # The planner sees a stationary battery: no departure, its reserve the bay's 40 %.
    assert manager.last_input is not None
    (spec,) = manager.last_input.vehicles
    assert spec.stationary
    assert spec.reserve_kwh == pytest.approx(RESERVE_PCT / 100 * CAPACITY_KWH)
    assert spec.capacity_kwh == pytest.approx(CAPACITY_KWH)
    reserve = spec.reserve_kwh
    plan = manager.data.plan
    assert plan is not None
    planned = plan.vehicle(vid)
    assert planned.stationary
    assert planned.shortfall_kwh == 0.0
    # It discharges through the peak at its limit, having charged for it just before
    # (it holds too little above its reserve for the whole hour), charges only off the
    # peak, and never goes below its reserve, to the plan's end: there it is at its
    # reserve, not refilled for nothing.
    power, energy = planned.power_kw, planned.energy_kwh
    assert power[PEAK] == pytest.approx([-3.0] * 4, abs=1e-6)
    assert float(power[: PEAK.start].sum()) > 1.0
    charging = {int(step) for step in np.flatnonzero(power > 1e-6)}
    assert not charging & set(PEAK_STEPS)
    assert plan.peak_kw == pytest.approx(56.0 - 3.0, abs=1e-6)
    assert np.all(energy >= reserve - 1e-6)
    assert float(energy[-1]) == pytest.approx(reserve, abs=1e-6)
    assert plan.feasible
    comparison = manager.data.comparison
    assert comparison is not None
    assert comparison.building_only_peak_kw == pytest.approx(56.0)


async def test_a_stationary_battery_has_no_departure(
    hass: HomeAssistant, make_building: MakeBuilding, storage_entry: MockConfigEntry
) -> None:
    """Neither get_plan, the diagnostics nor the bay's entities claim one."""
    manager = await _battery_office(hass, make_building, storage_entry)
    vid = storage_entry.entry_id
    building_device = device_with(hass, building_device_identifier(manager.entry.entry_id))
    assert building_device is not None
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": building_device.id}, blocking=True, return_response=True
    )
    assert response is not None
    vehicles: list[dict[str, Any]] = response["vehicles"]  # type: ignore[assignment]
    (vehicle,) = vehicles
    assert vehicle["stationary"] is True
    assert vehicle["departure"] is None
    assert vehicle["target_soc_pct"] is None
    assert vehicle["shortfall_kwh"] == 0.0
    assert vehicle["in_plan"] is True
    diagnostics = manager.diagnostics()
    assert diagnostics["vehicles"][vid]["departure"] is None
    assert diagnostics["vehicles"][vid]["stationary"] is True
    assert diagnostics["input"]["vehicles"][0]["stationary"] is True

    # The bay has its planned power, and no departure, target or departure SoC.
    bay = device_with(hass, vehicle_device_identifier(manager.entry.entry_id, vid))
    assert bay is not None
    keys = {
        entity.unique_id.removeprefix(f"v2b_{manager.entry.entry_id}_{vid}_")
        for entity in er.async_entries_for_device(er.async_get(hass), bay.id)
    }
    assert keys == {"planned_power"}
    assert not hass.states.async_all("datetime")
    assert not [s for s in hass.states.async_all("number") if "office" in s.entity_id]
    # Setting a departure for it is refused, translated, and changes nothing.
    with pytest.raises(ServiceValidationError) as refused:
        await hass.services.async_call(
            DOMAIN, "set_departure", {"device_id": bay.id, "target_soc_pct": 90}, blocking=True
        )
    assert refused.value.translation_key == "stationary_no_departure"
    assert manager.diagnostics()["vehicles"][vid]["departure"] is None


async def test_the_plan_discharges_the_battery_at_the_peak(
    hass: HomeAssistant,
    make_building: MakeBuilding,
    frozen_clock: list[datetime],
    storage_entry: MockConfigEntry,
    storage_sim: Simulation,
) -> None:
    """At 14:31, in the peak (the meter reads it too), the twin is told to discharge."""
    manager = await _battery_office(hass, make_building, storage_entry)
    vid = storage_entry.entry_id
    frozen_clock[0] = _now().replace(minute=0) + 2 * STEP + timedelta(minutes=1)
    hass.states.async_set(METER, "56", {"unit_of_measurement": "kW", "device_class": "power"})
    await replan(hass, manager)
    plan = manager.data.plan
    assert plan is not None
    assert float(plan.vehicle(vid).power_kw[0]) < -1.0
    assert manager.executor.sent_w[vid] < -1000
    storage = echonet_twin(storage_sim).storage
    assert storage is not None
    await wait_until(hass, lambda: storage.power_w < -500, what="the battery discharging")


@pytest.mark.usefixtures("make_building")  # the meter and the clock
async def test_car_entities_made_before_the_battery_loaded_go_unavailable(
    hass: HomeAssistant,
    storage_sim: Simulation,
    echonet_on_loopback: EchonetShared,
) -> None:
    """A building started before its bay's charger: the bay gets a car's entities (what
    it holds is not known yet); once the charger is loaded and is a stationary battery,
    they are unavailable, and after a reload they are gone, from the registry too."""
    storage = charger_entry(storage_sim, FAMILY_STORAGE)
    storage.add_to_hass(hass)
    _forecast(hass, _now().replace(minute=0))
    building = _battery_building(storage, {CONF_LOAD_FORECAST: FORECAST})
    building.add_to_hass(hass)
    assert await hass.config_entries.async_setup(building.entry_id)
    await hass.async_block_till_done()
    manager: BuildingManager = building.runtime_data
    registry = er.async_get(hass)
    prefix = f"v2b_{building.entry_id}_{storage.entry_id}_"

    def state_of(key: str) -> str | None:
        entity_id = registry.async_get_entity_id(
            {"departure": "datetime", "target_soc": "number", "departure_soc": "sensor"}[key],
            DOMAIN,
            prefix + key,
        )
        assert entity_id is not None, key
        state = hass.states.get(entity_id)
        return None if state is None else state.state

    keys = ("departure", "target_soc", "departure_soc")
    assert all(state_of(key) != "unavailable" for key in keys)

    assert await hass.config_entries.async_setup(storage.entry_id)
    await hass.async_block_till_done()
    await replan(hass, manager)
    assert manager.last_input is not None
    assert [spec.stationary for spec in manager.last_input.vehicles] == [True]
    assert all(state_of(key) == "unavailable" for key in keys)

    assert await hass.config_entries.async_reload(building.entry_id)
    await hass.async_block_till_done()
    left = {
        entity.unique_id.removeprefix(prefix)
        for entity in er.async_entries_for_config_entry(registry, building.entry_id)
        if entity.unique_id.startswith(prefix)
    }
    assert left == {"planned_power"}
    assert not hass.states.async_all("datetime")
    await hass.config_entries.async_unload(building.entry_id)
    await hass.config_entries.async_unload(storage.entry_id)
    await hass.async_block_till_done()
