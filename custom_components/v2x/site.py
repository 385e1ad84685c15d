"""A backup site: the Home Assistant side of the outage state machine.

It feeds :class:`~.backup.machine.BackupMachine` with observations (grid signal,
transfer-switch position, the sources' state, the site load) on every change and
once a second, carries out the machine's actions in order (:mod:`.site_actions`),
and keeps the machine's state in storage so a restart in the middle of an outage
continues where it was. Its sources are adapters (:mod:`.backup_sources`); the
rules about them and about requests are pure (:mod:`.backup.sources`,
:mod:`.backup.requests`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import time
from typing import Any, ClassVar, Final

from homeassistant.const import Platform
from homeassistant.core import CALLBACK_TYPE, Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_interval,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .backup.drill import EVENT_DRILL_REPORT, DrillTimeline
from .backup.machine import (
    Action,
    BackupMachine,
    BackupState,
    MachineConfig,
    Observation,
)
from .backup.requests import NOTHING_SEEN, RequestKind, request_refusal, submit
from .backup.sources import SourceBook
from .backup.status import ReadinessCheck, SiteStatus, site_status
from .const import (
    CONF_CRITICAL_LOADS,
    CONF_GRID_DEVICE,
    CONF_GRID_ENTITY,
    CONF_GRID_POLL,
    CONF_LOAD_SENSOR,
    CONF_READY_HOURS,
    CONF_RECHARGE_POWER,
    CONF_RESERVE_SOC,
    CONF_SHEDDABLE_LOADS,
    CONF_SITE_TYPE,
    CONF_SOURCES,
    CONF_SWITCH_CONFIRM,
    CONF_TRANSFER_SWITCH,
    DOMAIN,
    LOGGER,
    SITE_BUILDING,
)
from .devices.errors import DeviceError
from .devices.health import FailureRule
from .models import DEVICE_PLATFORMS, EntryKind
from .registry import entry_device
from .repairs import async_check_site, async_delete_site_issues
from .site_actions import async_carry_out, site_device_identifier
from .site_inputs import (
    async_cloud_entities,
    entity_answers,
    failure_rule,
    machine_config,
    site_option,
)
from .site_observer import SiteObserver
from .site_store import SiteStore
from .site_strays import StrayGuard

__all__ = [
    "BackupSite",
    "SiteStatus",
    "site_device_identifier",
    "site_owner_key",
]

TICK: Final = timedelta(seconds=1)
REPAIR_CHECK_TICKS: Final = 60
MEMORY_SAVE_TICKS: Final = 10
"""While on vehicle power, the SoC readings a restart needs are stored this often (s)."""
STARTUP_WAIT_S: Final = 15.0
"""After a (re)start, how long a preferred source's first reading is waited for."""


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
        self._store = SiteStore(hass, entry.entry_id)
        self._machine = BackupMachine(self._machine_config(), time.monotonic())
        self.lock = asyncio.Lock()
        """Held while the site commands its devices or saves, one at a time."""
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._grid_poll: CALLBACK_TYPE | None = None
        self._grid_poll_s = 0.0
        self.book = SourceBook()
        self.observer = SiteObserver(self, on_news=self.async_step, save_soon=self._async_save_soon)
        self._last_snapshot: dict[str, Any] | None = None
        self._stopped = False
        self._ticks = 0
        self._wakeup: CALLBACK_TYPE | None = None
        self._strays = StrayGuard(self)
        self._releasing: asyncio.Task[None] | None = None
        self.needs_internet: tuple[str, ...] = ()
        """The entities of the chain whose integration needs the internet (checked)."""
        self._drill: DrillTimeline | None = None
        """The drill under way, timed for its report."""
        self.not_ready_since: float | None = None
        """Since when (monotonic) the site has not been ready, None while it is."""

    # -- configuration -----------------------------------------------------------------

    def _option(self, key: str) -> Any:
        return site_option(dict(self.entry.options), key)

    def _machine_config(self) -> MachineConfig:
        options = dict(self.entry.options)
        return machine_config(
            options,
            self.sources,
            self.sheddable,
            startup_wait_s=STARTUP_WAIT_S,
            building=self.building,
            critical=self.critical,
        )

    @property
    def failure_rule(self) -> FailureRule:
        """When a source counts as failed, and when it is trusted again."""
        return failure_rule(dict(self.entry.options))

    @property
    def owner_key(self) -> str:
        """How this site marks the charger sessions it starts."""
        return site_owner_key(self.entry.entry_id)

    @property
    def reserve_soc_pct(self) -> float:
        """The site's reserve: no source is discharged at or below it."""
        return float(self._option(CONF_RESERVE_SOC))

    @property
    def recharge_power_w(self) -> int | None:
        """The power the cars are recharged at after an outage (None: full power)."""
        power = self.entry.options.get(CONF_RECHARGE_POWER)
        return None if power is None else int(power)

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
        polling = self._grid_poll is not None
        if polling and float(self._option(CONF_GRID_POLL)) != self._grid_poll_s:
            self._schedule_grid_poll()
        self.async_step()

    # -- lifecycle ---------------------------------------------------------------------

    async def async_start(self) -> None:
        """Restore the saved state, subscribe to every input, take a first step."""
        saved = await self._store.async_load(self.sources)
        self.automatic = saved.automatic
        self.book = saved.book
        if saved.machine is not None:
            self._machine = BackupMachine.restore(
                self._machine_config(), saved.machine, time.monotonic()
            )
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
            self._schedule_grid_poll()
            await self._async_poll_grid_device()
        self.async_step()

    def _schedule_grid_poll(self) -> None:
        """Poll the grid device at the interval the options say (again on a change)."""
        if self._grid_poll is not None:
            self._grid_poll()
        poll = timedelta(seconds=float(self._option(CONF_GRID_POLL)))
        self._grid_poll = async_track_time_interval(self.hass, self._async_poll_grid_device, poll)
        self._grid_poll_s = poll.total_seconds()

    async def async_stop(self) -> None:
        """Unsubscribe and save the state (the machine's outputs stay as they are)."""
        self._stopped = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        if self._grid_poll is not None:
            self._grid_poll()
            self._grid_poll = None
        if self._wakeup is not None:
            self._wakeup()
            self._wakeup = None
        self.observer.let_go()
        async_delete_site_issues(self.hass, self)
        async with self.lock:
            await self._async_save()

    async def _async_update_data(self) -> SiteStatus:
        return self._status(self.observe())

    # -- inputs ------------------------------------------------------------------------

    @callback
    def _async_on_state_change(self, event: Event[EventStateChangedData]) -> None:
        self.async_step()

    @callback
    def _async_check_repairs(self, _hass: HomeAssistant | None = None) -> None:
        async_check_site(self.hass, self)
        self.hass.async_create_task(self._async_check_internet(), f"{DOMAIN} site chain check")

    async def _async_check_internet(self) -> None:
        """Which entities of the chain an outage would cut off with the internet."""
        chain = [self.transfer_switch, self.switch_confirm, self.grid_entity, self.load_sensor]
        self.needs_internet = await async_cloud_entities(self.hass, [e for e in chain if e])

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
        if await self.observer.async_poll_grid_device(float(self._option(CONF_GRID_POLL))):
            self.async_step()

    # -- the step ----------------------------------------------------------------------

    @callback
    def async_step(self) -> None:
        """Observe, step the machine, carry out its actions (in order), update entities."""
        if self._stopped:
            return
        self.book.before_step(self._machine.state)
        observation = self.observe()
        actions = self._machine.step(observation, time.monotonic())
        snapshot = self._machine.snapshot()
        changed = snapshot != self._last_snapshot
        self._last_snapshot = snapshot
        if actions or changed:
            self.hass.async_create_task(
                self._async_execute(actions, save=changed), f"{DOMAIN} site actions"
            )
        self._strays.check(observation)
        self._note_drill(observation)
        if self.book.release_pending and self._machine.state is BackupState.GRID:
            self._release_task()
        self._schedule_wakeup()
        self.async_set_updated_data(self._status(observation))

    def _note_drill(self, observation: Observation) -> None:
        """Time the drill under way; report it once it is over (``v2x_drill_report``)."""
        drill = self._drill
        if drill is None:
            return
        machine, now = self._machine, time.monotonic()
        if not drill.note(machine.state, machine.active_source, machine.alarm, observation, now):
            return
        self._drill = None
        report = drill.report(drill.source and self.source_title(drill.source), now)
        device = entry_device(
            self.hass, self.entry.entry_id, site_device_identifier(self.entry.entry_id)
        )
        LOGGER.info("%s: drill report %s", self.entry.title, report)
        self.hass.bus.async_fire(
            EVENT_DRILL_REPORT,
            {"device_id": device.id if device else None, "site": self.entry.title, **report},
        )

    def _release_task(self) -> None:
        if self._releasing is None or self._releasing.done():
            self._releasing = self.hass.async_create_task(
                self._async_release_pending(), f"{DOMAIN} site hand back"
            )

    async def _async_release_pending(self) -> None:
        """Hand the chargers whose recharge is over back to their own logic."""
        async with self.lock:
            for entry_id in sorted(self.book.release_pending):
                source = self.observer.source(entry_id)
                try:
                    done = source is None or await source.async_release_if_done()
                except (HomeAssistantError, DeviceError, TimeoutError) as err:
                    LOGGER.warning(
                        "%s: handing %s back failed: %s", self.entry.title, entry_id, err
                    )
                    continue
                if done:
                    self.book.release_pending.discard(entry_id)
                    await self._async_save()

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

    def request(self, kind: RequestKind, duration_s: float = 0.0) -> None:
        """A service or the drill button asked to start, end or drill; refused clearly."""
        status = self.data  # what the person saw when asking
        seen = (status.grid_available, status.state) if status is not None else NOTHING_SEEN
        refusal = request_refusal(kind, self._machine.state, self.usable_source_exists, seen)
        if refusal is not None:
            raise ServiceValidationError(translation_domain=DOMAIN, translation_key=refusal)
        submit(self._machine, kind, duration_s)
        if kind == "drill":
            self._drill = DrillTimeline(time.monotonic())
        self.async_step()

    async def async_set_automatic(self, automatic: bool) -> None:
        """Turn automatic backup on or off (kept across restarts)."""
        self.automatic = automatic
        async with self.lock:
            await self._async_save()
        self.async_step()

    def usable_source_exists(self) -> bool:
        """Whether any source could supply the site now."""
        return any(seen.usable for seen in self.observe().sources.values())

    def observe(self) -> Observation:
        """What the site sees now."""
        return self.observer.observe()

    async def async_stop_source(self, entry_id: str) -> None:
        """Stop a source supplying (nothing to do while it is not loaded)."""
        source = self.observer.source(entry_id)
        if source is not None:
            await source.async_stop()

    def _status(self, observation: Observation) -> SiteStatus:
        active = self._machine.active_source
        return site_status(
            self._machine,
            observation,
            active_source_name=self.source_title(active) if active else None,
            automatic=self.automatic,
            source_names={source: self.source_title(source) for source in observation.sources},
            check=ReadinessCheck(
                switch_answers=entity_answers(self.hass, self.transfer_switch),
                wanted_h=float(self._option(CONF_READY_HOURS)),
                needs_internet=self.needs_internet,
                # The peak the machine's config already holds (a house has none).
                peak_load_w=self._machine.config.peak_load_w if self.building else None,
                share_load=self._machine.config.share_load,
            ),
        )

    def source_title(self, entry_id: str) -> str:
        """A source's name for people."""
        entry = self.hass.config_entries.async_get_entry(entry_id)
        return entry.title if entry else entry_id

    # -- actions -----------------------------------------------------------------------

    async def _async_execute(self, actions: list[Action], *, save: bool) -> None:
        async with self.lock:
            for action in actions:
                LOGGER.debug("%s: %s", self.entry.title, action)
                try:
                    await async_carry_out(self, action)
                except (HomeAssistantError, DeviceError, TimeoutError) as err:
                    LOGGER.warning("%s: %s failed: %s", self.entry.title, action, err)
                    self.book.action_failed(action, time.monotonic())
            if save:
                await self._async_save()
        if self.book.fail_over_now(self._machine.state):
            self.async_step()

    async def _async_save_locked(self) -> None:
        async with self.lock:
            await self._async_save()

    async def _async_save(self) -> None:
        await self._store.async_save(self._machine, self.automatic, self.book)


def site_owner_key(entry_id: str) -> str:
    """How the site of ``entry_id`` marks the charger sessions it starts."""
    return f"site:{entry_id}"
