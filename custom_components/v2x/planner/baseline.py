"""What happens without planning, and what the plan saves against it.

The baseline is "plug and charge": every car charges at its charger's full power
from the moment it is plugged in until it reaches its target (or leaves), and
never discharges; a stationary battery only charges back up to its reserve (which
the plan must do too) and otherwise stands idle. Savings are measured against that;
the peak "without V2B" is also given for the building alone, which is what the cars
can shave at most.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .model import FloatArray, Plan, PlanInput


def plug_and_charge_kw(data: PlanInput) -> FloatArray:
    """Charging power per car and step (shape vehicles x steps) without planning."""
    steps, dt = data.steps, data.step_h
    power = np.zeros((len(data.vehicles), steps))
    for index, car in enumerate(data.vehicles):
        arrival = 0 if car.stationary else car.arrival_step
        departure = steps if car.stationary else min(max(car.departure_step, arrival), steps)
        target_kwh = car.reserve_kwh if car.stationary else car.target_kwh
        window = departure - arrival
        if window <= 0 or car.max_charge_kw <= 0:
            continue
        needed_ac_kwh = max(target_kwh - car.energy_kwh, 0.0) / car.one_way_efficiency
        per_step_kwh = car.max_charge_kw * dt
        delivered_before = per_step_kwh * np.arange(window)
        energy = np.clip(needed_ac_kwh - delivered_before, 0.0, per_step_kwh)
        power[index, arrival:departure] = energy / dt
    return power


@dataclass(frozen=True, slots=True)
class Outcome:
    """Grid exchange and cost of one way of running the day."""

    grid_kw: FloatArray
    peak_kw: float
    energy_cost: float
    demand_cost: float
    """Demand charge for the peak above the one already billed."""

    @property
    def total_cost(self) -> float:
        """Energy cost plus the demand charge increment."""
        return self.energy_cost + self.demand_cost


def outcome(data: PlanInput, grid_kw: FloatArray) -> Outcome:
    """Cost and peak of a grid exchange series under the tariff of ``data``."""
    grid_import = np.maximum(grid_kw, 0.0)
    grid_export = np.maximum(-grid_kw, 0.0)
    export_price = data.export_prices
    peak = data.billing_blocks().peak_kw(grid_import, data.step_h)
    energy_cost = float(data.step_h * (data.price @ grid_import - export_price @ grid_export))
    demand_cost = data.demand_charge_per_kw * max(0.0, peak - data.billed_peak_kw)
    return Outcome(grid_kw, peak, energy_cost, demand_cost)


@dataclass(frozen=True, slots=True)
class Comparison:
    """The plan next to the building alone and to plug-and-charge."""

    planned: Outcome
    plug_and_charge: Outcome
    building_only_peak_kw: float

    @property
    def savings(self) -> float:
        """Energy and demand charge saved against plug-and-charge."""
        return self.plug_and_charge.total_cost - self.planned.total_cost

    @property
    def peak_reduction_kw(self) -> float:
        """How far the plan brings the peak below the building's own peak."""
        return self.building_only_peak_kw - self.planned.peak_kw


def compare(data: PlanInput, plan: Plan) -> Comparison:
    """Compare ``plan`` with the building alone and with plug-and-charge."""
    load = np.maximum(data.load_kw, -data.export_limit_kw)
    baseline = load + plug_and_charge_kw(data).sum(axis=0)
    return Comparison(
        planned=outcome(data, plan.grid_kw),
        plug_and_charge=outcome(data, baseline),
        building_only_peak_kw=outcome(data, load).peak_kw,
    )
