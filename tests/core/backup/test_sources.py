"""The rules about a site's sources, and the site's bookkeeping about them."""

from __future__ import annotations

import json
import math

from hypothesis import given, strategies as st
import pytest

from custom_components.v2x.backup.machine import (
    Action,
    AdjustSource,
    BackupState,
    MoveTransferSwitch,
    ShedLoad,
    StartSource,
    StopSource,
)
from custom_components.v2x.backup.restore import BatteryBefore, ChargerBefore
from custom_components.v2x.backup.runtime import ElevatorModel
from custom_components.v2x.backup.sources import (
    PRESUMED_MARGIN_S,
    SourceBook,
    allowed_to_supply,
    battery_discharging,
    battery_floor_pct,
    cautious_soc_pct,
    charger_absent,
    charger_floor_pct,
    credit_watched_idle,
    estimated_load_w,
    judge_health,
    presumed_supplying,
    site_load,
    strays_to_stop,
)


def _health(
    *, failed: bool = False, healthy_for: float = 100.0, failed_at: float | None = None
) -> tuple[bool, float, float]:
    judged = judge_health(
        known=True,
        failed=failed,
        healthy_for_s=healthy_for,
        now=1000.0,
        command_failed_at=failed_at,
        recover_after_s=30.0,
    )
    return judged.healthy, judged.healthy_s, float(judged.known)


def test_health_of_a_source_that_answers() -> None:
    assert _health() == (True, 100.0, 1.0)
    assert _health(failed=True, healthy_for=0.0) == (False, 0.0, 1.0)


def test_a_failed_command_counts_until_the_recovery_time() -> None:
    """A failed command makes the source failed for the recovery time, whatever it answers."""
    assert _health(failed_at=990.0) == (False, 10.0, 1.0)
    assert _health(failed_at=970.0) == (True, 30.0, 1.0)
    assert _health(failed_at=None)[1] == 100.0


def test_unknown_stays_unknown() -> None:
    judged = judge_health(
        known=False,
        failed=False,
        healthy_for_s=0.0,
        now=0.0,
        command_failed_at=None,
        recover_after_s=30.0,
    )
    assert (judged.known, judged.healthy, judged.healthy_s) == (False, True, 0.0)


@pytest.mark.parametrize(
    ("connected", "dischargeable", "absent"),
    [
        (True, True, False),
        (None, None, False),  # not told: not absent
        (False, None, True),
        (True, False, True),
    ],
)
def test_charger_absent(connected: bool | None, dischargeable: bool | None, absent: bool) -> None:
    assert charger_absent(connected, dischargeable) is absent


def test_floors_never_below_the_site_reserve() -> None:
    assert charger_floor_pct(30.0, 20.0) == 30.0
    assert charger_floor_pct(30.0, 40.0) == 40.0
    assert battery_floor_pct(30.0, None) == 30.0
    assert battery_floor_pct(30.0, 50.0) == 50.0
    assert battery_floor_pct(0.0, None) == 0.0


@pytest.mark.parametrize(
    ("power", "output", "discharging"),
    [(-100.0, None, True), (0.0, 250.0, True), (0.0, None, False), (500.0, 0.0, False)],
)
def test_battery_discharging(power: float, output: float | None, discharging: bool) -> None:
    assert battery_discharging(power, output) is discharging


def test_presumed_supplying_until_its_watchdog_stops_it() -> None:
    assert presumed_supplying(100.0, 95.0, 10, True)
    assert presumed_supplying(100.0, 100.0 - 10 - PRESUMED_MARGIN_S + 0.01, 10, True)
    assert not presumed_supplying(100.0, 100.0 - 10 - PRESUMED_MARGIN_S, 10, True)
    assert not presumed_supplying(100.0, 95.0, 10, False)  # it was not supplying
    assert not presumed_supplying(100.0, 95.0, 0, True)  # no watchdog: judged at once
    assert not presumed_supplying(100.0, None, 10, True)  # never answered


def test_cautious_soc() -> None:
    """An hour at 6 kW from a 60 kWh car is 10 % at most."""
    assert cautious_soc_pct(80.0, 0.0, 3600.0, 6000, 60.0) == pytest.approx(70.0)
    assert cautious_soc_pct(80.0, 100.0, 50.0, 6000, 60.0) == 80.0  # clock went back
    assert cautious_soc_pct(80.0, 0.0, 3600.0, 6000, 0.0) is None


@given(
    soc=st.floats(0, 100),
    elapsed=st.floats(0, 1e6),
    power=st.integers(0, 20_000),
    capacity=st.floats(1, 200),
)
def test_cautious_soc_never_above_the_reading(
    soc: float, elapsed: float, power: int, capacity: float
) -> None:
    estimate = cautious_soc_pct(soc, 0.0, elapsed, power, capacity)
    assert estimate is not None
    assert estimate <= soc


@pytest.mark.parametrize(
    ("state", "switch", "allowed"),
    [
        (BackupState.ON_VEHICLE_POWER, True, {"car", "van"}),
        (BackupState.GRID_BACK, True, {"car", "van"}),
        (BackupState.RETURNING, True, {"car", "van"}),
        (BackupState.ON_VEHICLE_POWER, None, set()),  # the switch not confirmed
        (BackupState.ON_VEHICLE_POWER, False, set()),
        (BackupState.SWITCHING, True, set()),
        (BackupState.GRID, True, set()),
    ],
)
def test_only_the_supplying_sources_on_a_confirmed_switch_supply(
    state: BackupState, switch: bool | None, allowed: set[str]
) -> None:
    assert allowed_to_supply(state, ("car", "van"), switch) == allowed


def test_load_choice() -> None:
    elevator = ElevatorModel(standby_w=200, trip_wh=50, trips_per_hour=10)
    assert estimated_load_w(True, elevator, 1000.0) == 700.0
    assert estimated_load_w(False, elevator, 1000.0) == 1000.0
    assert site_load(1500.0, 700.0, True) == (1500.0, True)
    assert site_load(None, 700.0, True) == (700.0, False)  # the sensor has no reading
    assert site_load(None, 700.0, False) == (700.0, True)  # the model is all there is


def test_book_saves_and_restores_what_a_restart_needs() -> None:
    book = SourceBook()
    book.started.update({"b", "a"})
    assert book.remember_soc("car", 60.0, 1000.0)
    assert not book.remember_soc("car", 59.0, 1010.0)
    book.fail_command("car", 5.0)
    book.before["car"] = ChargerBefore(soc_pct=61.0, remote=False)
    book.before["a"] = BatteryBefore(output_enabled=True, output_limit_w=600)
    book.before["b"] = BatteryBefore(output_enabled=False)
    book.resumable["car"] = (object(), None)  # a live session: not saved
    book.release_pending.update({"car", "b"})
    saved = book.saved()
    assert saved == {
        "started_batteries": ["a", "b"],
        "soc_memory": {"car": [59.0, 1010.0]},
        "before": {
            "car": {"kind": "charger", "soc_pct": 61.0, "remote": False, "had_session": False},
            "a": {
                "kind": "battery",
                "output_enabled": True,
                "output_limit_w": 600,
                "input_limit_w": None,
            },
            "b": {
                "kind": "battery",
                "output_enabled": False,
                "output_limit_w": None,
                "input_limit_w": None,
            },
        },
        "release_pending": ["b", "car"],
    }
    restored = SourceBook.restore(json.loads(json.dumps(saved)), ["a", "car"])
    assert restored.started == {"a"}  # b is no longer one of the site's sources
    assert restored.soc_memory == {"car": (59.0, 1010.0)}
    assert restored.command_failed == {}
    assert restored.before == {"car": book.before["car"], "a": book.before["a"]}
    assert restored.resumable == {}
    assert restored.release_pending == {"car"}


@pytest.mark.parametrize(
    "record",
    [None, "charger", {"kind": "car"}, {"kind": "battery", "output_limit_w": "many"}, {}],
)
def test_book_drops_a_record_it_cannot_read(record: object) -> None:
    restored = SourceBook.restore({"before": {"car": record}}, ["car"])
    assert restored.before == {}


@pytest.mark.parametrize(
    "memory",
    [None, [], {"car": [60.0]}, {"car": "60"}, {"gone": [1.0, 2.0]}],
)
def test_book_ignores_what_it_cannot_read(memory: object) -> None:
    restored = SourceBook.restore({"soc_memory": memory}, ["car"])
    assert restored.soc_memory == {}
    assert SourceBook.restore({}, ["car"]) == SourceBook()


def test_failed_commands_are_forgotten_in_a_new_session() -> None:
    book = SourceBook()
    book.fail_command("car", 1.0)
    assert book.command_failed == {"car": 1.0}
    book.new_session()
    assert not book.command_failed


@pytest.mark.parametrize("state", list(BackupState))
def test_a_session_begins_afresh_only_from_the_grid_or_an_unswitched_outage(
    state: BackupState,
) -> None:
    book = SourceBook()
    book.fail_command("car", 1.0)
    book.before_step(state)
    fresh = state in (BackupState.GRID, BackupState.OUTAGE)
    assert book.command_failed == ({} if fresh else {"car": 1.0})


@pytest.mark.parametrize(
    ("action", "failed"),
    [
        (StartSource("car", 3000, 30.0), {"car": 2.0}),
        (AdjustSource("car", 2000), {"car": 2.0}),
        (StopSource("car"), {}),
        (MoveTransferSwitch(True), {}),
        (ShedLoad("switch.heater"), {}),
    ],
)
def test_only_a_failed_start_or_adjust_counts_against_its_source(
    action: Action, failed: dict[str, float]
) -> None:
    book = SourceBook()
    book.action_failed(action, 2.0)
    assert book.command_failed == failed


@pytest.mark.parametrize("state", list(BackupState))
def test_a_failed_source_is_failed_over_at_once_only_while_it_is_needed(
    state: BackupState,
) -> None:
    book = SourceBook()
    assert not book.fail_over_now(state)
    book.fail_command("car", 1.0)
    needed = state in (BackupState.ON_VEHICLE_POWER, BackupState.GRID_BACK)
    assert book.fail_over_now(state) is needed


def test_missed_poll_is_told_once() -> None:
    book = SourceBook()
    assert not book.missed_poll("car", 0)
    assert book.missed_poll("car", 1)
    assert not book.missed_poll("car", 1)
    assert book.missed_poll("car", 2)
    assert not book.missed_poll("car", 0)  # it answered again


def test_stray_stops_are_spaced() -> None:
    book = SourceBook()
    assert book.stray_stop_due("car", 100.0, 5.0)
    assert not book.stray_stop_due("car", 104.0, 5.0)
    assert book.stray_stop_due("car", 105.0, 5.0)
    assert book.stray_stop_due("battery", 105.0, 5.0)
    assert math.isclose(book.stray_stops["car"], 105.0)


def test_strays_to_stop_spares_the_allowed_source_and_spaces_stops() -> None:
    book = SourceBook()
    discharging = {"car", "battery", "other"}
    sources = ["car", "battery", "other", "idle"]

    def stray(source: str) -> bool:
        return source in discharging

    assert strays_to_stop(sources, {"car"}, stray, book, now=0.0, retry_s=5.0) == [
        "battery",
        "other",
    ]
    assert strays_to_stop(sources, {"car"}, stray, book, now=1.0, retry_s=5.0) == []
    # Two sources sharing the load: neither is a stray.
    assert strays_to_stop(sources, {"car", "battery"}, stray, book, now=6.0, retry_s=5.0) == [
        "other"
    ]
    assert strays_to_stop(sources, set(), stray, book, now=12.0, retry_s=5.0) == [
        "car",
        "battery",
        "other",
    ]


def test_watched_idle_time_is_not_taken_as_discharge() -> None:
    """Read at 80 % at t=0; HA looked away until t=600, then saw the car idle every second.

    The estimate keeps the 600 s nobody watched, and no more: at t=3600 the car may
    have given 600 s at full power, not an hour.
    """
    memory, seen = (80.0, 0.0), None
    memory, seen = credit_watched_idle(memory, seen, 600.0, idle_now=True)
    assert (memory, seen) == ((80.0, 0.0), 600.0)  # the first look credits nothing
    for now in range(601, 3601):
        memory, seen = credit_watched_idle(memory, seen, float(now), idle_now=True)
    assert memory[0] == 80.0
    assert memory[1] == pytest.approx(3000.0)
    one_hour = cautious_soc_pct(80.0, 0.0, 3600.0, 7400, 40.0)
    watched = cautious_soc_pct(*memory, 3600.0, 7400, 40.0)
    assert one_hour == pytest.approx(80.0 - 7.4 / 40.0 * 100)  # an hour at 7.4 kW: 18.5 %
    assert watched == pytest.approx(80.0 - 7.4 / 6 / 40.0 * 100)  # 10 minutes: 3.1 %
    # It discharges (or stops answering): that look credits nothing, and ends the watch.
    memory, seen = credit_watched_idle(memory, seen, 3700.0, idle_now=False)
    assert seen is None
    assert memory[1] == pytest.approx(3000.0)
    memory, seen = credit_watched_idle(memory, seen, 3800.0, idle_now=True)
    assert memory[1] == pytest.approx(3000.0)  # the 200 s unwatched still count


@given(
    looks=st.lists(st.tuples(st.floats(0, 100), st.booleans()), max_size=30),
    read_at=st.floats(0, 100),
)
def test_credit_never_makes_the_reading_newer_than_now_or_older(
    looks: list[tuple[float, bool]], read_at: float
) -> None:
    memory, seen = (60.0, read_at), None
    now = read_at
    for step, idle in looks:
        now += step
        before = memory[1]
        memory, seen = credit_watched_idle(memory, seen, now, idle_now=idle)
        assert before <= memory[1] <= max(now, before)
        assert memory[0] == 60.0
        assert seen == (now if idle else None)
