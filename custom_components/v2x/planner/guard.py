"""The real-time peak guard: holds a billing interval's average import at the target.

A plan is made on a forecast; the building's real load is not the forecast. The guard
runs at the meter's rate (seconds), between two plans, and corrects the plan's
setpoints for what the meter says now:

* the tariff bills the average import of an interval (15 minutes, say), so what the
  rest of the interval may import is what keeps that average at the target peak,
  given what was already imported in it;
* when the load now plus the cars' planned power would exceed that, it first cuts
  charging down to what each car still needs to reach its departure target, then, only
  once no car charges, raises discharge, never below a car's reserve, never so far that
  its departure target becomes unreachable and never beyond the building's own load
  (the cars supply the building; they never export and never charge one another);
* ``cautious``, for a forecast it does not trust: every car charges at least the even
  rate that brings it to its target by its departure (a margin early), whatever the
  plan (15 minutes old) says; charging beyond that stays under a ceiling (the peak
  already billed), since a plan's cheap hour is only where the forecast put it; and
  what the guard adds to the plan's discharge is only energy above the departure
  target, since energy that had to be charged back would be charged back at the peak;
* when the load is lower than planned, the plan's setpoints stand as they are;
* every setpoint is one the charger can run: 0, or at least its minimum power (a
  discharge the guard wants below it runs at the minimum where the car has the room).

Pure: no Home Assistant, no I/O. Power is positive when a car charges (kW), energy is
what the battery stores (kWh), time in hours.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
import math

from .model import (
    MAX_MAGNITUDE,
    Plan,
    PlanInput,
    PlannerInputError,
    VehicleSpec,
    _require_finite,
)
from .policy import SOC_MARGIN_PCT

_EPS_KW = 1e-9


class GuardAction(StrEnum):
    """What the guard did to the plan's setpoints."""

    FOLLOW = "follow"  # the plan holds the target: setpoints unchanged
    CUT_CHARGING = "cut_charging"
    DISCHARGE = "discharge"  # charging cut to what departures need, discharge raised
    OVER = "over"  # the cars have no more room: the interval goes over the target


@dataclass(frozen=True, slots=True)
class GuardCar:
    """One car as the guard sees it, with the plan's setpoint for now."""

    vehicle_id: str
    planned_kw: float
    max_charge_kw: float
    max_discharge_kw: float
    energy_kwh: float
    reserve_kwh: float
    target_kwh: float
    hours_to_departure: float
    one_way_efficiency: float = 1.0
    margin_h: float = 0.0
    """The car is to be at its target this long before it leaves: the guard keeps that
    much time in hand for a charger that starts late, a reading a percent off and the
    charging it may itself have to cut later."""
    min_charge_kw: float = 0.0
    """The least non-zero charging the charger runs at (a setpoint is 0 or this much)."""
    min_discharge_kw: float = 0.0
    """The least non-zero discharging the charger runs at."""

    def validate(self) -> None:
        """Raise :class:`PlannerInputError` naming the field that cannot be right."""
        _require_finite(
            f"guard car {self.vehicle_id}",
            {
                "planned_kw": self.planned_kw,
                "max_charge_kw": self.max_charge_kw,
                "max_discharge_kw": self.max_discharge_kw,
                "energy_kwh": self.energy_kwh,
                "reserve_kwh": self.reserve_kwh,
                "target_kwh": self.target_kwh,
                "hours_to_departure": self.hours_to_departure,
                "one_way_efficiency": self.one_way_efficiency,
                "margin_h": self.margin_h,
                "min_charge_kw": self.min_charge_kw,
                "min_discharge_kw": self.min_discharge_kw,
            },
        )
        bad = []
        if self.max_charge_kw < 0:
            bad.append("max_charge_kw")
        if self.max_discharge_kw < 0:
            bad.append("max_discharge_kw")
        if self.energy_kwh < 0:
            bad.append("energy_kwh")
        if self.reserve_kwh < 0:
            bad.append("reserve_kwh")
        if self.hours_to_departure < 0:
            bad.append("hours_to_departure")
        if self.margin_h < 0:
            bad.append("margin_h")
        if self.min_charge_kw < 0:
            bad.append("min_charge_kw")
        if self.min_discharge_kw < 0:
            bad.append("min_discharge_kw")
        if not 0 < self.one_way_efficiency <= 1:
            bad.append("one_way_efficiency")
        if bad:
            raise PlannerInputError(f"guard car {self.vehicle_id}: bad {', '.join(bad)}")

    def must_charge_kw(self, hours: float) -> float:
        """The least charging over the next ``hours`` that keeps the target reachable.

        Reachable by :attr:`margin_h` before the departure; a car already behind that
        charges at full power until it leaves.
        """
        missing = self.target_kwh - self.energy_kwh
        if missing <= 0 or self.max_charge_kw <= 0 or self.hours_to_departure <= 0:
            return 0.0
        in_time_h = self.hours_to_departure - self.margin_h
        now_h = min(hours, in_time_h)
        if now_h <= 0:
            return self.max_charge_kw
        later_kwh = self.max_charge_kw * self.one_way_efficiency * (in_time_h - now_h)
        needed = (missing - later_kwh) / (self.one_way_efficiency * now_h)
        return min(max(needed, 0.0), self.max_charge_kw)

    def steady_kw(self) -> float:
        """The even charging that brings the car to its target :attr:`margin_h` early.

        A car charged at this rate adds the least it can to any moment of the day: where
        the peak really comes is what the forecast may have wrong. It is the need over
        the whole time left before the margin.
        """
        return self.must_charge_kw(self.hours_to_departure - self.margin_h)

    def floor_kw(self, hours: float, *, steady: bool) -> float:
        """The least the car charges over the next ``hours``, whatever the plan says."""
        need = self.must_charge_kw(hours)
        return max(need, self.steady_kw()) if steady else need

    def may_discharge_kw(self, hours: float, *, margin_h: float | None = None) -> float:
        """The most discharge over the next ``hours``: above the reserve, target reachable.

        Reachable :attr:`margin_h` before the departure (or ``margin_h``, when given).
        """
        if hours <= 0 or self.max_discharge_kw <= 0:
            return 0.0
        margin = self.margin_h if margin_h is None else margin_h
        efficiency = self.one_way_efficiency
        above_reserve = (self.energy_kwh - self.reserve_kwh) * efficiency / hours
        later_h = max(self.hours_to_departure - margin - hours, 0.0)
        refill_kwh = self.max_charge_kw * efficiency * later_h
        above_target = (self.energy_kwh + refill_kwh - self.target_kwh) * efficiency / hours
        return max(min(self.max_discharge_kw, above_reserve, above_target), 0.0)

    def spare_kw(self, hours: float) -> float:
        """The most discharge over the next ``hours`` that needs no charging back.

        What the guard adds to the plan comes from here: energy above the reserve and
        above the departure target. Discharge that must be charged back later would be
        charged back when the load is at its highest, the very time the guard is for.
        It is what the car may discharge with no time left to charge back.
        """
        return self.may_discharge_kw(hours, margin_h=self.hours_to_departure)


@dataclass(frozen=True, slots=True)
class BillingInterval:
    """Where the meter stands in the interval the tariff bills."""

    length_h: float
    elapsed_h: float
    imported_kwh: float
    """Grid import so far in this interval, the cars included."""

    def validate(self) -> None:
        """Raise :class:`PlannerInputError` naming the field that cannot be right."""
        if not (math.isfinite(self.length_h) and self.length_h > 0):
            raise PlannerInputError("billing interval: bad length_h")
        if not (math.isfinite(self.elapsed_h) and 0 <= self.elapsed_h <= self.length_h):
            raise PlannerInputError("billing interval: bad elapsed_h")
        if not math.isfinite(self.imported_kwh):
            raise PlannerInputError("billing interval: bad imported_kwh")

    @property
    def remaining_h(self) -> float:
        """Time left in the interval."""
        return self.length_h - self.elapsed_h

    def allowed_import_kw(self, target_peak_kw: float) -> float:
        """The import for the rest of the interval that keeps its average at the target."""
        if self.remaining_h <= 0:
            return target_peak_kw
        return (target_peak_kw * self.length_h - self.imported_kwh) / self.remaining_h


@dataclass(frozen=True, slots=True)
class GuardDecision:
    """The setpoints to send now, and why."""

    setpoints_kw: dict[str, float]
    action: GuardAction
    allowed_import_kw: float
    import_kw: float
    """The grid import the setpoints make with the load now."""
    target_peak_kw: float = 0.0
    """The interval average the guard held the import at."""

    @property
    def over_kw(self) -> float:
        """How far the import stays above what the interval allows (0 when held)."""
        return max(self.import_kw - self.allowed_import_kw, 0.0)


def _without_transfer(setpoints: dict[str, float]) -> dict[str, float]:
    """No car discharges while another charges: the discharging ones stop.

    Charging is what a departure may need; a discharge beside it would only move energy
    from one car to another through the building. If the import then runs over, the
    guard cuts the charging to what departures need, and only when nothing charges any
    more may it raise discharge again.
    """
    if not any(power > _EPS_KW for power in setpoints.values()):
        return setpoints
    return {vid: max(power, 0.0) for vid, power in setpoints.items()}


def guard(
    cars: Sequence[GuardCar],
    *,
    load_kw: float,
    target_peak_kw: float,
    interval: BillingInterval,
    tolerance_kw: float = 0.0,
    charge_ceiling_kw: float | None = None,
    cautious: bool = False,
) -> GuardDecision:
    """The plan's setpoints, corrected so the interval's average import holds the target.

    ``load_kw`` is the building's load now without the cars (what the meter reads
    minus the cars' power when the meter includes them). The plan is left alone while
    the interval's average, if the import stayed as it is now, would end no more than
    ``tolerance_kw`` above the target: a plan often holds the import exactly at its
    peak, and a reading a fraction off (a charger's power read a second late) must not
    cost the cars the charging the peak later needs. Past that, the whole excess is
    corrected.

    ``cautious``: every car charges at least :meth:`GuardCar.steady_kw` and what keeps
    its target reachable (:meth:`GuardCar.must_charge_kw`), whatever the plan says, and
    the guard raises discharge only from energy above the target
    (:meth:`GuardCar.spare_kw`). ``charge_ceiling_kw``, when given (at most the target),
    is the interval average that charging beyond that need must not push the import
    above: the target is where the plan expects the peak, the ceiling what the peak
    will be at the least, so charging below it cannot raise the bill even when the
    forecast peak never comes.
    """
    ceiling = target_peak_kw if charge_ceiling_kw is None else charge_ceiling_kw
    if (
        not all(map(math.isfinite, (load_kw, target_peak_kw, tolerance_kw, ceiling)))
        or min(target_peak_kw, tolerance_kw, ceiling) < 0
        or max(abs(load_kw), target_peak_kw, ceiling) > MAX_MAGNITUDE
    ):
        raise PlannerInputError(
            "guard: load_kw, target_peak_kw, tolerance_kw and charge_ceiling_kw must be "
            f"finite and below {MAX_MAGNITUDE:g}, the last three ≥ 0"
        )
    interval.validate()
    for car in cars:
        car.validate()
    hours = interval.remaining_h if interval.remaining_h > 0 else interval.length_h
    setpoints = {car.vehicle_id: _bounded(car, hours, cautious=cautious) for car in cars}
    setpoints = _without_transfer(setpoints)
    action = GuardAction.FOLLOW
    share_left = interval.remaining_h / interval.length_h
    if ceiling < target_peak_kw:
        above = load_kw + sum(setpoints.values()) - interval.allowed_import_kw(ceiling)
        if (
            above * share_left > tolerance_kw + _EPS_KW
            and _cut_charging(cars, setpoints, above, hours, cautious=cautious) < above - _EPS_KW
        ):
            action = GuardAction.CUT_CHARGING
    allowed = interval.allowed_import_kw(target_peak_kw)
    excess = load_kw + sum(setpoints.values()) - allowed
    if excess * share_left > tolerance_kw + _EPS_KW:
        action = GuardAction.CUT_CHARGING
        excess = _cut_charging(cars, setpoints, excess, hours, cautious=cautious)
        if excess > _EPS_KW and all(power <= _EPS_KW for power in setpoints.values()):
            action = GuardAction.DISCHARGE
            excess = _raise_discharge(cars, setpoints, excess, hours, load_kw, cautious=cautious)
        if excess > _EPS_KW:
            action = GuardAction.OVER
    _runnable(cars, setpoints, hours, load_kw, cautious=cautious)
    import_kw = load_kw + sum(setpoints.values())
    # A charger's minimum power may still take the interval over what it allows.
    above = import_kw - allowed
    if action is GuardAction.FOLLOW:
        above = above * share_left - tolerance_kw
    if above > _EPS_KW:
        action = GuardAction.OVER
    elif action is GuardAction.OVER:  # a charger that cannot run that low is off now
        action = GuardAction.CUT_CHARGING
    return GuardDecision(
        setpoints_kw=setpoints,
        action=action,
        allowed_import_kw=allowed,
        import_kw=import_kw,
        target_peak_kw=target_peak_kw,
    )


def _runnable(
    cars: Sequence[GuardCar],
    setpoints: dict[str, float],
    hours: float,
    load_kw: float,
    *,
    cautious: bool,
) -> None:
    """Make every setpoint one its charger can run: 0, or at least its minimum.

    Charging below the minimum rises to it when the car needs charging now (its
    departure first), else stops. Discharging below the minimum rises to it where the
    car has the room and the building the load for it (the peak is what the guard is
    for), else stops (the car keeps its energy, the interval imports a little more).
    """
    supplied = -sum(min(power, 0.0) for power in setpoints.values())
    for car in cars:
        vid = car.vehicle_id
        power = setpoints[vid]
        if abs(power) <= _EPS_KW:
            setpoints[vid] = 0.0
        elif 0 < power < car.min_charge_kw:
            needed = car.floor_kw(hours, steady=cautious) > _EPS_KW
            runs = needed and car.min_charge_kw <= car.max_charge_kw
            setpoints[vid] = car.min_charge_kw if runs else 0.0
        elif 0 < -power < car.min_discharge_kw:
            more = car.min_discharge_kw + power
            room = _discharge_room_kw(car, hours, cautious=cautious)
            if room >= car.min_discharge_kw and supplied + more <= max(load_kw, 0.0):
                setpoints[vid] = -car.min_discharge_kw
                supplied += more
            else:
                setpoints[vid] = 0.0
                supplied += power


def _bounded(car: GuardCar, hours: float, *, cautious: bool) -> float:
    """The plan's setpoint within the car's power and reserve (and need, if cautious).

    The plan's own discharge is held to the departure itself; the margin is for what
    the guard does on top of the plan.
    """
    power = min(max(car.planned_kw, -car.may_discharge_kw(hours, margin_h=0.0)), car.max_charge_kw)
    if not cautious:
        return power
    floor = car.floor_kw(hours, steady=True)
    return max(power, floor) if floor > _EPS_KW else power


def _discharge_room_kw(car: GuardCar, hours: float, *, cautious: bool) -> float:
    """The most a car may discharge; if cautious, beyond the plan only its spare energy."""
    room = car.may_discharge_kw(hours)
    return min(room, max(car.spare_kw(hours), -car.planned_kw)) if cautious else room


def _cut_charging(
    cars: Sequence[GuardCar],
    setpoints: dict[str, float],
    excess: float,
    hours: float,
    *,
    cautious: bool,
) -> float:
    """Lower charging toward each car's need, in proportion to its slack; excess left."""
    slack = {
        car.vehicle_id: max(setpoints[car.vehicle_id] - car.floor_kw(hours, steady=cautious), 0.0)
        for car in cars
        if setpoints[car.vehicle_id] > 0
    }
    total = sum(slack.values())
    if total <= _EPS_KW:
        return excess
    share = min(excess / total, 1.0)
    for vid, room in slack.items():
        setpoints[vid] -= room * share
    return excess - total * share


def _raise_discharge(
    cars: Sequence[GuardCar],
    setpoints: dict[str, float],
    excess: float,
    hours: float,
    load_kw: float,
    *,
    cautious: bool,
) -> float:
    """Raise discharge within each car's room and the building's load; excess left.

    A car's room is what it may discharge (:meth:`GuardCar.may_discharge_kw`); when
    cautious, beyond the plan's own discharge only what needs no charging back.
    """
    supplied = -sum(setpoints.values())
    wanted = min(excess, max(load_kw - supplied, 0.0))
    room = {
        car.vehicle_id: max(
            _discharge_room_kw(car, hours, cautious=cautious) + setpoints[car.vehicle_id], 0.0
        )
        for car in cars
    }
    total = sum(room.values())
    if total <= _EPS_KW or wanted <= _EPS_KW:
        return excess
    share = min(wanted / total, 1.0)
    for vid, extra in room.items():
        setpoints[vid] -= extra * share
    return excess - total * share


def guard_target_kw(data: PlanInput, plan: Plan) -> float | None:
    """The average import the guard holds the interval under way at; None: no guard.

    While the demand charge applies (it is set and the step is in its window), the
    plan's peak: the plan already counts the peak billed so far as free, so it is never
    below that. Else the grid import limit, where one is set.
    """
    in_window = data.demand_mask is None or bool(data.demand_mask[0])
    limit = data.import_limit_kw
    if data.demand_charge_per_kw > 0 and in_window:
        target = float(plan.peak_kw)
        return min(target, limit) if limit is not None else target
    return limit


def guard_cars(
    specs: Sequence[VehicleSpec],
    plan: Plan,
    *,
    soc_pct: Mapping[str, float | None],
    hours_to_departure: Mapping[str, float],
    margin_h: float = 0.0,
) -> list[GuardCar]:
    """The planned cars as the guard sees them now.

    ``soc_pct`` is each car's state of charge read now (the plan's energy where it is
    unknown): between two plans the cars charge and discharge, and the guard must not
    take a reserve or a departure need from a reading 15 minutes old.

    A stationary battery needs no entry in ``hours_to_departure``: it is a car whose
    target is its reserve and that is leaving now, so that the guard never makes it
    charge and may use all it holds above its reserve to hold the peak.
    """
    planned = {vehicle.vehicle_id: vehicle for vehicle in plan.vehicles}
    cars = []
    for spec in specs:
        vehicle = planned.get(spec.vehicle_id)
        if vehicle is None or not (spec.stationary or spec.vehicle_id in hours_to_departure):
            continue
        soc = soc_pct.get(spec.vehicle_id)
        # The lower end of a whole-percent reading, as the plan takes it.
        energy = (
            spec.energy_kwh if soc is None else (soc - SOC_MARGIN_PCT) / 100 * spec.capacity_kwh
        )
        cars.append(
            GuardCar(
                vehicle_id=spec.vehicle_id,
                planned_kw=float(vehicle.power_kw[0]),
                max_charge_kw=spec.usable_charge_kw,
                max_discharge_kw=spec.usable_discharge_kw,
                energy_kwh=min(max(energy, 0.0), spec.capacity_kwh),
                reserve_kwh=spec.reserve_kwh,
                target_kwh=spec.reserve_kwh if spec.stationary else spec.target_kwh,
                hours_to_departure=0.0
                if spec.stationary
                else max(hours_to_departure[spec.vehicle_id], 0.0),
                one_way_efficiency=spec.one_way_efficiency,
                margin_h=margin_h,
                min_charge_kw=spec.min_charge_kw,
                min_discharge_kw=spec.min_discharge_kw,
            )
        )
    return cars
