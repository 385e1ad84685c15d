"""Whether a backup site is ready for an outage (pure)."""

from __future__ import annotations

from hypothesis import given, strategies as st

from custom_components.v2x.backup.machine import SourceObservation
from custom_components.v2x.backup.readiness import Problem, Readiness, readiness

NAMES = {"car": "Leaf", "battery": "Zendure"}


def _source(soc: float | None = 80.0, **values: object) -> SourceObservation:
    base: dict[str, object] = {
        "available": True,
        "soc_pct": soc,
        "floor_pct": 30.0,
        "capacity_kwh": 40.0,
        "max_discharge_w": 6000,
    }
    base.update(values)
    return SourceObservation(**base)  # type: ignore[arg-type]


def _check(sources: dict[str, SourceObservation], **given: object) -> Readiness:
    values: dict[str, object] = {
        "names": NAMES,
        "switch_answers": True,
        "grid_known": True,
        "energy_kwh": 20.0,
        "load_w": 1000.0,
        "wanted_h": 2.0,
    }
    values.update(given)
    return readiness(sources, **values)  # type: ignore[arg-type]


def test_ready_when_nothing_stands_in_the_way() -> None:
    ready = _check({"car": _source(), "battery": _source()})
    assert ready.ready
    assert ready.problems == ()
    assert ready.runtime_h == 20.0


def test_each_problem_is_named_with_what_it_is_about() -> None:
    sources = {
        "car": _source(available=False),
        "battery": _source(soc=25.0),
    }
    ready = _check(
        sources,
        switch_answers=False,
        grid_known=False,
        energy_kwh=1.5,
        needs_internet=("switch.cloud_relay",),
    )
    assert not ready.ready
    assert ready.problems == (
        Problem.SOURCE_UNAVAILABLE,
        Problem.SOURCE_AT_RESERVE,
        Problem.SWITCH_UNAVAILABLE,
        Problem.GRID_SIGNAL_UNKNOWN,
        Problem.ENERGY_SHORT,
        Problem.NEEDS_INTERNET,
    )
    assert ready.sources_unavailable == ("Leaf",)
    assert ready.sources_at_reserve == ("Zendure",)
    assert ready.needs_internet == ("switch.cloud_relay",)


def test_a_car_that_is_not_plugged_in_or_unread() -> None:
    absent = _check({"car": _source(absent=True)})
    assert absent.sources_unavailable == ("Leaf",)
    unread = _check({"car": _source(soc=None)}, energy_kwh=None)
    assert unread.problems == (Problem.SOURCE_SOC_UNKNOWN,)
    assert unread.sources_soc_unknown == ("Leaf",)
    assert unread.runtime_h is None


def test_no_source_at_all_is_not_ready() -> None:
    assert _check({}).problems == (Problem.SOURCE_UNAVAILABLE,)


def test_the_wanted_runtime_is_a_bound() -> None:
    # 2 kWh at 1 kW is exactly 2 h: ready; a watt-hour less is not; 0 h wants nothing.
    assert _check({"car": _source()}, energy_kwh=2.0).ready
    short = _check({"car": _source()}, energy_kwh=1.999)
    assert short.problems == (Problem.ENERGY_SHORT,)
    assert _check({"car": _source()}, energy_kwh=0.1, wanted_h=0.0).ready


@given(
    available=st.booleans(),
    soc=st.none() | st.floats(0, 100),
    switch=st.booleans(),
    grid=st.booleans(),
    energy=st.none() | st.floats(0, 100),
    load=st.floats(0, 10_000),
    wanted=st.floats(0, 24),
    cloud=st.booleans(),
)
def test_ready_exactly_when_every_check_passes(
    available: bool,
    soc: float | None,
    switch: bool,
    grid: bool,
    energy: float | None,
    load: float,
    wanted: float,
    cloud: bool,
) -> None:
    ready = _check(
        {"car": _source(soc=soc, available=available)},
        switch_answers=switch,
        grid_known=grid,
        energy_kwh=energy,
        load_w=load,
        wanted_h=wanted,
        needs_internet=("switch.x",) if cloud else (),
    )
    runtime = None if energy is None or load <= 0 else energy * 1000 / load
    expected = (
        available
        and soc is not None
        and soc > 30.0
        and switch
        and grid
        and not cloud
        and (wanted <= 0 or runtime is None or runtime >= wanted)
    )
    assert ready.ready is expected


def test_one_source_must_carry_the_peak() -> None:
    """One source supplies at a time: an elevator's 8 kW motor start needs one that gives 8 kW."""
    sources = {"car": _source(), "battery": _source(max_discharge_w=800)}
    short = _check(sources, peak_load_w=8000.0)
    assert short.problems == (Problem.SUPPLY_TOO_SMALL,)
    assert (short.supply_w, short.peak_load_w) == (6000, 8000.0)
    assert _check(sources, peak_load_w=6000.0).ready
    # Sharing the load, both together give 6.8 kW: enough for 6.5 kW, not for 8 kW.
    assert _check(sources, peak_load_w=6500.0, share_load=True).ready
    shared = _check(sources, peak_load_w=8000.0, share_load=True)
    assert (shared.problems, shared.supply_w) == ((Problem.SUPPLY_TOO_SMALL,), 6800)
    # The car gone: the battery alone is what there is.
    gone = {"car": _source(available=False), "battery": _source(max_discharge_w=800)}
    assert Problem.SUPPLY_TOO_SMALL in _check(gone, peak_load_w=1000.0).problems
