"""A backup site: the Home Assistant side of the outage state machine.

It feeds :class:`~.backup.machine.BackupMachine` with observations (grid signal,
transfer-switch position, the sources' state, the site load) on every change and
once a second, carries out the machine's actions in order (switch services, source
commands, load shedding, events, repair issues), and keeps the machine's state in
storage so a restart in the middle of an outage continues where it was.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
import math
import time
from typing import Any, ClassVar, Final

from homeassistant.const import (
    ATTR_ENTITY_ID,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_OFF,
    STATE_ON,
    STATE_UNAVAILABLE,
    STATE_UNKNOWN,
    Platform,
    UnitOfPower,
)
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.storage import Store
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .backup.machine import (
    Action,
    AdjustSource,
    BackupMachine,
    BackupState,
    ClearAlarm,
    FireEvent,
    MachineConfig,
    MoveTransferSwitch,
    Observation,
    RaiseAlarm,
    RechargeSource,
    ReportShortfall,
    RestoreLoad,
    ShedLoad,
    SourceObservation,
    StartSource,
    StopSource,
)
from .backup.runtime import ElevatorModel, runtime_minutes
from .const import (
    CONF_CAPACITY,
    CONF_CONFIRM_TIMEOUT,
    CONF_CRITICAL_LOADS,
    CONF_ELEVATOR_STANDBY,
    CONF_ELEVATOR_TRIP,
    CONF_ELEVATOR_TRIPS,
    CONF_FAILED_AFTER,
    CONF_FAILED_POLLS,
    CONF_GRID_DEVICE,
    CONF_GRID_ENTITY,
    CONF_GRID_MIN_VOLTAGE,
    CONF_GRID_POLL,
    CONF_HOUSE_LOAD,
    CONF_LOAD_SENSOR,
    CONF_OUTAGE_DEBOUNCE,
    CONF_PARK_WARNING,
    CONF_RECOVER_AFTER,
    CONF_RESERVE_SOC,
    CONF_RESTORE_DELAY,
    CONF_SHEDDABLE_LOADS,
    CONF_SITE_TYPE,
    CONF_SOURCES,
    CONF_SWITCH_CONFIRM,
    CONF_TRANSFER_SWITCH,
    DEFAULT_ELEVATOR_OPTIONS,
    DEFAULT_SITE_OPTIONS,
    DEFAULT_VEHICLE_CAPACITY_KWH,
    DOMAIN,
    LOGGER,
    SITE_BUILDING,
)
from .coordinator import BatteryCoordinator, StatusCoordinator
from .devices.errors import DeviceError
from .devices.health import FailureRule
from .devices.modbus import ModbusProfile
from .devices.model import OperatingMode
from .helpers import CoordinatorListeners
from .models import (
    DEVICE_PLATFORMS,
    BatteryRuntimeData,
    ChargerRuntimeData,
    DeviceRuntime,
    EntryKind,
    device_runtime,
)
from .registry import entry_device
from .repairs import async_check_site, async_delete_site_issues

STORAGE_VERSION: Final = 1
TICK: Final = timedelta(seconds=1)
SWITCH_TIMEOUT_S: Final = 10.0
REPAIR_CHECK_TICKS: Final = 60
MEMORY_SAVE_TICKS: Final = 10
"""While on vehicle power, the SoC readings a restart needs are stored this often (s)."""
STARTUP_WAIT_S: Final = 15.0
"""After a (re)start, how long a preferred source's first reading is waited for."""
FAST_RECONNECT_S: Final = 3.0
"""Longest reconnection back-off of a device a site depends on."""
STRAY_STOP_RETRY_S: Final = 5.0
PRESUMED_MARGIN_S: Final = 1.0
"""An unreachable charger is taken as stopped this long after its watchdog would have."""


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """What the site's entities show."""

    state: BackupState
    alarm: str | None
    drill: bool
    grid_available: bool | None
    on_vehicle_power: bool
    active_source: str | None
    load_w: float
    energy_kwh: float | None
    runtime_min: float | None
    automatic: bool


def site_device_identifier(entry_id: str) -> tuple[str, str]:
    """The device-registry identifier of a site."""
    return (DOMAIN, f"site_{entry_id}")


def _option(options: dict[str, Any], key: str) -> Any:
    defaults = {**DEFAULT_SITE_OPTIONS, **DEFAULT_ELEVATOR_OPTIONS}
    return options.get(key, defaults[key])


def vehicle_capacity_kwh(data: ChargerRuntimeData) -> float:
    """The car's capacity as the charger reports it, else the configured one."""
    snapshot = data.full.data
    if snapshot is not None and snapshot.vehicle_capacity_kwh:
        return snapshot.vehicle_capacity_kwh
    return float(data.full.config_entry.options.get(CONF_CAPACITY, DEFAULT_VEHICLE_CAPACITY_KWH))


def _inverter_power_w(data: BatteryRuntimeData) -> int:
    """A battery's inverter power: what the device reports, else its family's maximum."""
    reading = data.coordinator.data
    return (reading.max_output_w if reading else None) or data.battery.capabilities.max_output_w


class BackupSite(DataUpdateCoordinator[SiteStatus]):
    """One house or building protected by vehicle power."""

    def __init__(self, hass: HomeAssistant, entry: Any) -> None:
        """Build the machine from the entry; nothing runs before :meth:`async_start`."""
        super().__init__(hass, LOGGER, config_entry=entry, name=f"{DOMAIN} site {entry.title}")
        self.entry = entry
        data: dict[str, Any] = dict(entry.data)
        self.sources: list[str] = list(data[CONF_SOURCES])
        self.transfer_switch: str = data[CONF_TRANSFER_SWITCH]
        self.switch_confirm: str | None = data.get(CONF_SWITCH_CONFIRM)
        self.sheddable: list[str] = list(data.get(CONF_SHEDDABLE_LOADS, []))
        self.critical: list[str] = list(data.get(CONF_CRITICAL_LOADS, []))
        self.grid_entity: str | None = data.get(CONF_GRID_ENTITY)
        self.grid_device: str | None = data.get(CONF_GRID_DEVICE)
        self.load_sensor: str | None = data.get(CONF_LOAD_SENSOR)
        self.building = data.get(CONF_SITE_TYPE) == SITE_BUILDING
        self.automatic = True
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.site.{entry.entry_id}"
        )
        self._machine = BackupMachine(self._machine_config(), time.monotonic())
        self._lock = asyncio.Lock()
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._device_grid: bool | None = None
        self._command_failed: dict[str, float] = {}
        self._started_batteries: set[str] = set()
        self._stray_stops: dict[str, float] = {}
        self._failures_seen: dict[str, int] = {}
        self._depended: dict[str, DeviceRuntime] = {}
        self._soc_memory: dict[str, tuple[float, float]] = {}
        """Last SoC read from each charger, and when (wall clock): kept across restarts."""
        self._last_snapshot: dict[str, Any] | None = None
        self._source_listeners = CoordinatorListeners(self.async_step)
        self._stopped = False
        self._ticks = 0
        self._wakeup: CALLBACK_TYPE | None = None

    # -- configuration -----------------------------------------------------------------

    def _machine_config(self) -> MachineConfig:
        options = dict(self.entry.options)
        return MachineConfig(
            sources=tuple(self.sources),
            sheddable_loads=tuple(self.sheddable),
            outage_debounce_s=float(_option(options, CONF_OUTAGE_DEBOUNCE)),
            restore_delay_s=float(_option(options, CONF_RESTORE_DELAY)),
            confirm_timeout_s=float(_option(options, CONF_CONFIRM_TIMEOUT)),
            park_warning_min=float(_option(options, CONF_PARK_WARNING)),
            recover_after_s=self.failure_rule.recover_after_s,
            startup_wait_s=STARTUP_WAIT_S,
        )

    @property
    def failure_rule(self) -> FailureRule:
        """When a source counts as failed, and when it is trusted again."""
        options = dict(self.entry.options)
        return FailureRule(
            failed_polls=int(_option(options, CONF_FAILED_POLLS)),
            failed_after_s=float(_option(options, CONF_FAILED_AFTER)),
            recover_after_s=float(_option(options, CONF_RECOVER_AFTER)),
        )

    @property
    def owner_key(self) -> str:
        """How this site marks the charger sessions it starts."""
        return f"site:{self.entry.entry_id}"

    @property
    def reserve_soc_pct(self) -> float:
        """The site's reserve: no source is discharged at or below it."""
        return float(_option(dict(self.entry.options), CONF_RESERVE_SOC))

    @property
    def machine(self) -> BackupMachine:
        """The state machine (for diagnostics and tests)."""
        return self._machine

    kind: ClassVar[EntryKind] = EntryKind.SITE
    platforms: ClassVar[tuple[Platform, ...]] = DEVICE_PLATFORMS

    async def async_apply_options(self) -> None:
        """New reserve, timings and load model, at once."""
        self.apply_options()

    async def async_close(self) -> None:
        """A site holds no connection of its own: its sources close their own."""

    def apply_options(self) -> None:
        """New options: the machine keeps its state, with the new settings."""
        self._machine.config = self._machine_config()
        self.async_step()

    # -- lifecycle ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore the saved state, subscribe to every input, take a first step."""
        saved = await self._store.async_load() or {}
        self.automatic = bool(saved.get("automatic", True))
        started = saved.get("started_batteries", [])
        self._started_batteries = {s for s in started if s in self.sources}
        memory = saved.get("soc_memory", {})
        if isinstance(memory, dict):
            self._soc_memory = {
                source: (float(value[0]), float(value[1]))
                for source, value in memory.items()
                if source in self.sources and isinstance(value, list) and len(value) == 2
            }
        machine = saved.get("machine")
        if isinstance(machine, dict):
            self._machine = BackupMachine.restore(self._machine_config(), machine, time.monotonic())
            if self._machine.state is not BackupState.GRID:
                LOGGER.warning(
                    "%s restarted while %s: continuing, nothing is switched back blindly",
                    self.entry.title,
                    self._machine.state,
                )
        watched = [self.transfer_switch, *filter(None, (self.switch_confirm, self.load_sensor))]
        if self.grid_entity:
            watched.append(self.grid_entity)
        self._unsubscribe.append(
            async_track_state_change_event(self.hass, watched, self._async_on_state_change)
        )
        self._unsubscribe.append(async_track_time_interval(self.hass, self._async_tick, TICK))
        self._unsubscribe.append(async_at_started(self.hass, self._async_check_repairs))
        if self.grid_device:
            poll = timedelta(seconds=float(_option(dict(self.entry.options), CONF_GRID_POLL)))
            self._unsubscribe.append(
                async_track_time_interval(self.hass, self._async_poll_grid_device, poll)
            )
            await self._async_poll_grid_device()
        self.async_step()

    async def async_stop(self) -> None:
        """Unsubscribe and save the state (the machine's outputs stay as they are)."""
        self._stopped = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._wakeup is not None:
            self._wakeup()
            self._wakeup = None
        self._source_listeners.clear()
        for data in self._depended.values():
            self._let_go(data)
        self._depended.clear()
        async_delete_site_issues(self.hass, self)
        async with self._lock:
            await self._async_save()

    async def _async_update_data(self) -> SiteStatus:
        return self._status(self._observe())

    # -- inputs ------------------------------------------------------------------------

    @callback
    def _async_on_state_change(self, event: Event[EventStateChangedData]) -> None:
        self.async_step()

    @callback
    def _async_check_repairs(self, _hass: HomeAssistant | None = None) -> None:
        async_check_site(self.hass, self)

    @callback
    def _async_tick(self, _now: Any = None) -> None:
        self._ticks += 1
        if self._ticks % REPAIR_CHECK_TICKS == 0:
            self._async_check_repairs()
        if self._ticks % MEMORY_SAVE_TICKS == 0 and self._machine.on_vehicle_power:
            # Keep what a restart needs (the SoC readings) fresh while it matters: a
            # Quasar its watchdog stopped reports none until it runs again.
            self._async_save_soon()
        self.async_step()

    @callback
    def _async_save_soon(self) -> None:
        self.hass.async_create_task(self._async_save_locked(), f"{DOMAIN} site save")

    async def _async_poll_grid_device(self, _now: Any = None) -> None:
        data = self._runtime(self.grid_device) if self.grid_device else None
        if not isinstance(data, BatteryRuntimeData):
            self._device_grid = None
            return
        try:
            grid = await data.battery.async_read_grid()
        except DeviceError as err:
            LOGGER.debug("Grid signal from %s unavailable: %s", data.identity.model, err)
            grid = None
        if grid != self._device_grid:
            self._device_grid = grid
            self.async_step()

    # -- the step ----------------------------------------------------------------------

    @callback
    def async_step(self) -> None:
        """Observe, step the machine, carry out its actions (in order), update entities."""
        if self._stopped:
            return
        if self._machine.state in (BackupState.GRID, BackupState.OUTAGE):
            self._command_failed.clear()  # a new session gives every source a new chance
        observation = self.observe()
        actions = self._machine.step(observation, time.monotonic())
        snapshot = self._machine.snapshot()
        changed = snapshot != self._last_snapshot
        self._last_snapshot = snapshot
        if actions or changed:
            self.hass.async_create_task(
                self._async_execute(actions, save=changed), f"{DOMAIN} site actions"
            )
        self._guard_strays(observation)
        self._schedule_wakeup()
        self.async_set_updated_data(self._status(observation))

    def _schedule_wakeup(self) -> None:
        """Step again exactly when a timer is due (the tick alone is only every second)."""
        if self._wakeup is not None:
            self._wakeup()
            self._wakeup = None
        deadline = self._machine.next_deadline()
        if deadline is None:
            return
        delay = deadline - time.monotonic()
        if 0 < delay < TICK.total_seconds():
            self._wakeup = async_call_later(self.hass, delay + 0.001, self._async_wakeup)

    @callback
    def _async_wakeup(self, _now: Any) -> None:
        self._wakeup = None
        self.async_step()

    def request(self, kind: str, duration_s: float = 0.0) -> None:
        """A service asked to start, end or drill."""
        if kind == "start":
            self._machine.request_start()
        elif kind == "end":
            self._machine.request_end()
        else:
            self._machine.request_drill(duration_s)
        self.async_step()

    async def async_set_automatic(self, automatic: bool) -> None:
        """Turn automatic backup on or off (kept across restarts)."""
        self.automatic = automatic
        async with self._lock:
            await self._async_save()
        self.async_step()

    def usable_source_exists(self) -> bool:
        """Whether any source could supply the site now."""
        return any(seen.usable for seen in self._observe().sources.values())

    def observe(self) -> Observation:
        """What the site sees now."""
        return self._observe()

    def _observe(self) -> Observation:
        measured = self._measured_load_w()
        return Observation(
            grid_available=self._grid_available(),
            switch_on_vehicle=self._switch_on_vehicle(),
            sources={source: self._source(source) for source in self.sources},
            load_w=measured if measured is not None else self._estimated_load_w(),
            automatic=self.automatic,
            load_known=measured is not None or self.load_sensor is None,
        )

    def _grid_available(self) -> bool | None:
        if self.grid_device:
            data = self._runtime(self.grid_device)
            if isinstance(data, ChargerRuntimeData):
                # A charger's own grid state arrives with its fast status poll.
                self._source_listeners.follow(self.grid_device, data.status)
                status = data.status.data if data.status.last_update_success else None
                return None if status is None else status.grid_available
            return self._device_grid
        state = self.hass.states.get(self.grid_entity) if self.grid_entity else None
        if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
            return None
        if state.domain == "sensor":
            try:
                volts = float(state.state)
            except ValueError:
                return None
            return volts >= float(_option(dict(self.entry.options), CONF_GRID_MIN_VOLTAGE))
        return state.state == STATE_ON

    def _switch_on_vehicle(self) -> bool | None:
        state = self.hass.states.get(self.switch_confirm or self.transfer_switch)
        if state is None or state.state not in (STATE_ON, STATE_OFF):
            return None
        return state.state == STATE_ON

    def _measured_load_w(self) -> float | None:
        """The load sensor's reading in W, None without one (or without a reading)."""
        state = self.hass.states.get(self.load_sensor) if self.load_sensor else None
        if state is None:
            return None
        try:
            value = float(state.state)
        except ValueError:
            return None
        unit = state.attributes.get("unit_of_measurement")
        return value * 1000.0 if unit == UnitOfPower.KILO_WATT else value

    def _estimated_load_w(self) -> float:
        """The load model: the elevator's average, or the house load option."""
        options = dict(self.entry.options)
        if self.building:
            return ElevatorModel(
                standby_w=float(_option(options, CONF_ELEVATOR_STANDBY)),
                trip_wh=float(_option(options, CONF_ELEVATOR_TRIP)),
                trips_per_hour=float(_option(options, CONF_ELEVATOR_TRIPS)),
            ).average_w
        return float(_option(options, CONF_HOUSE_LOAD))

    def _runtime(self, entry_id: str) -> DeviceRuntime | None:
        entry = self.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return None
        return device_runtime(entry)

    def _source(self, entry_id: str) -> SourceObservation:
        data = self._runtime(entry_id)
        if isinstance(data, ChargerRuntimeData):
            self._source_listeners.follow(entry_id, data.status)
            self._depend(entry_id, data)
            status = data.status.data
            controller = data.controller
            known, healthy, healthy_s = self._health(entry_id, data.status)
            if not healthy and self._presumed_supplying(entry_id, data):
                healthy = True
            soc = self._charger_soc(entry_id, data)
            absent = status is not None and (
                status.vehicle_connected is False or status.dischargeable is False
            )
            return SourceObservation(
                available=healthy and status is not None and not absent,
                soc_pct=soc,
                floor_pct=max(self.reserve_soc_pct, controller.reserve_soc_pct),
                capacity_kwh=vehicle_capacity_kwh(data),
                max_discharge_w=controller.limits.max_discharge_power_w,
                discharging=bool(status and status.discharging),
                known=known,
                healthy_s=healthy_s,
                absent=absent,
                owned=controller.session is not None and controller.owner == self.owner_key,
            )
        if isinstance(data, BatteryRuntimeData):
            self._source_listeners.follow(entry_id, data.coordinator)
            self._depend(entry_id, data)
            reading = data.coordinator.data
            state = reading.state if reading else None
            known, healthy, healthy_s = self._health(entry_id, data.coordinator)
            return SourceObservation(
                available=healthy and reading is not None,
                soc_pct=state.soc.value_pct if state else None,
                floor_pct=self._battery_floor_pct(data),
                capacity_kwh=state.capacity_kwh if state else None,
                max_discharge_w=_inverter_power_w(data),
                discharging=bool(state and (state.power_w < 0 or (state.output_power_w or 0) > 0)),
                known=known,
                healthy_s=healthy_s,
                owned=entry_id in self._started_batteries,
            )
        # Not loaded (yet): after a restart a source's entry may come up after the site's.
        return SourceObservation(available=False, soc_pct=None, floor_pct=100.0, known=False)

    def _presumed_supplying(self, entry_id: str, data: ChargerRuntimeData) -> bool:
        """Whether an unreachable active charger is still supplying on its own.

        A charger that no longer answers (the network, not the charger) goes on at its
        last setpoint until its own watchdog stops it: starting another source before
        then would run two in parallel. So it stays the site's source until its
        watchdog time has passed since its last answer, then it counts as failed.
        Chargers without a watchdog, and commands that failed, are judged at once.
        """
        if entry_id != self._machine.active_source or entry_id in self._command_failed:
            return False
        status = data.status.data
        last = data.status.health.last_success
        watchdog_s = data.charger.watchdog_s
        if status is None or last is None or not watchdog_s or not status.supplying:
            return False
        return time.monotonic() - last < watchdog_s + PRESUMED_MARGIN_S

    def _charger_soc(self, entry_id: str, data: ChargerRuntimeData) -> float | None:
        """The car's SoC, or a cautious estimate from the last reading.

        A Quasar reports no SoC while no power flows (stopped by its watchdog while
        Home Assistant was away, say); the last reading minus the most the car could
        have given since then at full power stands in until power flows again.
        """
        status = data.status.data
        live = status.soc.value_pct if status is not None and not status.soc.stale else None
        now = time.time()
        if live is not None:
            first = entry_id not in self._soc_memory
            self._soc_memory[entry_id] = (live, now)
            if first:
                self._async_save_soon()  # a restart may come before the next periodic save
            return live
        remembered = self._soc_memory.get(entry_id)
        if remembered is None or (status is not None and status.vehicle_connected is False):
            return None
        soc, at = remembered
        capacity = vehicle_capacity_kwh(data)
        worst_kwh = data.controller.limits.max_discharge_power_w / 1000 * max(0.0, now - at) / 3600
        return soc - worst_kwh / capacity * 100 if capacity > 0 else None

    def _battery_floor_pct(self, data: BatteryRuntimeData) -> float:
        reading = data.coordinator.data
        device_min = reading.state.min_soc_pct if reading else None
        return max(self.reserve_soc_pct, device_min or 0.0)

    def _health(
        self, entry_id: str, coordinator: StatusCoordinator | BatteryCoordinator
    ) -> tuple[bool, bool, float]:
        """(known, healthy, healthy for s) of a source, failures judged with hysteresis.

        One missed poll is not a failure; a failed command counts as one until the
        source has been healthy for the recovery time again.
        """
        now = time.monotonic()
        rule = self.failure_rule
        health = coordinator.health
        failed_at = self._command_failed.get(entry_id)
        since_command = math.inf if failed_at is None else now - failed_at
        if health.consecutive_failures > self._failures_seen.get(entry_id, 0) and (
            entry_id == self._machine.active_source
        ):
            # The source the site depends on missed a poll: ask again at once rather
            # than at its (maybe 30 s) interval, so a real failure is told quickly.
            self.hass.async_create_task(
                coordinator.async_request_refresh(), f"{DOMAIN} site re-poll"
            )
        self._failures_seen[entry_id] = health.consecutive_failures
        healthy = not health.failed(now, rule) and since_command >= rule.recover_after_s
        return (
            health.known(now, rule),
            healthy,
            min(health.healthy_for_s(now), since_command),
        )

    def _depend(self, entry_id: str, data: DeviceRuntime) -> None:
        """The site depends on this device: reconnect fast, guard the site's reserve."""
        if self._depended.get(entry_id) is data:
            return
        self._depended[entry_id] = data
        device: object = None
        if isinstance(data, ChargerRuntimeData):
            data.controller.guard_floors[self.owner_key] = self.reserve_soc_pct
            device = data.charger
        elif isinstance(data, BatteryRuntimeData):
            device = data.battery
        if isinstance(device, ModbusProfile):
            device.transport.set_backoff_max(FAST_RECONNECT_S)

    def _let_go(self, data: DeviceRuntime) -> None:
        if isinstance(data, ChargerRuntimeData):
            data.controller.guard_floors.pop(self.owner_key, None)

    # -- the stray guard ---------------------------------------------------------------

    @callback
    def _guard_strays(self, observation: Observation) -> None:
        """Stop any of the site's sources that discharges when the site does not want it.

        Only the machine's active source may discharge, and only while the circuit
        is confirmed on the vehicle side. Anything else (a discharge left running
        and unowned by a restart, a source given up whose stop did not reach it, a
        battery the site switched on) is stopped, and the stop retried until the
        source confirms it. Sessions a person or a plan started are left alone.
        """
        supplying = self._machine.state in (
            BackupState.ON_VEHICLE_POWER,
            BackupState.GRID_BACK,
            BackupState.RETURNING,  # the source supplies until the switch has moved
        )
        active = self._machine.active_source
        allowed = active if supplying and observation.switch_on_vehicle is True else None
        now = time.monotonic()
        for source in self.sources:
            if source == allowed or not self._is_stray(source):
                continue
            last = self._stray_stops.get(source)
            if last is not None and now - last < STRAY_STOP_RETRY_S:
                continue
            self._stray_stops[source] = now
            LOGGER.info("%s: stopping %s, discharging unasked", self.entry.title, source)
            self.hass.async_create_task(self._async_stop_stray(source), f"{DOMAIN} stray stop")

    def _is_stray(self, entry_id: str) -> bool:
        data = self._runtime(entry_id)
        if isinstance(data, ChargerRuntimeData):
            status = data.status.data
            if status is None or not data.status.last_update_success:
                return False
            if not status.supplying:
                return False
            controller = data.controller
            return controller.session is None or controller.owner == self.owner_key
        if isinstance(data, BatteryRuntimeData) and entry_id in self._started_batteries:
            reading = data.coordinator.data
            return bool(reading and reading.state.output_enabled)
        return False

    async def _async_stop_stray(self, entry_id: str) -> None:
        async with self._lock:
            # Judged again now: the actions that ran before (a stop, a recharge) may
            # have settled it, and a recharge session must not be undone.
            if not self._is_stray(entry_id) or (
                entry_id == self._machine.active_source and self._machine.on_vehicle_power
            ):
                return
            try:
                await self._async_stop_source(entry_id)
            except (HomeAssistantError, DeviceError, TimeoutError) as err:
                LOGGER.debug("%s: stopping %s failed: %s", self.entry.title, entry_id, err)

    def _status(self, observation: Observation) -> SiteStatus:
        energy = self._machine.energy_kwh(observation)
        active = self._machine.active_source
        return SiteStatus(
            state=self._machine.state,
            alarm=self._machine.alarm,
            drill=self._machine.drill,
            grid_available=observation.grid_available,
            on_vehicle_power=self._machine.on_vehicle_power,
            active_source=self.source_title(active) if active else None,
            load_w=observation.load_w,
            energy_kwh=energy,
            runtime_min=runtime_minutes(energy, observation.load_w),
            automatic=self.automatic,
        )

    def source_title(self, entry_id: str) -> str:
        """A source's name for people."""
        entry = self.hass.config_entries.async_get_entry(entry_id)
        return entry.title if entry else entry_id

    # -- actions -----------------------------------------------------------------------

    async def _async_execute(self, actions: list[Action], *, save: bool) -> None:
        async with self._lock:
            for action in actions:
                LOGGER.debug("%s: %s", self.entry.title, action)
                try:
                    await self._async_carry_out(action)
                except (HomeAssistantError, DeviceError, TimeoutError) as err:
                    LOGGER.warning("%s: %s failed: %s", self.entry.title, action, err)
                    if isinstance(action, StartSource | AdjustSource):
                        # Treat the source as failed: the machine moves on to the next
                        # one, and retries this one once it has been healthy a while.
                        self._command_failed[action.source] = time.monotonic()
            if save:
                await self._async_save()
        if self._command_failed and self._machine.state in (
            BackupState.ON_VEHICLE_POWER,
            BackupState.GRID_BACK,
        ):
            self.async_step()

    async def _async_carry_out(self, action: Action) -> None:
        if isinstance(action, MoveTransferSwitch):
            service = SERVICE_TURN_ON if action.to_vehicle else SERVICE_TURN_OFF
            await self._async_switch(self.transfer_switch, service)
        elif isinstance(action, ShedLoad):
            await self._async_switch(action.entity_id, SERVICE_TURN_OFF)
        elif isinstance(action, RestoreLoad):
            await self._async_switch(action.entity_id, SERVICE_TURN_ON)
        elif isinstance(action, StartSource | AdjustSource):
            await self._async_supply(action)
        elif isinstance(action, StopSource):
            await self._async_stop_source(action.source)
        elif isinstance(action, RechargeSource):
            await self._async_recharge(action.source)
        elif isinstance(action, FireEvent):
            self._fire(action)
        elif isinstance(action, ReportShortfall):
            self._report_shortfall(action)
        elif isinstance(action, RaiseAlarm):
            LOGGER.error("%s: %s", self.entry.title, action.reason)
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                f"alarm_{self.entry.entry_id}",
                is_fixable=False,
                is_persistent=False,
                severity=ir.IssueSeverity.CRITICAL,
                translation_key=action.reason,
                translation_placeholders={
                    "site": self.entry.title,
                    "switch": self.transfer_switch,
                },
            )
        elif isinstance(action, ClearAlarm):
            ir.async_delete_issue(self.hass, DOMAIN, f"alarm_{self.entry.entry_id}")

    def _report_shortfall(self, action: ReportShortfall) -> None:
        issue_id = f"supply_short_{self.entry.entry_id}"
        if action.source is None:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        source = self.source_title(action.source)
        LOGGER.warning(
            "%s: %s can supply %s W of the %s W load; shed more loads",
            self.entry.title,
            source,
            action.available_w,
            action.load_w,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="supply_short",
            translation_placeholders={
                "site": self.entry.title,
                "source": source,
                "available": str(action.available_w),
                "load": str(action.load_w),
            },
        )

    async def _async_switch(self, entity_id: str, service: str) -> None:
        async with asyncio.timeout(SWITCH_TIMEOUT_S):
            await self.hass.services.async_call(
                "switch", service, {ATTR_ENTITY_ID: entity_id}, blocking=True
            )

    async def _async_supply(self, action: StartSource | AdjustSource) -> None:
        data = self._runtime(action.source)
        if isinstance(data, ChargerRuntimeData):
            if isinstance(action, StartSource):
                status = data.status.data
                live = status.soc.value_pct if status is not None else None
                await data.controller.async_start(
                    OperatingMode.BACKUP,
                    power_w=action.power_w,
                    until_soc_pct=action.floor_pct,
                    owner=self.owner_key,
                    assumed_soc_pct=None
                    if live is not None
                    else self._charger_soc(action.source, data),
                )
            else:
                await data.controller.async_adjust_power(action.power_w)
            await data.status.async_request_refresh()
        elif isinstance(data, BatteryRuntimeData):
            limit = action.power_w if data.battery.capabilities.output_limit else None
            self._started_batteries.add(action.source)
            await data.battery.async_set_output(enabled=True, limit_w=limit)
            await data.coordinator.async_request_refresh()
        else:
            raise HomeAssistantError(f"source {action.source} is not loaded")

    async def _async_stop_source(self, entry_id: str) -> None:
        data = self._runtime(entry_id)
        if isinstance(data, ChargerRuntimeData):
            await data.controller.async_stop()
        elif isinstance(data, BatteryRuntimeData):
            await data.battery.async_set_output(enabled=False)
            self._started_batteries.discard(entry_id)
            await data.coordinator.async_request_refresh()

    async def _async_recharge(self, entry_id: str) -> None:
        data = self._runtime(entry_id)
        if isinstance(data, ChargerRuntimeData):
            status = data.status.data
            if status is not None and status.vehicle_connected:
                await data.controller.async_start(
                    OperatingMode.CHARGE, power_w=data.controller.limits.max_charge_power_w
                )
        elif isinstance(data, BatteryRuntimeData) and data.battery.capabilities.input_limit:
            # The device keeps its limits within its inverter's power.
            limit = min(data.battery.capabilities.max_input_w, _inverter_power_w(data))
            await data.battery.async_set_input_limit(limit)

    def _fire(self, action: FireEvent) -> None:
        device = entry_device(
            self.hass, self.entry.entry_id, site_device_identifier(self.entry.entry_id)
        )
        status = self.data
        payload: dict[str, Any] = {
            "device_id": device.id if device else None,
            "site": self.entry.title,
            "reason": action.reason,
            "runtime_minutes": round(status.runtime_min) if status and status.runtime_min else None,
            "energy_kwh": round(status.energy_kwh, 2) if status and status.energy_kwh else None,
        }
        if action.source is not None:
            payload["source"] = self.source_title(action.source)
        self.hass.bus.async_fire(action.event, payload)

    async def _async_save_locked(self) -> None:
        async with self._lock:
            await self._async_save()

    async def _async_save(self) -> None:
        await self._store.async_save(
            {
                "machine": self._machine.snapshot(),
                "automatic": self.automatic,
                "started_batteries": sorted(self._started_batteries),
                "soc_memory": {s: list(v) for s, v in self._soc_memory.items()},
            }
        )
