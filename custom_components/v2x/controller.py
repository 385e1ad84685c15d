"""Carry out charge, discharge and backup sessions on one charger.

The decisions are pure (:mod:`.devices.control`); this module feeds them each new
status, writes the resulting setpoint through the device layer, re-applies it when
the charger drifts away (reboot, watchdog, app), and turns refusals and device
errors into translated Home Assistant exceptions.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
import math
import time
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN, EVENT_SESSION_ENDED, LOGGER
from .devices.control import (
    Decision,
    EndReason,
    Limits,
    Session,
    check_request,
    decide,
    needs_apply,
)
from .devices.errors import CommandRefusedError, DeviceError
from .devices.model import Charger, ChargerSnapshot, ChargerStatus, OperatingMode
from .errors import device_error, refused

REAPPLY_AFTER_S: Final = 10.0
STOP_RETRY_S: Final = 2.0
ORPHAN_GRACE_S: Final = 60.0
"""How long a discharge nobody owns (found after a restart) may wait to be taken over."""


class ChargerController:
    """Holds the current session of one charger and enforces it every poll."""

    def __init__(
        self,
        hass: HomeAssistant,
        charger: Charger,
        *,
        reserve_soc_pct: float,
        max_discharge_power_w: int | None,
        device_id: Callable[[], str | None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Control ``charger`` with the given limits; nothing is sent yet."""
        self._hass = hass
        self._charger = charger
        self._device_id = device_id
        self._clock = clock
        self._lock = asyncio.Lock()
        self.reserve_soc_pct = reserve_soc_pct
        self.max_discharge_power_w = max_discharge_power_w
        self.max_available_power_w = charger.capabilities.max_power_w
        self.max_charge_available_w: int | None = None
        self.max_discharge_available_w: int | None = None
        self.session: Session | None = None
        self.owner: str | None = None
        """Who started the session (a backup site's key), None for a person or a plan."""
        self.remote: bool | None = None
        """Whether the charger is under remote control (None: the device has no switch):
        as the last full poll read it, or as a command of ours since that poll began
        set it (taking control, or handing it back)."""
        self._remote_claimed_at = -math.inf
        self.guard_floors: dict[str, float] = {}
        """Extra floors (a backup site's reserve) no discharge may pass, session or not."""
        self.requested_w: int | None = None
        self.setpoint_w: int | None = None
        self.last_end_reason: EndReason | None = None
        self.status: ChargerStatus | None = None
        self._applied_at = 0.0
        self._failing = False
        self._stop_pending = False
        self._stop_sent_at: float | None = None
        self._unowned_since: float | None = None
        self._guard_reason: str | None = None

    @property
    def limits(self) -> Limits:
        """The limits every session is checked against now."""
        charge = self.max_charge_available_w or self.max_available_power_w
        discharge = self.max_discharge_available_w or self.max_available_power_w
        if self.max_discharge_power_w is not None:
            discharge = min(discharge, self.max_discharge_power_w)
        return Limits(
            reserve_soc_pct=self.reserve_soc_pct,
            max_charge_power_w=charge,
            max_discharge_power_w=discharge,
        )

    def update_limits(self, snapshot: ChargerSnapshot, read_began: float) -> None:
        """Take what the charger allows now from a full poll begun at ``read_began``.

        Who controls the charger is taken only from a poll begun after our last command
        that changed it: an older one may have read the registers before it.
        """
        self.max_available_power_w = snapshot.max_available_power_w
        self.max_charge_available_w = snapshot.max_charge_power_w
        self.max_discharge_available_w = snapshot.max_discharge_power_w
        if read_began >= self._remote_claimed_at:
            self.remote = snapshot.control.remote if snapshot.control is not None else None

    def now(self) -> float:
        """The controller's clock (monotonic seconds)."""
        return self._clock()

    def _claim_remote(self, remote: bool) -> None:
        if self._charger.capabilities.remote_control:
            self.remote = remote
            self._remote_claimed_at = self._clock()

    @property
    def guard_floor_pct(self) -> float:
        """No discharge, owned or not, may continue at or below this SoC."""
        return max([self.reserve_soc_pct, *self.guard_floors.values()])

    @property
    def mode(self) -> OperatingMode:
        """What the integration currently asks of the charger."""
        return self.session.mode if self.session else OperatingMode.IDLE

    def default_power_w(self, mode: OperatingMode) -> int:
        """Power used when a mode is chosen without one (the select entity)."""
        if mode is OperatingMode.CHARGE:
            return self.limits.max_charge_power_w
        return self.limits.max_discharge_power_w

    async def async_start(
        self,
        mode: OperatingMode,
        *,
        power_w: int | None = None,
        until_soc_pct: float | None = None,
        duration_s: float | None = None,
        owner: str | None = None,
        assumed_soc_pct: float | None = None,
    ) -> None:
        """Start a session after checking it is safe; raise a translated error if not.

        ``owner`` marks a session a backup site started (and may stop again);
        ``assumed_soc_pct`` is a backup's cautious estimate for a charger that
        reports no SoC while idle.
        """
        if mode is OperatingMode.IDLE:
            await self.async_stop()
            return
        if power_w is not None and power_w > self._charger.capabilities.max_power_w:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="power_above_maximum",
                translation_placeholders={
                    "power": str(power_w),
                    "maximum": str(self._charger.capabilities.max_power_w),
                },
            )
        minimum = self._charger.capabilities.min_power_w
        if power_w is not None and 0 < power_w < minimum:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="power_below_minimum",
                translation_placeholders={"power": str(power_w), "minimum": str(minimum)},
            )
        status = self.status
        if status is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="unavailable")
        now = self._clock()
        session = Session(
            mode=mode,
            power_w=power_w if power_w is not None else self.default_power_w(mode),
            started_at=now,
            until_soc_pct=until_soc_pct,
            ends_at=now + duration_s if duration_s is not None else None,
            assumed_soc_pct=assumed_soc_pct,
        )
        await self._async_run(session, status, owner)

    async def async_resume(self, session: Session, owner: str | None) -> None:
        """Run ``session`` again, the very same one (a backup interrupted it).

        Checked as a new request would be; its end time, if it has one, stays as it was.
        """
        status = self.status
        if status is None:
            raise HomeAssistantError(translation_domain=DOMAIN, translation_key="unavailable")
        await self._async_run(session, status, owner)

    async def _async_run(self, session: Session, status: ChargerStatus, owner: str | None) -> None:
        """Check ``session`` against the charger's state and limits, then run it."""
        now = self._clock()
        try:
            check_request(session, status, self.limits)
        except CommandRefusedError as err:
            raise refused(err) from err
        async with self._lock:
            self.session = session
            self.owner = owner
            self.last_end_reason = None
            self._stop_pending = False
            self._stop_sent_at = None
            try:
                await self._apply(decide(session, status, self.limits, now))
            except DeviceError as err:
                self.session = None
                self._stop_pending = True  # whatever reached the device is undone
                raise device_error(err) from err

    async def async_adjust_power(self, power_w: int) -> None:
        """Change the power of the running session (load following); no-op without one."""
        async with self._lock:
            session = self.session
            if session is None or self.status is None:
                return
            self.session = replace(session, power_w=power_w)
            decision = decide(self.session, self.status, self.limits, self._clock())
            if decision.ended is None:
                try:
                    await self._apply(decision)
                except DeviceError as err:
                    raise device_error(err) from err

    async def async_stop(self) -> None:
        """End any session and stop (dis)charging, keeping remote control."""
        await self._async_command(self._charger.async_stop, end_session=True, setpoint=0)

    async def async_hold_idle(self) -> None:
        """End any session; hold the charger at 0 W under remote control.

        Unlike :meth:`async_stop` this takes remote control first when the charger is
        under its own logic, which would otherwise start charging a car on its own.
        """
        await self._async_command(self._async_set_zero, end_session=True, setpoint=0)
        self._claim_remote(True)

    async def _async_set_zero(self) -> None:
        await self._charger.async_set_power(0)

    async def async_take_control(self) -> None:
        """Put the charger under remote control (watchdog armed), without a session."""
        await self._async_command(self._charger.async_take_control, end_session=False)
        self._claim_remote(True)

    async def async_release_control(self) -> None:
        """End any session and hand the charger back to its own logic (the app)."""
        await self._async_command(
            self._charger.async_release_control, end_session=True, setpoint=None
        )
        self._claim_remote(False)

    async def _async_command(
        self,
        command: Callable[[], Awaitable[None]],
        *,
        end_session: bool,
        setpoint: int | None = None,
    ) -> None:
        """Run a charger command under the lock; translate device errors."""
        async with self._lock:
            if end_session:
                self.session = None
                self.owner = None
            try:
                await command()
            except DeviceError as err:
                if setpoint == 0:
                    # The stop did not reach the charger: retried on every poll
                    # until the charger confirms it has stopped.
                    self._stop_pending = True
                raise device_error(err) from err
            if end_session:
                self.requested_w = self.setpoint_w = setpoint
                self._stop_pending = setpoint == 0
                self._stop_sent_at = self._clock()

    async def async_shutdown(self) -> None:
        """On unload: stop an active session so nothing runs unattended."""
        if self.session is None:
            return
        try:
            await self.async_stop()
        except HomeAssistantError as err:
            LOGGER.warning("Could not stop the charger on unload: %s", err)

    async def async_step(self, status: ChargerStatus) -> None:
        """Enforce the session for a new status; called after every status poll.

        When a session ends (reserve reached, target reached...) the stop is retried
        on every poll until the charger reports it has stopped: polling keeps the
        device's own watchdog fed, so it would never stop by itself. Below every
        session sits a guard: a charger under remote control that discharges with
        no session (left running before a restart) is stopped at its floor at once,
        and after :data:`ORPHAN_GRACE_S` if nobody takes it over.
        """
        self.status = status
        if self._lock.locked():
            return
        now = self._clock()
        if not self._has_work(status, status.supplying, now):
            return
        async with self._lock:
            session = self.session
            if session is None:
                if not status.running:
                    self._stop_pending = False  # the charger confirms the stop
                    return
                if self._stop_sent_at is not None and now - self._stop_sent_at < STOP_RETRY_S:
                    return  # give the last stop time to take effect
                decision = Decision(0)
            else:
                decision = decide(session, status, self.limits, now)
                if decision.ended is not None:
                    self._end(session, decision.ended)
                elif not needs_apply(
                    decision, status, self.requested_w, now - self._applied_at, REAPPLY_AFTER_S
                ):
                    return
            try:
                await self._apply(decision)
            except DeviceError as err:
                if not self._failing:
                    LOGGER.warning("Could not apply setpoint %s W: %s", decision.setpoint_w, err)
                    self._failing = True
                return
            if self.session is None:
                self._stop_pending = True
                self._stop_sent_at = now
            if self._failing:
                LOGGER.info("Setpoint %s W applied again", decision.setpoint_w)
                self._failing = False

    def _has_work(self, status: ChargerStatus, discharging: bool, now: float) -> bool:
        """A session to enforce, a stop to confirm, or a discharge nobody owns to stop."""
        if self.session is not None or self._stop_pending:
            return True
        if not discharging:
            self._unowned_since = None
            return False
        return self._guard_trips(status, now)

    def _guard_trips(self, status: ChargerStatus, now: float) -> bool:
        """Whether a discharge nobody owns must be stopped now."""
        if self.remote is False:
            return False  # under the device's own logic (its app): not ours to stop
        soc = status.soc.value_pct
        if soc is not None and soc <= self.guard_floor_pct:
            reason, detail = "floor", f"at {soc:g} %, its floor is {self.guard_floor_pct:g} %"
        elif self.remote is not True:
            return False  # no remote-control switch: a discharge started on the unit itself
        else:
            if self._unowned_since is None:
                self._unowned_since = now
            if now - self._unowned_since < ORPHAN_GRACE_S:
                return False
            reason, detail = "orphan", f"with no session for {ORPHAN_GRACE_S:.0f} s"
        if self._guard_reason != reason:
            LOGGER.warning("Stopping a discharge nobody owns, %s", detail)
            self._guard_reason = reason
        self._stop_pending = True
        self._stop_sent_at = None  # stop at once
        self._unowned_since = None
        return True

    async def _apply(self, decision: Decision) -> None:
        self._applied_at = self._clock()
        self.requested_w = decision.setpoint_w
        self.setpoint_w = await self._charger.async_set_power(decision.setpoint_w)
        self._claim_remote(True)  # a setpoint takes remote control first

    def _end(self, session: Session, reason: EndReason) -> None:
        self.session = None
        self.owner = None
        self._stop_pending = True
        self.last_end_reason = reason
        LOGGER.info("The %s session ended: %s", session.mode, reason)
        self._hass.bus.async_fire(
            EVENT_SESSION_ENDED,
            {"device_id": self._device_id(), "mode": session.mode.value, "reason": reason.value},
        )
