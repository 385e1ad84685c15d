"""Carrying out a V2B plan: each car's setpoint for the current step, sent to its charger.

Through the charger's controller (which keeps the reserve and the charger's limits).
The plan only ever stops the sessions it started itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from homeassistant.exceptions import HomeAssistantError

from .const import LOGGER
from .devices.control import SOC_PROBE_POWER_W
from .devices.model import OperatingMode
from .models import ChargerRuntimeData
from .planner.model import Plan
from .planner.policy import availability, holds_idle, setpoint_w


class PlanExecutor:
    """The sessions a building's plan runs on its cars' chargers."""

    def __init__(
        self,
        vehicle_ids: list[str],
        charger: Callable[[str], ChargerRuntimeData | None],
        name: Callable[[str], str],
    ) -> None:
        """Run the plan on the chargers ``charger`` finds for each car."""
        self._vehicle_ids = vehicle_ids
        self._charger = charger
        self._name = name
        self.sessions: dict[str, object] = {}
        """The session the plan started on each car's charger."""
        self.applying: set[str] = set()
        """The cars whose setpoint is being sent right now."""
        self.sent_w: dict[str, int] = {}
        """The setpoint last sent to each car the plan drives (W, positive charges)."""

    def owns(self, vehicle_id: str, data: ChargerRuntimeData) -> bool:
        """Whether the charger runs the session the plan started."""
        session = data.controller.session
        return session is not None and session is self.sessions.get(vehicle_id)

    def availability(self, vehicle_id: str) -> tuple[bool, str | None]:
        """Whether a car can be in the plan, and why not."""
        data = self._charger(vehicle_id)
        status = data.status.data if data is not None else None
        if data is None or status is None or not data.status.last_update_success:
            return availability(answering=False, connected=False, manual=False, soc_known=False)
        return availability(
            answering=True,
            connected=bool(status.vehicle_connected),
            manual=vehicle_id not in self.applying  # our own session, being started now
            and not self.owns(vehicle_id, data)
            and data.controller.session is not None,
            soc_known=status.soc.value_pct is not None,
        )

    async def async_execute(self, plan: Plan) -> None:
        """Send the current step's setpoint of every planned car to its charger.

        A car plugged in without a SoC is probed.
        """
        planned = {vehicle.vehicle_id: vehicle for vehicle in plan.vehicles}
        for vehicle_id in self._vehicle_ids:
            data = self._charger(vehicle_id)
            if data is None:
                self.sessions.pop(vehicle_id, None)
                self.sent_w.pop(vehicle_id, None)
                continue
            vehicle = planned.get(vehicle_id)
            setpoint = setpoint_w(
                float(vehicle.power_kw[0]) if vehicle is not None else None,
                None if vehicle is not None else self.availability(vehicle_id)[1],
                SOC_PROBE_POWER_W,
                data.charger.capabilities.min_power_w,
            )
            if setpoint is None:
                await self.async_release(vehicle_id, data)
                continue
            await self._async_send(vehicle_id, data, setpoint)

    async def async_correct(self, setpoints_kw: Mapping[str, float], deadband_w: int) -> int:
        """Send the guard's setpoints to the planned cars that differ by ``deadband_w``+.

        Only cars whose session the plan runs (or that it holds idle); how many were sent.
        """
        sent = 0
        for vehicle_id, power_kw in setpoints_kw.items():
            data = self._charger(vehicle_id)
            last = self.sent_w.get(vehicle_id)
            if data is None or last is None:
                continue
            setpoint = round(power_kw * 1000)
            if abs(setpoint - last) < deadband_w and holds_idle(setpoint) == holds_idle(last):
                continue
            await self._async_send(vehicle_id, data, setpoint)
            sent += 1
        return sent

    async def _async_send(self, vehicle_id: str, data: ChargerRuntimeData, setpoint: int) -> None:
        self.applying.add(vehicle_id)
        try:
            await self._async_apply(vehicle_id, data, setpoint)
            self.sent_w[vehicle_id] = setpoint
        except HomeAssistantError as err:
            LOGGER.warning("Could not apply %s W on %s: %s", setpoint, self._name(vehicle_id), err)
        finally:
            self.applying.discard(vehicle_id)

    async def _async_apply(self, vehicle_id: str, data: ChargerRuntimeData, setpoint: int) -> None:
        controller = data.controller
        if holds_idle(setpoint):
            await controller.async_hold_idle()
            self.sessions.pop(vehicle_id, None)
            return
        mode = OperatingMode.CHARGE if setpoint > 0 else OperatingMode.DISCHARGE
        power_w = abs(setpoint)
        if self.owns(vehicle_id, data) and controller.mode is mode:
            await controller.async_adjust_power(power_w)
        else:
            await controller.async_start(mode, power_w=power_w)
        self.sessions[vehicle_id] = controller.session

    async def async_release(self, vehicle_id: str, data: ChargerRuntimeData) -> None:
        """Stop a session the plan started (never one someone else started)."""
        self.sent_w.pop(vehicle_id, None)
        if self.owns(vehicle_id, data):
            try:
                await data.controller.async_stop()
            except HomeAssistantError as err:
                LOGGER.warning("Could not stop %s: %s", self._name(vehicle_id), err)
                return
        self.sessions.pop(vehicle_id, None)

    async def async_release_all(self) -> None:
        """No plan: stop every session the plan started."""
        for vehicle_id in self._vehicle_ids:
            data = self._charger(vehicle_id)
            if data is not None:
                await self.async_release(vehicle_id, data)

    async def async_shutdown(self) -> None:
        """On unload: stop the sessions the plan started."""
        for vehicle_id in list(self.sessions):
            data = self._charger(vehicle_id)
            if data is not None and self.owns(vehicle_id, data):
                try:
                    await data.controller.async_stop()
                except HomeAssistantError as err:
                    LOGGER.warning("Could not stop %s on unload: %s", vehicle_id, err)
        self.sessions.clear()
        self.sent_w.clear()
