"""Which cars are planned, what the planner sees of them, what their chargers are sent."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st
import numpy as np
import pytest

from custom_components.v2x.planner.model import Plan, VehiclePlan
from custom_components.v2x.planner.policy import (
    MIN_SETPOINT_W,
    SOC_MARGIN_PCT,
    availability,
    holds_idle,
    previous_power,
    runnable_w,
    setpoint_w,
    vehicle_spec,
)


@pytest.mark.parametrize(
    ("answering", "connected", "manual", "soc_known", "expected"),
    [
        (True, True, False, True, (True, None)),
        (False, True, False, True, (False, "unavailable")),
        (True, False, True, False, (False, "unplugged")),  # unplugged comes first
        (True, True, True, False, (False, "manual")),
        (True, True, False, False, (False, "no_soc")),
    ],
)
def test_availability(
    answering: bool,
    connected: bool,
    manual: bool,
    soc_known: bool,
    expected: tuple[bool, str | None],
) -> None:
    assert (
        availability(answering=answering, connected=connected, manual=manual, soc_known=soc_known)
        == expected
    )


def test_setpoints() -> None:
    assert setpoint_w(-3.2004, None, 1400) == -3200
    assert setpoint_w(0.0, None, 1400) == 0
    assert setpoint_w(None, "no_soc", 1400) == 1400  # probed until its SoC is known
    assert setpoint_w(None, "unplugged", 1400) is None
    assert setpoint_w(None, None, 1400) is None


def test_setpoints_a_charger_can_run() -> None:
    """A Quasar runs at 1.38 kW (6 A) or not at all."""
    assert setpoint_w(0.4, None, 1400, 1380) == 1380  # charging rises: the departure first
    assert setpoint_w(-0.4, None, 1400, 1380) == 0  # discharging stops: the car keeps it
    assert setpoint_w(-1.5, None, 1400, 1380) == -1500
    assert setpoint_w(0.05, None, 1400, 1380) == 0  # below 100 W: a hold, not a start
    assert setpoint_w(0.4, None, 1400) == 400  # no minimum


@given(st.integers(-10_000, 10_000), st.sampled_from([0, 500, 1380, 4000]))
def test_every_setpoint_sent_is_runnable(planned_w: int, minimum_w: int) -> None:
    sent = runnable_w(planned_w, minimum_w)
    assert sent == 0 or abs(sent) >= max(minimum_w, MIN_SETPOINT_W)
    assert sent == 0 or (sent > 0) == (planned_w > 0)  # never the other way
    if planned_w > 0 and sent != planned_w:
        assert (sent == 0 and planned_w < MIN_SETPOINT_W) or sent == minimum_w
    if planned_w < 0:
        assert planned_w <= sent <= 0 or sent == planned_w  # never more discharge


def test_small_setpoints_hold_idle() -> None:
    assert holds_idle(0)
    assert holds_idle(MIN_SETPOINT_W - 1)
    assert holds_idle(-(MIN_SETPOINT_W - 1))
    assert not holds_idle(MIN_SETPOINT_W)
    assert not holds_idle(-MIN_SETPOINT_W)


def test_vehicle_spec() -> None:
    spec = vehicle_spec(
        "car",
        soc_pct=60.0,
        capacity_kwh=40.0,
        reserve_pct=30.0,
        target_pct=20.0,  # below the reserve: the reserve is the target
        departure_step=-3,  # already past: now
        max_charge_w=7400,
        max_discharge_w=6000,
        efficiency_pct=90.0,
        wear_cost_per_kwh=0.02,
    )
    assert spec.energy_kwh == pytest.approx((60.0 - SOC_MARGIN_PCT) / 100 * 40.0)
    assert spec.target_kwh == pytest.approx(12.0)
    assert spec.reserve_kwh == pytest.approx(12.0)
    assert spec.departure_step == 0
    assert (spec.max_charge_kw, spec.max_discharge_kw) == (7.4, 6.0)
    assert spec.round_trip_efficiency == pytest.approx(0.9)
    assert spec.wear_cost_per_kwh == 0.02


@given(soc=st.floats(-10, 110))
def test_energy_within_the_battery(soc: float) -> None:
    spec = vehicle_spec(
        "car",
        soc_pct=soc,
        capacity_kwh=40.0,
        reserve_pct=30.0,
        target_pct=80.0,
        departure_step=4,
        max_charge_w=7400,
        max_discharge_w=6000,
        efficiency_pct=90.0,
        wear_cost_per_kwh=0.0,
    )
    assert 0.0 <= spec.energy_kwh <= 40.0
    assert spec.energy_kwh <= max(soc, 0.0) / 100 * 40.0


def _plan_of(powers: dict[str, list[float]]) -> Plan:
    vehicles = tuple(
        VehiclePlan(
            vehicle_id=vehicle_id,
            power_kw=np.asarray(power),
            energy_kwh=np.zeros(len(power) + 1),
            departure_step=len(power),
            target_kwh=0.0,
            shortfall_kwh=0.0,
        )
        for vehicle_id, power in powers.items()
    )
    steps = len(next(iter(powers.values())))
    return Plan(
        status="optimal",
        step_h=0.25,
        load_kw=np.zeros(steps),
        grid_kw=np.zeros(steps),
        price=np.zeros(steps),
        vehicles=vehicles,
        peak_kw=0.0,
        import_excess_kw=np.zeros(steps),
        energy_cost=0.0,
        objective=0.0,
        solve_time_s=0.0,
    )


def test_previous_power_moves_the_last_plan_on() -> None:
    zone = ZoneInfo("Europe/Amsterdam")
    step = timedelta(minutes=15)
    last = _plan_of({"a": [1.0, 2.0, 3.0, 4.0], "b": [-1.0, -2.0, -3.0, -4.0]})
    made = datetime(2026, 3, 29, 1, 30, tzinfo=zone)  # the clocks go forward at 02:00
    # Two steps (30 minutes of real time) later, though the clock reads 03:00.
    previous = previous_power(last, made, datetime(2026, 3, 29, 3, 0, tzinfo=zone), step, 4)
    assert previous is not None
    np.testing.assert_array_equal(previous["a"], [3.0, 4.0, np.nan, np.nan])
    np.testing.assert_array_equal(previous["b"], [-3.0, -4.0, np.nan, np.nan])
    assert previous_power(None, made, made, step, 4) is None
    assert previous_power(last, None, made, step, 4) is None
    assert previous_power(last, made, made - step, step, 4) is None  # a later plan
    far = previous_power(last, made, made + 10 * step, step, 4)
    assert far is not None
    assert np.isnan(far["a"]).all()
