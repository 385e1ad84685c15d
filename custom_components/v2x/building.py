"""Vehicle-to-building peak shaving: the Home Assistant side of the planner.

Every 15 minutes (and at once when a car arrives or leaves, a charger stops
answering, or a departure or target changes) the manager has a plan made
(:mod:`.building_planning`) and its setpoints sent (:mod:`.building_execution`);
between plans the peak guard (:mod:`.building_guard`) corrects them on every meter
reading. The manager tracks the peak already billed in the period and keeps the
departures, targets and today's ledger in storage (:mod:`.building_store`). The
rules are pure (:mod:`.planner`).
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
from .building_planning import Presence, async_plan_once
from .building_settings import building_option, tariff
from .building_store import BuildingStore
from .building_vehicles import CarBays
from .const import (
    CONF_BILLING_DAY,
    CONF_CAUTIOUS_GUARD,
    CONF_DEMAND_INTERVAL,
    CONF_VEHICLES,
    DOMAIN,
    LOGGER,
)
from .helpers import CoalescedJob, CoordinatorListeners
from .models import BUILDING_PLATFORMS, ChargerRuntimeData, EntryKind, charger_runtime
from .planner.ledger import Ledger
from .planner.model import PlanInput
from .planner.peak import PeakTracker
from .planner.report import BuildingStatus, VehicleStatus, diagnostics, plan_response
from .planner.schedule import RELEARN_EVERY, STEP, next_departure, tick_work
from .planner.series import LoadProfile, TimeOfUseTariff

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
        self.clock = clock or local_now
        self._tick = tick
        self._store = BuildingStore(hass, entry.entry_id)
        self.peak = self._new_tracker()
        self.base_peak = self._new_tracker()
        """The same peak of the building's own load, without the cars."""
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
                clock=self.clock,
                planning=lambda: self.planning,
                publish=self.async_set_updated_data,
                cautious=lambda: bool(self._option(CONF_CAUTIOUS_GUARD)),
            ),
        )
        self.planned_step: datetime | None = None
        """The step the last plan was made for."""
        self.planned_presence: Presence = ()
        """The cars' :meth:`presence` when the last plan was made."""
        self._reason = "start"
        self._plans = CoalescedJob(
            hass,
            f"{DOMAIN} v2b plan",
            lambda: async_plan_once(self, self._reason),
            keep_going=lambda: not self._stopped,
            after=self._after_plan,
        )
        self.learned_at: datetime | None = None
        """When the load profile was last learned from the recorder."""
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self.charger_listeners = CoordinatorListeners(self._async_on_charger_update)
        """The chargers' status coordinators the building follows."""
        self._stopped = False
        self.last_input: PlanInput | None = None
        self.data = BuildingStatus.unplanned()

    @property
    def planning(self) -> bool:
        """Whether a plan is being solved now (requests meanwhile are coalesced)."""
        return self._plans.running

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

    @property
    def _demand_interval_min(self) -> int:
        return int(self._option(CONF_DEMAND_INTERVAL))

    def _new_tracker(self) -> PeakTracker:
        """A tracker for the billing period and demand interval of the options."""
        return PeakTracker(billing_day=self._billing_day, interval_min=self._demand_interval_min)

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
        if (self.peak.billing_day, self.peak.interval_min) != (
            self._billing_day,
            self._demand_interval_min,
        ):
            self.peak, self.base_peak = self._new_tracker(), self._new_tracker()
        self.request_replan("options")

    def departure(self, vehicle_id: str, now: datetime | None = None) -> datetime:
        """The car's next departure."""
        return self.bays.departure(vehicle_id, now or self.clock())

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
        await self.async_save()
        self.request_replan("departure")

    # -- lifecycle ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore what was saved, subscribe, learn the load profile, plan."""
        saved = await self._store.async_load(self._billing_day, self._demand_interval_min)
        self.peak, self.base_peak, self._ledger = saved.peak, saved.base_peak, saved.ledger
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
        self.charger_listeners.clear()
        await self.executor.async_shutdown()
        await self.async_save()

    async def _async_on_started(self, _hass: HomeAssistant | None = None) -> None:
        await self.async_learn_profile()
        self.request_replan("start")

    async def _async_update_data(self) -> BuildingStatus:
        return self.data

    async def async_save(self) -> None:
        """Keep the billed peak, today's ledger and the cars' overrides in storage."""
        await self._store.async_save(self.peak, self.base_peak, self._ledger, self._cars)

    async def async_learn_profile(self) -> None:
        """Learn the load per weekday and 15 minutes from the meter's statistics."""
        now = self.clock()
        self.learned_at = now
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
            self.charger_listeners.follow(vehicle_id, data.status if data is not None else None)

    @callback
    def _async_on_charger_update(self) -> None:
        if self.planned_presence != self.presence():
            self.request_replan("vehicles")

    def presence(self) -> Presence:
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
        both = self.readings.import_and_base_kw()
        if both is not None:
            self.peak.add(now, both[0])
            self.base_peak.add(now, both[1])

    @callback
    def _async_on_meter(self, _event: Event[EventStateChangedData]) -> None:
        """A new meter reading: into the billed peak, and the guard looks at it."""
        if self._stopped:
            return
        self._record_import(self.clock())
        self.guard.request()

    async def _async_on_tick(self, _now: Any = None) -> None:
        now = self.clock()
        self._record_import(now)
        self._follow_chargers()
        work = tick_work(
            now,
            planned_step=self.planned_step,
            learned_at=self.learned_at,
            presence_changed=self.planned_presence != self.presence(),
        )
        if work.relearn:
            self.hass.async_create_task(self.async_learn_profile(), f"{DOMAIN} learn load")
        if work.new_step:  # book the step that just ended into today's ledger
            status = self.data
            self._ledger.close_step(status.plan, status.comparison, self.planned_step, work.step)
        if work.replan:
            self.request_replan("step" if work.new_step else "vehicles")
        else:
            self.guard.request(refresh=True)

    @callback
    def request_replan(self, reason: str) -> None:
        """Plan again as soon as possible (coalesced while a solve runs)."""
        if self._stopped:
            return
        self._reason = "again" if self._plans.running else reason
        self._plans.request()

    def _after_plan(self) -> None:
        if not self._stopped:
            self.guard.request(refresh=True)  # on the new plan (or on no plan)

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
            base_peak_tracker=self.base_peak.as_dict(),
            profile_weekdays_learned=self.profile.days_learned,
        )
