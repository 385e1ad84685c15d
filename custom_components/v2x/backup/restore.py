"""What a backup site puts back on a source when a backup or a drill ends, as pure rules.

Before the site first asks a source to supply, it records how the source was
(:class:`ChargerBefore`, :class:`BatteryBefore`); when the grid is back and the circuit
is on the grid side again, it puts each source it used back as it was:

* a charger that ran someone else's session (a person's charge or discharge, the mode
  select, a building plan) gets that session back, and nothing else: the session
  decides what the car does next;
* otherwise a car that gave energy is recharged to the SoC it had before (at the
  site's recharge power), and a charger that was under its own logic (the app) is
  handed back to it once that recharge is over; a car that gave nothing is not
  charged;
* a battery gets its AC output back as it was (on or off, its limit) and its charging
  limit.

A source the site never asked to supply is left alone. No Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

RECHARGE_DEADBAND_PCT: Final = 1.0
"""A car within this much of its SoC before the backup is not recharged (a reading's step)."""


@dataclass(frozen=True, slots=True)
class ChargerBefore:
    """A charger as it was before the site first asked it to supply."""

    soc_pct: float | None
    remote: bool | None
    """Whether it was under remote control (None: not read); False: under its own logic."""
    had_session: bool = False
    """Whether someone else's session ran on it (a person's, a building plan's)."""

    def saved(self) -> dict[str, Any]:
        """As stored across restarts."""
        return {"kind": "charger", **asdict(self)}


@dataclass(frozen=True, slots=True)
class BatteryBefore:
    """A battery as it was before the site first switched its output on."""

    output_enabled: bool | None
    output_limit_w: int | None = None
    input_limit_w: int | None = None

    def saved(self) -> dict[str, Any]:
        """As stored across restarts."""
        return {"kind": "battery", **asdict(self)}


Before = ChargerBefore | BatteryBefore


def restore_before(saved: Mapping[str, Any]) -> Before | None:
    """A record read back from storage (None for one that is not a record)."""
    values = {key: value for key, value in saved.items() if key != "kind"}
    try:
        if saved.get("kind") == "charger":
            return ChargerBefore(
                soc_pct=_number(values.get("soc_pct")),
                remote=_flag(values.get("remote")),
                had_session=bool(values.get("had_session", False)),
            )
        if saved.get("kind") == "battery":
            return BatteryBefore(
                output_enabled=_flag(values.get("output_enabled")),
                output_limit_w=_whole(values.get("output_limit_w")),
                input_limit_w=_whole(values.get("input_limit_w")),
            )
    except (TypeError, ValueError):
        return None
    return None


def _number(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def _whole(value: object) -> int | None:
    return None if value is None else int(value)  # type: ignore[call-overload]


def _flag(value: object) -> bool | None:
    return None if value is None else bool(value)


@dataclass(frozen=True, slots=True)
class ChargerRestore:
    """What to do to a charger the site used, now that the backup is over."""

    resume_session: bool = False
    """Give back the session that ran before (then nothing else)."""
    recharge_to_pct: float | None = None
    """Charge the car back to this SoC first (None: no recharge)."""
    release_control: bool = False
    """Hand the charger back to its own logic (after the recharge, when there is one)."""


def charger_restore(
    before: ChargerBefore, *, soc_now_pct: float | None, connected: bool | None
) -> ChargerRestore:
    """How to put a charger back, from how it was and the car's SoC now.

    ``soc_now_pct`` is the car's SoC now as the site knows it (its last reading, or a
    cautious estimate), None when it cannot tell: then a car that was read before is
    recharged to that SoC, and the session ends as soon as the charger reads it.
    """
    if before.had_session:
        return ChargerRestore(resume_session=True)
    release = before.remote is False
    target = before.soc_pct
    if connected is False or target is None:
        return ChargerRestore(release_control=release)
    if soc_now_pct is not None and soc_now_pct >= target - RECHARGE_DEADBAND_PCT:
        return ChargerRestore(release_control=release)
    return ChargerRestore(recharge_to_pct=target, release_control=release)


@dataclass(frozen=True, slots=True)
class BatteryRestore:
    """What to write to a battery the site used, now that the backup is over."""

    output_enabled: bool
    output_limit_w: int | None
    """The output limit to set with it (None: leave the limit as it is)."""
    input_limit_w: int | None
    """The charging limit to set again (None: leave it)."""


def battery_restore(
    before: BatteryBefore, *, output_limit: bool, input_limit: bool
) -> BatteryRestore:
    """How to put a battery back: its output as it was (off when that was not read).

    ``output_limit`` and ``input_limit`` say whether the family has those limits.
    """
    return BatteryRestore(
        output_enabled=bool(before.output_enabled),
        output_limit_w=before.output_limit_w if output_limit and before.output_enabled else None,
        input_limit_w=before.input_limit_w if input_limit else None,
    )
