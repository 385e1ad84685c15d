"""The real-time peak guard of a V2B building, run on every reading of its meter.

Between two plans (15 minutes apart) the building's real load is not the forecast the
plan was made on. On each new meter reading this module asks the pure guard
(:mod:`.planner.guard`) what the planned cars should do so that the billing interval's
average import stays at the plan's peak, and sends the setpoints that changed. It
never stops or starts a car the plan does not drive, and it does nothing while a plan
is being made (that plan's setpoints come next).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from homeassistant.core import HomeAssistant, callback

from .building_execution import PlanExecutor
from .building_inputs import BuildingReadings
from .const import DOMAIN, LOGGER
from .helpers import CoalescedJob
from .models import ChargerRuntimeData
from .planner.guard import GuardAction, GuardDecision, guard, guard_cars, guard_target_kw
from .planner.model import PlanInput, PlannerInputError
from .planner.peak import PeakTracker
from .planner.report import BuildingStatus
from .planner.series import instant

DEPARTURE_MARGIN_H: Final = 0.5
"""What the guard adds to a car's discharge or cuts from its charging leaves the car able
to be at its target this long before it leaves. Without it the guard discharges a car to
the very edge (full power from then on to the departure), and the car leaves short the
first time the load keeps it from charging (benchmarks/RESULTS.md, issue 16)."""
DEADBAND_W: Final = 200
"""A guard setpoint this close to what a car was last sent is not sent again."""
TOLERANCE_SHARE: Final = 0.005
MIN_TOLERANCE_KW: Final = 0.2
"""The guard leaves the plan alone while the interval would end this close to its
target (0.5 % of it, at least 0.2 kW): a plan often holds the import at its peak."""
CONFIRM: Final = timedelta(seconds=10)
"""How long the guard must keep wanting to correct before it does. A charger's power is
read a second after the meter sees it change: for that second the building's own load
looks a charger's step higher or lower than it is. Ten seconds of a real excess move a
15-minute average by about 1 % of it."""


@dataclass(frozen=True, slots=True)
class GuardInputs:
    """What the guard reads from its building (callables: the building replaces them)."""

    status: Callable[[], BuildingStatus]
    plan_input: Callable[[], PlanInput | None]
    peak: Callable[[], PeakTracker]
    charger: Callable[[str], ChargerRuntimeData | None]
    clock: Callable[[], datetime]
    planning: Callable[[], bool]
    publish: Callable[[BuildingStatus], None]
    cautious: Callable[[], bool] = lambda: False
    """The building's *cautious guard* option (:func:`.planner.guard.guard`)."""


class PeakGuard:
    """Runs the guard on the meter's readings and sends its setpoints."""

    def __init__(
        self,
        hass: HomeAssistant,
        readings: BuildingReadings,
        executor: PlanExecutor,
        inputs: GuardInputs,
    ) -> None:
        """Guard the building whose meter ``readings`` reads, through ``executor``."""
        self._readings = readings
        self._executor = executor
        self._inputs = inputs
        self._job = CoalescedJob(hass, f"{DOMAIN} v2b guard", self._async_once)
        self._refresh = False
        self._wanted_since: datetime | None = None
        self.corrections = 0
        """Setpoints the guard sent (for diagnostics and tests)."""

    @callback
    def request(self, *, refresh: bool = False) -> None:
        """Decide again on the newest reading (coalesced while a decision is sent).

        The entities are told when the guard's action changes or it sends a setpoint,
        and with ``refresh`` (the building's 10-second tick), not on every reading.
        """
        self._refresh = self._refresh or refresh
        self._job.request()

    def decide(self) -> GuardDecision | None:
        """The guard's decision for now; None when there is nothing to guard."""
        status, data = self._inputs.status(), self._inputs.plan_input()
        plan = status.plan
        load_kw = self._readings.base_load_kw()
        if plan is None or data is None or status.start is None or load_kw is None:
            return None
        target = guard_target_kw(data, plan)
        if target is None:
            return None
        now = self._inputs.clock()
        cars = guard_cars(
            data.vehicles,
            plan,
            soc_pct={vid: self._soc(vid) for vid in status.vehicles},
            hours_to_departure={
                vid: (instant(vehicle.departure) - instant(now)).total_seconds() / 3600
                for vid, vehicle in status.vehicles.items()
            },
            margin_h=DEPARTURE_MARGIN_H,
        )
        peak = self._inputs.peak()
        interval = peak.interval_so_far(now)
        tolerance = max(MIN_TOLERANCE_KW, TOLERANCE_SHARE * target)
        cautious = self._inputs.cautious()
        return guard(
            cars,
            load_kw=load_kw,
            target_peak_kw=target,
            interval=interval,
            tolerance_kw=tolerance,
            # Cautious: charging beyond what departures need stays below the peak already
            # billed, which the bill holds whatever the forecast says.
            charge_ceiling_kw=min(peak.peak_kw, target) if cautious else None,
            cautious=cautious,
        )

    def _confirmed(self, decision: GuardDecision | None) -> GuardDecision | None:
        """The decision to act on: a correction only once it has held for :data:`CONFIRM`."""
        if decision is None or decision.action is GuardAction.FOLLOW:
            self._wanted_since = None
            return decision
        now = self._inputs.clock()
        if self._wanted_since is None:
            self._wanted_since = now
        if instant(now) - instant(self._wanted_since) < CONFIRM:
            return None
        return decision

    def _soc(self, vehicle_id: str) -> float | None:
        data = self._inputs.charger(vehicle_id)
        if data is None or data.status.data is None:
            return None
        return data.status.data.soc.value_pct

    async def _async_once(self) -> None:
        if self._inputs.planning():
            return
        try:
            decision = self.decide()
        except PlannerInputError as err:
            LOGGER.warning("Peak guard: %s", err)
            decision = None
        sent = 0
        acting = self._confirmed(decision)
        if acting is not None:
            sent = await self._executor.async_correct(acting.setpoints_kw, DEADBAND_W)
            self.corrections += sent
        status = self._inputs.status()
        if self._inputs.planning():
            return  # the new plan publishes itself
        before = status.guard.action if status.guard is not None else None
        changed = before != (decision.action if decision is not None else None)
        if changed or sent or self._refresh:
            self._refresh = False
            average = self._inputs.peak().current_average_kw()
            self._inputs.publish(replace(status, guard=decision, interval_average_kw=average))
