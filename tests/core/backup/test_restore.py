"""The rules that put a backup site's sources back as they were (pure)."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.v2x.backup.restore import (
    RECHARGE_DEADBAND_PCT,
    BatteryBefore,
    ChargerBefore,
    ChargerRestore,
    battery_restore,
    charger_restore,
    restore_before,
)


def test_someone_elses_session_comes_back_and_nothing_else() -> None:
    """A person's discharge (or a plan's charge) before the outage runs again after it."""
    before = ChargerBefore(soc_pct=70.0, remote=True, had_session=True)
    assert charger_restore(before, soc_now_pct=40.0, connected=True) == ChargerRestore(
        resume_session=True
    )


def test_a_car_that_gave_energy_is_recharged_to_its_soc_before() -> None:
    before = ChargerBefore(soc_pct=70.0, remote=True)
    assert charger_restore(before, soc_now_pct=52.0, connected=True) == ChargerRestore(
        recharge_to_pct=70.0
    )
    # Unknown now (a Quasar reports none while idle): recharged, the session ends at 70 %.
    assert charger_restore(before, soc_now_pct=None, connected=True).recharge_to_pct == 70.0


def test_a_car_that_gave_nothing_is_left_alone() -> None:
    before = ChargerBefore(soc_pct=70.0, remote=True)
    kept = 70.0 - RECHARGE_DEADBAND_PCT + 0.1
    assert charger_restore(before, soc_now_pct=kept, connected=True) == ChargerRestore()
    assert charger_restore(before, soc_now_pct=75.0, connected=True) == ChargerRestore()


def test_a_charger_under_its_own_logic_is_handed_back() -> None:
    """After the recharge, when there is one; at once when there is none."""
    app = ChargerBefore(soc_pct=70.0, remote=False)
    assert charger_restore(app, soc_now_pct=50.0, connected=True) == ChargerRestore(
        recharge_to_pct=70.0, release_control=True
    )
    assert charger_restore(app, soc_now_pct=70.0, connected=True) == ChargerRestore(
        release_control=True
    )
    # Remote control not read: kept (handing over blindly could start a full-power charge).
    unknown = ChargerBefore(soc_pct=70.0, remote=None)
    assert not charger_restore(unknown, soc_now_pct=50.0, connected=True).release_control


def test_no_recharge_without_a_car_or_a_soc_before() -> None:
    gone = ChargerBefore(soc_pct=70.0, remote=False)
    assert charger_restore(gone, soc_now_pct=50.0, connected=False) == ChargerRestore(
        release_control=True
    )
    unread = ChargerBefore(soc_pct=None, remote=True)
    assert charger_restore(unread, soc_now_pct=50.0, connected=True) == ChargerRestore()


@given(
    soc_before=st.none() | st.floats(0, 100),
    soc_now=st.none() | st.floats(0, 100),
    remote=st.none() | st.booleans(),
    had_session=st.booleans(),
    connected=st.none() | st.booleans(),
)
def test_restore_never_charges_beyond_the_soc_before(
    soc_before: float | None,
    soc_now: float | None,
    remote: bool | None,
    had_session: bool,
    connected: bool | None,
) -> None:
    """Whatever was before: a recharge only ever goes back to the SoC before, never beyond;
    a session that ran comes back alone; control is handed back only where it was."""
    before = ChargerBefore(soc_pct=soc_before, remote=remote, had_session=had_session)
    plan = charger_restore(before, soc_now_pct=soc_now, connected=connected)
    if had_session:
        assert plan == ChargerRestore(resume_session=True)
        return
    assert plan.release_control == (remote is False)
    if plan.recharge_to_pct is not None:
        assert plan.recharge_to_pct == soc_before
        assert connected is not False
        assert soc_now is None or soc_now < plan.recharge_to_pct - RECHARGE_DEADBAND_PCT


@pytest.mark.parametrize(
    ("before", "output_limit", "input_limit", "expected"),
    [
        # A Zendure whose output was on at 600 W: on again at 600 W, its input limit back.
        (BatteryBefore(True, 600, 1200), True, True, (True, 600, 1200)),
        # Output off before (the site switched it on): off again.
        (BatteryBefore(False, 600, 1200), True, True, (False, None, 1200)),
        # Not read before: off (the site switched it on), limits left alone.
        (BatteryBefore(None, None, None), True, True, (False, None, None)),
        # A Bluetti: no limits.
        (BatteryBefore(True, None, None), False, False, (True, None, None)),
    ],
)
def test_a_battery_gets_its_output_back(
    before: BatteryBefore,
    output_limit: bool,
    input_limit: bool,
    expected: tuple[bool, int | None, int | None],
) -> None:
    plan = battery_restore(before, output_limit=output_limit, input_limit=input_limit)
    assert (plan.output_enabled, plan.output_limit_w, plan.input_limit_w) == expected


def test_records_round_trip() -> None:
    for record in (
        ChargerBefore(soc_pct=61.5, remote=False, had_session=True),
        ChargerBefore(soc_pct=None, remote=None),
        BatteryBefore(output_enabled=True, output_limit_w=800, input_limit_w=None),
    ):
        assert restore_before(record.saved()) == record
