"""The sources of a backup site: one adapter per kind of loaded device entry.

A site does not care whether a source is a charger with a car or a portable
battery: it asks a :class:`BackupSource` for what the machine needs to see
(:class:`~.backup.machine.SourceObservation`), tells it to supply or stop, and when
the backup is over to be put back as it was before (recorded by
:meth:`BackupSource.record_before`). :func:`backup_source` picks the adapter for an
entry's runtime data; the rules the adapters apply are pure (:mod:`.backup.sources`,
:mod:`.backup.restore`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
import time
from typing import Any, Final, Protocol, cast

from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .backup.machine import AdjustSource, SourceObservation, StartSource
from .backup.restore import (
    BatteryBefore,
    Before,
    ChargerBefore,
    battery_restore,
    charger_restore,
)
from .backup.sources import (
    Health,
    SourceBook,
    battery_discharging,
    battery_floor_pct,
    cautious_soc_pct,
    charger_absent,
    charger_floor_pct,
    credit_watched_idle,
    presumed_supplying,
)
from .const import CONF_CAPACITY, DEFAULT_VEHICLE_CAPACITY_KWH, LOGGER
from .devices.control import Session
from .devices.errors import DeviceError
from .devices.health import PollHealth
from .devices.modbus import ModbusProfile
from .devices.model import AnnouncingCharger, OperatingMode
from .models import BatteryRuntimeData, ChargerRuntimeData, DeviceRuntime, EntryKind

FAST_RECONNECT_S: Final = 3.0
"""Longest reconnection back-off of a device a site depends on."""
STALE_FACTOR: Final = 0.9
"""A status this share of the site's grid poll old is read again (timer jitter)."""


@dataclass(frozen=True, slots=True)
class SourceContext:
    """What the adapters share with their site."""

    book: SourceBook
    owner_key: str
    """How the site marks the charger sessions it starts."""
    reserve_soc_pct: float
    save_soon: Callable[[], None]
    """Save the site's state soon (a charger's first SoC reading must survive a restart)."""
    recharge_power_w: int | None = None
    """The power a car is recharged at after a backup (None: the charger's full power)."""


class BackupSource(Protocol):
    """One source of a backup site, whatever the device behind it."""

    entry_id: str

    @property
    def runtime(self) -> ChargerRuntimeData | BatteryRuntimeData:
        """The entry's runtime data (a reloaded entry has new data)."""

    @property
    def coordinator(self) -> DataUpdateCoordinator[Any]:
        """The poll whose news the site steps on."""

    @property
    def poll_health(self) -> PollHealth:
        """The record of the source's polls."""

    @property
    def polls_grid(self) -> bool:
        """Whether its grid signal must be polled (else it comes with the status)."""

    def grid_available(self) -> bool | None:
        """The grid signal that came with the last status (None: none, or unknown)."""

    async def async_read_grid(self, max_age_s: float) -> bool | None:
        """Read the device's grid signal, at most ``max_age_s`` old (None: cannot tell)."""

    def observe(self, health: Health, *, active: bool, now: float) -> SourceObservation:
        """What the machine sees of this source (``active``: the one supplying the site)."""

    def is_stray(self) -> bool:
        """Whether it discharges in a session of the site's (or in nobody's)."""

    def depend(self) -> None:
        """The site depends on it: guard the site's reserve, reconnect fast."""

    def let_go(self) -> None:
        """The site no longer depends on it."""

    async def async_supply(self, action: StartSource | AdjustSource) -> None:
        """Start supplying the site, or change the power."""

    async def async_stop(self) -> None:
        """Stop supplying."""

    def record_before(self) -> Before:
        """How the source is now, before the site first asks it to supply."""

    async def async_restore(self, before: Before) -> None:
        """Put the source back as ``before`` says, the grid being back."""

    async def async_release_if_done(self) -> bool:
        """Hand a charger back to its own logic once the site's recharge is over."""


def vehicle_capacity_kwh(data: ChargerRuntimeData) -> float:
    """The car's capacity as the charger reports it, else the configured one."""
    snapshot = data.full.data
    if snapshot is not None and snapshot.vehicle_capacity_kwh:
        return snapshot.vehicle_capacity_kwh
    return float(data.full.config_entry.options.get(CONF_CAPACITY, DEFAULT_VEHICLE_CAPACITY_KWH))


def backup_source(
    entry_id: str, data: DeviceRuntime | None, context: SourceContext
) -> BackupSource | None:
    """The adapter for a loaded source entry (by the kind it names), None for nothing."""
    if data is None:
        return None
    if data.kind is EntryKind.CHARGER:
        return ChargerSource(entry_id, cast("ChargerRuntimeData", data), context)
    return BatterySource(entry_id, cast("BatteryRuntimeData", data), context)


def _fast_reconnect(device: object) -> None:
    if isinstance(device, ModbusProfile):
        device.transport.set_backoff_max(FAST_RECONNECT_S)


class ChargerSource:
    """A bidirectional charger and the car plugged into it."""

    polls_grid = False

    def __init__(self, entry_id: str, data: ChargerRuntimeData, context: SourceContext) -> None:
        """Wrap a loaded charger entry."""
        self.entry_id = entry_id
        self._data = data
        self._context = context

    @property
    def runtime(self) -> ChargerRuntimeData:
        """The charger entry's runtime data."""
        return self._data

    @property
    def coordinator(self) -> DataUpdateCoordinator[Any]:
        """The fast status poll."""
        return self._data.status

    @property
    def poll_health(self) -> PollHealth:
        """The status poll's record."""
        return self._data.status.health

    def grid_available(self) -> bool | None:
        """The charger's own grid state, from its status poll."""
        status = self._data.status
        data = status.data if status.last_update_success else None
        return None if data is None else data.grid_available

    async def async_read_grid(self, max_age_s: float) -> bool | None:
        """The grid state of the status, polled again once older than ``max_age_s``.

        The site's grid poll may be faster than the charger's status poll (SunSpec,
        no push): it then runs the status poll at its own rate. A charger that
        announces its changes (ECHONET Lite) is not polled faster.
        """
        data = self._data
        last = data.status.health.last_success
        stale = last is None or time.monotonic() - last >= STALE_FACTOR * max_age_s
        if stale and not isinstance(data.charger, AnnouncingCharger):
            await data.status.async_refresh()
        return self.grid_available()

    def observe(self, health: Health, *, active: bool, now: float) -> SourceObservation:
        """The car as the machine sees it."""
        data, context = self._data, self._context
        status = data.status.data
        controller = data.controller
        healthy = health.healthy or (
            active
            and self.entry_id not in context.book.command_failed
            and presumed_supplying(
                now,
                data.status.health.last_success,
                data.charger.watchdog_s,
                status is not None and status.supplying,
            )
        )
        soc = self.soc_pct()
        absent = status is not None and charger_absent(
            status.vehicle_connected, status.dischargeable
        )
        return SourceObservation(
            available=healthy and status is not None and not absent,
            soc_pct=soc,
            floor_pct=charger_floor_pct(context.reserve_soc_pct, controller.reserve_soc_pct),
            capacity_kwh=vehicle_capacity_kwh(data),
            max_discharge_w=controller.limits.max_discharge_power_w,
            min_discharge_w=data.charger.capabilities.min_power_w,
            discharging=bool(status and status.discharging),
            known=health.known,
            healthy_s=health.healthy_s,
            absent=absent,
            owned=self._owned(),
        )

    def _owned(self) -> bool:
        controller = self._data.controller
        return controller.session is not None and controller.owner == self._context.owner_key

    def soc_pct(self) -> float | None:
        """The car's SoC, or a cautious estimate from the last reading.

        A Quasar reports no SoC while no power flows (stopped by its watchdog while
        Home Assistant was away, say); the last reading minus the most the car could
        have given since then at full power stands in until power flows again.
        """
        data, book = self._data, self._context.book
        status = data.status.data
        live = status.soc.value_pct if status is not None and not status.soc.stale else None
        now = time.time()
        if live is not None:
            if book.remember_soc(self.entry_id, live, now):
                self._context.save_soon()  # a restart may come before the next periodic save
            before = book.before.get(self.entry_id)
            if isinstance(before, ChargerBefore) and before.soc_pct is None:
                # Unknown when the site took the car (a Quasar reads none while idle): its
                # first reading since is the SoC to recharge it back to.
                book.before[self.entry_id] = replace(before, soc_pct=live)
            return live
        remembered = book.soc_memory.get(self.entry_id)
        if remembered is None or (status is not None and status.vehicle_connected is False):
            return None
        idle = status is not None and data.status.last_update_success and not status.supplying
        remembered, seen = credit_watched_idle(
            remembered, book.idle_seen.get(self.entry_id), now, idle_now=idle
        )
        book.soc_memory[self.entry_id] = remembered
        if seen is None:
            book.idle_seen.pop(self.entry_id, None)
        else:
            book.idle_seen[self.entry_id] = seen
        soc, at = remembered
        return cautious_soc_pct(
            soc, at, now, data.controller.limits.max_discharge_power_w, vehicle_capacity_kwh(data)
        )

    def is_stray(self) -> bool:
        """Discharging in the site's discharge session, or in nobody's.

        Not in the site's recharge after an outage, though the last poll (from before it
        started) may still show the car discharging.
        """
        data = self._data
        status = data.status.data
        if status is None or not data.status.last_update_success or not status.supplying:
            return False
        session = data.controller.session
        if session is None:
            return True
        return data.controller.owner == self._context.owner_key and session.discharges

    def depend(self) -> None:
        """No discharge, the site's or not, passes the site's reserve."""
        self._data.controller.guard_floors[self._context.owner_key] = self._context.reserve_soc_pct
        _fast_reconnect(self._data.charger)

    def let_go(self) -> None:
        """The site's reserve no longer guards the charger."""
        self._data.controller.guard_floors.pop(self._context.owner_key, None)

    async def async_supply(self, action: StartSource | AdjustSource) -> None:
        """Start a backup session down to the action's floor, or change its power."""
        data = self._data
        if isinstance(action, StartSource):
            status = data.status.data
            live = status.soc.value_pct if status is not None else None
            await data.controller.async_start(
                OperatingMode.BACKUP,
                power_w=action.power_w,
                until_soc_pct=action.floor_pct,
                owner=self._context.owner_key,
                assumed_soc_pct=None if live is not None else self.soc_pct(),
            )
        else:
            await data.controller.async_adjust_power(action.power_w)
        await data.status.async_request_refresh()

    async def async_stop(self) -> None:
        """End the session."""
        await self._data.controller.async_stop()

    def record_before(self) -> ChargerBefore:
        """The car's SoC, the charger's control, and a session someone else runs on it."""
        data, book = self._data, self._context.book
        controller = data.controller
        session = controller.session
        theirs = session is not None and controller.owner != self._context.owner_key
        if session is not None and theirs:
            book.resumable[self.entry_id] = (session, controller.owner)
        full = data.full.data
        control = full.control if full is not None else None
        return ChargerBefore(
            soc_pct=self.soc_pct(),
            remote=control.remote if control is not None else None,
            had_session=theirs,
        )

    async def async_restore(self, before: Before) -> None:
        """The session that ran before; else the car recharged, the charger handed back.

        Recharged to the SoC it had before; handed back to its own logic if it was under
        it (after the recharge).
        """
        if not isinstance(before, ChargerBefore):
            return
        data, book = self._data, self._context.book
        controller = data.controller
        resumable = book.resumable.pop(self.entry_id, None)
        status = data.status.data
        connected = status.vehicle_connected if status is not None else None
        plan = charger_restore(before, soc_now_pct=self.soc_pct(), connected=connected)
        if plan.resume_session and resumable is not None:
            session, owner = resumable
            try:
                await controller.async_resume(cast("Session", session), owner)
            except HomeAssistantError as err:
                LOGGER.warning(
                    "%s: the session before the backup cannot resume: %s", self.entry_id, err
                )
            else:
                return
        if plan.resume_session:  # lost (a restart): recharge and hand back as if none ran
            plan = charger_restore(
                replace(before, had_session=False), soc_now_pct=self.soc_pct(), connected=connected
            )
        if plan.recharge_to_pct is not None:
            await controller.async_start(
                OperatingMode.CHARGE,
                power_w=self._recharge_power_w(),
                until_soc_pct=plan.recharge_to_pct,
                owner=self._context.owner_key,
            )
            if plan.release_control:
                book.release_pending.add(self.entry_id)
        elif plan.release_control:
            await controller.async_release_control()

    def _recharge_power_w(self) -> int:
        controller = self._data.controller
        full = controller.limits.max_charge_power_w
        wanted = self._context.recharge_power_w or full
        least = self._data.charger.capabilities.min_power_w
        return max(min(wanted, full), least)

    async def async_release_if_done(self) -> bool:
        """Hand the charger back to its own logic once the site's recharge is over.

        True when it was handed back (or needs it no more).
        """
        controller = self._data.controller
        if controller.session is not None and controller.owner == self._context.owner_key:
            return False  # still recharging
        if controller.session is None:
            await controller.async_release_control()
        return True  # someone else's session now: theirs to run


class BatterySource:
    """A portable (or second-life) battery with an AC output."""

    polls_grid = True

    def __init__(self, entry_id: str, data: BatteryRuntimeData, context: SourceContext) -> None:
        """Wrap a loaded battery entry."""
        self.entry_id = entry_id
        self._data = data
        self._context = context

    @property
    def runtime(self) -> BatteryRuntimeData:
        """The battery entry's runtime data."""
        return self._data

    @property
    def coordinator(self) -> DataUpdateCoordinator[Any]:
        """The battery's poll."""
        return self._data.coordinator

    @property
    def poll_health(self) -> PollHealth:
        """The poll's record."""
        return self._data.coordinator.health

    def grid_available(self) -> bool | None:
        """A battery's grid signal is polled, not part of its reading."""
        return None

    async def async_read_grid(self, max_age_s: float) -> bool | None:
        """Ask the battery whether its AC input sees the grid (now, whatever the age)."""
        data = self._data
        try:
            return await data.battery.async_read_grid()
        except DeviceError as err:
            LOGGER.debug("Grid signal from %s unavailable: %s", data.identity.model, err)
            return None

    @property
    def max_discharge_w(self) -> int:
        """The inverter's power: what the device reports, else its family's maximum."""
        reading = self._data.coordinator.data
        return (reading.max_output_w if reading else None) or (
            self._data.battery.capabilities.max_output_w
        )

    def observe(self, health: Health, *, active: bool, now: float) -> SourceObservation:
        """The battery as the machine sees it."""
        reading = self._data.coordinator.data
        state = reading.state if reading else None
        return SourceObservation(
            available=health.healthy and reading is not None,
            soc_pct=state.soc.value_pct if state else None,
            floor_pct=battery_floor_pct(
                self._context.reserve_soc_pct, state.min_soc_pct if state else None
            ),
            capacity_kwh=state.capacity_kwh if state else None,
            max_discharge_w=self.max_discharge_w,
            discharging=bool(state and battery_discharging(state.power_w, state.output_power_w)),
            known=health.known,
            healthy_s=health.healthy_s,
            owned=self.entry_id in self._context.book.started,
        )

    def is_stray(self) -> bool:
        """Its output on, switched on by the site."""
        if self.entry_id not in self._context.book.started:
            return False
        reading = self._data.coordinator.data
        return bool(reading and reading.state.output_enabled)

    def depend(self) -> None:
        """Reconnect fast."""
        _fast_reconnect(self._data.battery)

    def let_go(self) -> None:
        """Nothing to undo."""

    async def async_supply(self, action: StartSource | AdjustSource) -> None:
        """Switch the output on, at the action's power where the device has a limit."""
        data = self._data
        limit = action.power_w if data.battery.capabilities.output_limit else None
        self._context.book.started.add(self.entry_id)
        await data.battery.async_set_output(enabled=True, limit_w=limit)
        await data.coordinator.async_request_refresh()

    async def async_stop(self) -> None:
        """Switch the output off."""
        await self._data.battery.async_set_output(enabled=False)
        self._context.book.started.discard(self.entry_id)
        await self._data.coordinator.async_request_refresh()

    def record_before(self) -> BatteryBefore:
        """Its output (on or off, its limit) and its charging limit."""
        reading = self._data.coordinator.data
        return BatteryBefore(
            output_enabled=reading.state.output_enabled if reading is not None else None,
            output_limit_w=reading.output_limit_w if reading is not None else None,
            input_limit_w=reading.input_limit_w if reading is not None else None,
        )

    async def async_restore(self, before: Before) -> None:
        """Its output and charging limit as they were."""
        if not isinstance(before, BatteryBefore):
            return
        data = self._data
        capabilities = data.battery.capabilities
        plan = battery_restore(
            before, output_limit=capabilities.output_limit, input_limit=capabilities.input_limit
        )
        # The charging limit first: on a Zendure it also selects input mode, which the
        # output, set after it, turns back to output where that is how it was.
        if plan.input_limit_w is not None:
            await data.battery.async_set_input_limit(plan.input_limit_w)
        await data.battery.async_set_output(
            enabled=plan.output_enabled, limit_w=plan.output_limit_w
        )
        self._context.book.started.discard(self.entry_id)
        await data.coordinator.async_request_refresh()

    async def async_release_if_done(self) -> bool:
        """A battery is never handed over: nothing to wait for."""
        return True
