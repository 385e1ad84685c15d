"""Vehicle-to-building peak shaving: the Home Assistant side of the planner.

Every 15 minutes (and at once when a car arrives or leaves, a charger stops
answering, or a departure or target changes) the manager gathers the cars that
are plugged in, the building's load forecast and the tariff, solves the plan in
the executor, and sends each car's setpoint for the current step to its charger
(:mod:`.building_execution`). It also tracks the peak already billed in the period
and keeps the departures, targets and today's ledger in storage
(:mod:`.building_store`). The rules are pure (:mod:`.planner`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, ClassVar, Final

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event, async_track_time_interval
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .building_execution import PlanExecutor
from .building_guard import GuardInputs, PeakGuard
from .building_inputs import BuildingReadings, async_learn_profile
from .building_settings import building_option, tariff
from .building_store import BuildingStore
from .building_vehicles import CarBays
from .const import (
    CONF_BILLING_DAY,
    CONF_VEHICLES,
    DOMAIN,
    LOGGER,
)
from .helpers import CoordinatorListeners
from .models import BUILDING_PLATFORMS, ChargerRuntimeData, EntryKind, charger_runtime
from .planner.baseline import Comparison, compare
from .planner.ledger import Ledger
from .planner.lp import PlannerError, solve
from .planner.model import Plan, PlanInput, PlannerInputError
from .planner.peak import PeakTracker
from .planner.report import (
    BuildingStatus,
    VehicleStatus,
    diagnostics,
    plan_response,
    statuses_with_plan,
)
from .planner.schedule import STEP, next_departure
from .planner.series import (
    LoadProfile,
    TimeOfUseTariff,
    floor_to_step,
    instant,
)

__all__ = [
    "RELEARN_EVERY",
    "STEP",
    "BuildingManager",
    "BuildingStatus",
    "VehicleStatus",
    "building_device_identifier",
    "local_now",
    "next_departure",
    "vehicle_device_identifier",
]

TICK: Final = timedelta(seconds=10)
RELEARN_EVERY: Final = timedelta(hours=6)


def building_device_identifier(entry_id: str) -> tuple[str, str]:
    """The device-registry identifier of a V2B building."""
    return (DOMAIN, f"v2b_{entry_id}")


def vehicle_device_identifier(entry_id: str, charger_entry_id: str) -> tuple[str, str]:
    """The device-registry identifier of one car bay of a V2B building."""
    return (DOMAIN, f"v2b_{entry_id}_{charger_entry_id}")


def local_now() -> datetime:
    """The time now in Home Assistant's time zone (the planner's default clock)."""
    return dt_util.now()


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
        self.readings = BuildingReadings(
            hass, entry.data, lambda: map(self._charger, self.vehicle_ids)
        )
        self.meter = self.readings.meter
        self.forecast_entity = self.readings.forecast_entity
        self.price_entity = self.readings.price_entity
        self._clock = clock or local_now
        self._tick = tick
        self._store = BuildingStore(hass, entry.entry_id)
        self.peak = PeakTracker(billing_day=self._billing_day)
        self.profile = LoadProfile()
        self._ledger = Ledger()
        self.bays = CarBays(entry, self.vehicle_ids, self._charger)
        self._cars = self.bays.cars
        self.executor = PlanExecutor(self.vehicle_ids, self._charger, self.vehicle_name)
        self.guard = PeakGuard(
            hass,
            self.readings,
            self.executor,
            GuardInputs(
                status=lambda: self.data,
                plan_input=lambda: self.last_input,
                peak=lambda: self.peak,
                charger=self._charger,
                clock=self._clock,
                planning=lambda: self._planning,
                publish=self.async_set_updated_data,
            ),
        )
        self._step_start: datetime | None = None
        self._signature: tuple[tuple[str, bool, str | None], ...] = ()
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

    @property
    def planning(self) -> bool:
        """Whether a plan is being solved now (requests meanwhile are coalesced)."""
        return self._planning

    @property
    def ledger(self) -> Ledger:
        """Today's booked energy cost, with and without the plan."""
        return self._ledger

    @property
    def meter_includes_vehicles(self) -> bool:
        """Whether the building meter measures the cars' power too."""
        return self.readings.meter_includes_vehicles

    @meter_includes_vehicles.setter
    def meter_includes_vehicles(self, value: bool) -> None:
        self.readings.meter_includes_vehicles = value

    # -- settings ----------------------------------------------------------------------

    def _option(self, key: str) -> Any:
        return building_option(self.entry.options, key)

    @property
    def _billing_day(self) -> int:
        return int(self._option(CONF_BILLING_DAY))

    def vehicle_setting(self, vehicle_id: str, key: str) -> Any:
        """One per-car setting from the options, or its default."""
        return self.bays.setting(vehicle_id, key)

    def tariff(self) -> TimeOfUseTariff:
        """The time-of-use tariff of the options."""
        return tariff(self.entry.options)

    kind: ClassVar[EntryKind] = EntryKind.BUILDING
    platforms: ClassVar[tuple[Platform, ...]] = BUILDING_PLATFORMS

    async def async_apply_options(self) -> None:
        """A new tariff or new car settings: re-plan at once."""
        self.apply_options()

    async def async_close(self) -> None:
        """A building holds no connection of its own: its chargers close their own."""

    def apply_options(self) -> None:
        """New options: re-plan with them."""
        if self.peak.billing_day != self._billing_day:
            self.peak = PeakTracker(billing_day=self._billing_day)
        self.request_replan("options")

    def departure(self, vehicle_id: str, now: datetime | None = None) -> datetime:
        """The car's next departure."""
        return self.bays.departure(vehicle_id, now or self._clock())

    def target_soc(self, vehicle_id: str) -> float:
        """The car's target state of charge at departure."""
        return self.bays.target_soc(vehicle_id)

    def reserve_soc(self, vehicle_id: str) -> float:
        """The car's reserve: the higher of the building's and its charger's."""
        return self.bays.reserve_soc(vehicle_id)

    async def async_set_departure(
        self, vehicle_id: str, departure: datetime | None, target_soc_pct: float | None
    ) -> None:
        """Set the next departure and/or target of one car, then plan again."""
        self.bays.override(vehicle_id, departure, target_soc_pct)
        await self._async_save()
        self.request_replan("departure")

    # -- lifecycle ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore what was saved, subscribe, learn the load profile, plan."""
        saved = await self._store.async_load(self._billing_day)
        self.peak, self._ledger = saved.peak, saved.ledger
        self._cars.update({vid: s for vid, s in saved.vehicles.items() if vid in self._cars})
        self._unsubscribe.append(
            async_track_time_interval(self.hass, self._async_on_tick, self._tick)
        )
        self._unsubscribe.append(async_at_started(self.hass, self._async_on_started))
        self._unsubscribe.append(
            async_track_state_change_event(self.hass, [self.meter], self._async_on_meter)
        )
        self._follow_chargers()

    async def async_stop(self) -> None:
        """Unsubscribe, stop the sessions the plan started, save."""
        self._stopped = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._charger_listeners.clear()
        await self.executor.async_shutdown()
        await self._async_save()

    async def _async_on_started(self, _hass: HomeAssistant | None = None) -> None:
        await self.async_learn_profile()
        self.request_replan("start")

    async def _async_update_data(self) -> BuildingStatus:
        return self.data

    async def _async_save(self) -> None:
        await self._store.async_save(self.peak, self._ledger, self._cars)

    async def async_learn_profile(self) -> None:
        """Learn the load per weekday and 15 minutes from the meter's statistics."""
        now = self._clock()
        self._last_learned = now
        profile = await async_learn_profile(self.hass, self.meter, now)
        if profile is not None:
            self.profile = profile

    # -- inputs ------------------------------------------------------------------------

    def _charger(self, vehicle_id: str) -> ChargerRuntimeData | None:
        return charger_runtime(self.hass.config_entries.async_get_entry(vehicle_id))

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
        return tuple((vid, *self.executor.availability(vid)) for vid in self.vehicle_ids)

    def meter_import_kw(self) -> float | None:
        """The building meter now, in kW (None when unknown)."""
        return self.readings.meter_import_kw()

    def grid_import_kw(self) -> float | None:
        """What the building draws from the grid now, cars included (what is billed)."""
        return self.readings.grid_import_kw()

    def base_load_kw(self) -> float | None:
        """The building's load without the cars, measured now."""
        return self.readings.base_load_kw()

    # -- the loop ----------------------------------------------------------------------

    def _record_import(self, now: datetime) -> None:
        grid_import = self.grid_import_kw()
        if grid_import is not None:
            self.peak.add(now, grid_import)

    @callback
    def _async_on_meter(self, _event: Event[EventStateChangedData]) -> None:
        """A new meter reading: into the billed peak, and the guard looks at it."""
        if self._stopped:
            return
        self._record_import(self._clock())
        self.guard.request()

    async def _async_on_tick(self, _now: Any = None) -> None:
        now = self._clock()
        self._record_import(now)
        step = floor_to_step(now, STEP)
        if (
            self._last_learned is not None
            and instant(now) - instant(self._last_learned) >= RELEARN_EVERY
        ):
            self.hass.async_create_task(self.async_learn_profile(), f"{DOMAIN} learn load")
        self._follow_chargers()
        if self._step_start is None or instant(step) != instant(self._step_start):
            status = self.data  # book the step that just ended into today's ledger
            self._ledger.close_step(status.plan, status.comparison, self._step_start, step)
            self.request_replan("step")
        elif self._signature != self._presence():
            self.request_replan("vehicles")
        else:
            self.guard.request(refresh=True)

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
            if not self._stopped:
                self.guard.request(refresh=True)  # on the new plan (or on no plan)

    async def _async_plan_once(self, reason: str) -> None:
        now = self._clock()
        start = floor_to_step(now, STEP)
        self._step_start = start
        self._signature = self._presence()
        vehicles, statuses = self.bays.plan_inputs(
            now, start, self.executor.availability, self.vehicle_name
        )
        data, load_source = self.readings.plan_input(
            start, vehicles, self.profile, self.entry.options, self.peak.peak_kw
        )
        self.last_input = data
        LOGGER.debug("Planning %s (%s): %d cars", self.entry.title, reason, len(vehicles))
        try:
            plan = await self.hass.async_add_executor_job(solve, data)
        except (PlannerError, PlannerInputError) as err:
            LOGGER.warning("No V2B plan for %s: %s", self.entry.title, err)
            self._publish(None, None, start, statuses, load_source, error=str(err))
            await self.executor.async_release_all()
            return
        comparison = compare(data, plan)
        statuses = statuses_with_plan(statuses, vehicles, plan)
        for vehicle in plan.vehicles:
            if vehicle.shortfall_kwh > 1e-3:
                LOGGER.warning(
                    "%s will be %.1f kWh short of its target at departure",
                    self.vehicle_name(vehicle.vehicle_id),
                    vehicle.shortfall_kwh,
                )
        self._publish(plan, comparison, start, statuses, load_source)
        await self.executor.async_execute(plan)
        await self._async_save()

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
        cost, savings = self._ledger.expected_today(plan, comparison, start, STEP)
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

    # -- output ------------------------------------------------------------------------

    def plan_response(self) -> dict[str, Any]:
        """The current plan as service response data."""
        return plan_response(self.data, STEP)

    def diagnostics(self) -> dict[str, Any]:
        """What the planner saw and decided last time (for a bug report)."""
        return diagnostics(
            self.data,
            self.last_input,
            peak_tracker=self.peak.as_dict(),
            profile_weekdays_learned=self.profile.days_learned,
        )
