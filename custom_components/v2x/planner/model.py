"""Inputs and results of the vehicle-to-building planner.

Units: kW for power, kWh for energy, hours for the step length, currency per kWh
for energy prices and currency per kW for the demand charge. Power of a car is
positive when it charges and negative when it discharges (as everywhere in V2X).
Steps are numbered from 0 (the step starting now); a car is present during the
steps ``arrival_step .. departure_step - 1`` and leaves at the start of
``departure_step``. A stationary battery (:attr:`VehicleSpec.stationary`) is present
for the whole horizon and never leaves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]


class PlannerInputError(ValueError):
    """The planner was given inconsistent data (a bug in the caller, or bad settings)."""


def _require_finite(owner: str, values: Mapping[str, float | FloatArray | None]) -> None:
    """Raise :class:`PlannerInputError` naming every value that holds NaN or an infinity.

    ``None`` means "not set" and passes; an array fails when any element is not finite.
    """
    bad = [
        name
        for name, value in values.items()
        if value is not None and not bool(np.all(np.isfinite(value)))
    ]
    if bad:
        raise PlannerInputError(f"{owner}: {', '.join(bad)} must be finite (NaN or infinity given)")


MAX_MAGNITUDE = 1e6
"""No building load (kW), price (per kWh), car or charger comes near this: a value
beyond it is a unit or a parsing mistake, refused rather than planned on."""


def _require_series(owner: str, values: Mapping[str, object]) -> None:
    """Raise :class:`PlannerInputError` naming every per-step value that is no 1-D array.

    ``None`` means "not set" and passes. A list, a scalar or a 2-D array would otherwise
    fail deep inside NumPy or the solver with a message that names nothing.
    """
    bad = [
        name
        for name, value in values.items()
        if value is not None
        and not (
            isinstance(value, np.ndarray)
            and value.ndim == 1
            and (np.issubdtype(value.dtype, np.number) or value.dtype == np.bool_)
        )
    ]
    if bad:
        raise PlannerInputError(
            f"{owner}: {', '.join(bad)} must be one-dimensional NumPy arrays of numbers"
        )


def _step_problems(arrival: int, departure: int, steps: int) -> list[str]:
    """What is wrong with a car's arrival and departure steps (whole, in order, in time)."""
    fractional = [
        name
        for name, value in (("arrival", arrival), ("departure", departure))
        if isinstance(value, bool) or not isinstance(value, int | np.integer)
    ]
    if fractional:
        return [f"{' and '.join(fractional)} must be whole step numbers"]
    problems = []
    if not 0 <= arrival <= steps:
        problems.append("arrival must lie within the horizon")
    if departure < 0:
        problems.append("departure must not lie in the past")
    elif departure < arrival:
        problems.append("departure must not be before arrival")
    return problems


@dataclass(frozen=True, slots=True)
class VehicleSpec:
    """One car on one charger, as the planner sees it, or a stationary battery.

    A stationary battery (:attr:`stationary`) is planned like a car that is plugged in
    for the whole horizon and leaves after it: it never goes below its reserve, obeys
    the same no-transfer rule and minimum powers, and what it holds at the horizon's
    end is worth what buying it back at the horizon's cheapest price costs (up to its
    capacity), so the plan neither empties it at the end nor fills it for nothing. Its
    ``departure_step``, ``arrival_step`` and ``target_kwh`` are ignored (not validated);
    it needs a capacity, its energy now, a reserve within the capacity, its limits, its
    efficiency and its wear cost.
    """

    vehicle_id: str
    capacity_kwh: float
    energy_kwh: float
    """Energy stored now, or expected at arrival for a car not yet plugged in."""
    departure_step: int
    target_kwh: float
    reserve_kwh: float
    max_charge_kw: float
    max_discharge_kw: float
    arrival_step: int = 0
    round_trip_efficiency: float = 0.85
    wear_cost_per_kwh: float = 0.0
    """Battery wear charged per kWh discharged (currency/kWh)."""
    min_charge_kw: float = 0.0
    """The least non-zero charging power the charger runs at (a Quasar will not run
    below 6 A, 1.38 kW): the plan rounds its setpoints to it, and a limit below it means
    no charging at all."""
    min_discharge_kw: float = 0.0
    """The least non-zero discharging power the charger runs at."""
    stationary: bool = False
    """A battery that never leaves (a building's storage battery): no arrival, no
    departure, no target; it is only kept at or above its reserve."""

    def validate(self, steps: int) -> None:
        """Raise :class:`PlannerInputError` when the numbers cannot describe a car.

        For a stationary battery the departure, arrival and target are not looked at.
        """
        if not isinstance(self.stationary, bool | np.bool_):
            raise PlannerInputError(f"vehicle {self.vehicle_id}: stationary must be a bool")
        _require_finite(
            f"vehicle {self.vehicle_id}",
            {
                "capacity_kwh": self.capacity_kwh,
                "energy_kwh": self.energy_kwh,
                "target_kwh": None if self.stationary else self.target_kwh,
                "reserve_kwh": self.reserve_kwh,
                "max_charge_kw": self.max_charge_kw,
                "max_discharge_kw": self.max_discharge_kw,
                "round_trip_efficiency": self.round_trip_efficiency,
                "wear_cost_per_kwh": self.wear_cost_per_kwh,
                "min_charge_kw": self.min_charge_kw,
                "min_discharge_kw": self.min_discharge_kw,
            },
        )
        problems = []
        if not self.capacity_kwh > 0:
            problems.append("capacity must be positive")
        if not 0 <= self.reserve_kwh <= self.capacity_kwh:
            problems.append("reserve must be between 0 and the capacity")
        if not 0 <= self.energy_kwh <= self.capacity_kwh * 1.001:
            problems.append("stored energy must be between 0 and the capacity")
        if min(self.max_charge_kw, self.max_discharge_kw) < 0:
            problems.append("charger limits must not be negative")
        if min(self.min_charge_kw, self.min_discharge_kw) < 0:
            problems.append("minimum powers must not be negative")
        if not 0 < self.round_trip_efficiency <= 1:
            problems.append("round-trip efficiency must be in (0, 1]")
        if self.wear_cost_per_kwh < 0:
            problems.append("wear cost must not be negative")
        if (
            max(
                self.capacity_kwh,
                self.max_charge_kw,
                self.max_discharge_kw,
                self.min_charge_kw,
                self.min_discharge_kw,
            )
            > MAX_MAGNITUDE
        ):
            problems.append(f"capacity and charger limits must be below {MAX_MAGNITUDE:g}")
        if not self.stationary:
            problems.extend(self._departure_problems(steps))
        if problems:
            raise PlannerInputError(f"vehicle {self.vehicle_id}: " + ", ".join(problems))

    def _departure_problems(self, steps: int) -> list[str]:
        """What is wrong with a car's target, arrival and departure."""
        problems = []
        if not 0 <= self.target_kwh <= self.capacity_kwh:
            problems.append("target must be between 0 and the capacity")
        if self.reserve_kwh > self.target_kwh:
            problems.append("reserve must not be above the target")
        return problems + _step_problems(self.arrival_step, self.departure_step, steps)

    @property
    def usable_charge_kw(self) -> float:
        """The most the car may charge (0 when the limit is below the minimum)."""
        return self.max_charge_kw if self.max_charge_kw >= self.min_charge_kw else 0.0

    @property
    def usable_discharge_kw(self) -> float:
        """The most the car may discharge, as :attr:`usable_charge_kw`."""
        return self.max_discharge_kw if self.max_discharge_kw >= self.min_discharge_kw else 0.0

    @property
    def one_way_efficiency(self) -> float:
        """Charging and discharging efficiency, each the square root of the round trip."""
        return math.sqrt(self.round_trip_efficiency)


@dataclass(frozen=True, slots=True)
class PlanInput:
    """Everything one solve needs."""

    step_h: float
    load_kw: FloatArray
    """Building load forecast without the cars, one value per step (negative = surplus)."""
    price: FloatArray
    """Import price per step (currency/kWh)."""
    vehicles: tuple[VehicleSpec, ...]
    export_price: FloatArray | None = None
    export_limit_kw: float = 0.0
    import_limit_kw: float | None = None
    demand_charge_per_kw: float = 0.0
    billed_peak_kw: float = 0.0
    """Peak already billed in this period: the demand charge only counts what exceeds it."""
    demand_mask: NDArray[np.bool_] | None = None
    """Steps in the demand-charge window (all when None)."""
    billing_steps: int = 1
    """Steps per billing interval: the demand charge bills the highest average import
    over an interval (15 or 30 minutes), not the highest step, when steps are shorter."""
    billing_offset: int = 0
    """Steps of the first billing interval that lie before step 0 (already past)."""
    billing_so_far_kwh: float = 0.0
    """What the building imported in those past steps: it counts in the first interval's
    average."""
    allow_transfer: bool = False
    """Allow one car to charge another through the building (normally not wanted).

    When not allowed, no car discharges in a step in which another charges, exactly
    (one binary per step where the linear relaxation would do it), and the cars'
    discharge never exceeds the building's load (they never export)."""
    time_limit_s: float = 10.0
    previous_kw: Mapping[str, FloatArray] | None = None
    """The last plan's power per car on this plan's steps (NaN where it had none): among
    plans that cost the same, the one closest to it is chosen, so that successive plans
    do not jump between equal optima."""

    @property
    def steps(self) -> int:
        """Number of steps in the horizon."""
        return int(self.load_kw.shape[0])

    @property
    def billed_steps(self) -> NDArray[np.bool_]:
        """The demand-charge window as a boolean array (every step by default)."""
        if self.demand_mask is None:
            return np.ones(self.steps, dtype=bool)
        return self.demand_mask.astype(bool)

    def billing_blocks(self) -> BillingBlocks:
        """The billing intervals the horizon's steps fall in (see :class:`BillingBlocks`)."""
        return BillingBlocks.of(self)

    @property
    def export_prices(self) -> FloatArray:
        """Export price per step (zero when exports earn nothing)."""
        if self.export_price is None:
            return np.zeros(self.steps)
        return self.export_price.astype(np.float64)

    def validate(self) -> None:
        """Raise :class:`PlannerInputError` for inconsistent input."""
        _require_series(
            "plan input",
            {
                "load_kw": self.load_kw,
                "price": self.price,
                "export_price": self.export_price,
                "demand_mask": self.demand_mask,
            },
        )
        _require_finite(
            "plan input",
            {
                "step_h": self.step_h,
                "load_kw": self.load_kw,
                "price": self.price,
                "export_price": self.export_price,
                "export_limit_kw": self.export_limit_kw,
                "import_limit_kw": self.import_limit_kw,
                "demand_charge_per_kw": self.demand_charge_per_kw,
                "billed_peak_kw": self.billed_peak_kw,
                "billing_so_far_kwh": self.billing_so_far_kwh,
                "time_limit_s": self.time_limit_s,
            },
        )
        _require_billing(self.billing_steps, self.billing_offset, self.billing_so_far_kwh)
        absurd = [
            name
            for name, value in (
                ("load_kw", self.load_kw),
                ("price", self.price),
                ("export_price", self.export_price),
                ("import_limit_kw", self.import_limit_kw),
                ("export_limit_kw", self.export_limit_kw),
                ("demand_charge_per_kw", self.demand_charge_per_kw),
                ("billed_peak_kw", self.billed_peak_kw),
            )
            if value is not None and bool(np.any(np.abs(value) > MAX_MAGNITUDE))
        ]
        if absurd:
            raise PlannerInputError(
                f"plan input: {', '.join(absurd)} beyond ±{MAX_MAGNITUDE:g} cannot be real"
            )
        steps = self.steps
        if steps == 0 or not self.step_h > 0:
            raise PlannerInputError("the horizon needs at least one step of positive length")
        arrays = {"price": self.price, "export price": self.export_price}
        if self.demand_mask is not None:
            arrays["demand mask"] = self.demand_mask.astype(np.float64)
        for name, array in arrays.items():
            if array is not None and array.shape != (steps,):
                raise PlannerInputError(f"{name} must have one value per step ({steps})")
        if self.import_limit_kw is not None and self.import_limit_kw < 0:
            raise PlannerInputError("the import limit must not be negative")
        if self.export_limit_kw < 0 or self.demand_charge_per_kw < 0 or self.billed_peak_kw < 0:
            raise PlannerInputError("limits, demand charge and billed peak must not be negative")
        if self.time_limit_s < 0:
            raise PlannerInputError("the time limit must not be negative")
        ids = [vehicle.vehicle_id for vehicle in self.vehicles]
        if len(set(ids)) != len(ids):
            raise PlannerInputError("vehicle ids must be unique")
        for vehicle in self.vehicles:
            vehicle.validate(steps)
        _require_previous(self.previous_kw, steps)


def _require_previous(previous: Mapping[str, FloatArray] | None, steps: int) -> None:
    """Raise :class:`PlannerInputError` for a previous plan that cannot be one."""
    for vehicle_id, power in (previous or {}).items():
        _require_series(f"previous plan of {vehicle_id}", {"power_kw": power})
        known = power[~np.isnan(power)]
        if power.shape != (steps,) or bool(np.any(np.abs(known) > MAX_MAGNITUDE)):
            raise PlannerInputError(
                f"previous plan of {vehicle_id}: one power per step ({steps}), NaN where"
                f" none, each within ±{MAX_MAGNITUDE:g} kW"
            )


def _require_billing(steps: int, offset: int, so_far_kwh: float) -> None:
    """Raise :class:`PlannerInputError` for a billing interval that cannot be."""
    whole = all(
        isinstance(value, int | np.integer) and not isinstance(value, bool)
        for value in (steps, offset)
    )
    if not whole or not 1 <= steps <= MAX_BILLING_STEPS or not 0 <= offset < steps:
        raise PlannerInputError(
            "plan input: billing_steps must be a whole number from 1 to "
            f"{MAX_BILLING_STEPS} and billing_offset a whole number below it"
        )
    if not 0 <= so_far_kwh <= MAX_MAGNITUDE:
        raise PlannerInputError(
            f"plan input: billing_so_far_kwh must be between 0 and {MAX_MAGNITUDE:g}"
        )


MAX_BILLING_STEPS = 96
"""A billing interval longer than a day of 15-minute steps is no demand interval."""


@dataclass(frozen=True, slots=True)
class BillingBlocks:
    """The billing intervals of a horizon: which steps each averages, and over how long.

    Step ``t`` lies in block ``(t + offset) // billing_steps``. The first block also
    holds the past part of its interval (its import known, :attr:`so_far_kwh`), so it
    is averaged over the whole interval; a block cut short by the horizon's end is
    averaged over the steps it has (what comes after is not planned). A block is
    billed when any of its steps lies in the demand window.
    """

    of_step: NDArray[np.int64]
    """Block of each step."""
    length_h: FloatArray
    """Hours each block's average is taken over."""
    so_far_kwh: FloatArray
    """Import already known in each block (only the first may have any)."""
    billed: NDArray[np.bool_]
    """Blocks in the demand window."""

    @classmethod
    def of(cls, data: PlanInput) -> BillingBlocks:
        """The blocks of ``data`` (validated)."""
        of_step = (np.arange(data.steps, dtype=np.int64) + data.billing_offset) // (
            data.billing_steps
        )
        blocks = int(of_step[-1]) + 1 if of_step.size else 0
        counts = np.bincount(of_step, minlength=blocks).astype(np.float64)
        so_far = np.zeros(blocks)
        if blocks:
            counts[0] += data.billing_offset
            so_far[0] = data.billing_so_far_kwh
        billed = np.bincount(of_step, weights=data.billed_steps, minlength=blocks) > 0
        return cls(of_step, counts * data.step_h, so_far, billed)

    def averages(self, import_kw: FloatArray, step_h: float) -> FloatArray:
        """Average import of each block, given the import of each step."""
        energy = np.bincount(self.of_step, weights=import_kw * step_h, minlength=self.billed.size)
        return np.asarray((energy + self.so_far_kwh) / self.length_h, dtype=np.float64)

    def peak_kw(self, import_kw: FloatArray, step_h: float) -> float:
        """The highest billed block average (0 when none is billed)."""
        return float(self.averages(import_kw, step_h)[self.billed].max(initial=0.0))


@dataclass(frozen=True, slots=True)
class VehiclePlan:
    """The schedule of one car."""

    vehicle_id: str
    power_kw: FloatArray
    """Net AC power per step: positive charges, negative discharges."""
    energy_kwh: FloatArray
    """Stored energy at the start of each step, and after the last one (steps + 1)."""
    departure_step: int
    """Step at which the car leaves, clipped to the horizon (the horizon's end for a
    stationary battery)."""
    target_kwh: float
    """The car's target; a stationary battery's reserve (all it must hold)."""
    shortfall_kwh: float
    """How much the car will miss its target by (0 when it will be at target); for a car
    leaving after the horizon, what it will miss at the horizon's end of what it must
    have there. Always 0 for a stationary battery."""
    beyond_horizon: bool = False
    """The car leaves after the horizon's end: :attr:`departure_energy_kwh` is what it
    has there, on its way to its target (later plans bring it there). True for a
    stationary battery."""
    stationary: bool = False
    """A stationary battery: it has no departure (``departure_step`` is only the
    horizon's end) and no target."""

    @property
    def departure_energy_kwh(self) -> float:
        """Energy the car is planned to have when it leaves (or at the horizon's end)."""
        return float(self.energy_kwh[self.departure_step])


@dataclass(frozen=True, slots=True)
class Plan:
    """The result of one solve."""

    status: str
    """``optimal``, or ``time_limit`` when HiGHS stopped early with a feasible plan."""
    step_h: float
    load_kw: FloatArray
    grid_kw: FloatArray
    """Planned grid exchange per step: import positive, export negative."""
    price: FloatArray
    vehicles: tuple[VehiclePlan, ...]
    peak_kw: float
    """Highest planned average import of a billed interval (a step, by default) in the
    demand window."""
    import_excess_kw: FloatArray
    """Import above the limit that could not be avoided, per step."""
    energy_cost: float
    """Cost of the planned imports minus the export revenue over the horizon."""
    objective: float
    solve_time_s: float
    simultaneous_kw: float = 0.0
    """Largest charge-and-discharge overlap of one car in one step (0 for an exact plan)."""
    transfer_kw: float = 0.0
    """Largest power one car could take from another in one step: the lesser of the
    charging and the discharging in that step (0 unless transfer is allowed)."""
    below_minimum_kw: float = 0.0
    """Largest planned setpoint that is neither 0 nor at least its charger's minimum (made
    runnable where it is sent)."""
    binary_steps: int = 0
    """Steps that needed a charge-or-discharge binary: where a car would have charged
    another."""
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        """Every car at its target and the import limit kept."""
        return all(v.shortfall_kwh < 1e-3 for v in self.vehicles) and bool(
            np.all(self.import_excess_kw < 1e-3)
        )

    def vehicle(self, vehicle_id: str) -> VehiclePlan:
        """The plan of one car; KeyError when it is not in the plan."""
        for plan in self.vehicles:
            if plan.vehicle_id == vehicle_id:
                return plan
        raise KeyError(vehicle_id)
