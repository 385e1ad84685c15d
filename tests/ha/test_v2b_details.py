"""Vehicle-to-building details: the tick, the inputs, learning, failures, entities, forms."""

from __future__ import annotations

import asyncio
from datetime import date, datetime, time, timedelta
from typing import Any, cast
from unittest.mock import AsyncMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder.core import Recorder
from homeassistant.components.recorder.models import StatisticData, StatisticMeanType
from homeassistant.components.recorder.models.statistics import StatisticMetaData
from homeassistant.components.recorder.statistics import async_import_statistics
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util
import numpy as np
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.v2x.building import (
    RELEARN_EVERY,
    STEP,
    BuildingManager,
    building_device_identifier,
    local_now,
    next_departure,
)
from custom_components.v2x.const import (
    CONF_BILLING_DAY,
    CONF_BUILDING_POWER,
    CONF_DEMAND_CHARGE,
    CONF_IMPORT_LIMIT,
    CONF_KIND,
    CONF_LOAD_FORECAST,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_PRICE_ENTITY,
    CONF_VEHICLES,
    CONF_WEAR_COST,
    DOMAIN,
)
from custom_components.v2x.devices import quasar
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.diagnostics import async_get_config_entry_diagnostics
from custom_components.v2x.models import EntryKind
from custom_components.v2x.planner import guard as planner_guard
from custom_components.v2x.planner.lp import PlannerError, solve
from custom_components.v2x.planner.model import PlannerInputError
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig, QuasarTwin
from simulator.world import Simulation

from .building_helpers import (
    BUILDING_TICK_S,
    FORECAST,
    METER,
    MISSING,
    PRICE,
    MakeBuilding,
    _bay,
    _now,
    building_entry,
    replan,
)
from .conftest import device_with, runtime, state_of
from .helpers import (
    fire_timers,
    refresh_until,
    settle,
    wait_for_plan,
    wait_idle,
    wait_until,
)

# -- the tick ---------------------------------------------------------------------------------


async def test_tick_books_the_finished_step_and_replans(
    hass: HomeAssistant, building: BuildingManager, frozen_clock: list[datetime]
) -> None:
    first = building.data
    assert first.plan is not None
    assert first.comparison is not None
    assert first.start == _now().replace(minute=0)
    assert building.ledger.cost == 0.0
    price = float(first.plan.price[0])
    grid = float(first.plan.grid_kw[0])
    baseline = float(first.comparison.plug_and_charge.grid_kw[0])
    assert price == pytest.approx(0.30)

    frozen_clock[0] = _now() + STEP  # 14:20, in the next step
    await fire_timers(hass, BUILDING_TICK_S)
    await wait_for_plan(hass, building)
    assert building.data.start == _now().replace(minute=15)
    assert building.ledger.day == "2026-11-18"
    assert building.ledger.cost == pytest.approx(0.25 * price * max(grid, 0.0))
    assert building.ledger.baseline_cost == pytest.approx(0.25 * price * baseline)
    cost = building.data.cost_today
    assert cost is not None
    assert cost > building.ledger.cost > 0
    shown = float(state_of(hass, "sensor.office_expected_energy_cost_today").state)
    assert shown == pytest.approx(cost, abs=1e-3)

    # A tick within the same step books nothing and, with the same cars, does not re-plan.
    booked = building.ledger.cost
    frozen_clock[0] = _now() + timedelta(minutes=16)
    await fire_timers(hass, BUILDING_TICK_S)
    assert not building.planning
    assert building.ledger.cost == booked
    assert building.data.start == _now().replace(minute=15)

    # Past midnight the ledger starts over (the step before midnight is not booked).
    frozen_clock[0] = datetime(2026, 11, 19, 0, 5, tzinfo=dt_util.get_default_time_zone())
    await fire_timers(hass, BUILDING_TICK_S)
    await wait_for_plan(hass, building)
    assert building.ledger.day == "2026-11-19"
    assert building.ledger.cost == 0.0
    assert building.ledger.baseline_cost == 0.0
    assert building.data.start == datetime(
        2026, 11, 19, 0, 0, tzinfo=dt_util.get_default_time_zone()
    )


async def test_tick_feeds_the_billed_peak(
    hass: HomeAssistant, building: BuildingManager, frozen_clock: list[datetime]
) -> None:
    assert float(state_of(hass, "sensor.office_billed_peak_this_period").state) == 0.0
    # The grid import is the meter (50 kW, then 80 kW) plus the car (the meter excludes it).
    frozen_clock[0] = _now() + STEP  # 14:20
    await settle(hass)  # no poll still under way lands between a reading and its tick
    first = building.grid_import_kw()
    await fire_timers(hass, BUILDING_TICK_S)
    await wait_for_plan(hass, building)
    frozen_clock[0] = _now() + timedelta(minutes=20)  # 14:25: the meter reads 80 kW
    await settle(hass)
    hass.states.async_set(METER, "80", {"unit_of_measurement": "kW"})
    second = building.grid_import_kw()
    await fire_timers(hass, BUILDING_TICK_S)
    assert first is not None
    assert second is not None
    assert second > first + 20  # the meter rose by 30 kW
    assert building.peak.peak_kw == 0.0  # the 14:15 interval is still under way
    assert building.peak.current_average_kw() == pytest.approx(first)
    frozen_clock[0] = _now() + timedelta(minutes=26)  # 14:31
    third = building.grid_import_kw()  # what the 14:25 tick recorded (no await since)
    await fire_timers(hass, BUILDING_TICK_S)
    await wait_for_plan(hass, building)
    # 14:20-14:30 measured: 5 minutes at the first import and 5 at the second.
    expected = (first + second) / 2
    assert building.peak.peak_kw == pytest.approx(expected)
    assert building.peak.peak_at == _now().replace(minute=15)
    assert building.peak.current_average_kw() == pytest.approx(third)
    billed = float(state_of(hass, "sensor.office_billed_peak_this_period").state)
    assert billed == pytest.approx(expected, abs=1e-3)
    assert building.last_input is not None
    assert building.last_input.billed_peak_kw == pytest.approx(expected)


async def test_billed_peak_counts_the_cars_when_the_meter_excludes_them(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    frozen_clock: list[datetime],
) -> None:
    assert building.meter_includes_vehicles is False
    data = runtime(init_integration)
    status = data.status
    setpoint = data.controller.setpoint_w
    assert setpoint is not None
    assert setpoint < -1000
    await refresh_until(  # until the charger has ramped to the plan's setpoint
        status, lambda data: data is not None and abs(data.power_w - setpoint) < 200
    )
    powers: list[float] = []
    for minutes in (15, 20, 26):  # 14:20, 14:25, 14:31: the 14:15 interval completes
        frozen_clock[0] = _now() + timedelta(minutes=minutes)
        await settle(hass)  # no poll still under way lands between this reading and the tick
        assert status.data is not None
        powers.append(status.data.power_w / 1000)  # what the tick reads
        await fire_timers(hass, BUILDING_TICK_S)
    assert powers[0] < -1.0  # the car discharges into the building
    # The meter read 50 kW throughout; the grid imported 50 kW plus the cars' power.
    expected = 50.0 + (powers[0] + powers[1]) / 2
    assert building.peak.peak_kw == pytest.approx(expected, abs=0.01)
    await wait_idle(hass, building)
    # The building's own load peaked at the meter's 50 kW: the cars cut the bill's peak
    # by what they discharged, and the entities (refreshed by the 14:30 plan) say so.
    assert building.base_peak.peak_kw == pytest.approx(50.0)
    cut = 50.0 - building.peak.peak_kw
    assert cut > 1.0
    own = float(state_of(hass, "sensor.office_peak_without_the_cars_this_period").state)
    assert own == pytest.approx(50.0, abs=1e-3)
    shown_cut = float(state_of(hass, "sensor.office_peak_cut_this_period").state)
    assert shown_cut == pytest.approx(cut, abs=1e-3)
    # At 15 per kW (set now: the next plan shows it), the cut saved 15 x the cut.
    options = {**building.entry.options, CONF_DEMAND_CHARGE: 15.0}
    hass.config_entries.async_update_entry(building.entry, options=options)
    await wait_for_plan(hass, building)
    await wait_idle(hass, building)
    saved = state_of(hass, "sensor.office_demand_charge_saved_this_period")
    assert float(saved.state) == pytest.approx(cut * 15.0, abs=1e-2)


async def test_tick_relearns_the_profile_every_six_hours(
    hass: HomeAssistant, building: BuildingManager, frozen_clock: list[datetime]
) -> None:
    assert building.learned_at == _now()  # learned once at start
    frozen_clock[0] = _now() + RELEARN_EVERY - timedelta(minutes=1)
    await fire_timers(hass, BUILDING_TICK_S)
    await hass.async_block_till_done()
    assert building.learned_at == _now()
    await wait_idle(hass, building)
    frozen_clock[0] = _now() + RELEARN_EVERY
    await fire_timers(hass, BUILDING_TICK_S)
    await hass.async_block_till_done()
    assert building.learned_at == _now() + RELEARN_EVERY
    await wait_idle(hass, building)
    # Without the recorder there is nothing to learn from.
    assert building.profile.empty


async def test_replan_requests_are_coalesced(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    with patch("custom_components.v2x.building_planning.solve", wraps=solve) as spy:
        building.request_replan("one")
        building.request_replan("two")
        building.request_replan("three")
        await wait_for_plan(hass, building)
    # The first request plans; the others, made while it runs, make one more plan.
    assert spy.call_count == 2
    # The coordinator's own refresh keeps the data.
    data = building.data
    await building.async_refresh()
    assert building.data is data


# -- the meter ---------------------------------------------------------------------------------


async def test_meter_units_and_unusable_states(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    assert building.meter_import_kw() == 50.0
    hass.states.async_set(METER, "42000", {"unit_of_measurement": "W"})
    assert building.meter_import_kw() == pytest.approx(42.0)
    assert building.base_load_kw() == pytest.approx(42.0)
    for value in ("unavailable", "unknown", "lots"):
        hass.states.async_set(METER, value, {"unit_of_measurement": "kW"})
        assert building.meter_import_kw() is None
        assert building.base_load_kw() is None
    hass.states.async_remove(METER)
    assert building.meter_import_kw() is None
    # A tick without a reading leaves the billed-peak tracker alone.
    before = (building.peak.as_dict(), building.peak.current_average_kw())
    await fire_timers(hass, BUILDING_TICK_S)
    assert (building.peak.as_dict(), building.peak.current_average_kw()) == before

    await replan(hass, building)
    assert building.data.load_source == "none"
    assert building.last_input is not None
    assert np.all(building.last_input.load_kw == 0.0)
    attributes = state_of(hass, "sensor.office_planned_peak").attributes
    assert attributes["forecast_source"] == "none"

    hass.states.async_set(METER, "30", {"unit_of_measurement": "kW"})
    await fire_timers(hass, BUILDING_TICK_S)
    assert building.peak.period == date(2026, 11, 1)
    await replan(hass, building)
    assert building.data.load_source == "measured"
    assert np.all(building.last_input.load_kw == 30.0)


async def test_meter_including_the_cars_subtracts_them(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
) -> None:
    status = runtime(init_integration).status
    await refresh_until(status, lambda data: data is not None and data.power_w < -500)
    assert status.data is not None
    assert status.data.power_w < -500  # the car discharges into the building
    assert building.base_load_kw() == 50.0
    building.meter_includes_vehicles = True
    # The meter saw 50 kW with the car's discharge in it: the building alone draws more.
    assert building.base_load_kw() == pytest.approx(50.0 - status.data.power_w / 1000)


# -- forecasts and prices ------------------------------------------------------------------


async def test_load_forecast_and_price_entities(
    hass: HomeAssistant, make_building: MakeBuilding
) -> None:
    start = _now().replace(minute=0)
    hass.states.async_set(
        FORECAST,
        "20",
        {
            "unit_of_measurement": "kW",
            "forecast": [
                {"start": (start + i * STEP).isoformat(), "value": 20 + i} for i in range(8)
            ],
        },
    )
    hass.states.async_set(
        PRICE,
        "0.25",
        {
            "prices": [
                {"start": (start + 2 * STEP).isoformat(), "price": 0.5},
                {"start": (start + 3 * STEP).isoformat(), "price": 0.6},
            ]
        },
    )
    manager = await make_building(data={CONF_LOAD_FORECAST: FORECAST, CONF_PRICE_ENTITY: PRICE})
    assert manager.data.load_source == "forecast"
    data = manager.last_input
    assert data is not None
    assert data.load_kw[0] == 50.0  # the step under way: the meter
    assert list(data.load_kw[1:8]) == [21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0]
    assert data.load_kw[8] == 50.0  # past the forecast: the meter again
    assert list(data.price[:5]) == pytest.approx([0.25, 0.30, 0.5, 0.6, 0.30])
    assert data.price[8] == pytest.approx(0.10)  # 16:00: off-peak
    plan = manager.data.plan
    assert plan is not None
    assert list(plan.load_kw[:3]) == [50.0, 21.0, 22.0]
    assert plan.price[2] == pytest.approx(0.5)

    # A forecast in W; a price entity without a price now falls back to the tariff.
    hass.states.async_set(
        FORECAST,
        "20000",
        {
            "unit_of_measurement": "W",
            "forecast": [
                {"start": (start + i * STEP).isoformat(), "value": 10_000 + 1000 * i}
                for i in range(4)
            ],
        },
    )
    hass.states.async_set(
        PRICE, "unknown", {"prices": [{"start": start.isoformat(), "price": "x"}]}
    )
    await replan(hass, manager)
    data = manager.last_input
    assert data is not None
    assert manager.data.load_source == "forecast"
    assert list(data.load_kw[:5]) == [50.0, 11.0, 12.0, 13.0, 50.0]
    assert list(data.price[:3]) == pytest.approx([0.30, 0.30, 0.30])

    # Both entities gone: the meter and the tariff.
    hass.states.async_remove(FORECAST)
    hass.states.async_remove(PRICE)
    await replan(hass, manager)
    data = manager.last_input
    assert data is not None
    assert manager.data.load_source == "measured"
    assert np.all(data.load_kw == 50.0)
    assert data.price[0] == pytest.approx(0.30)


async def test_the_step_under_way_is_a_nowcast_from_the_latest_reading(
    hass: HomeAssistant, make_building: MakeBuilding, frozen_clock: list[datetime]
) -> None:
    # A morning ramp: the forecast jumps from 20 to 60 kW at the next step.
    start = dt_util.now().replace(second=0, microsecond=0)
    start = start - timedelta(minutes=start.minute % 15) + STEP
    hass.states.async_set(
        FORECAST,
        "20",
        {
            "unit_of_measurement": "kW",
            "forecast": [
                {"start": (start + i * STEP).isoformat(), "value": 20.0 if i < 0 else 60.0}
                for i in range(-2, 8)
            ],
        },
    )
    manager = await make_building(data={CONF_LOAD_FORECAST: FORECAST})
    # The plan is made at the boundary; the meter's latest reading (50 kW, reported just
    # now, before the boundary) is 30 kW above the forecast of its step: so is the nowcast.
    frozen_clock[0] = start + timedelta(seconds=5)
    await replan(hass, manager)
    data = manager.last_input
    assert data is not None
    assert data.load_kw[0] == pytest.approx(60.0 + 30.0)
    assert list(data.load_kw[1:4]) == [60.0, 60.0, 60.0]

    # A reading taken in the step under way is the nowcast itself.
    frozen_clock[0] = dt_util.now() - timedelta(seconds=1)
    await replan(hass, manager)
    data = manager.last_input
    assert data is not None
    assert data.load_kw[0] == pytest.approx(50.0)


# -- learning from the recorder ------------------------------------------------------------


def _import_hours(hass: HomeAssistant, first: datetime, means: list[float | None]) -> None:
    fields: dict[str, object] = {
        "mean_type": StatisticMeanType.ARITHMETIC,
        "has_sum": False,
        "name": None,
        "source": "recorder",
        "statistic_id": METER,
        "unit_of_measurement": "W",
    }
    if "unit_class" in StatisticMetaData.__annotations__:
        fields["unit_class"] = "power"  # required since Home Assistant 2026.11
    metadata = cast("StatisticMetaData", fields)
    rows: list[StatisticData] = []
    for hour, mean in enumerate(means):
        row: StatisticData = {"start": first + timedelta(hours=hour)}
        if mean is not None:
            row["mean"] = row["min"] = row["max"] = mean
        rows.append(row)
    async_import_statistics(hass, metadata, rows)


async def test_learns_the_load_profile_from_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    building: BuildingManager,
) -> None:
    assert building.profile.empty  # the recorder had nothing at start
    hass.states.async_set(METER, "50000", {"unit_of_measurement": "W"})
    monday = datetime(2026, 11, 16, tzinfo=dt_util.get_default_time_zone())
    # Monday 00:00-09:00 in W, and an hour without a mean: fewer than a day of samples.
    _import_hours(hass, monday, [10_000.0 + 1000 * hour for hour in range(9)] + [None])
    await async_wait_recording_done(hass)
    await building.async_learn_profile()
    profile = building.profile
    assert profile.days_learned == 1
    assert int(profile.counts.sum()) == 9 * 4
    assert profile.average()[0, 8 * 4 + 2] == pytest.approx(18.0)  # Monday 08:30, in kW
    assert profile.average()[0, 9 * 4] == pytest.approx(profile.average()[0, 0:36].mean())

    # Tuesday all day: a day's worth of hourly samples.
    _import_hours(hass, monday + timedelta(days=1), [20_000.0 + 500 * hour for hour in range(24)])
    await async_wait_recording_done(hass)
    await building.async_learn_profile()
    profile = building.profile
    assert profile.days_learned == 2
    assert profile.average()[1, 14 * 4 + 1] == pytest.approx(27.0)  # Tuesday 14:15

    await replan(hass, building)
    assert building.data.load_source == "learned"
    data = building.last_input
    assert data is not None
    assert data.load_kw[0] == pytest.approx(50.0)  # the meter now
    # Wednesday 14:15 was never seen: Tuesday's 14:15 (the only day with that slot).
    assert data.load_kw[1] == pytest.approx(27.0)


# -- cars that cannot be planned -----------------------------------------------------------


async def test_charger_that_stops_answering_leaves_the_plan(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    sim: Simulation,
    twin: QuasarTwin,
) -> None:
    vehicle_id = init_integration.entry_id
    data = runtime(init_integration)
    assert building.data.vehicles[vehicle_id].planned
    data.charger.transport.timeout_s = 0.3  # type: ignore[attr-defined]
    twin.apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    await data.status.async_refresh()
    assert not data.status.last_update_success
    await wait_until(hass, lambda: building.data.vehicles[vehicle_id].reason == "unavailable")
    await wait_idle(hass, building)
    plan = building.data.plan
    assert plan is not None
    assert plan.vehicles == ()
    vehicle = building.data.vehicles[vehicle_id]
    assert not vehicle.planned
    assert vehicle.planned_power_kw is None
    bay = _bay()
    assert state_of(hass, f"sensor.{bay}_planned_power").state == "unknown"
    assert state_of(hass, f"sensor.{bay}_planned_power").attributes["reason"] == "unavailable"
    assert state_of(hass, f"sensor.{bay}_soc_at_departure").state == "unknown"
    twin.clear_faults()
    await sim.tick()


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, autostart=False)])
async def test_car_without_soc_is_not_planned(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    # No power flows, so the Quasar reports no state of charge.
    vehicle = building.data.vehicles[init_integration.entry_id]
    assert vehicle.reason == "no_soc"
    assert vehicle.soc_pct is None
    assert not vehicle.planned
    plan = building.data.plan
    assert plan is not None
    assert plan.vehicles == ()
    assert state_of(hass, f"sensor.{_bay()}_planned_power").state == "unknown"


async def test_unplugged_car_shows_zero_power_and_no_plan_data(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    twin.plugged = False
    await runtime(init_integration).status.async_refresh()
    await wait_until(
        hass, lambda: building.data.vehicles[init_integration.entry_id].reason == "unplugged"
    )
    await wait_idle(hass, building)
    bay = _bay()
    power = state_of(hass, f"sensor.{bay}_planned_power")
    assert float(power.state) == 0.0
    assert power.attributes["in_plan"] is False
    departure_soc = state_of(hass, f"sensor.{bay}_soc_at_departure")
    assert departure_soc.state == "unknown"
    assert departure_soc.attributes["shortfall_kwh"] is None

    device = device_with(hass, building_device_identifier(building.entry.entry_id))
    assert device is not None
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": device.id}, blocking=True, return_response=True
    )
    assert response is not None
    vehicles: list[dict[str, Any]] = response["vehicles"]  # type: ignore[assignment]
    assert vehicles[0]["in_plan"] is False
    assert vehicles[0]["reason"] == "unplugged"
    assert "power_kw" not in vehicles[0]
    assert response["status"] == "optimal"


async def test_unreachable_target_shows_the_shortfall(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert state_of(hass, "binary_sensor.office_plan_feasible").state == "on"
    vehicle_id = init_integration.entry_id
    await building.async_set_departure(vehicle_id, _now() + timedelta(minutes=15), 100)
    await wait_for_plan(hass, building)
    vehicle = building.data.vehicles[vehicle_id]
    assert vehicle.shortfall_kwh is not None
    assert vehicle.shortfall_kwh > 10  # one step to fill 40 % of a 40 kWh car
    feasible = state_of(hass, "binary_sensor.office_plan_feasible")
    assert feasible.state == "off"
    assert feasible.attributes["shortfall_kwh"] == {
        init_integration.title: round(vehicle.shortfall_kwh, 2)
    }
    assert feasible.attributes["import_above_limit_kw"] == 0.0
    assert feasible.attributes["error"] is None
    departure_soc = float(state_of(hass, f"sensor.{_bay()}_soc_at_departure").state)
    assert departure_soc < 75
    assert "short of its target at departure" in caplog.text


# -- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "error", [PlannerError("HiGHS found no plan"), PlannerInputError("bad load")], ids=str
)
async def test_planner_failure_publishes_no_plan_and_releases_the_car(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    frozen_clock: list[datetime],
    error: Exception,
) -> None:
    vehicle_id = init_integration.entry_id
    data = runtime(init_integration)
    assert data.controller.mode is OperatingMode.DISCHARGE
    assert building.executor.owns(vehicle_id, data)
    with patch("custom_components.v2x.building_planning.solve", side_effect=error):
        building.request_replan("test")
        await wait_idle(hass, building)
        # A step that passes without a plan costs nothing in the ledger.
        frozen_clock[0] = _now() + STEP
        await fire_timers(hass, BUILDING_TICK_S)
        await wait_idle(hass, building)
    assert building.ledger.day == "2026-11-18"
    assert building.ledger.cost == 0.0
    status = building.data
    assert status.start == _now().replace(minute=15)
    assert status.plan is None
    assert status.comparison is None
    assert status.error == str(error)
    assert status.cost_today is None
    assert data.controller.session is None
    assert building.executor.sessions == {}
    planned_peak = state_of(hass, "sensor.office_planned_peak")
    assert planned_peak.state == "unknown"
    assert planned_peak.attributes["status"] is None
    assert planned_peak.attributes["error"] == str(error)
    assert state_of(hass, "sensor.office_expected_energy_cost_today").state == "unknown"
    feasible = state_of(hass, "binary_sensor.office_plan_feasible")
    assert feasible.state == "unknown"
    assert feasible.attributes["import_above_limit_kw"] is None
    assert feasible.attributes["error"] == str(error)

    device = device_with(hass, building_device_identifier(building.entry.entry_id))
    assert device is not None
    response = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": device.id}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["status"] == "no_plan"
    assert response["error"] == str(error)
    assert response["feasible"] is False
    assert response["steps"] == []
    assert response["peak_kw"] is None
    vehicles: list[dict[str, Any]] = response["vehicles"]  # type: ignore[assignment]
    assert vehicles[0]["in_plan"] is True
    assert "power_kw" not in vehicles[0]


async def test_refused_commands_are_logged(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    controller = runtime(init_integration).controller
    refused = AsyncMock(side_effect=HomeAssistantError("refused"))
    with (
        patch.object(controller, "async_start", refused),
        patch.object(controller, "async_adjust_power", refused),
    ):
        building.request_replan("test")
        await wait_for_plan(hass, building)
    assert refused.await_count == 1
    assert "Could not apply" in caplog.text
    assert building.data.plan is not None

    # Stopping fails too: when the planner fails, and when the building unloads.
    caplog.clear()
    failing_stop = AsyncMock(side_effect=HomeAssistantError("no answer"))
    with (
        patch.object(controller, "async_stop", failing_stop),
        patch("custom_components.v2x.building_planning.solve", side_effect=PlannerError("none")),
    ):
        building.request_replan("test")
        await wait_idle(hass, building)
        assert failing_stop.await_count == 1
        assert f"Could not stop {init_integration.title}: no answer" in caplog.text
        assert init_integration.entry_id in building.executor.sessions  # still ours
        assert await hass.config_entries.async_unload(building.entry.entry_id)
        await hass.async_block_till_done()
    assert failing_stop.await_count == 2
    assert "on unload: no answer" in caplog.text
    assert building.executor.sessions == {}


async def test_charger_reload_and_unload_are_followed(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    vehicle_id = init_integration.entry_id
    old = runtime(init_integration).status
    assert building.charger_listeners.coordinator(vehicle_id) is old
    assert await hass.config_entries.async_reload(vehicle_id)
    await hass.async_block_till_done()
    await fire_timers(hass, BUILDING_TICK_S)
    new = runtime(init_integration).status
    assert new is not old
    assert building.charger_listeners.coordinator(vehicle_id) is new
    await wait_idle(hass, building)

    assert await hass.config_entries.async_unload(vehicle_id)
    await hass.async_block_till_done()
    await fire_timers(hass, BUILDING_TICK_S)
    assert vehicle_id not in building.charger_listeners
    await wait_until(hass, lambda: building.data.vehicles[vehicle_id].reason == "unavailable")
    await wait_idle(hass, building)
    plan = building.data.plan
    assert plan is not None
    assert plan.vehicles == ()
    # Its entity is gone; the building unloads without touching it.
    assert await hass.config_entries.async_unload(building.entry.entry_id)
    assert building.executor.sessions == {}


async def test_bay_without_charger_and_saved_state(
    hass: HomeAssistant,
    make_building: MakeBuilding,
    init_integration: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    vehicle_id = init_integration.entry_id
    entry = building_entry([vehicle_id, MISSING])
    departure = _now() + timedelta(hours=5)
    hass_storage[f"{DOMAIN}.v2b.{entry.entry_id}"] = {
        "version": 1,
        "minor_version": 1,
        "key": f"{DOMAIN}.v2b.{entry.entry_id}",
        "data": {
            "peak": {
                "billing_day": 1,
                "period": "2026-11-01",
                "peak_kw": 33.0,
                "peak_at": "2026-11-03T09:15:00-08:00",
            },
            "base_peak": {
                "billing_day": 1,
                "period": "2026-11-01",
                "peak_kw": 40.5,
                "peak_at": "2026-11-03T09:15:00-08:00",
            },
            "ledger": {"day": "2026-11-18", "cost": 1.5, "baseline_cost": 2.5},
            "vehicles": {
                vehicle_id: {"departure": departure.isoformat(), "target": 70},
                MISSING: {"departure": None, "target": "lots"},
                "removed_car": {"departure": None, "target": 90},
            },
        },
    }
    manager = await make_building(entry=entry)
    assert set(manager.bays.cars) == {vehicle_id, MISSING}
    assert manager.departure(vehicle_id) == departure
    assert manager.target_soc(vehicle_id) == 70
    assert manager.target_soc(MISSING) == 100  # the default
    assert manager.peak.peak_kw == 33.0
    assert manager.data.billed_peak_kw == 33.0
    # The building's own peak was kept too (saved before the interval was an option).
    assert manager.base_peak.peak_kw == 40.5
    assert manager.data.peak_cut_kw == pytest.approx(7.5)
    cost = manager.data.cost_today
    assert cost is not None
    assert cost >= 1.5

    assert manager.vehicle_name(MISSING) == MISSING
    assert manager.reserve_soc(MISSING) == 30
    missing = manager.data.vehicles[MISSING]
    assert (missing.planned, missing.reason, missing.soc_pct) == (False, "unavailable", None)
    plan = manager.data.plan
    assert plan is not None
    assert [vehicle.vehicle_id for vehicle in plan.vehicles] == [vehicle_id]
    assert MISSING not in manager.charger_listeners
    manager.meter_includes_vehicles = True
    charger = runtime(init_integration).status.data
    assert charger is not None
    assert manager.base_load_kw() == pytest.approx(50.0 - charger.power_w / 1000)

    # Without a plan, the car the plan drove is released; the bay without a charger is skipped.
    data = runtime(init_integration)
    assert manager.executor.owns(vehicle_id, data)
    with patch("custom_components.v2x.building_planning.solve", side_effect=PlannerError("none")):
        manager.request_replan("test")
        await wait_idle(hass, manager)
    assert manager.data.plan is None
    assert data.controller.session is None
    assert manager.executor.sessions == {}


# -- options, departures, diagnostics ------------------------------------------------------


async def test_options_replan_and_billing_day_resets_the_peak(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    entry = building.entry
    building.peak.add(_now(), 42.0)
    building.peak.add(_now() + timedelta(minutes=20), 10.0)
    tracker = building.peak
    assert tracker.peak_kw == pytest.approx(42.0)

    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_PEAK_PRICE: 0.5})
    await hass.async_block_till_done()
    await wait_for_plan(hass, building)
    assert building.peak is tracker  # same billing day: the peak stays
    assert building.last_input is not None
    assert building.last_input.price[0] == pytest.approx(0.5)
    assert building.last_input.billed_peak_kw == pytest.approx(42.0)

    hass.config_entries.async_update_entry(entry, options={**entry.options, CONF_BILLING_DAY: 5})
    await hass.async_block_till_done()
    await wait_for_plan(hass, building)
    assert building.peak is not tracker
    assert building.peak.billing_day == 5
    assert building.peak.peak_kw == 0.0
    assert building.last_input.billed_peak_kw == 0.0


def test_next_departure() -> None:
    now = datetime(2026, 11, 18, 14, 5, tzinfo=dt_util.get_default_time_zone())
    daily = time(17, 30)
    later_today = now.replace(hour=17, minute=30)
    assert next_departure(now, daily, None) == later_today
    override = now + timedelta(hours=1)
    assert next_departure(now, daily, override) == override
    # A past override no longer counts: the daily time (tomorrow once it has passed today).
    assert next_departure(now, daily, now - timedelta(minutes=1)) == later_today
    assert next_departure(now, time(8, 0), now - timedelta(hours=1)) == now.replace(
        hour=8, minute=0
    ) + timedelta(days=1)
    # Still plugged in just after the daily time: overdue, it leaves at the end of the
    # coming step (kept at target), for two hours; then tomorrow's time.
    assert next_departure(now, time(14, 5), None) == now + STEP
    assert next_departure(now, time(12, 6), None) == now + STEP
    assert next_departure(now, time(12, 5), None) == now.replace(hour=12) + timedelta(days=1)


async def test_manager_before_start(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> None:
    """Defaults of an unstarted manager: wall clock, tariff fallbacks, empty diagnostics.

    The clock is set to 10:00: within the grace after the 23:00 departure the car would
    be overdue (it leaves now), so the wall clock's own time of day must not decide.
    """
    freezer.move_to(datetime(2026, 11, 20, 10, 0, tzinfo=dt_util.get_default_time_zone()))
    options: dict[str, Any] = {
        CONF_PEAK_START: "noon",
        CONF_PEAK_END: "17:00:00",
        CONF_PEAK_WEEKDAYS_ONLY: False,
    }
    entry = building_entry([MISSING], **options)
    entry.add_to_hass(hass)
    manager = BuildingManager(hass, entry)
    before = dt_util.now()
    assert before - timedelta(seconds=1) <= local_now() <= dt_util.now()
    # The real clock: the next 23:00 from now.
    departure = manager.departure(MISSING)
    assert departure.time() == time(23, 0)
    assert timedelta(0) < departure - before <= timedelta(days=1)
    tariff = manager.tariff()
    period = tariff.periods[0]
    assert period.start == time(13, 0)  # unreadable: the default
    assert period.end == time(17, 0)
    assert period.weekdays == frozenset(range(7))
    saturday_peak = datetime(2026, 11, 21, 15, 0, tzinfo=dt_util.get_default_time_zone())
    assert tariff.price_at(saturday_peak) == pytest.approx(0.30)
    diagnostics = manager.diagnostics()
    assert diagnostics["plan"] is None
    assert diagnostics["input"] is None
    assert diagnostics["vehicles"] == {}
    assert diagnostics["load_source"] == "none"
    assert diagnostics["profile_weekdays_learned"] == 0


async def test_diagnostics(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    vehicle_id = init_integration.entry_id
    result = await async_get_config_entry_diagnostics(hass, building.entry)
    assert result["entry"]["title"] == "**REDACTED**"
    assert result["entry"]["data"][CONF_BUILDING_POWER] == METER
    plan = result["plan"]
    assert plan["status"] == "optimal"
    assert plan["feasible"] is True
    assert len(plan["grid_kw"]) == 96
    car = plan["vehicles"][vehicle_id]
    assert car["departure_step"] == 36  # 23:00 is 36 steps after 14:00
    assert car["power_kw"][0] < -1.0
    assert car["shortfall_kwh"] == pytest.approx(0.0, abs=1e-3)
    data = result["input"]
    assert data["load_kw"][:2] == [50.0, 50.0]
    assert data["price"][0] == pytest.approx(0.30)
    assert data["billed_peak_kw"] == 0.0
    assert data["import_limit_kw"] is None
    spec = data["vehicles"][0]
    assert spec["vehicle_id"] == vehicle_id
    assert spec["capacity_kwh"] == 40
    assert spec["target_kwh"] == pytest.approx(32.0)
    assert spec["reserve_kwh"] == pytest.approx(12.0)
    assert spec["min_charge_kw"] == spec["min_discharge_kw"] == quasar.MIN_POWER_W / 1000
    assert plan["binary_steps"] == 0  # no car charges another: no binary needed
    assert plan["below_minimum_kw"] == 0.0
    vehicle = result["vehicles"][vehicle_id]
    assert vehicle["planned"] is True
    assert vehicle["departure"] == _now().replace(hour=23, minute=0).isoformat()
    assert vehicle["target_soc_pct"] == 80
    assert result["peak_tracker"] == {
        "billing_day": 1,
        "interval_min": 15,
        "period": None,
        "peak_kw": 0.0,
        "peak_at": None,
    }
    assert result["load_source"] == "measured"
    assert result["profile_weekdays_learned"] == 0
    assert result["error"] is None


# -- forms ------------------------------------------------------------------------------


async def test_reconfigure_a_building(
    hass: HomeAssistant, building: BuildingManager, init_integration: MockConfigEntry
) -> None:
    entry = building.entry
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_v2b"
    schema_keys = {str(key) for key in result["data_schema"].schema}
    assert "name" not in schema_keys
    assert CONF_LOAD_FORECAST in schema_keys
    vehicles = [init_integration.entry_id]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_VEHICLES: vehicles, CONF_BUILDING_POWER: METER, CONF_LOAD_FORECAST: METER},
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_LOAD_FORECAST: "forecast_is_meter"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_VEHICLES: vehicles,
            CONF_BUILDING_POWER: METER,
            CONF_METER_INCLUDES_VEHICLES: True,
            CONF_LOAD_FORECAST: FORECAST,
            CONF_PRICE_ENTITY: PRICE,
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {
        CONF_KIND: EntryKind.BUILDING.value,
        CONF_VEHICLES: vehicles,
        CONF_BUILDING_POWER: METER,
        CONF_METER_INCLUDES_VEHICLES: True,
        CONF_LOAD_FORECAST: FORECAST,
        CONF_PRICE_ENTITY: PRICE,
    }
    await hass.async_block_till_done()
    manager: BuildingManager = entry.runtime_data
    assert manager is not building
    assert manager.forecast_entity == FORECAST
    assert manager.price_entity == PRICE
    assert manager.meter_includes_vehicles is True
    await wait_for_plan(hass, manager)


async def test_tariff_form_without_import_limit_removes_it(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    entry = building.entry
    tariff = {
        CONF_OFFPEAK_PRICE: 0.1,
        CONF_PEAK_PRICE: 0.3,
        CONF_PEAK_START: "13:00:00",
        CONF_PEAK_END: "16:00:00",
        CONF_PEAK_WEEKDAYS_ONLY: True,
        CONF_DEMAND_CHARGE: 10,
        CONF_BILLING_DAY: 1,
        CONF_WEAR_COST: 0.02,
    }
    for limit in (400, None):
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {"next_step_id": "tariff"}
        )
        user_input = tariff if limit is None else {**tariff, CONF_IMPORT_LIMIT: limit}
        result = await hass.config_entries.options.async_configure(result["flow_id"], user_input)
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
        await wait_for_plan(hass, building)
        assert building.last_input is not None
        assert building.last_input.import_limit_kw == limit
        assert building.last_input.demand_charge_per_kw == 10
    assert CONF_IMPORT_LIMIT not in entry.options
    # A form without the newer fields (a script written before them) keeps them as they were.
    assert (entry.options["demand_interval_min"], entry.options["cautious_guard"]) == (15, False)


async def test_learning_without_recorder_is_a_no_op(
    hass: HomeAssistant, building: BuildingManager, frozen_clock: list[datetime]
) -> None:
    assert "recorder" not in hass.config.components
    frozen_clock[0] = _now() + timedelta(hours=1)
    await building.async_learn_profile()
    assert building.profile.empty
    assert building.learned_at == _now() + timedelta(hours=1)


async def test_no_replan_after_stop(hass: HomeAssistant, building: BuildingManager) -> None:
    assert await hass.config_entries.async_unload(building.entry.entry_id)
    building.request_replan("late")
    assert not building.planning


# -- the real-time peak guard -----------------------------------------------------------------


async def _guarded(
    hass: HomeAssistant, make_building: MakeBuilding, vehicles: list[str] | None = None
) -> BuildingManager:
    """A building with a demand charge, planned, its guard's first look done."""
    manager = await make_building(vehicles, **{CONF_DEMAND_CHARGE: 18.0})
    await hass.async_block_till_done(wait_background_tasks=True)
    return manager


async def test_guard_is_off_without_a_demand_charge(
    hass: HomeAssistant, building: BuildingManager
) -> None:
    assert building.data.plan is not None
    assert state_of(hass, "sensor.office_peak_guard").state == "off"
    assert state_of(hass, "sensor.office_peak_guard_target").state == "unknown"
    assert building.data.guard is None


async def test_guard_raises_discharge_when_the_meter_jumps(
    hass: HomeAssistant,
    make_building: MakeBuilding,
    init_integration: MockConfigEntry,
    frozen_clock: list[datetime],
) -> None:
    """The load jumps 2 kW above the plan's forecast: after 10 s the car discharges."""
    manager = await _guarded(hass, make_building)
    controller = runtime(init_integration).controller
    planned_w = controller.setpoint_w
    plan = manager.data.plan
    assert plan is not None
    assert planned_w is not None
    # The car needs a little charging: at the Quasar's 1.38 kW minimum from 14:10, none
    # now (less than the minimum is not a setpoint it runs).
    assert planned_w == 0
    assert plan.vehicles[0].power_kw[2] == pytest.approx(quasar.MIN_POWER_W / 1000)
    assert state_of(hass, "sensor.office_peak_guard").state == "follow"
    target = float(state_of(hass, "sensor.office_peak_guard_target").state)
    assert target == pytest.approx(plan.peak_kw, abs=1e-3)

    def meter(kw: float, after_s: float = 0.0) -> None:
        frozen_clock[0] += timedelta(seconds=after_s)
        hass.states.async_set(METER, str(kw), {"unit_of_measurement": "kW"})

    meter(52.0)
    await hass.async_block_till_done(wait_background_tasks=True)
    guard = state_of(hass, "sensor.office_peak_guard")
    assert guard.state == "discharge"
    assert controller.setpoint_w == planned_w  # not yet: a correction must hold 10 s
    meter(52.1, after_s=11)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert controller.setpoint_w is not None
    assert controller.setpoint_w < -1000  # charging stopped, discharge raised
    assert manager.guard.corrections == 1
    decision = manager.data.guard
    assert decision is not None
    # 0.74 kW would hold the interval; the Quasar runs from 1.38 kW, so it discharges
    # that much and the import ends below what the interval allows.
    assert controller.setpoint_w == -quasar.MIN_POWER_W
    assert decision.import_kw == pytest.approx(52.1 - quasar.MIN_POWER_W / 1000)
    assert decision.import_kw < decision.allowed_import_kw
    attributes = state_of(hass, "sensor.office_peak_guard").attributes
    assert attributes["over_kw"] == 0.0
    # The load falls back: the plan's own setpoint returns at once.
    meter(50.0, after_s=5)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, "sensor.office_peak_guard").state == "follow"
    assert controller.setpoint_w == planned_w
    interval = float(state_of(hass, "sensor.office_import_this_billing_interval").state)
    assert interval > 50.0  # the 16 s at 52 kW are in the interval's average


@pytest.mark.parametrize("cautious", [False, True])
async def test_cautious_guard_option_reaches_the_guard(
    hass: HomeAssistant, make_building: MakeBuilding, frozen_clock: list[datetime], cautious: bool
) -> None:
    """*Cautious peak guard* runs the planner's cautious guard, its extra charging capped
    at the peak already billed; without it the guard trusts the plan."""
    manager = await make_building(None, **{CONF_DEMAND_CHARGE: 18.0, "cautious_guard": cautious})
    await hass.async_block_till_done(wait_background_tasks=True)
    manager.peak.peak_kw = 41.0  # billed earlier this month
    with patch("custom_components.v2x.building_guard.guard", wraps=planner_guard.guard) as spy:
        frozen_clock[0] += timedelta(seconds=1)
        hass.states.async_set(METER, "50.5", {"unit_of_measurement": "kW"})
        await hass.async_block_till_done(wait_background_tasks=True)
    assert spy.call_count >= 1
    kwargs = spy.call_args.kwargs
    assert kwargs["cautious"] is cautious
    if cautious:
        assert kwargs["charge_ceiling_kw"] == min(41.0, kwargs["target_peak_kw"])
    else:
        assert kwargs["charge_ceiling_kw"] is None
    assert manager.data.guard is not None


async def test_guard_leaves_cars_it_does_not_drive_alone(
    hass: HomeAssistant,
    make_building: MakeBuilding,
    init_integration: MockConfigEntry,
    frozen_clock: list[datetime],
) -> None:
    """A car under someone else's session is not the plan's: the guard does not touch it."""
    manager = await _guarded(hass, make_building)
    controller = runtime(init_integration).controller
    await controller.async_start(OperatingMode.CHARGE, power_w=3000)
    await replan(hass, manager)
    assert manager.data.plan is not None
    assert not manager.data.plan.vehicles  # manual: out of the plan
    for after_s in (0, 11):
        frozen_clock[0] += timedelta(seconds=after_s)
        hass.states.async_set(METER, "80", {"unit_of_measurement": "kW"})
        await hass.async_block_till_done(wait_background_tasks=True)
    assert controller.setpoint_w == 3000
    assert manager.guard.corrections == 0


async def test_an_absurd_meter_reading_is_refused_not_planned_on(
    hass: HomeAssistant,
    building: BuildingManager,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A meter that reads 1e21 kW (a unit or parsing mistake) makes no plan and no traceback."""
    data = runtime(init_integration)
    assert building.executor.owns(init_integration.entry_id, data)
    hass.states.async_set(METER, "1e21", {"unit_of_measurement": "kW"})
    building.request_replan("test")
    await wait_idle(hass, building)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert building.data.plan is None
    assert building.data.error is not None
    assert "load_kw beyond" in building.data.error
    assert state_of(hass, "sensor.office_planned_peak").attributes["error"] == building.data.error
    assert "No V2B plan for Office" in caplog.text
    assert "Traceback" not in caplog.text
    assert data.controller.session is None  # the plan's session stopped
    assert state_of(hass, "sensor.office_peak_guard").state == "off"


async def test_guard_readings_while_it_sends_or_plans_and_bad_readings(
    hass: HomeAssistant,
    make_building: MakeBuilding,
    init_integration: MockConfigEntry,
    frozen_clock: list[datetime],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Readings that arrive while a setpoint is on its way are coalesced; a re-plan that
    starts meanwhile publishes itself; an impossible reading is logged, not used."""
    manager = await _guarded(hass, make_building, [init_integration.entry_id, MISSING])
    planned_w = runtime(init_integration).controller.setpoint_w
    hass.states.async_set(METER, "52", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done(wait_background_tasks=True)
    frozen_clock[0] += timedelta(seconds=11)
    # Two readings in one go: the first one's setpoint is still being written (real
    # Modbus) when the second arrives, and a re-plan starts before the write returns.
    hass.states.async_set(METER, "52.1", {"unit_of_measurement": "kW"})
    hass.states.async_set(METER, "52.2", {"unit_of_measurement": "kW"})
    await asyncio.sleep(0)
    manager.request_replan("test")
    await hass.async_block_till_done(wait_background_tasks=True)
    await wait_idle(hass, manager)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert manager.guard.corrections >= 1  # the first reading's correction was sent
    assert manager.data.guard is not None  # and the guard looked again after the plan
    assert planned_w is not None
    # A reading no building makes (a unit or parsing mistake): logged, not acted on.
    before = manager.guard.corrections
    hass.states.async_set(METER, "1e21", {"unit_of_measurement": "kW"})
    await hass.async_block_till_done(wait_background_tasks=True)
    assert "Peak guard: guard: load_kw" in caplog.text
    after = manager.data
    assert after.guard is None
    assert manager.guard.corrections == before
    # "nan" parses as a float, but it is no reading: the meter counts as unknown.
    hass.states.async_set(METER, "nan", {"unit_of_measurement": "kW"})
    assert manager.meter_import_kw() is None
    assert "Traceback" not in caplog.text
