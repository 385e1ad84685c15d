"""Making one V2B plan for a building: gather, solve in the executor, publish, execute.

The building manager (:mod:`.building`) decides when a plan is due; this module makes
it: the cars' specs and the load, price and peak inputs for the step under way, the
solve (in the executor: a large fleet takes a while), what the entities show, and the
setpoints of the current step sent to the chargers. A plan the planner refuses
publishes the reason and releases the cars the plan drove.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from homeassistant.core import HomeAssistant

from .building_execution import PlanExecutor
from .building_inputs import BuildingReadings
from .building_settings import building_option
from .building_vehicles import CarBays
from .const import CONF_DEMAND_CHARGE, LOGGER
from .planner.baseline import Comparison, compare
from .planner.ledger import Ledger
from .planner.lp import PlannerError, solve
from .planner.model import Plan, PlanInput, PlannerInputError
from .planner.peak import PeakTracker
from .planner.policy import previous_power
from .planner.report import BuildingStatus, VehicleStatus, statuses_with_plan
from .planner.schedule import STEP
from .planner.series import LoadProfile, floor_to_step

SHORTFALL_WARN_KWH = 1e-3

type Presence = tuple[tuple[str, bool, str | None], ...]


class PlannedBuilding(Protocol):
    """What making a plan reads from and records on its building (the manager)."""

    hass: HomeAssistant
    entry: Any
    clock: Callable[[], datetime]
    bays: CarBays
    readings: BuildingReadings
    executor: PlanExecutor
    profile: LoadProfile
    peak: PeakTracker
    base_peak: PeakTracker
    planned_step: datetime | None
    planned_presence: Presence
    last_input: PlanInput | None

    @property
    def ledger(self) -> Ledger:
        """Today's booked energy cost."""

    @property
    def data(self) -> BuildingStatus:
        """What the entities show now: the last plan among it."""

    def presence(self) -> Presence:
        """Each car's availability and reason now."""

    def vehicle_name(self, vehicle_id: str) -> str:
        """A car bay's name."""

    def async_set_updated_data(self, data: BuildingStatus) -> None:
        """Publish a new status to the entities."""

    async def async_save(self) -> None:
        """Keep what a restart needs."""


async def async_plan_once(manager: PlannedBuilding, reason: str) -> None:
    """Plan ``manager``'s building for the step under way, and carry the plan out."""
    now = manager.clock()
    start = floor_to_step(now, STEP)
    manager.planned_step = start
    manager.planned_presence = manager.presence()
    vehicles, statuses = manager.bays.plan_inputs(
        now, start, manager.executor.availability, manager.vehicle_name
    )
    data, load_source = manager.readings.plan_input(
        start,
        vehicles,
        manager.profile,
        manager.entry.options,
        manager.peak.plan_billing(start, now, STEP),
    )
    last = manager.data
    data = replace(data, previous_kw=previous_power(last.plan, last.start, start, STEP, data.steps))
    manager.last_input = data
    title = manager.entry.title
    LOGGER.debug("Planning %s (%s): %d cars", title, reason, len(vehicles))
    try:
        plan = await manager.hass.async_add_executor_job(solve, data)
    except (PlannerError, PlannerInputError) as err:
        LOGGER.warning("No V2B plan for %s: %s", title, err)
        _publish(
            manager,
            None,
            None,
            start=start,
            statuses=statuses,
            load_source=load_source,
            error=str(err),
        )
        await manager.executor.async_release_all()
        return
    comparison = compare(data, plan)
    statuses = statuses_with_plan(statuses, vehicles, plan)
    for vehicle in plan.vehicles:
        if vehicle.shortfall_kwh > SHORTFALL_WARN_KWH:
            LOGGER.warning(
                "%s will be %.1f kWh short of its target at departure",
                manager.vehicle_name(vehicle.vehicle_id),
                vehicle.shortfall_kwh,
            )
    _publish(manager, plan, comparison, start=start, statuses=statuses, load_source=load_source)
    await manager.executor.async_execute(plan)
    await manager.async_save()


def _publish(
    manager: PlannedBuilding,
    plan: Plan | None,
    comparison: Comparison | None,
    *,
    start: datetime,
    statuses: dict[str, VehicleStatus],
    load_source: str,
    error: str | None = None,
) -> None:
    cost, savings = manager.ledger.expected_today(plan, comparison, start, STEP)
    manager.async_set_updated_data(
        BuildingStatus(
            plan=plan,
            comparison=comparison,
            start=start,
            vehicles=statuses,
            billed_peak_kw=manager.peak.peak_kw,
            peak_without_cars_kw=manager.base_peak.peak_kw
            if manager.base_peak.peak_at is not None
            else None,
            demand_charge_per_kw=float(building_option(manager.entry.options, CONF_DEMAND_CHARGE)),
            cost_today=cost,
            savings_today=savings,
            load_source=load_source,
            error=error,
        )
    )
