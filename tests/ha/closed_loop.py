"""A vehicle-to-building day in lock-step virtual time: Home Assistant and the simulator.

Both run in one event loop on one virtual clock (freezegun moves ``time``, ``datetime``
and the event loop's clock; the simulator's :class:`~simulator.clock.SimClock` reads
the same ``time.monotonic``). Each tick moves the clock one second, then lets every
timer that fell due run (charger polls at their default intervals, the building's
10-second tick, the simulator's physics) and waits until Home Assistant has nothing
left to do, with real Modbus TCP on loopback in between. The day therefore runs as
fast as the machine allows, with every interval exactly as in production.

The building is the simulator's side of the meter: its base load (piecewise constant
per 15 minutes) plus what the simulated chargers really deliver, published as the
building power sensor (``meter_includes_vehicles``) every tick. The same base load is
the load-forecast entity's ``forecast`` attribute (a perfect forecast), so what the
measured peak differs from the plan by is the execution: polling and setpoint delays,
power ramps, SoC read in whole percent, and the car's real efficiency. A day may also
give what the building really draws, minute by minute (``Day.actual_load_kw``): then
the forecast is wrong, as a real one is, and the peak guard has something to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
import time as _time
from typing import Any, TypeVar

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import numpy as np
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.building import BuildingManager
from custom_components.v2x.const import (
    CONF_BUILDING_POWER,
    CONF_DEMAND_CHARGE,
    CONF_DEPARTURE,
    CONF_EFFICIENCY,
    CONF_FAMILY,
    CONF_KIND,
    CONF_LOAD_FORECAST,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_RESERVE_SOC,
    CONF_TARGET_SOC,
    CONF_UNIT_ID,
    CONF_VEHICLE_SETTINGS,
    CONF_VEHICLES,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.models import EntryKind
from custom_components.v2x.planner.series import instant
from simulator.battery import Battery
from simulator.clock import SimClock
from simulator.quasar import QuasarConfig, QuasarTwin
from simulator.world import ScenarioConfig, Simulation
from tests.ha.flows import FAMILY_QUASAR1
from tests.ha.helpers import real_seconds, settle

METER = "sensor.closed_loop_building_power"
FORECAST = "sensor.closed_loop_load_forecast"
STEP = timedelta(minutes=15)
STEPS_PER_DAY = 96
TICK = timedelta(seconds=1)
SETUP_LEAD = timedelta(minutes=1)
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class Car:
    """One car of the day: when it comes and goes, and what it wants."""

    name: str
    arrival: time
    departure: time
    arrival_soc_pct: float
    target_soc_pct: float = 90.0
    reserve_soc_pct: float = 30.0
    capacity_kwh: float = 40.0


@dataclass(frozen=True, slots=True)
class Day:
    """The scenario: one day from ``start`` to ``end`` (local times)."""

    day: date
    base_load_kw: np.ndarray[Any, np.dtype[np.float64]]
    """96 values, the building without the cars, one per 15 minutes from midnight."""
    cars: tuple[Car, ...]
    start: time = time(0, 0)
    end: time | None = None
    """None: midnight at the end of the day."""
    charger_w: int = 6000
    efficiency_pct: float = 90.0
    """The planner's round-trip efficiency setting (the simulated car: 0.95 each way)."""
    offpeak_price: float = 0.10
    peak_price: float = 0.32
    peak_hours: tuple[time, time] = (time(13), time(19))
    demand_charge_per_kw: float = 18.0
    actual_load_kw: np.ndarray[Any, np.dtype[np.float64]] | None = None
    """1,440 values, what the building really draws each minute without the cars, where
    it is not what the forecast (``base_load_kw``) said; None: the forecast is right."""


@dataclass(slots=True)
class StepRecord:
    """One 15-minute step: measured on the simulator's side, and planned."""

    start: datetime
    measured_kw: float
    planned_kw: float | None
    vehicles_kw: float
    warmup: bool = False
    """The first step: Home Assistant started just before it."""
    car_moved: bool = False
    """A car arrived or left during the step (its plan was made for part of it)."""


@dataclass(slots=True)
class Departure:
    """A car leaving: its measured state of charge against the target."""

    name: str
    at: datetime
    soc_pct: float
    target_soc_pct: float
    planned_soc_pct: float | None


@dataclass(slots=True)
class DayResult:
    """Everything measured over the day."""

    steps: list[StepRecord] = field(default_factory=list)
    departures: list[Departure] = field(default_factory=list)
    ticks: int = 0
    late_settles: int = 0
    wall_s: float = 0.0
    modbus_requests: int = 0
    watchdog_expiries: int = 0
    plans: int = 0
    morning_planned_peak_kw: float | None = None
    guard_ticks: dict[str, int] = field(default_factory=dict)
    """Ticks at the end of which the building showed each peak-guard action."""

    def step_errors_kw(self, *, car_moved: bool = False) -> list[float]:
        """|measured - planned| of the planned steps after the first, with no car
        arriving or leaving (or, with ``car_moved``, of those where one did)."""
        return [
            abs(step.measured_kw - step.planned_kw)
            for step in self.steps
            if step.planned_kw is not None and not step.warmup and step.car_moved == car_moved
        ]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (for the benchmark, which runs this through pytest)."""
        return {
            "steps": [
                {
                    "start": step.start.isoformat(),
                    "measured_kw": step.measured_kw,
                    "planned_kw": step.planned_kw,
                    "vehicles_kw": step.vehicles_kw,
                    "warmup": step.warmup,
                    "car_moved": step.car_moved,
                }
                for step in self.steps
            ],
            "departures": [
                {
                    "name": departure.name,
                    "at": departure.at.isoformat(),
                    "soc_pct": departure.soc_pct,
                    "target_soc_pct": departure.target_soc_pct,
                    "planned_soc_pct": departure.planned_soc_pct,
                }
                for departure in self.departures
            ],
            "ticks": self.ticks,
            "late_settles": self.late_settles,
            "wall_s": self.wall_s,
            "modbus_requests": self.modbus_requests,
            "watchdog_expiries": self.watchdog_expiries,
            "plans": self.plans,
            "morning_planned_peak_kw": self.morning_planned_peak_kw,
            "guard_ticks": self.guard_ticks,
        }

    @property
    def measured_peak_kw(self) -> float:
        """The day's highest 15-minute average of grid import, measured."""
        return max(step.measured_kw for step in self.steps)


class CoSimulation:
    """Home Assistant, the V2X building and the simulated chargers on one virtual clock."""

    def __init__(self, hass: HomeAssistant, freezer: FrozenDateTimeFactory, day: Day) -> None:
        """Prepare; :meth:`async_start` builds the world."""
        self.hass = hass
        self.freezer = freezer
        self.day = day
        zone = dt_util.get_default_time_zone()
        self.begin = datetime.combine(day.day, day.start, zone)
        end_day = day.day if day.end is not None else day.day + timedelta(days=1)
        self.finish = datetime.combine(end_day, day.end or time(0), zone)
        if (self.begin - datetime.combine(day.day, time(0), zone)) % STEP:
            raise ValueError("the day must start on a 15-minute step")
        self.sim: Simulation | None = None
        self.building: BuildingManager | None = None
        self.twins: dict[str, QuasarTwin] = {}
        self.result = DayResult()
        self._plugged: dict[str, bool] = {}
        self._entry_ids: dict[str, str] = {}
        self._morning_soc: dict[str, float] = {}
        self._entries: list[MockConfigEntry] = []

    # -- virtual time ---------------------------------------------------------------

    async def _settle(self) -> bool:
        """Let Home Assistant finish what the last tick started; False if it ran late.

        Only a task that waits for a timer would take longer than the budget (the virtual
        clock stands still while a tick settles); it would continue on the next ticks, as
        in production, and the tick counts as late. A plan's solve or a poll on a slow,
        loaded machine (coverage on two cores) is not a timer: the clock waits for it.
        With a budget of a fraction of a second it did not, and which plans were made,
        and so the day's peak, depended on the machine's speed (a measured peak of
        134.25 kW against 132.35 planned, only in CI).
        """
        return await settle(self.hass)

    async def _run(self, awaitable: Awaitable[_T]) -> _T:
        """Await something that needs time to pass (set-up, unload) in 10 ms steps."""
        task = asyncio.ensure_future(awaitable)
        spins = 0
        while not task.done():
            await asyncio.sleep(0)
            spins += 1
            if spins % 20 == 0:
                self.freezer.tick(timedelta(milliseconds=10))
        return task.result()

    # -- the world ------------------------------------------------------------------

    def base_load_kw(self, moment: datetime) -> float:
        """The building without the cars at ``moment``: what it really draws."""
        midnight = datetime.combine(moment.date(), time(0), moment.tzinfo)
        if self.day.actual_load_kw is not None:
            minute = int((moment - midnight) / timedelta(minutes=1)) % (24 * 60)
            return float(self.day.actual_load_kw[minute])
        index = int((moment - midnight) / STEP) % STEPS_PER_DAY
        return float(self.day.base_load_kw[index])

    def vehicles_kw(self) -> float:
        """What the simulated chargers deliver now (positive: charging the cars)."""
        total = 0.0
        for twin in self.twins.values():
            twin.advance()
            total += twin.actual_power_w
        return total / 1000

    def _publish_meter(self, moment: datetime, vehicles_kw: float) -> None:
        grid_kw = self.base_load_kw(moment) + vehicles_kw
        self.hass.states.async_set(
            METER,
            f"{grid_kw:.3f}",
            {"unit_of_measurement": "kW", "device_class": "power", "state_class": "measurement"},
        )

    def _publish_forecast(self) -> None:
        midnight = datetime.combine(self.day.day, time(0), self.begin.tzinfo)
        points = [
            {
                "start": (midnight + index * STEP).isoformat(),
                "value": float(self.day.base_load_kw[index % STEPS_PER_DAY]),
            }
            for index in range(2 * STEPS_PER_DAY)
        ]
        self.hass.states.async_set(
            FORECAST, "ok", {"unit_of_measurement": "kW", "forecast": points}
        )

    def _present(self, car: Car, moment: datetime) -> bool:
        return car.arrival <= moment.timetz().replace(tzinfo=None) < car.departure

    async def async_start(self) -> None:
        """Build the simulator, the chargers and the building; plan once."""
        # Set-up happens a minute early: the first measured second is ``begin`` exactly.
        self.freezer.move_to(self.begin - SETUP_LEAD)
        # The test loop runs in debug mode, which records a traceback for every callback
        # and warns about any "slow" one: each virtual tick would look one second long.
        self.hass.loop.set_debug(False)
        # Looked up at each call: freezegun's time.monotonic, the event loop's clock.
        clock = SimClock(wall=lambda: _time.monotonic())  # noqa: PLW0108
        configs = [
            QuasarConfig(
                name=car.name,
                port=0,
                serial=20240200 + index,
                max_power_w=self.day.charger_w,
                car=Battery(capacity_kwh=car.capacity_kwh, soc_pct=car.arrival_soc_pct),
                plugged=self._present(car, self.begin),
            )
            for index, car in enumerate(self.day.cars)
        ]
        self.sim = Simulation(ScenarioConfig(control_port=None, quasars=configs), clock=clock)
        await self.sim.start()
        self.twins = dict(self.sim.quasars)
        self._plugged = {car.name: self._present(car, self.begin) for car in self.day.cars}
        self._publish_meter(self.begin - SETUP_LEAD, 0.0)
        self._publish_forecast()
        chargers = []
        for car in self.day.cars:
            twin = self.twins[car.name]
            entry = MockConfigEntry(
                domain=DOMAIN,
                title=car.name,
                unique_id=str(twin.config.serial),
                data={
                    CONF_FAMILY: FAMILY_QUASAR1,
                    CONF_HOST: "127.0.0.1",
                    CONF_PORT: twin.server.port,
                    CONF_UNIT_ID: 1,
                },
                options=dict(DEFAULT_OPTIONS),
            )
            await self._add(entry)
            chargers.append(entry.entry_id)
            self._entry_ids[car.name] = entry.entry_id
        day = self.day
        building = MockConfigEntry(
            domain=DOMAIN,
            title="Closed loop",
            data={
                CONF_KIND: EntryKind.BUILDING.value,
                CONF_VEHICLES: chargers,
                CONF_BUILDING_POWER: METER,
                CONF_METER_INCLUDES_VEHICLES: True,
                CONF_LOAD_FORECAST: FORECAST,
            },
            options={
                CONF_OFFPEAK_PRICE: day.offpeak_price,
                CONF_PEAK_PRICE: day.peak_price,
                CONF_PEAK_START: day.peak_hours[0].isoformat(),
                CONF_PEAK_END: day.peak_hours[1].isoformat(),
                CONF_PEAK_WEEKDAYS_ONLY: True,
                CONF_DEMAND_CHARGE: day.demand_charge_per_kw,
                CONF_VEHICLE_SETTINGS: {
                    entry_id: {
                        CONF_DEPARTURE: car.departure.isoformat(),
                        CONF_TARGET_SOC: car.target_soc_pct,
                        CONF_RESERVE_SOC: car.reserve_soc_pct,
                        CONF_EFFICIENCY: day.efficiency_pct,
                    }
                    for entry_id, car in zip(chargers, day.cars, strict=True)
                },
            },
        )
        await self._add(building)
        self.building = building.runtime_data

    async def _add(self, entry: MockConfigEntry) -> None:
        entry.add_to_hass(self.hass)
        self._entries.append(entry)
        assert await self._run(self.hass.config_entries.async_setup(entry.entry_id))
        await self._run(self.hass.async_block_till_done())

    async def async_stop(self) -> None:
        """Unload everything and stop the simulator."""
        for entry in reversed(self._entries):
            if entry.state.recoverable:
                await self._run(self.hass.config_entries.async_unload(entry.entry_id))
        if self.sim is not None:
            self.result.modbus_requests = sum(
                int(twin.describe()["modbus_requests"]) for twin in self.twins.values()
            )
            self.result.watchdog_expiries = sum(
                twin.watchdog_expiries for twin in self.twins.values()
            )
            await self.sim.stop()

    # -- the day --------------------------------------------------------------------

    def _move_cars(self, moment: datetime) -> bool:
        """Plug in the cars that arrive now, unplug those that leave; whether any did."""
        moved = False
        for car in self.day.cars:
            present = self._present(car, moment)
            if present == self._plugged[car.name]:
                continue
            moved = True
            twin = self.twins[car.name]
            if present:
                twin.set_soc(car.arrival_soc_pct)
            else:
                self.result.departures.append(
                    Departure(
                        name=car.name,
                        at=moment,
                        soc_pct=twin.battery.soc_pct,
                        target_soc_pct=car.target_soc_pct,
                        planned_soc_pct=self._morning_soc.get(car.name),
                    )
                )
            twin.plug(present)
            self._plugged[car.name] = present
        return moved

    def _note_morning_plan(self) -> None:
        """Once every car is in the plan, keep its peak and departure SoC (a forecast)."""
        building = self.building
        if self.result.morning_planned_peak_kw is not None or building is None:
            return
        status = building.data
        # A plan made during set-up is for the step before ``begin``: it counted on the
        # whole of that step to charge the cars, of which a minute was left.
        if status.plan is None or status.start is None:
            return
        if instant(status.start) < instant(self.begin):
            return
        if len(status.plan.vehicles) < len(self.day.cars):
            return
        self.result.morning_planned_peak_kw = float(status.plan.peak_kw)
        for car in self.day.cars:
            vehicle = status.vehicles.get(self._entry_ids[car.name])
            if vehicle is not None and vehicle.departure_soc_pct is not None:
                self._morning_soc[car.name] = float(vehicle.departure_soc_pct)

    def _planned_now(self, step_start: datetime) -> float | None:
        """The grid import the current plan sets for the step under way, if it is its plan."""
        status = self.building.data if self.building is not None else None
        if status is None or status.plan is None or status.start != step_start:
            return None
        return float(status.plan.grid_kw[0])

    async def async_run(self) -> DayResult:
        """Run the day tick by tick; return the measurements."""
        result = self.result
        started = real_seconds()
        tick_h = TICK.total_seconds() / 3600
        step_h = STEP.total_seconds() / 3600
        # What the set-up started (the first plan and its writes) finishes before the
        # clock jumps to the start of the day: a jump fires every timeout it passes, and a
        # write still in flight on a busy machine would count as unanswered.
        await self._settle()
        self.freezer.tick(self.begin - dt_util.now())
        await self._settle()
        moment = step_start = self.begin
        grid_kwh = vehicles_kwh = 0.0
        planned: float | None = None
        last_plan: object = None
        car_moved = False
        while moment < self.finish:
            car_moved = self._move_cars(moment) or car_moved
            vehicles_before_kw = self.vehicles_kw()
            self._publish_meter(moment, vehicles_before_kw)
            self.freezer.tick(TICK)
            if not await self._settle():
                result.late_settles += 1
            result.ticks += 1
            # The tick's energy from the power at its start and end (ramps are linear).
            vehicles_avg_kw = (vehicles_before_kw + self.vehicles_kw()) / 2
            vehicles_kwh += vehicles_avg_kw * tick_h
            grid_kwh += (self.base_load_kw(moment) + vehicles_avg_kw) * tick_h
            moment += TICK
            status = self.building.data if self.building is not None else None
            if status is not None and status.guard is not None:
                action = str(status.guard.action)
                result.guard_ticks[action] = result.guard_ticks.get(action, 0) + 1
            if status is not None and status.plan is not last_plan:
                last_plan = status.plan
                result.plans += last_plan is not None
            planned_now = self._planned_now(step_start)
            planned = planned if planned_now is None else planned_now
            self._note_morning_plan()
            if moment - step_start >= STEP:
                result.steps.append(
                    StepRecord(
                        step_start,
                        grid_kwh / step_h,
                        planned,
                        vehicles_kwh / step_h,
                        warmup=not result.steps,
                        car_moved=car_moved,
                    )
                )
                step_start, grid_kwh, vehicles_kwh, planned = moment, 0.0, 0.0, None
                car_moved = False
        result.wall_s = real_seconds() - started
        return result
