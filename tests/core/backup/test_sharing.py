"""Several sources sharing one site load: the arithmetic, and the machine using it."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.v2x.backup.machine import (
    EVENT_SOURCE_FAILED,
    Action,
    AdjustSource,
    BackupMachine,
    BackupState,
    FireEvent,
    MachineConfig,
    MoveTransferSwitch,
    Observation,
    ReportShortfall,
    SourceObservation,
    StartSource,
    StopSource,
)
from custom_components.v2x.backup.sharing import Limits, sources_needed, split_load

from .observations import BATTERY, CAR

LEAF = CAR
QUASAR = replace(LEAF, max_discharge_w=7400, min_discharge_w=1380)
CONFIG = MachineConfig(
    sources=("leaf", "quasar", "battery"),
    share_load=True,
    start_grace_s=30.0,
    restore_delay_s=60.0,
)


def _obs(load_w: float, **changed: SourceObservation) -> Observation:
    sources = {"leaf": LEAF, "quasar": QUASAR, "battery": BATTERY} | changed
    return Observation(False, True, sources, load_w)


def _on_vehicle_power(config: MachineConfig = CONFIG, load_w: float = 3000.0) -> BackupMachine:
    """A machine on vehicle power after a cut (the switch confirmed at once)."""
    machine = BackupMachine(config, 0.0)
    machine.step(Observation(True, False, _obs(load_w).sources, load_w), 0.0)
    machine.step(Observation(False, False, _obs(load_w).sources, load_w), 1.0)
    machine.step(Observation(False, False, _obs(load_w).sources, load_w), 2.0)
    machine.step(_obs(load_w), 3.0)
    assert machine.state is BackupState.ON_VEHICLE_POWER
    return machine


def _supplying(machine: BackupMachine) -> tuple[str, ...]:
    """The sources supplying (a call, so the type checker does not narrow it)."""
    return machine.supplying_sources


def _commands(actions: list[Action]) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    for action in actions:
        if isinstance(action, StartSource):
            out.append(("start", action.source, action.power_w))
        elif isinstance(action, AdjustSource):
            out.append(("adjust", action.source, action.power_w))
        elif isinstance(action, StopSource):
            out.append(("stop", action.source, 0))
    return out


# -- the arithmetic ---------------------------------------------------------------------


def test_split_fills_in_order_and_keeps_each_minimum() -> None:
    six, quasar = Limits(500, 6000), Limits(1380, 7400)
    assert split_load(8000, [six, quasar]) == [6000, 2000]
    # The rest (200 W) is below the Quasar's minimum: it runs at 1380 W, the Leaf less.
    assert split_load(6200, [six, quasar]) == [4820, 1380]
    assert split_load(20000, [six, quasar]) == [6000, 7400]  # short: each at its maximum
    assert split_load(100, [six, quasar]) == [500, 1380]  # each at its minimum


@settings(max_examples=300, deadline=None)
@given(
    load=st.floats(0, 30000),
    ranges=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 10000)), min_size=1, max_size=4),
)
def test_split_property(load: float, ranges: list[tuple[int, int]]) -> None:
    """Each share within its limits; together the load whenever the limits allow it."""
    limits = [Limits(min(a, b), max(a, b)) for a, b in ranges]
    shares = split_load(load, limits)
    assert len(shares) == len(limits)
    for share, limit in zip(shares, limits, strict=True):
        assert limit.least_w <= share <= limit.most_w
    least = sum(limit.least_w for limit in limits)
    most = sum(limit.most_w for limit in limits)
    if least <= load <= most:
        assert abs(sum(shares) - load) <= len(limits)  # whole watts
    elif load > most:
        assert sum(shares) == most
    else:
        assert sum(shares) == least


def test_sources_needed_with_hysteresis() -> None:
    limits = [Limits(500, 6000), Limits(1380, 7400), Limits(500, 800)]
    assert sources_needed(5000, limits, [True, False, False], 100) == 1
    assert sources_needed(6050, limits, [True, False, False], 100) == 1  # within the band
    assert sources_needed(6150, limits, [True, False, False], 100) == 2
    assert sources_needed(5950, limits, [True, True, False], 100) == 2  # stays till 5900
    assert sources_needed(5850, limits, [True, True, False], 100) == 1
    assert sources_needed(20000, limits, [True, False, False], 100) == 3
    assert sources_needed(20000, limits[:1], [True], 100) == 1


# -- the machine ------------------------------------------------------------------------


def test_the_next_source_joins_at_the_first_ones_limit_and_leaves_below_it() -> None:
    machine = _on_vehicle_power()
    assert _supplying(machine) == ("leaf",)
    # The elevator starts: 8 kW, more than the Leaf's 6 kW.
    assert _commands(machine.step(_obs(8000), 4.0)) == [
        ("adjust", "leaf", 6000),
        ("start", "quasar", 2000),
    ]
    assert _supplying(machine) == ("leaf", "quasar")
    assert _commands(machine.step(_obs(10000), 5.0)) == [("adjust", "quasar", 4000)]
    # Down to 6.2 kW: the Quasar at its 1380 W minimum, the Leaf gives up the rest.
    assert _commands(machine.step(_obs(6200), 6.0)) == [
        ("adjust", "leaf", 4820),
        ("adjust", "quasar", 1380),
    ]
    # 5.8 kW: the Leaf alone again (the Quasar stays until the Leaf has 100 W to spare).
    assert _commands(machine.step(_obs(5800), 7.0)) == [
        ("adjust", "leaf", 5800),
        ("stop", "quasar", 0),
    ]
    assert _supplying(machine) == ("leaf",)


def test_without_sharing_one_source_supplies_and_the_shortfall_is_said() -> None:
    machine = _on_vehicle_power(replace(CONFIG, share_load=False))
    actions = machine.step(_obs(8000), 4.0)
    assert _commands(actions) == [("adjust", "leaf", 6000)]
    assert [a for a in actions if isinstance(a, ReportShortfall)] == [
        ReportShortfall("leaf", 6000, 8000)
    ]
    assert _supplying(machine) == ("leaf",)


def test_a_shortfall_counts_every_source_sharing() -> None:
    machine = _on_vehicle_power()
    actions = machine.step(_obs(16000), 4.0)
    assert _commands(actions) == [
        ("adjust", "leaf", 6000),
        ("start", "quasar", 7400),
        ("start", "battery", 800),
    ]
    assert [a for a in actions if isinstance(a, ReportShortfall)] == [
        ReportShortfall("leaf", 14200, 16000, ("quasar", "battery"))
    ]
    cleared = machine.step(_obs(9000), 5.0)
    assert ReportShortfall(None) in cleared
    assert ("stop", "battery", 0) in _commands(cleared)


def test_a_sharing_source_that_fails_is_replaced_by_the_next() -> None:
    machine = _on_vehicle_power()
    machine.step(_obs(8000), 4.0)
    lost = replace(QUASAR, available=False)
    actions = machine.step(_obs(6500, quasar=lost), 5.0)
    assert _commands(actions) == [("stop", "quasar", 0), ("start", "battery", 500)]
    assert FireEvent(EVENT_SOURCE_FAILED, "unavailable", "quasar") in actions
    assert _supplying(machine) == ("leaf", "battery")
    # Back and healthy for the recovery time: it shares again, before the battery.
    back = replace(QUASAR, healthy_s=40.0)
    later = machine.step(_obs(8000, quasar=back), 40.0)
    assert ("start", "quasar", 2000) in _commands(later)
    assert ("stop", "battery", 0) in _commands(later)


def test_a_sharing_source_at_its_floor_stops_and_counts_as_drained() -> None:
    machine = _on_vehicle_power()
    machine.step(_obs(8000), 4.0)
    low = replace(QUASAR, soc_pct=30.0)
    actions = machine.step(_obs(8000, quasar=low), 5.0)
    assert _commands(actions) == [("stop", "quasar", 0), ("start", "battery", 800)]
    assert not [a for a in actions if isinstance(a, FireEvent)]  # a floor is no failure
    # A helper that never discharges is given up after the start grace.
    idle = replace(BATTERY, discharging=False)
    given_up = machine.step(_obs(8000, quasar=low, battery=idle), 40.0)
    assert FireEvent(EVENT_SOURCE_FAILED, "not_discharging", "battery") in given_up
    assert _supplying(machine) == ("leaf",)


def test_the_lead_failing_hands_the_load_to_the_one_sharing() -> None:
    machine = _on_vehicle_power()
    machine.step(_obs(8000), 4.0)
    lost = replace(LEAF, available=False)
    actions = machine.step(_obs(8000, leaf=lost), 5.0)
    # The Quasar takes the lead (asked again, for its full share) and the battery joins.
    assert _commands(actions) == [
        ("stop", "leaf", 0),
        ("start", "quasar", 7400),
        ("start", "battery", 600),
    ]
    assert _supplying(machine) == ("quasar", "battery")
    assert machine.active_source == "quasar"


def test_sharing_survives_a_restart_and_lost_sessions_are_retaken() -> None:
    machine = _on_vehicle_power()
    machine.step(_obs(8000), 4.0)
    snapshot = machine.snapshot()
    assert snapshot["session"]["helpers"] == {"quasar": 2000}
    again = BackupMachine.restore(CONFIG, snapshot, 100.0)
    assert _supplying(again) == ("leaf", "quasar")
    unread = replace(QUASAR, known=False)
    assert _commands(again.step(_obs(8000, quasar=unread), 100.0)) == []  # not judged unread
    unowned = replace(QUASAR, owned=False)
    retaken = again.step(_obs(8000, quasar=unowned), 101.0)
    assert ("start", "quasar", 2000) in _commands(retaken)
    # A helper naming an unknown source, or no lead, is dropped.
    bad = {**snapshot, "session": {**snapshot["session"], "helpers": {"gone": 1, "quasar": "x"}}}
    assert BackupMachine.restore(CONFIG, bad, 0.0).supplying_sources == ("leaf",)


def test_turning_sharing_off_stops_the_ones_sharing() -> None:
    machine = _on_vehicle_power()
    machine.step(_obs(8000), 4.0)
    machine.config = replace(CONFIG, share_load=False)
    assert _commands(machine.step(_obs(8000), 5.0)) == [("stop", "quasar", 0)]


def test_every_source_stops_when_the_switch_returns() -> None:
    machine = _on_vehicle_power()
    machine.step(_obs(8000), 4.0)
    grid = Observation(True, True, _obs(8000).sources, 8000)
    machine.step(grid, 10.0)
    returning = machine.step(grid, 71.0)
    assert MoveTransferSwitch(False) in returning
    back = machine.step(Observation(True, False, _obs(8000).sources, 8000), 72.0)
    assert {("stop", "leaf", 0), ("stop", "quasar", 0)} <= set(_commands(back))
    assert _supplying(machine) == ()


@pytest.mark.parametrize("moved", [False, None])
def test_a_helper_never_starts_unless_the_switch_is_confirmed(moved: bool | None) -> None:
    machine = _on_vehicle_power()
    actions = machine.step(Observation(False, moved, _obs(8000).sources, 8000), 4.0)
    assert not [a for a in actions if isinstance(a, StartSource)]


def test_the_one_sharing_carries_on_alone_while_a_preferred_one_is_unread() -> None:
    """After a restart the Leaf is not read yet; the Quasar led, the battery shared."""
    machine = _on_vehicle_power()
    machine.step(_obs(8000, leaf=replace(LEAF, available=False)), 4.0)
    assert _supplying(machine) == ("quasar", "battery")
    again = BackupMachine.restore(CONFIG, machine.snapshot(), 100.0)
    unread, lost = replace(LEAF, known=False), replace(QUASAR, available=False)
    actions = again.step(_obs(8000, leaf=unread, quasar=lost), 101.0)
    # The Quasar stops; the battery leads (not started again) and gives all it can, 800 W.
    assert _commands(actions) == [("stop", "quasar", 0), ("adjust", "battery", 800)]
    assert _supplying(again) == ("battery",)
    assert again.active_source == "battery"


def test_the_sources_a_known_peak_needs_stand_by_for_it() -> None:
    """An elevator's 9 kW start comes faster than a load reading: the second car already
    runs (at its minimum) whenever the load now keeps both at their minimums."""
    machine = _on_vehicle_power(replace(CONFIG, peak_load_w=9000.0), load_w=3000.0)
    assert _supplying(machine) == ("leaf", "quasar")  # both from the switchover on
    assert _commands(machine.step(_obs(3000), 4.0)) == []
    # 1.5 kW cannot keep both at their minimums (1.88 kW): the Quasar would feed the Leaf.
    assert _commands(machine.step(_obs(1500), 5.0)) == [
        ("adjust", "leaf", 1500),
        ("stop", "quasar", 0),
    ]
    # Within the deadband of the minimums the Quasar does not start again (no chatter).
    assert _commands(machine.step(_obs(1850), 6.0)) == [("adjust", "leaf", 1850)]
    assert _commands(machine.step(_obs(2000), 7.0)) == [
        ("adjust", "leaf", 620),
        ("start", "quasar", 1380),
    ]
    assert _commands(machine.step(_obs(1850), 8.0)) == [("adjust", "leaf", 500)]
    # The peak itself: shared by the load as ever.
    assert _commands(machine.step(_obs(9000), 9.0)) == [
        ("adjust", "leaf", 6000),
        ("adjust", "quasar", 3000),
    ]
    # A house (no peak known) does not stand by.
    house = _on_vehicle_power(load_w=3000.0)
    assert _supplying(house) == ("leaf",)
