"""Energy counters from power samples."""

from __future__ import annotations

import math

from hypothesis import given, strategies as st

from custom_components.v2x.devices.energy import EnergyCounter


def test_constant_charging() -> None:
    """3600 W for an hour is 3.6 kWh charged."""
    counter = EnergyCounter(max_gap_s=4000)
    counter.add(0, 3600)
    counter.add(3600, 3600)
    assert math.isclose(counter.charged_kwh, 3.6)
    assert counter.discharged_kwh == 0


def test_zero_crossing_splits_energy() -> None:
    """A ramp from +1000 W to -1000 W over 2 s: two triangles of 500 Ws."""
    counter = EnergyCounter()
    counter.add(0, 1000)
    counter.add(2, -1000)
    assert math.isclose(counter.charged_kwh * 3_600_000, 500)
    assert math.isclose(counter.discharged_kwh * 3_600_000, 500)
    counter.add(4, 1000)
    assert math.isclose(counter.charged_kwh * 3_600_000, 1000)
    assert math.isclose(counter.discharged_kwh * 3_600_000, 1000)


def test_gaps_are_not_integrated() -> None:
    """Unknown periods (device unreachable) add nothing."""
    counter = EnergyCounter(max_gap_s=30)
    counter.add(0, 5000)
    counter.add(100, 5000)
    assert counter.charged_kwh == 0
    counter.break_gap()
    counter.add(101, -5000)
    counter.add(101, -5000)  # same instant: nothing
    assert counter.discharged_kwh == 0


def test_restore_once_per_total() -> None:
    """Saved totals are added once; negative saved values are ignored."""
    counter = EnergyCounter()
    counter.restore(charged_kwh=10.0)
    counter.restore(charged_kwh=10.0, discharged_kwh=-1)
    counter.restore(discharged_kwh=2.0)
    counter.restore(discharged_kwh=2.0)
    assert (counter.charged_kwh, counter.discharged_kwh) == (10.0, 2.0)


@given(st.lists(st.tuples(st.floats(0.01, 10), st.floats(-7400, 7400)), max_size=50))
def test_totals_never_decrease(samples: list[tuple[float, float]]) -> None:
    """Both totals only ever increase, whatever the power does."""
    counter = EnergyCounter()
    time_s = 0.0
    last = (0.0, 0.0)
    for dt, power in samples:
        time_s += dt
        counter.add(time_s, power)
        assert counter.charged_kwh >= last[0]
        assert counter.discharged_kwh >= last[1]
        last = (counter.charged_kwh, counter.discharged_kwh)
