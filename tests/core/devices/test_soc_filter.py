"""SoC glitch filter: zeros and 1 % glitches never reach a decision."""

from __future__ import annotations

from custom_components.v2x.devices.model import SocReading
from custom_components.v2x.devices.soc import SocFilter


def test_zero_keeps_last_good_value_as_stale() -> None:
    """0 means no car or no power: keep the last good value, flagged stale."""
    soc = SocFilter()
    assert soc.update(55, vehicle_connected=True).value_pct == 55
    reading = soc.update(0, vehicle_connected=True)
    assert (reading.value_pct, reading.stale) == (55, True)
    assert soc.missing() == SocReading(55, stale=True)  # it is kept, not dropped


def test_no_value_before_the_first_good_reading() -> None:
    """Without any good reading the SoC is unknown, not 0."""
    reading = SocFilter().update(0, vehicle_connected=True)
    assert reading.value_pct is None
    assert not reading.known


def test_single_one_percent_glitch_is_ignored() -> None:
    """A lone 1 % reading between good ones changes nothing."""
    soc = SocFilter()
    soc.update(80, vehicle_connected=True)
    glitch = soc.update(1, vehicle_connected=True)
    assert (glitch.value_pct, glitch.stale) == (80, True)
    assert soc.update(80, vehicle_connected=True).value_pct == 80


def test_first_reading_of_one_percent_needs_confirmation() -> None:
    """Even as the very first reading, 1 % must repeat before it is believed."""
    soc = SocFilter(confirmations=3)
    assert soc.update(1, vehicle_connected=True).value_pct is None
    assert soc.update(1, vehicle_connected=True).value_pct is None
    assert soc.update(1, vehicle_connected=True).value_pct == 1


def test_large_jump_accepted_after_confirmations() -> None:
    """A real jump (e.g. after a long stop) is accepted once it repeats."""
    soc = SocFilter(confirmations=3, max_jump_pct=10)
    soc.update(60, vehicle_connected=True)
    assert soc.update(25, vehicle_connected=True).value_pct == 60
    assert soc.update(26, vehicle_connected=True).value_pct == 60
    assert soc.update(25, vehicle_connected=True).value_pct == 25
    assert soc.update(24, vehicle_connected=True).value_pct == 24


def test_unconfirmed_candidate_is_reset_by_other_readings() -> None:
    """Two different outliers in a row do not confirm each other."""
    soc = SocFilter(confirmations=2)
    soc.update(60, vehicle_connected=True)
    assert soc.update(20, vehicle_connected=True).value_pct == 60
    assert soc.update(90, vehicle_connected=True).value_pct == 60
    assert soc.update(0, vehicle_connected=True).value_pct == 60
    assert soc.update(90, vehicle_connected=True).value_pct == 60
    assert soc.update(90, vehicle_connected=True).value_pct == 90


def test_unplug_forgets_the_vehicle() -> None:
    """Another car may come next: its SoC starts unknown."""
    soc = SocFilter()
    soc.update(70, vehicle_connected=True)
    assert soc.update(0, vehicle_connected=False).value_pct is None
    assert soc.update(0, vehicle_connected=None).value_pct is None
    assert soc.update(30, vehicle_connected=True).value_pct == 30


def test_values_above_100_are_not_trusted() -> None:
    """Out-of-range readings keep the last good value."""
    soc = SocFilter()
    soc.update(50, vehicle_connected=True)
    assert soc.update(150, vehicle_connected=True).value_pct == 50


def test_a_jump_the_state_explains_takes_two_readings() -> None:
    """Charging started (the state changed since the last good reading): the new SoC
    is believed at its second reading, not its third."""
    soc = SocFilter()
    assert soc.update(60, vehicle_connected=True, context="paused").value_pct == 60
    assert soc.update(25, vehicle_connected=True, context="charging").value_pct == 60
    assert soc.update(25, vehicle_connected=True, context="charging").value_pct == 25


def test_an_unexplained_jump_still_takes_three() -> None:
    """The same jump with the state unchanged: three readings, as before."""
    soc = SocFilter()
    soc.update(60, vehicle_connected=True, context="charging")
    assert soc.update(25, vehicle_connected=True, context="charging").value_pct == 60
    assert soc.update(25, vehicle_connected=True, context="charging").value_pct == 60
    assert soc.update(25, vehicle_connected=True, context="charging").value_pct == 25


def test_a_lone_glitch_is_filtered_even_when_the_state_changes() -> None:
    """One odd reading, or 1 % twice, never passes on a state change alone."""
    soc = SocFilter()
    soc.update(60, vehicle_connected=True, context="paused")
    assert soc.update(30, vehicle_connected=True, context="charging").value_pct == 60
    assert soc.update(60, vehicle_connected=True, context="charging").value_pct == 60
    assert soc.update(1, vehicle_connected=True, context="discharging").value_pct == 60
    assert soc.update(1, vehicle_connected=True, context="discharging").value_pct == 60


def test_a_state_change_while_no_soc_was_read_explains_the_next_jump() -> None:
    """A Quasar reads 0 while no power flows: the pause in between still counts."""
    soc = SocFilter()
    soc.update(62, vehicle_connected=True, context="charging")
    assert soc.update(0, vehicle_connected=True, context="paused").value_pct == 62
    assert soc.update(30, vehicle_connected=True, context="charging").value_pct == 62
    assert soc.update(30, vehicle_connected=True, context="charging").value_pct == 30
