"""What V2B does with each car: whether it is planned, its plan input, its setpoint.

Pure rules, no Home Assistant imports.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

import numpy as np

from .model import FloatArray, Plan, VehicleSpec
from .series import steps_until

SOC_MARGIN_PCT: Final = 0.5
"""Chargers report the car's SoC in whole percent (rounded): the planner takes the lower
end of what a reading may mean, so that a car is not left half a percent short."""
MIN_SETPOINT_W: Final = 100
"""Below this a planned setpoint is a hold at 0 W."""


def availability(
    *, answering: bool, connected: bool, manual: bool, soc_known: bool
) -> tuple[bool, str | None]:
    """Whether a car is in the plan, and why not: unavailable, unplugged, manual, no_soc.

    ``manual``: its charger runs a session someone else started (a person, a site).
    """
    if not answering:
        return False, "unavailable"
    if not connected:
        return False, "unplugged"
    if manual:
        return False, "manual"
    if not soc_known:
        return False, "no_soc"
    return True, None


def setpoint_w(
    planned_kw: float | None, reason: str | None, probe_w: int, min_power_w: int = 0
) -> int | None:
    """The power to send a car's charger now (positive charges); None hands it back.

    A car in the plan gets its first step, made runnable (:func:`runnable_w`). One
    plugged in with its SoC unknown (a Quasar reports it only while power flows) is
    charged gently until it is known, then the plan takes it. Any other car is
    released.
    """
    if planned_kw is not None:
        return runnable_w(round(planned_kw * 1000), min_power_w)
    if reason == "no_soc":
        return probe_w
    return None


def runnable_w(setpoint: int, min_power_w: int) -> int:
    """A setpoint the charger can run: 0, or at least its minimum power either way.

    The plan does not know the minimum. Charging below it rises to it (the departure
    comes first; the next plan accounts for the extra), discharging below it stops
    (the car keeps its energy). Below :data:`MIN_SETPOINT_W` it is a hold at 0 W.
    """
    if abs(setpoint) < MIN_SETPOINT_W:
        return 0
    if 0 < setpoint < min_power_w:
        return min_power_w
    if 0 < -setpoint < min_power_w:
        return 0
    return setpoint


def holds_idle(setpoint: int) -> bool:
    """Whether a setpoint is held at 0 W under remote control rather than sent.

    Not handed back: a charger under its own logic would start charging the car at
    full power (Quasar autostart), whatever the plan says.
    """
    return abs(setpoint) < MIN_SETPOINT_W


def vehicle_spec(
    vehicle_id: str,
    *,
    soc_pct: float,
    capacity_kwh: float,
    reserve_pct: float,
    target_pct: float,
    departure_step: int,
    max_charge_w: float,
    max_discharge_w: float,
    efficiency_pct: float,
    wear_cost_per_kwh: float,
    min_power_w: float = 0.0,
    stationary: bool = False,
) -> VehicleSpec:
    """A car as the planner sees it.

    Its energy is the lower end of what the SoC reading may mean; its target is never
    below its reserve; a departure already past is now. ``min_power_w`` is the least
    power its charger runs at, either way. A ``stationary`` battery has no departure
    and no target (``departure_step`` and ``target_pct`` are not used): it is only
    kept at or above its reserve.
    """
    return VehicleSpec(
        vehicle_id=vehicle_id,
        capacity_kwh=capacity_kwh,
        energy_kwh=min(max(soc_pct - SOC_MARGIN_PCT, 0.0), 100.0) / 100 * capacity_kwh,
        departure_step=0 if stationary else max(departure_step, 0),
        target_kwh=(reserve_pct if stationary else max(target_pct, reserve_pct))
        / 100
        * capacity_kwh,
        reserve_kwh=reserve_pct / 100 * capacity_kwh,
        max_charge_kw=max_charge_w / 1000,
        max_discharge_kw=max_discharge_w / 1000,
        round_trip_efficiency=efficiency_pct / 100,
        wear_cost_per_kwh=wear_cost_per_kwh,
        min_charge_kw=min_power_w / 1000,
        min_discharge_kw=min_power_w / 1000,
        stationary=stationary,
    )


def previous_power(
    plan: Plan | None, plan_start: datetime | None, start: datetime, step: timedelta, steps: int
) -> dict[str, FloatArray] | None:
    """The last plan's power per car on the steps of a plan starting at ``start``.

    The last plan is moved on by the steps between the two starts; steps beyond its end
    are NaN (nothing to keep). None when there is no last plan, or it started later.
    """
    if plan is None or plan_start is None:
        return None
    shift = steps_until(plan_start, start, step)
    return None if shift < 0 else shifted_power(plan, shift, steps)


def shifted_power(plan: Plan, shift: int, steps: int) -> dict[str, FloatArray]:
    """Each car's power in ``plan`` from its step ``shift`` on, ``steps`` long.

    NaN past the plan's end.
    """
    previous: dict[str, FloatArray] = {}
    for vehicle in plan.vehicles:
        power = np.full(steps, np.nan)
        kept = vehicle.power_kw[shift : shift + steps]
        power[: kept.size] = kept
        previous[vehicle.vehicle_id] = power
    return previous
