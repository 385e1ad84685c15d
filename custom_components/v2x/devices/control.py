"""Charge and discharge sessions as pure decisions.

A :class:`Session` says what the user asked for (charge, discharge or backup, a
power, an optional SoC to stop at and an optional end time). :func:`check_request`
refuses what must never happen before anything is sent; :func:`decide` says, for
each new status, which setpoint to hold and whether the session is over.

Safety rule: a discharge never continues at or below the reserve SoC, and never
discharges while the SoC is unknown. A plain discharge asked for while the SoC is
unknown (an idle Quasar reports none) first charges gently (a probe) until the
device reports a trustworthy SoC; one that names a SoC to stop at is refused then,
since that SoC cannot be checked. A backup session (the grid is down, there is
nothing to charge from) never probes: it holds 0 W. Either ends when the SoC stays
unknown for :data:`SOC_PROBE_TIMEOUT_S`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from .errors import CommandRefusedError
from .model import ChargerState, ChargerStatus, OperatingMode

SOC_PROBE_POWER_W: Final = 1400  # just above the ~1380 W a Quasar needs to start
SOC_PROBE_TIMEOUT_S: Final = 120.0
ASSUMED_SOC_MARGIN_PCT: Final = 2.0
"""An assumed SoC must be this far above the floor to start a backup without a reading."""

EXPECTED_STATES: Final = {
    1: frozenset(
        {ChargerState.CHARGING, ChargerState.WAITING_FOR_CAR_DEMAND, ChargerState.STARTING}
    ),
    -1: frozenset(
        {ChargerState.DISCHARGING, ChargerState.WAITING_FOR_CAR_DEMAND, ChargerState.STARTING}
    ),
}
"""What a charger holding a charge (1) or discharge (-1) setpoint may report: one still
starting (ECHONET "preparation", SunSpec STARTING) is on its way."""


class EndReason(StrEnum):
    """Why a session ended."""

    TARGET_REACHED = "target_reached"
    RESERVE_REACHED = "reserve_reached"
    DURATION_ELAPSED = "duration_elapsed"
    VEHICLE_DISCONNECTED = "vehicle_disconnected"
    SOC_UNAVAILABLE = "soc_unavailable"


@dataclass(frozen=True, slots=True)
class Limits:
    """Limits a session must respect, from the options and the device."""

    reserve_soc_pct: float
    max_charge_power_w: int
    max_discharge_power_w: int


@dataclass(frozen=True, slots=True)
class Session:
    """What the user asked a charger to do."""

    mode: OperatingMode
    power_w: int
    started_at: float
    until_soc_pct: float | None = None
    ends_at: float | None = None
    assumed_soc_pct: float | None = None
    """A backup's cautious SoC estimate for a charger that reports none while idle
    (a Quasar stopped by its watchdog): it may discharge until the real reading
    arrives, for :data:`SOC_PROBE_TIMEOUT_S` at most."""

    @property
    def discharges(self) -> bool:
        """Whether this session takes energy out of the vehicle."""
        return self.mode in (OperatingMode.DISCHARGE, OperatingMode.BACKUP)

    def floor_pct(self, limits: Limits) -> float:
        """The SoC at which a discharge stops: never below the reserve."""
        return max(limits.reserve_soc_pct, self.until_soc_pct or 0.0)


@dataclass(frozen=True, slots=True)
class Decision:
    """The setpoint to hold now, or why the session is over (then hold 0)."""

    setpoint_w: int
    ended: EndReason | None = None


def check_request(session: Session, status: ChargerStatus, limits: Limits) -> None:
    """Refuse a session that cannot or must not start; raise CommandRefusedError."""
    if session.mode is OperatingMode.IDLE:
        raise CommandRefusedError("invalid_mode", "idle is not a session")
    if session.power_w <= 0:
        raise CommandRefusedError("invalid_power", "power must be positive")
    if status.vehicle_connected is False:
        raise CommandRefusedError("no_vehicle", "no vehicle is connected")
    soc = status.soc.value_pct
    if session.discharges:
        if soc is None and not _may_start_blind(session, limits):
            raise CommandRefusedError(
                "soc_unknown", "the vehicle's state of charge is not known yet"
            )
        if session.until_soc_pct is not None and session.until_soc_pct < limits.reserve_soc_pct:
            raise CommandRefusedError(
                "until_below_reserve",
                f"stopping at {session.until_soc_pct:g} % would pass the reserve "
                f"of {limits.reserve_soc_pct:g} %",
            )
        if soc is not None and soc <= session.floor_pct(limits):
            raise CommandRefusedError(
                "at_reserve",
                f"the vehicle is at {soc:g} %, not above the floor of "
                f"{session.floor_pct(limits):g} %",
            )
    elif session.until_soc_pct is not None and soc is not None and soc >= session.until_soc_pct:
        raise CommandRefusedError("target_reached", f"the vehicle is already at {soc:g} %")


def decide(session: Session, status: ChargerStatus, limits: Limits, now: float) -> Decision:
    """Return the setpoint for this status, or the reason the session ends."""
    if session.ends_at is not None and now >= session.ends_at:
        return Decision(0, EndReason.DURATION_ELAPSED)
    if status.vehicle_connected is False:
        return Decision(0, EndReason.VEHICLE_DISCONNECTED)
    soc = status.soc.value_pct
    if not session.discharges:
        if session.until_soc_pct is not None and soc is not None and soc >= session.until_soc_pct:
            return Decision(0, EndReason.TARGET_REACHED)
        return Decision(min(session.power_w, limits.max_charge_power_w))
    if soc is None:
        if now - session.started_at > SOC_PROBE_TIMEOUT_S:
            return Decision(0, EndReason.SOC_UNAVAILABLE)
        if session.mode is OperatingMode.BACKUP:
            if _may_start_blind(session, limits):
                # Until the charger reports the SoC of the running car.
                return Decision(-min(session.power_w, limits.max_discharge_power_w))
            return Decision(0)  # never charge from a circuit the vehicle supplies
        return Decision(min(SOC_PROBE_POWER_W, limits.max_charge_power_w))
    floor = session.floor_pct(limits)
    if soc <= floor:
        if floor > limits.reserve_soc_pct:
            return Decision(0, EndReason.TARGET_REACHED)
        return Decision(0, EndReason.RESERVE_REACHED)
    return Decision(-min(session.power_w, limits.max_discharge_power_w))


def _may_start_blind(session: Session, limits: Limits) -> bool:
    """Whether a discharge may start with no SoC reading.

    A plain discharge with no stop SoC probes first; a backup may discharge on a
    cautious estimate well above its floor (the charger reports the SoC once power
    flows); anything else waits for a reading.
    """
    if session.mode is OperatingMode.DISCHARGE:
        return session.until_soc_pct is None
    assumed = session.assumed_soc_pct
    return assumed is not None and assumed >= session.floor_pct(limits) + ASSUMED_SOC_MARGIN_PCT


def needs_apply(
    decision: Decision,
    status: ChargerStatus,
    requested_w: int | None,
    since_applied_s: float,
    reapply_after_s: float,
) -> bool:
    """Whether the decision's setpoint must be (re)sent to the charger.

    A new setpoint always is. The same one is sent again when, ``reapply_after_s``
    after it was last sent, the charger still reports a state that does not match it
    (it rebooted, its watchdog stopped it, its app took over).
    """
    if decision.setpoint_w != requested_w:
        return True
    if since_applied_s < reapply_after_s or not decision.setpoint_w:
        return False
    expected = EXPECTED_STATES[1 if decision.setpoint_w > 0 else -1]
    return status.state not in expected
