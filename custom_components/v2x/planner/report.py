"""What a V2B building shows and tells: its status, its plan, its diagnostics.

The plan goes out as a service response; diagnostics say what the planner saw and
decided. Pure, no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from .baseline import Comparison
from .guard import GuardDecision
from .model import Plan, PlanInput, VehiclePlan, VehicleSpec
from .series import step_starts


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
    """Planned SoC when the car leaves, or at the plan's end when it leaves after it."""
    shortfall_kwh: float | None = None
    departure_beyond_plan: bool = False
    """The car leaves after the plan's 24 hours: it is on its way to its target."""
    stationary: bool = False
    """A stationary battery: it never leaves, so it has no departure and no target
    (:attr:`departure` and :attr:`target_soc_pct` mean nothing), and
    :attr:`departure_soc_pct` is its SoC at the plan's end."""


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
    guard: GuardDecision | None = None
    """The real-time guard's last decision in the step under way (None: it is off)."""
    interval_average_kw: float | None = None
    """The average grid import of the billing interval under way, so far."""
    peak_without_cars_kw: float | None = None
    """The highest interval average of the building's own load this billing period,
    measured (None before a whole interval was)."""
    demand_charge_per_kw: float = 0.0

    @property
    def peak_cut_kw(self) -> float | None:
        """How far the cars kept the billed peak below the building's own this period.

        Both measured; negative when the cars raised it.
        """
        if self.peak_without_cars_kw is None:
            return None
        return self.peak_without_cars_kw - self.billed_peak_kw

    @property
    def demand_charge_saved(self) -> float | None:
        """The demand charge :attr:`peak_cut_kw` saved this billing period."""
        cut = self.peak_cut_kw
        return None if cut is None else cut * self.demand_charge_per_kw

    @classmethod
    def unplanned(cls) -> BuildingStatus:
        """A building before its first plan."""
        return cls(
            plan=None,
            comparison=None,
            start=None,
            vehicles={},
            billed_peak_kw=0.0,
            cost_today=None,
            savings_today=None,
            load_source="none",
        )


def with_plan(status: VehicleStatus, spec: VehicleSpec, vehicle: VehiclePlan) -> VehicleStatus:
    """A car's status once the plan has it."""
    return VehicleStatus(
        charger_entry_id=status.charger_entry_id,
        name=status.name,
        departure=status.departure,
        target_soc_pct=status.target_soc_pct,
        planned=True,
        soc_pct=status.soc_pct,
        planned_power_kw=float(vehicle.power_kw[0]),
        departure_soc_pct=100 * vehicle.departure_energy_kwh / spec.capacity_kwh,
        shortfall_kwh=float(vehicle.shortfall_kwh),
        departure_beyond_plan=vehicle.beyond_horizon,
        stationary=status.stationary,
    )


def statuses_with_plan(
    statuses: dict[str, VehicleStatus], specs: list[VehicleSpec], plan: Plan
) -> dict[str, VehicleStatus]:
    """The cars' statuses once the plan has them (the plan's cars are ``specs``, in order)."""
    planned = dict(statuses)
    for spec, vehicle in zip(specs, plan.vehicles, strict=False):
        planned[vehicle.vehicle_id] = with_plan(statuses[vehicle.vehicle_id], spec, vehicle)
    return planned


def plan_response(status: BuildingStatus, step: timedelta) -> dict[str, Any]:
    """The current plan as service response data.

    A stationary battery has no departure and no target (both None, and
    ``stationary`` true); its ``departure_soc_pct`` is its SoC at the plan's end.
    """
    plan = status.plan
    vehicles = []
    for vehicle_id, vehicle in status.vehicles.items():
        entry: dict[str, Any] = {
            "vehicle": vehicle.name,
            "charger_entry_id": vehicle_id,
            "in_plan": vehicle.planned,
            "reason": vehicle.reason,
            "soc_pct": vehicle.soc_pct,
            "departure": None if vehicle.stationary else vehicle.departure.isoformat(),
            "target_soc_pct": None if vehicle.stationary else vehicle.target_soc_pct,
            "departure_soc_pct": vehicle.departure_soc_pct,
            "departure_beyond_plan": vehicle.departure_beyond_plan,
            "shortfall_kwh": vehicle.shortfall_kwh,
        }
        if vehicle.stationary:
            entry["stationary"] = True
        if plan is not None and vehicle.planned:
            entry["power_kw"] = [round(float(p), 3) for p in plan.vehicle(vehicle_id).power_kw]
        vehicles.append(entry)
    steps = []
    if plan is not None and status.start is not None:
        starts = step_starts(status.start, len(plan.grid_kw), step)
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
        "step_minutes": int(step.total_seconds() // 60),
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


def diagnostics(
    status: BuildingStatus,
    data: PlanInput | None,
    *,
    peak_tracker: dict[str, Any],
    base_peak_tracker: dict[str, Any],
    profile_weekdays_learned: int,
) -> dict[str, Any]:
    """What the planner saw and decided last time (for a bug report)."""
    plan = status.plan
    return {
        "plan": None
        if plan is None
        else {
            "status": plan.status,
            "feasible": plan.feasible,
            "peak_kw": plan.peak_kw,
            "solve_ms": round(plan.solve_time_s * 1000, 1),
            "binary_steps": plan.binary_steps,
            "below_minimum_kw": plan.below_minimum_kw,
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
            "billing_steps": data.billing_steps,
            "billing_offset": data.billing_offset,
            "billing_so_far_kwh": round(data.billing_so_far_kwh, 3),
            "previous_plan_cars": sorted(data.previous_kw or {}),
        },
        "vehicles": {vid: _vehicle_dict(v) for vid, v in status.vehicles.items()},
        "peak_tracker": peak_tracker,
        "base_peak_tracker": base_peak_tracker,
        "load_source": status.load_source,
        "profile_weekdays_learned": profile_weekdays_learned,
        "error": status.error,
    }


def _vehicle_dict(status: VehicleStatus) -> dict[str, Any]:
    """A car's status; a stationary battery's with no departure or target."""
    values = asdict(status)
    if status.stationary:
        values["departure"] = values["target_soc_pct"] = None
    else:
        values["departure"] = status.departure.isoformat()
        del values["stationary"]
    return values
