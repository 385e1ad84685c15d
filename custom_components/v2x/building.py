"""Vehicle-to-building peak shaving: the Home Assistant side of the planner.

Every 15 minutes (and at once when a car arrives or leaves, a charger stops
answering, or a departure or target changes) the manager gathers the cars that
are plugged in, the building's load forecast and the tariff, solves the plan in
the executor, and sends each car's setpoint for the current step to its charger
through the charger's controller (which keeps the reserve and the charger's
limits). It also tracks the peak already billed in the period and keeps the
departures, targets and today's ledger in storage.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta
import math
from typing import Any, Final

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.event import async_track_time_interval
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
import numpy as np
from numpy.typing import NDArray

from .backup_sources import vehicle_capacity_kwh
from .const import (
    CONF_BILLING_DAY,
    CONF_BUILDING_POWER,
    CONF_CAPACITY,
    CONF_DEMAND_CHARGE,
    CONF_DEPARTURE,
    CONF_EFFICIENCY,
    CONF_IMPORT_LIMIT,
    CONF_LOAD_FORECAST,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_PRICE_ENTITY,
    CONF_RESERVE_SOC,
    CONF_TARGET_SOC,
    CONF_VEHICLE_SETTINGS,
    CONF_VEHICLES,
    CONF_WEAR_COST,
    DEFAULT_V2B_OPTIONS,
    DEFAULT_VEHICLE_SETTINGS,
    DOMAIN,
    LOGGER,
)
from .coordinator import ChargerRuntimeData
from .devices.control import SOC_PROBE_POWER_W
from .devices.model import OperatingMode
from .helpers import CoordinatorListeners
from .planner.baseline import Comparison, compare
from .planner.lp import PlannerError, solve
from .planner.model import FloatArray, Plan, PlanInput, PlannerInputError, VehicleSpec
from .planner.peak import PeakTracker
from .planner.series import (
    LoadProfile,
    TariffPeriod,
    TimeOfUseTariff,
    fill_missing,
    floor_to_step,
    instant,
    parse_forecast,
    sample_forecast,
    step_starts,
    steps_until,
)

STORAGE_VERSION: Final = 1
STEP: Final = timedelta(minutes=15)
HORIZON_STEPS: Final = 96
TICK: Final = timedelta(seconds=10)
RELEARN_EVERY: Final = timedelta(hours=6)
LEARN_DAYS: Final = 28
MIN_SETPOINT_W: Final = 100
DEPARTURE_GRACE: Final = timedelta(hours=2)
SOC_MARGIN_PCT: Final = 0.5
"""Chargers report the car's SoC in whole percent (rounded): the planner takes the lower
end of what a reading may mean, so that a car is not left half a percent short."""
FORECAST_ATTRIBUTES: Final = ("forecast", "prices", "raw_today", "raw_tomorrow")


def building_device_identifier(entry_id: str) -> tuple[str, str]:
    """The device-registry identifier of a V2B building."""
    return (DOMAIN, f"v2b_{entry_id}")


def vehicle_device_identifier(entry_id: str, charger_entry_id: str) -> tuple[str, str]:
    """The device-registry identifier of one car bay of a V2B building."""
    return (DOMAIN, f"v2b_{entry_id}_{charger_entry_id}")


@dataclass(frozen=True, slots=True)
class VehicleStatus:
    """What a car's entities show."""

    charger_entry_id: str
    name: str
    departure: datetime
    target_soc_pct: float
    planned: bool
    """In the current plan (plugged in, answering, not under manual control)."""
    reason: str | None = None
    """Why the car is not in the plan: unplugged, unavailable, manual, no_soc."""
    soc_pct: float | None = None
    planned_power_kw: float | None = None
    departure_soc_pct: float | None = None
    shortfall_kwh: float | None = None


@dataclass(frozen=True, slots=True)
class BuildingStatus:
    """What the building's entities show."""

    plan: Plan | None
    comparison: Comparison | None
    start: datetime | None
    vehicles: dict[str, VehicleStatus]
    billed_peak_kw: float
    cost_today: float | None
    savings_today: float | None
    load_source: str
    error: str | None = None


@dataclass(slots=True)
class _Ledger:
    """Planned cost and plug-and-charge cost of the steps already past, today."""

    day: str = ""
    cost: float = 0.0
    baseline_cost: float = 0.0

    def reset_if_new_day(self, today: str) -> None:
        if self.day != today:
            self.day, self.cost, self.baseline_cost = today, 0.0, 0.0


@dataclass(slots=True)
class _VehicleState:
    departure_override: datetime | None = None
    target_override: float | None = None


def kw_per_unit(state: State) -> float:
    """Factor from a power entity's unit to kW (its values are kW unless it says W)."""
    return 0.001 if state.attributes.get("unit_of_measurement") == UnitOfPower.WATT else 1.0


def local_now() -> datetime:
    """The time now in Home Assistant's time zone (the planner's default clock)."""
    return dt_util.now()


def _parse_time(value: Any, fallback: Any) -> time:
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return time.fromisoformat(str(fallback))


def todays_steps(starts: list[datetime]) -> NDArray[np.bool_]:
    """The steps of the first step's day: the window the demand charge is planned on.

    The horizon runs into tomorrow, where the plan knows no cars (they have not
    arrived yet), so tomorrow's peak looks unavoidable and would make shaving today's
    worthless. Tomorrow's peak is for tomorrow's plans, made once the cars are back.
    """
    today = starts[0].date()
    return np.array([start.date() == today for start in starts], dtype=bool)


def import_cost(plan: Plan, grid_kw: FloatArray, steps: slice | NDArray[np.bool_]) -> float:
    """What importing ``grid_kw`` costs at the plan's prices over ``steps``.

    Exports earn nothing here: the ledger counts the bill for imported energy.
    """
    return float(np.sum(plan.price[steps] * np.maximum(grid_kw[steps], 0.0)) * plan.step_h)


def next_departure(now: datetime, daily: time, override: datetime | None) -> datetime:
    """The car's next departure: the override while in the future, else the daily time.

    Within :data:`DEPARTURE_GRACE` after today's departure time the car is overdue: its
    owner may leave any minute, so it departs at the end of the coming step (kept at its
    target, charged if short) instead of tomorrow, which would free it for discharging.
    """
    if override is not None and instant(override) > instant(now):
        return override
    today = now.replace(hour=daily.hour, minute=daily.minute, second=0, microsecond=0)
    if today <= now < today + DEPARTURE_GRACE:
        return now + STEP
    return today if today > now else today + timedelta(days=1)


class BuildingManager(DataUpdateCoordinator[BuildingStatus]):
    """One building whose cars shave its peak."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: Any,
        *,
        clock: Callable[[], datetime] | None = None,
        tick: timedelta = TICK,
    ) -> None:
        """Read the entry; nothing runs before :meth:`async_start`."""
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} building {entry.title}")
        self.entry = entry
        self.vehicle_ids: list[str] = list(entry.data[CONF_VEHICLES])
        self.meter: str = entry.data[CONF_BUILDING_POWER]
        self.meter_includes_vehicles = bool(entry.data.get(CONF_METER_INCLUDES_VEHICLES, True))
        self.forecast_entity: str | None = entry.data.get(CONF_LOAD_FORECAST)
        self.price_entity: str | None = entry.data.get(CONF_PRICE_ENTITY)
        self._clock = clock or local_now
        self._tick = tick
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.v2b.{entry.entry_id}"
        )
        self.peak = PeakTracker(billing_day=self._billing_day)
        self.profile = LoadProfile()
        self._ledger = _Ledger()
        self._cars: dict[str, _VehicleState] = {vid: _VehicleState() for vid in self.vehicle_ids}
        self._sessions: dict[str, object] = {}
        self._step_start: datetime | None = None
        self._signature: tuple[tuple[str, bool, str | None], ...] = ()
        self._applying: set[str] = set()
        self._planning = False
        self._again = False
        self._last_learned: datetime | None = None
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._charger_listeners = CoordinatorListeners(self._async_on_charger_update)
        self._stopped = False
        self.last_input: PlanInput | None = None
        self.data = BuildingStatus(
            plan=None,
            comparison=None,
            start=None,
            vehicles={},
            billed_peak_kw=0.0,
            cost_today=None,
            savings_today=None,
            load_source="none",
        )

    # -- settings ----------------------------------------------------------------------

    def _option(self, key: str) -> Any:
        return self.entry.options.get(key, DEFAULT_V2B_OPTIONS.get(key))

    @property
    def _billing_day(self) -> int:
        return int(self._option(CONF_BILLING_DAY))

    def vehicle_setting(self, vehicle_id: str, key: str) -> Any:
        """One per-car setting from the options, or its default."""
        settings = dict(self.entry.options.get(CONF_VEHICLE_SETTINGS, {}))
        return dict(settings.get(vehicle_id, {})).get(key, DEFAULT_VEHICLE_SETTINGS.get(key))

    def tariff(self) -> TimeOfUseTariff:
        """The time-of-use tariff of the options."""
        weekdays = frozenset(range(5)) if self._option(CONF_PEAK_WEEKDAYS_ONLY) else None
        period = TariffPeriod(
            start=_parse_time(self._option(CONF_PEAK_START), DEFAULT_V2B_OPTIONS[CONF_PEAK_START]),
            end=_parse_time(self._option(CONF_PEAK_END), DEFAULT_V2B_OPTIONS[CONF_PEAK_END]),
            price=float(self._option(CONF_PEAK_PRICE)),
            **({"weekdays": weekdays} if weekdays is not None else {}),
        )
        return TimeOfUseTariff(float(self._option(CONF_OFFPEAK_PRICE)), (period,))

    def apply_options(self) -> None:
        """New options: re-plan with them."""
        if self.peak.billing_day != self._billing_day:
            self.peak = PeakTracker(billing_day=self._billing_day)
        self.request_replan("options")

    # -- lifecycle ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore what was saved, subscribe, learn the load profile, plan."""
        saved = await self._store.async_load() or {}
        self.peak = PeakTracker.from_dict(dict(saved.get("peak", {})), self._billing_day)
        ledger = dict(saved.get("ledger", {}))
        self._ledger = _Ledger(
            str(ledger.get("day", "")),
            float(ledger.get("cost", 0.0)),
            float(ledger.get("baseline_cost", 0.0)),
        )
        for vehicle_id, state in dict(saved.get("vehicles", {})).items():
            if vehicle_id in self._cars:
                self._cars[vehicle_id] = _restore_vehicle(dict(state))
        self._unsubscribe.append(
            async_track_time_interval(self.hass, self._async_on_tick, self._tick)
        )
        self._unsubscribe.append(async_at_started(self.hass, self._async_on_started))
        self._follow_chargers()

    async def async_stop(self) -> None:
        """Unsubscribe, stop the sessions the plan started, save."""
        self._stopped = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._charger_listeners.clear()
        for vehicle_id in list(self._sessions):
            data = self._charger(vehicle_id)
            if data is not None and self._owns(vehicle_id, data):
                try:
                    await data.controller.async_stop()
                except HomeAssistantError as err:
                    LOGGER.warning("Could not stop %s on unload: %s", vehicle_id, err)
        self._sessions.clear()
        await self._async_save()

    async def _async_on_started(self, _hass: HomeAssistant | None = None) -> None:
        await self.async_learn_profile()
        self.request_replan("start")

    async def _async_update_data(self) -> BuildingStatus:
        return self.data

    # -- inputs ------------------------------------------------------------------------

    def _charger(self, vehicle_id: str) -> ChargerRuntimeData | None:
        entry = self.hass.config_entries.async_get_entry(vehicle_id)
        if entry is None or not hasattr(entry, "runtime_data"):
            return None
        data = entry.runtime_data
        return data if isinstance(data, ChargerRuntimeData) else None

    def vehicle_name(self, vehicle_id: str) -> str:
        """The car bay's name: the title of its charger entry."""
        entry = self.hass.config_entries.async_get_entry(vehicle_id)
        return entry.title if entry is not None else vehicle_id

    def _follow_chargers(self) -> None:
        """Listen to every charger's status (again after a charger reloads)."""
        for vehicle_id in self.vehicle_ids:
            data = self._charger(vehicle_id)
            self._charger_listeners.follow(vehicle_id, data.status if data is not None else None)

    @callback
    def _async_on_charger_update(self) -> None:
        if self._signature != self._presence():
            self.request_replan("vehicles")

    def _presence(self) -> tuple[tuple[str, bool, str | None], ...]:
        """Each car's availability and reason: a change of either is worth a new plan.

        A car plugged in without a SoC yet changes only its reason, and needs its probe.
        """
        return tuple((vid, *self._availability(vid)) for vid in self.vehicle_ids)

    def _availability(self, vehicle_id: str) -> tuple[bool, str | None]:
        data = self._charger(vehicle_id)
        if data is None or not data.status.last_update_success or data.status.data is None:
            return False, "unavailable"
        status = data.status.data
        if not status.vehicle_connected:
            return False, "unplugged"
        if (
            vehicle_id not in self._applying  # our own session, being started right now
            and not self._owns(vehicle_id, data)
            and data.controller.session is not None
        ):
            return False, "manual"
        if status.soc.value_pct is None:
            return False, "no_soc"
        return True, None

    def _owns(self, vehicle_id: str, data: ChargerRuntimeData) -> bool:
        session = data.controller.session
        return session is not None and session is self._sessions.get(vehicle_id)

    def meter_import_kw(self) -> float | None:
        """The building meter now, in kW (None when unknown)."""
        state = self.hass.states.get(self.meter)
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        return value * kw_per_unit(state)

    def _vehicles_kw(self) -> float:
        total = 0.0
        for vehicle_id in self.vehicle_ids:
            data = self._charger(vehicle_id)
            if data is not None and data.status.data is not None:
                total += data.status.data.power_w / 1000
        return total

    def grid_import_kw(self) -> float | None:
        """What the building draws from the grid now, cars included (what is billed)."""
        meter = self.meter_import_kw()
        if meter is None:
            return None
        return meter if self.meter_includes_vehicles else meter + self._vehicles_kw()

    def base_load_kw(self) -> float | None:
        """The building's load without the cars, measured now."""
        meter = self.meter_import_kw()
        if meter is None:
            return None
        return meter - self._vehicles_kw() if self.meter_includes_vehicles else meter

    async def async_learn_profile(self) -> None:
        """Learn the load per weekday and 15 minutes from the meter's statistics."""
        now = self._clock()
        self._last_learned = now
        if "recorder" not in self.hass.config.components:
            return
        samples = await _async_statistics(
            self.hass, self.meter, now - timedelta(days=LEARN_DAYS), now
        )
        if samples:
            self.profile = LoadProfile.learn(samples)

    # -- the loop ----------------------------------------------------------------------

    async def _async_on_tick(self, _now: Any = None) -> None:
        now = self._clock()
        grid_import = self.grid_import_kw()
        if grid_import is not None:
            self.peak.add(now, grid_import)
        step = floor_to_step(now, STEP)
        if (
            self._last_learned is not None
            and instant(now) - instant(self._last_learned) >= RELEARN_EVERY
        ):
            self.hass.async_create_task(self.async_learn_profile(), f"{DOMAIN} learn load")
        self._follow_chargers()
        if self._step_start is None or instant(step) != instant(self._step_start):
            self._close_step(step)
            self.request_replan("step")
        elif self._signature != self._presence():
            self.request_replan("vehicles")

    def _close_step(self, new_step: datetime) -> None:
        """Book the step that just ended into today's ledger."""
        status = self.data
        self._ledger.reset_if_new_day(new_step.date().isoformat())
        if status.plan is None or status.comparison is None or self._step_start is None:
            return
        if self._step_start.date() != new_step.date():
            return
        plan, first = status.plan, slice(0, 1)
        self._ledger.cost += import_cost(plan, plan.grid_kw, first)
        baseline = status.comparison.plug_and_charge.grid_kw
        self._ledger.baseline_cost += import_cost(plan, baseline, first)

    @callback
    def request_replan(self, reason: str) -> None:
        """Plan again as soon as possible (coalesced while a solve runs)."""
        if self._stopped:
            return
        if self._planning:
            self._again = True
            return
        self._planning = True
        self.hass.async_create_background_task(self._async_plan_loop(reason), f"{DOMAIN} v2b plan")

    async def _async_plan_loop(self, reason: str) -> None:
        try:
            while True:
                self._again = False
                await self._async_plan_once(reason)
                if not self._again or self._stopped:
                    return
                reason = "again"
        finally:
            self._planning = False

    async def _async_plan_once(self, reason: str) -> None:
        now = self._clock()
        start = floor_to_step(now, STEP)
        self._step_start = start
        self._signature = self._presence()
        vehicles, statuses = self._vehicle_specs(now, start)
        data, load_source = self._plan_input(start, vehicles)
        self.last_input = data
        LOGGER.debug("Planning %s (%s): %d cars", self.entry.title, reason, len(vehicles))
        try:
            plan = await self.hass.async_add_executor_job(solve, data)
        except (PlannerError, PlannerInputError) as err:
            LOGGER.warning("No V2B plan for %s: %s", self.entry.title, err)
            self._publish(None, None, start, statuses, load_source, error=str(err))
            await self._async_idle_owned()
            return
        comparison = compare(data, plan)
        for index, vehicle in enumerate(plan.vehicles):
            statuses[vehicle.vehicle_id] = _with_plan(
                statuses[vehicle.vehicle_id],
                vehicles[index],
                vehicle.power_kw[0],
                vehicle.departure_energy_kwh,
                vehicle.shortfall_kwh,
            )
            if vehicle.shortfall_kwh > 1e-3:
                LOGGER.warning(
                    "%s will be %.1f kWh short of its target at departure",
                    self.vehicle_name(vehicle.vehicle_id),
                    vehicle.shortfall_kwh,
                )
        self._publish(plan, comparison, start, statuses, load_source)
        await self._async_execute(plan)
        await self._async_save()

    def _vehicle_specs(
        self, now: datetime, start: datetime
    ) -> tuple[list[VehicleSpec], dict[str, VehicleStatus]]:
        specs: list[VehicleSpec] = []
        statuses: dict[str, VehicleStatus] = {}
        for vehicle_id in self.vehicle_ids:
            departure = self.departure(vehicle_id, now)
            target = self.target_soc(vehicle_id)
            present, reason = self._availability(vehicle_id)
            data = self._charger(vehicle_id)
            soc = None
            if data is not None and data.status.data is not None:
                soc = data.status.data.soc.value_pct
            statuses[vehicle_id] = VehicleStatus(
                charger_entry_id=vehicle_id,
                name=self.vehicle_name(vehicle_id),
                departure=departure,
                target_soc_pct=target,
                planned=present,
                reason=reason,
                soc_pct=soc,
            )
            if not present or data is None or soc is None:
                continue
            capacity = self.vehicle_setting(vehicle_id, CONF_CAPACITY) or vehicle_capacity_kwh(data)
            capacity = float(capacity)
            limits = data.controller.limits
            reserve_pct = max(
                float(self.vehicle_setting(vehicle_id, CONF_RESERVE_SOC)), limits.reserve_soc_pct
            )
            steps_to_departure = steps_until(start, departure, STEP)
            specs.append(
                VehicleSpec(
                    vehicle_id=vehicle_id,
                    capacity_kwh=capacity,
                    energy_kwh=min(max(soc - SOC_MARGIN_PCT, 0.0), 100.0) / 100 * capacity,
                    departure_step=max(steps_to_departure, 0),
                    target_kwh=max(target, reserve_pct) / 100 * capacity,
                    reserve_kwh=reserve_pct / 100 * capacity,
                    max_charge_kw=limits.max_charge_power_w / 1000,
                    max_discharge_kw=limits.max_discharge_power_w / 1000,
                    round_trip_efficiency=float(self.vehicle_setting(vehicle_id, CONF_EFFICIENCY))
                    / 100,
                    wear_cost_per_kwh=float(self._option(CONF_WEAR_COST)),
                )
            )
        return specs, statuses

    def _plan_input(self, start: datetime, vehicles: list[VehicleSpec]) -> tuple[PlanInput, str]:
        starts = step_starts(start, HORIZON_STEPS, STEP)
        load, source = self._load_forecast(starts)
        limit = self._option(CONF_IMPORT_LIMIT)
        return (
            PlanInput(
                step_h=STEP.total_seconds() / 3600,
                load_kw=load,
                price=self._prices(starts),
                vehicles=tuple(vehicles),
                import_limit_kw=float(limit) if limit else None,
                demand_charge_per_kw=float(self._option(CONF_DEMAND_CHARGE)),
                billed_peak_kw=self.peak.peak_kw,
                demand_mask=todays_steps(starts),
            ),
            source,
        )

    def _load_forecast(self, starts: list[datetime]) -> tuple[FloatArray, str]:
        """Forecast entity, else the learned profile, else the load measured now.

        The step under way is a nowcast: its forecast, moved by how far the latest meter
        reading is from the forecast of the step that reading was taken in. At a step
        boundary the latest reading belongs to the step that just ended, and on a
        morning ramp it can be far below the step that begins.
        """
        measured = self.base_load_kw()
        # One step before the horizon too, for a reading taken before it starts.
        steps = [(instant(starts[0]) - STEP).astimezone(starts[0].tzinfo), *starts]
        series: FloatArray = np.full(len(steps), measured if measured is not None else 0.0)
        source = "measured" if measured is not None else "none"
        if not self.profile.empty:
            series, source = self.profile.forecast(steps), "learned"
        if self.forecast_entity:
            points = self._forecast_points(self.forecast_entity)
            if points:
                state = self.hass.states.get(self.forecast_entity)
                scale = kw_per_unit(state) if state is not None else 1.0
                values = sample_forecast(points, steps, STEP) * scale
                series, source = fill_missing(values, series), "forecast"
        load = series[1:].copy()
        if measured is not None:
            reading = self.hass.states.get(self.meter)
            before = reading is not None and instant(reading.last_reported) < instant(starts[0])
            load[0] = measured + (series[1] - series[0] if before else 0.0)
        return load, source

    def _forecast_points(self, entity_id: str) -> list[tuple[datetime, float]]:
        state = self.hass.states.get(entity_id)
        if state is None:
            return []
        points: list[tuple[datetime, float]] = []
        for attribute in FORECAST_ATTRIBUTES:
            points.extend(parse_forecast(state.attributes.get(attribute)))
        return sorted(points, key=lambda point: point[0])

    def _prices(self, starts: list[datetime]) -> FloatArray:
        prices = self.tariff().prices(starts)
        if not self.price_entity:
            return prices
        state = self.hass.states.get(self.price_entity)
        current = None
        if state is not None:
            try:
                current = float(state.state)
            except ValueError:
                current = None
        values = sample_forecast(self._forecast_points(self.price_entity), starts, STEP)
        if current is not None and math.isnan(values[0]):
            values[0] = current
        return fill_missing(values, prices)

    # -- per-car settings ----------------------------------------------------------------

    def departure(self, vehicle_id: str, now: datetime | None = None) -> datetime:
        """The car's next departure."""
        now = now or self._clock()
        daily = _parse_time(
            self.vehicle_setting(vehicle_id, CONF_DEPARTURE),
            DEFAULT_VEHICLE_SETTINGS[CONF_DEPARTURE],
        )
        return next_departure(now, daily, self._cars[vehicle_id].departure_override)

    def target_soc(self, vehicle_id: str) -> float:
        """The car's target state of charge at departure."""
        override = self._cars[vehicle_id].target_override
        if override is not None:
            return override
        return float(self.vehicle_setting(vehicle_id, CONF_TARGET_SOC))

    def reserve_soc(self, vehicle_id: str) -> float:
        """The car's reserve: the higher of the building's and its charger's."""
        reserve = float(self.vehicle_setting(vehicle_id, CONF_RESERVE_SOC))
        data = self._charger(vehicle_id)
        if data is not None:
            reserve = max(reserve, data.controller.limits.reserve_soc_pct)
        return reserve

    def plan_response(self) -> dict[str, Any]:
        """The current plan as service response data."""
        status = self.data
        plan = status.plan
        vehicles = []
        for vehicle_id, vehicle in status.vehicles.items():
            entry: dict[str, Any] = {
                "vehicle": vehicle.name,
                "charger_entry_id": vehicle_id,
                "in_plan": vehicle.planned,
                "reason": vehicle.reason,
                "soc_pct": vehicle.soc_pct,
                "departure": vehicle.departure.isoformat(),
                "target_soc_pct": vehicle.target_soc_pct,
                "departure_soc_pct": vehicle.departure_soc_pct,
                "shortfall_kwh": vehicle.shortfall_kwh,
            }
            if plan is not None and vehicle.planned:
                entry["power_kw"] = [round(float(p), 3) for p in plan.vehicle(vehicle_id).power_kw]
            vehicles.append(entry)
        steps = []
        if plan is not None and status.start is not None:
            starts = step_starts(status.start, len(plan.grid_kw), STEP)
            steps = [
                {
                    "start": start.isoformat(),
                    "load_kw": round(float(plan.load_kw[i]), 3),
                    "grid_kw": round(float(plan.grid_kw[i]), 3),
                    "price": float(plan.price[i]),
                }
                for i, start in enumerate(starts)
            ]
        comparison = status.comparison
        return {
            "status": plan.status if plan else "no_plan",
            "error": status.error,
            "feasible": plan.feasible if plan else False,
            "start": status.start.isoformat() if status.start else None,
            "step_minutes": int(STEP.total_seconds() // 60),
            "peak_kw": plan.peak_kw if plan else None,
            "peak_without_v2b_kw": comparison.building_only_peak_kw if comparison else None,
            "plug_and_charge_peak_kw": comparison.plug_and_charge.peak_kw if comparison else None,
            "billed_peak_kw": status.billed_peak_kw,
            "expected_cost_today": status.cost_today,
            "expected_savings_today": status.savings_today,
            "forecast_source": status.load_source,
            "steps": steps,
            "vehicles": vehicles,
        }

    async def async_set_departure(
        self, vehicle_id: str, departure: datetime | None, target_soc_pct: float | None
    ) -> None:
        """Set the next departure and/or target of one car, then plan again."""
        state = self._cars[vehicle_id]
        if departure is not None:
            state.departure_override = departure
        if target_soc_pct is not None:
            state.target_override = target_soc_pct
        await self._async_save()
        self.request_replan("departure")

    def diagnostics(self) -> dict[str, Any]:
        """What the planner saw and decided last time (for a bug report)."""
        status = self.data
        plan = status.plan
        data = self.last_input
        return {
            "plan": None
            if plan is None
            else {
                "status": plan.status,
                "feasible": plan.feasible,
                "peak_kw": plan.peak_kw,
                "solve_ms": round(plan.solve_time_s * 1000, 1),
                "grid_kw": [round(float(v), 2) for v in plan.grid_kw],
                "vehicles": {
                    v.vehicle_id: {
                        "power_kw": [round(float(p), 2) for p in v.power_kw],
                        "departure_step": v.departure_step,
                        "shortfall_kwh": v.shortfall_kwh,
                    }
                    for v in plan.vehicles
                },
            },
            "input": None
            if data is None
            else {
                "load_kw": [round(float(v), 2) for v in data.load_kw],
                "price": [float(v) for v in data.price],
                "vehicles": [asdict(spec) for spec in data.vehicles],
                "billed_peak_kw": data.billed_peak_kw,
                "import_limit_kw": data.import_limit_kw,
            },
            "vehicles": {vid: _vehicle_dict(v) for vid, v in status.vehicles.items()},
            "peak_tracker": self.peak.as_dict(),
            "load_source": status.load_source,
            "profile_weekdays_learned": self.profile.days_learned,
            "error": status.error,
        }

    # -- output ------------------------------------------------------------------------

    def _publish(
        self,
        plan: Plan | None,
        comparison: Comparison | None,
        start: datetime,
        statuses: dict[str, VehicleStatus],
        load_source: str,
        *,
        error: str | None = None,
    ) -> None:
        cost, savings = self._today(plan, comparison, start)
        self.async_set_updated_data(
            BuildingStatus(
                plan=plan,
                comparison=comparison,
                start=start,
                vehicles=statuses,
                billed_peak_kw=self.peak.peak_kw,
                cost_today=cost,
                savings_today=savings,
                load_source=load_source,
                error=error,
            )
        )

    def _today(
        self, plan: Plan | None, comparison: Comparison | None, start: datetime
    ) -> tuple[float | None, float | None]:
        """Expected energy cost today and savings against plug-and-charge."""
        if plan is None or comparison is None:
            return None, None
        self._ledger.reset_if_new_day(start.date().isoformat())
        today = todays_steps(step_starts(start, len(plan.grid_kw), STEP))
        planned = import_cost(plan, plan.grid_kw, today)
        baseline = import_cost(plan, comparison.plug_and_charge.grid_kw, today)
        demand = comparison.plug_and_charge.demand_cost - comparison.planned.demand_cost
        cost = self._ledger.cost + planned
        return cost, self._ledger.baseline_cost + baseline - cost + demand

    async def _async_execute(self, plan: Plan) -> None:
        """Send the current step's setpoint of every planned car to its charger."""
        planned = {vehicle.vehicle_id: vehicle for vehicle in plan.vehicles}
        for vehicle_id in self.vehicle_ids:
            data = self._charger(vehicle_id)
            vehicle = planned.get(vehicle_id)
            if data is None:
                self._sessions.pop(vehicle_id, None)
                continue
            if vehicle is not None:
                setpoint_w = round(float(vehicle.power_kw[0]) * 1000)
            elif self._availability(vehicle_id)[1] == "no_soc":
                # Plugged in, SoC unknown (a Quasar reports it only while power flows):
                # charge gently until it is known, then the plan takes the car.
                setpoint_w = SOC_PROBE_POWER_W
            else:
                await self._async_release(vehicle_id, data)
                continue
            self._applying.add(vehicle_id)
            try:
                await self._async_apply(vehicle_id, data, setpoint_w)
            except HomeAssistantError as err:
                LOGGER.warning(
                    "Could not apply %s W on %s: %s", setpoint_w, self.vehicle_name(vehicle_id), err
                )
            finally:
                self._applying.discard(vehicle_id)

    async def _async_apply(
        self, vehicle_id: str, data: ChargerRuntimeData, setpoint_w: int
    ) -> None:
        controller = data.controller
        if abs(setpoint_w) < MIN_SETPOINT_W:
            # Held at 0 W, not handed back: a charger under its own logic would start
            # charging the car at full power (Quasar autostart), whatever the plan says.
            await controller.async_hold_idle()
            self._sessions.pop(vehicle_id, None)
            return
        mode = OperatingMode.CHARGE if setpoint_w > 0 else OperatingMode.DISCHARGE
        power_w = abs(setpoint_w)
        if self._owns(vehicle_id, data) and controller.mode is mode:
            await controller.async_adjust_power(power_w)
        else:
            await controller.async_start(mode, power_w=power_w)
        self._sessions[vehicle_id] = controller.session

    async def _async_release(self, vehicle_id: str, data: ChargerRuntimeData) -> None:
        """Stop a session the plan started (never one someone else started)."""
        if self._owns(vehicle_id, data):
            try:
                await data.controller.async_stop()
            except HomeAssistantError as err:
                LOGGER.warning("Could not stop %s: %s", self.vehicle_name(vehicle_id), err)
                return
        self._sessions.pop(vehicle_id, None)

    async def _async_idle_owned(self) -> None:
        for vehicle_id in self.vehicle_ids:
            data = self._charger(vehicle_id)
            if data is not None:
                await self._async_release(vehicle_id, data)

    async def _async_save(self) -> None:
        await self._store.async_save(
            {
                "peak": self.peak.as_dict(),
                "ledger": {
                    "day": self._ledger.day,
                    "cost": self._ledger.cost,
                    "baseline_cost": self._ledger.baseline_cost,
                },
                "vehicles": {
                    vehicle_id: {
                        "departure": state.departure_override.isoformat()
                        if state.departure_override
                        else None,
                        "target": state.target_override,
                    }
                    for vehicle_id, state in self._cars.items()
                },
            }
        )


def _vehicle_dict(status: VehicleStatus) -> dict[str, Any]:
    values = asdict(status)
    values["departure"] = status.departure.isoformat()
    return values


def _restore_vehicle(saved: dict[str, Any]) -> _VehicleState:
    state = _VehicleState()
    departure = saved.get("departure")
    if isinstance(departure, str):
        state.departure_override = dt_util.parse_datetime(departure)
    target = saved.get("target")
    if isinstance(target, int | float):
        state.target_override = float(target)
    return state


def _with_plan(
    status: VehicleStatus,
    spec: VehicleSpec,
    power_kw: float,
    departure_energy_kwh: float,
    shortfall_kwh: float,
) -> VehicleStatus:
    return VehicleStatus(
        charger_entry_id=status.charger_entry_id,
        name=status.name,
        departure=status.departure,
        target_soc_pct=status.target_soc_pct,
        planned=True,
        soc_pct=status.soc_pct,
        planned_power_kw=float(power_kw),
        departure_soc_pct=100 * departure_energy_kwh / spec.capacity_kwh,
        shortfall_kwh=float(shortfall_kwh),
    )


async def _async_statistics(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """(local time, kW) samples of the meter from the recorder's statistics.

    Five-minute statistics where the recorder still has them (about ten days),
    else hourly ones (kept for ever), so a fresh install learns from its history.
    """
    from homeassistant.components.recorder.statistics import (  # noqa: PLC0415
        statistics_during_period,
    )
    from homeassistant.helpers.recorder import get_instance  # noqa: PLC0415

    state = hass.states.get(entity_id)
    scale = kw_per_unit(state) if state is not None else 1.0
    samples: list[tuple[datetime, float]] = []
    for period in ("5minute", "hour"):
        rows = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, start, end, {entity_id}, period, None, {"mean"}
        )
        for row in rows.get(entity_id, []):
            mean = row.get("mean")
            if mean is None:
                continue
            moment = dt_util.as_local(dt_util.utc_from_timestamp(float(row["start"])))
            minutes = 5 if period == "5minute" else 60
            samples.extend(
                (moment + timedelta(minutes=offset), float(mean) * scale)
                for offset in range(0, minutes, 15 if minutes == 60 else 5)
            )
        if len(samples) >= 96:
            break
    return samples
