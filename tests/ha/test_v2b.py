"""Vehicle-to-building peak shaving in Home Assistant, against the simulated Quasar."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.const import ATTR_ENTITY_ID
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.v2x.building import (
    STEP,
    BuildingManager,
    building_device_identifier,
    vehicle_device_identifier,
)
from custom_components.v2x.const import (
    CONF_BUILDING_POWER,
    CONF_DEMAND_CHARGE,
    CONF_DEPARTURE,
    CONF_KIND,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_TARGET_SOC,
    CONF_VEHICLE_SETTINGS,
    CONF_VEHICLES,
    DOMAIN,
)
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.models import EntryKind
from simulator.quasar import QuasarTwin

from .building_helpers import (
    METER,
    _now,
    v2b_entry,
)
from .conftest import device_with, runtime, state_of
from .helpers import wait_for_plan, wait_until


async def test_plan_discharges_at_peak_and_the_charger_follows(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    plan = building.data.plan
    assert plan is not None
    assert plan.status == "optimal"
    car = plan.vehicles[0]
    # 14:05 on a weekday at peak price: discharge now (above the 30 % reserve), refill later.
    assert car.power_kw[0] < -1.0
    assert car.departure_energy_kwh == pytest.approx(0.8 * 40, abs=1e-3)
    controller = runtime(init_integration).controller
    assert controller.mode is OperatingMode.DISCHARGE
    assert controller.setpoint_w == pytest.approx(car.power_kw[0] * 1000, abs=1)
    await wait_until(hass, lambda: twin.actual_power_w < -500)

    assert float(state_of(hass, "sensor.office_peak_without_v2b").state) == pytest.approx(50.0)
    planned_peak = state_of(hass, "sensor.office_planned_peak")
    assert float(planned_peak.state) == pytest.approx(plan.peak_kw, abs=1e-3)
    assert planned_peak.attributes["status"] == "optimal"
    assert len(planned_peak.attributes["grid_kw"]) == 96
    assert float(state_of(hass, "sensor.office_peak_reduction").state) == pytest.approx(
        50.0 - plan.peak_kw, abs=1e-3
    )
    assert state_of(hass, "binary_sensor.office_plan_feasible").state == "on"
    bay = "office_bay_1"  # the bay's device, "Office bay 1"
    power = state_of(hass, f"sensor.{bay}_planned_power")
    assert float(power.state) == pytest.approx(car.power_kw[0], abs=1e-3)
    assert float(state_of(hass, f"sensor.{bay}_soc_at_departure").state) == pytest.approx(80)
    assert float(state_of(hass, f"number.{bay}_target_soc").state) == 80
    departure = dt_util.parse_datetime(state_of(hass, f"datetime.{bay}_departure").state)
    assert departure == _now().replace(hour=23, minute=0)
    assert float(state_of(hass, "sensor.office_expected_savings_today").state) > 0


async def test_unplugged_car_leaves_the_plan_and_the_charger_stops(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    controller = runtime(init_integration).controller
    assert controller.mode is OperatingMode.DISCHARGE
    twin.plugged = False
    await runtime(init_integration).status.async_refresh()
    await wait_for_plan(hass, building)
    await wait_until(hass, lambda: not building.planning and controller.session is None)
    assert building.data.plan is not None
    assert building.data.plan.vehicles == ()
    vehicle = building.data.vehicles[init_integration.entry_id]
    assert vehicle.reason == "unplugged"
    assert controller.session is None


async def test_manual_session_is_left_alone(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    controller = runtime(init_integration).controller
    await controller.async_start(OperatingMode.CHARGE, power_w=2000)
    building.request_replan("test")
    await wait_for_plan(hass, building)
    await hass.async_block_till_done()
    assert building.data.vehicles[init_integration.entry_id].reason == "manual"
    assert controller.mode is OperatingMode.CHARGE
    assert controller.session is not None
    assert controller.session.power_w == 2000


def _building_and_bay(
    hass: HomeAssistant, building: BuildingManager, charger: MockConfigEntry
) -> tuple[dr.DeviceEntry, dr.DeviceEntry]:
    """The building's device and the device of its bay for ``charger``."""
    building_device = device_with(hass, building_device_identifier(building.entry.entry_id))
    bay = device_with(hass, vehicle_device_identifier(building.entry.entry_id, charger.entry_id))
    assert building_device is not None
    assert bay is not None
    return building_device, bay


async def test_get_plan_and_set_departure(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    building_device, bay = _building_and_bay(hass, building, init_integration)
    # The bay's page links to its charger, and its name is short and not the charger's.
    charger = device_with(hass, (DOMAIN, "20240117"))
    assert charger is not None
    assert bay.via_device_id == charger.id != building_device.id
    assert bay.name == f"{building.entry.title} bay 1" != charger.name
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": building_device.id}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["status"] == "optimal"
    steps: list[dict[str, Any]] = response["steps"]  # type: ignore[assignment]
    assert len(steps) == 96
    assert steps[0]["start"] == _now().replace(minute=0).isoformat()
    vehicles: list[dict[str, Any]] = response["vehicles"]  # type: ignore[assignment]
    assert vehicles[0]["in_plan"] is True
    assert len(vehicles[0]["power_kw"]) == 96

    first_plan = building.data.plan
    assert first_plan is not None
    new_departure = _now() + timedelta(hours=2)
    with patch("homeassistant.util.dt.now", return_value=_now()):
        await hass.services.async_call(
            DOMAIN,
            "set_departure",
            {"device_id": bay.id, "departure": new_departure.isoformat(), "target_soc_pct": 70},
            blocking=True,
        )
    await wait_for_plan(hass, building)
    assert building.departure(init_integration.entry_id) == new_departure
    assert building.target_soc(init_integration.entry_id) == 70
    plan = building.data.plan
    assert plan is not None
    # The new plan was made next to the last one (same step: nothing moved on), so that
    # of equal plans it keeps to what the car was told.
    assert building.last_input is not None
    previous = building.last_input.previous_kw
    assert previous is not None
    assert previous[init_integration.entry_id] == pytest.approx(
        first_plan.vehicle(init_integration.entry_id).power_kw
    )
    assert plan.vehicles[0].departure_step == 8  # full by 16:00, the start of the 16:05 step
    assert plan.vehicles[0].target_kwh == pytest.approx(28.0)
    assert not plan.vehicles[0].beyond_horizon

    # The charger's own device works too.
    charger_device = device_with(hass, (DOMAIN, "20240117"))
    assert charger_device is not None
    await hass.services.async_call(
        DOMAIN,
        "set_departure",
        {"device_id": charger_device.id, "target_soc_pct": 90},
        blocking=True,
    )
    assert building.target_soc(init_integration.entry_id) == 90


async def test_a_car_away_for_the_weekend_is_planned_towards_its_target(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    building_device, bay = _building_and_bay(hass, building, init_integration)
    # Away for the weekend: the car leaves 60 h from now, after the plan's 24 h. It is
    # planned towards its target, not to it by the plan's end, and the entities say so.
    weekend = _now() + timedelta(hours=60)
    with patch("homeassistant.util.dt.now", return_value=_now()):
        await hass.services.async_call(
            DOMAIN,
            "set_departure",
            {"device_id": bay.id, "departure": weekend.isoformat()},
            blocking=True,
        )
    await wait_for_plan(hass, building)
    assert building.last_input is not None
    assert building.last_input.vehicles[0].departure_step == 240
    plan = building.data.plan
    assert plan is not None
    assert plan.vehicles[0].beyond_horizon
    assert plan.vehicles[0].shortfall_kwh == 0.0
    await hass.async_block_till_done()
    soc_sensors = [
        state
        for state in hass.states.async_all("sensor")
        if state.entity_id.endswith("_soc_at_departure")
    ]
    assert [state.attributes["departure_beyond_plan"] for state in soc_sensors] == [True]
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": building_device.id}, blocking=True, return_response=True
    )
    assert response is not None
    planned: list[dict[str, Any]] = response["vehicles"]  # type: ignore[assignment]
    assert planned[0]["departure_beyond_plan"] is True


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"target_soc_pct": 20}, "target_below_reserve"),
        ({"departure": "2020-01-01T08:00:00+00:00"}, "departure_out_of_range"),
        ({}, "departure_or_target"),
    ],
)
async def test_set_departure_rejects_bad_input(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    data: dict[str, Any],
    key: str,
) -> None:
    bay = device_with(
        hass, vehicle_device_identifier(building.entry.entry_id, init_integration.entry_id)
    )
    assert bay is not None
    before = (
        building.departure(init_integration.entry_id),
        building.target_soc(init_integration.entry_id),
    )
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_departure", {"device_id": bay.id, **data}, blocking=True
        )
    assert err.value.translation_key == key
    after = (
        building.departure(init_integration.entry_id),
        building.target_soc(init_integration.entry_id),
    )
    assert after == before


@pytest.mark.parametrize("flag", [True, False])
async def test_set_departure_refuses_a_boolean_target(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    flag: bool,
) -> None:
    """`target_soc_pct: true` is refused by the schema, not read as 1 %."""
    bay = device_with(
        hass, vehicle_device_identifier(building.entry.entry_id, init_integration.entry_id)
    )
    assert bay is not None
    before = building.target_soc(init_integration.entry_id)
    with pytest.raises(vol.Invalid, match="boolean"):
        await hass.services.async_call(
            DOMAIN, "set_departure", {"device_id": bay.id, "target_soc_pct": flag}, blocking=True
        )
    assert building.target_soc(init_integration.entry_id) == before


async def test_set_departure_on_the_building_device_is_refused(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    device = device_with(hass, building_device_identifier(building.entry.entry_id))
    assert device is not None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_departure", {"device_id": device.id, "target_soc_pct": 90}, blocking=True
        )
    assert err.value.translation_key == "not_a_v2b_vehicle"


async def test_target_and_departure_entities(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    bay = "office_bay_1"  # the bay's device, "Office bay 1"
    await hass.services.async_call(
        "number",
        "set_value",
        {ATTR_ENTITY_ID: f"number.{bay}_target_soc", "value": 65},
        blocking=True,
    )
    await wait_for_plan(hass, building)
    assert building.target_soc(init_integration.entry_id) == 65
    plan = building.data.plan
    assert plan is not None
    assert plan.vehicles[0].target_kwh == pytest.approx(26.0)
    leave = _now() + timedelta(hours=3)
    await hass.services.async_call(
        "datetime",
        "set_value",
        {ATTR_ENTITY_ID: f"datetime.{bay}_departure", "datetime": leave},
        blocking=True,
    )
    assert building.departure(init_integration.entry_id) == leave
    assert dt_util.parse_datetime(state_of(hass, f"datetime.{bay}_departure").state) == leave


async def test_saved_state_survives_a_reload(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    await building.async_set_departure(init_integration.entry_id, None, 75)
    building.peak.add(_now(), 42.0)
    building.peak.add(_now() + timedelta(minutes=20), 10.0)
    assert building.peak.peak_kw == pytest.approx(42.0)
    entry = building.entry
    await hass.config_entries.async_reload(entry.entry_id)
    manager: BuildingManager = entry.runtime_data
    await wait_for_plan(hass, manager)
    assert manager is not building
    assert manager.target_soc(init_integration.entry_id) == 75
    assert manager.peak.peak_kw == pytest.approx(42.0)
    assert manager.last_input is not None
    assert manager.last_input.billed_peak_kw == pytest.approx(42.0)


async def test_config_flow_creates_a_building(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    hass.states.async_set(METER, "50", {"unit_of_measurement": "kW", "device_class": "power"})
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "v2b"}
    )
    assert result["type"] is FlowResultType.FORM
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "HQ", CONF_VEHICLES: [], CONF_BUILDING_POWER: METER},
    )
    assert result["errors"] == {CONF_VEHICLES: "no_vehicles"}
    with patch("custom_components.v2x.async_setup_entry", return_value=True):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {"name": "HQ", CONF_VEHICLES: [init_integration.entry_id], CONF_BUILDING_POWER: METER},
        )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "HQ"
    assert result["data"] == {
        CONF_KIND: EntryKind.BUILDING.value,
        CONF_VEHICLES: [init_integration.entry_id],
        CONF_BUILDING_POWER: METER,
        CONF_METER_INCLUDES_VEHICLES: True,
    }


async def test_config_flow_without_chargers_aborts(hass: HomeAssistant) -> None:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "v2b"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_chargers"


async def test_options_flow_tariff_and_vehicle(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    entry = building.entry
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "building"  # titled "Building options", not the charger's
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "tariff"}
    )
    # The form suggests the 15-minute demand interval (a select's value is text).
    schema = result["data_schema"]
    assert schema is not None
    suggested = {
        str(key): key.description["suggested_value"] for key in schema.schema if key.description
    }
    assert suggested["demand_interval_min"] == "15"
    assert suggested["cautious_guard"] is False
    building.peak.peak_kw = 80.0  # billed at 15 minutes so far this month
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_OFFPEAK_PRICE: 0.12,
            CONF_PEAK_PRICE: 0.40,
            CONF_PEAK_START: "12:00:00",
            CONF_PEAK_END: "18:00:00",
            CONF_PEAK_WEEKDAYS_ONLY: False,
            CONF_DEMAND_CHARGE: 15,
            "billing_day": 5,
            "demand_interval_min": "30",
            "cautious_guard": True,
            "import_limit_kw": 400,
            "wear_cost_per_kwh": 0.03,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options["import_limit_kw"] == 400
    assert entry.options["demand_interval_min"] == 30
    assert entry.options["cautious_guard"] is True
    assert entry.options[CONF_VEHICLE_SETTINGS]  # the cars' settings are kept
    await wait_for_plan(hass, building)
    assert building.last_input is not None
    assert building.last_input.import_limit_kw == 400
    assert building.last_input.price[0] == pytest.approx(0.40)
    # Half-hour intervals: the plan bills two steps together, the guard and the billed
    # peak average half hours, and a peak measured over quarter hours no longer counts.
    assert building.last_input.billing_steps == 2
    assert building.peak.interval_min == 30
    assert building.base_peak.interval_min == 30
    assert building.peak.peak_kw == 0.0
    assert building.last_input.billed_peak_kw == 0.0

    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "vehicle"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"vehicle": init_integration.entry_id}
    )
    assert result["step_id"] == "vehicle_settings"
    settings = {
        CONF_DEPARTURE: "18:00:00",
        CONF_TARGET_SOC: 50,
        "reserve_soc_pct": 60,
        "efficiency_pct": 90,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], settings)
    assert result["errors"] == {"reserve_soc_pct": "reserve_above_target"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**settings, "reserve_soc_pct": 40, "capacity_kwh": 62}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_VEHICLE_SETTINGS][init_integration.entry_id]["capacity_kwh"] == 62
    await wait_for_plan(hass, building)
    assert building.last_input is not None
    spec = building.last_input.vehicles[0]
    assert spec.capacity_kwh == 62
    assert spec.reserve_kwh == pytest.approx(0.4 * 62)
    assert spec.round_trip_efficiency == pytest.approx(0.9)
    # The SoC reading (whole percent) is taken at its lower end: 60 % of 62 kWh, less 0.5 %.
    assert twin.battery.soc_pct == pytest.approx(60.0, abs=0.5)
    assert spec.energy_kwh == pytest.approx((round(twin.battery.soc_pct) - 0.5) / 100 * 62)


async def test_an_idle_car_is_held_at_zero_not_left_to_its_autostart(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    frozen_clock: list[datetime],
    twin: QuasarTwin,
) -> None:
    # Under its own logic the Quasar charges a plugged-in car at full power (autostart).
    assert not twin.remote
    await wait_until(hass, lambda: twin.actual_power_w > 5000)
    frozen_clock.append(_now())
    hass.states.async_set(METER, "50", {"unit_of_measurement": "kW", "device_class": "power"})
    # One flat price, no demand charge, a car above its target: nothing to gain.
    entry = v2b_entry(
        init_integration.entry_id,
        **{
            CONF_PEAK_PRICE: 0.10,
            CONF_VEHICLE_SETTINGS: {
                init_integration.entry_id: {CONF_DEPARTURE: "23:00:00", CONF_TARGET_SOC: 50}
            },
        },
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    manager: BuildingManager = entry.runtime_data
    vehicle = init_integration.entry_id
    await wait_for_plan(hass, manager)
    plan = manager.data.plan
    assert plan is not None
    assert abs(plan.vehicles[0].power_kw[0]) < 0.1
    # The plan says 0 W: the building holds the charger there under remote control.
    described = twin.describe()  # (mypy narrowed twin.remote to False above)
    assert described["remote"] is True
    assert described["running"] is False
    assert runtime(init_integration).controller.setpoint_w == 0
    await wait_until(hass, lambda: abs(twin.actual_power_w) < 1)

    # The car leaves and comes back: held idle, the Quasar shows no SoC (no power flows).
    # The building charges it gently until the SoC is known, then plans it again.
    twin.plug(False)
    await wait_until(hass, lambda: manager.data.vehicles[vehicle].reason == "unplugged")
    twin.plug(True)
    await wait_until(hass, lambda: manager.data.vehicles[vehicle].reason == "no_soc")
    await wait_until(hass, lambda: twin.actual_power_w > 500)  # the probe
    await wait_until(hass, lambda: manager.data.vehicles[vehicle].planned, seconds=60)
    await wait_until(hass, lambda: abs(twin.actual_power_w) < 1)  # planned idle again
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_demand_charge_is_planned_on_today_only(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    # At 14:00 the 24-hour horizon ends tomorrow at 14:00, when no car is in the plan:
    # tomorrow's peak must not make shaving today's look worthless.
    data = building.last_input
    assert data is not None
    start = building.data.start
    assert start is not None
    today = [start + index * STEP for index in range(data.steps)]
    assert data.billed_steps.tolist() == [moment.date() == start.date() for moment in today]
    assert 0 < int(data.billed_steps.sum()) < data.steps
