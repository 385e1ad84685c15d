"""What a backup site sees: the grid, the transfer switch, its sources and its load.

:class:`SiteObserver` turns the site's entities and devices into the machine's
:class:`~.backup.machine.Observation`, follows the sources' polls so the site steps
on their news, and finds each source's :class:`~.backup_sources.BackupSource`.
"""

from __future__ import annotations

from collections.abc import Callable
import time
from typing import TYPE_CHECKING, Protocol

from .backup.machine import Observation, SourceObservation
from .backup.sources import Health, judge_health, site_load
from .backup_sources import BackupSource, SourceContext, backup_source
from .const import CONF_GRID_MIN_VOLTAGE, DOMAIN
from .helpers import CoordinatorListeners
from .models import device_runtime
from .site_inputs import grid_from_entity, modelled_load_w, power_w, site_option, switch_on
from .site_model import ConfiguredSite

if TYPE_CHECKING:
    from homeassistant.core import HomeAssistant

    from .backup.machine import BackupMachine
    from .backup.sources import SourceBook
    from .devices.health import FailureRule


class ObservedSite(ConfiguredSite, Protocol):
    """What the observer reads of its site (site.BackupSite has it)."""

    hass: HomeAssistant
    book: SourceBook
    automatic: bool

    @property
    def machine(self) -> BackupMachine:
        """The outage state machine."""

    @property
    def grid_device(self) -> str | None:
        """The V2X device that reports the grid, if any."""

    @property
    def building(self) -> bool:
        """An elevator building (else a house)."""

    @property
    def owner_key(self) -> str:
        """How the site marks the sessions it starts."""

    @property
    def failure_rule(self) -> FailureRule:
        """When a source counts as failed, and trusted again."""

    @property
    def recharge_power_w(self) -> int | None:
        """The power the cars are recharged at after an outage (None: full power)."""


class SiteObserver:
    """The inputs of one site."""

    def __init__(
        self, site: ObservedSite, *, on_news: Callable[[], None], save_soon: Callable[[], None]
    ) -> None:
        """Observe ``site``; ``on_news`` is called when a followed source polled."""
        self._site = site
        self._save_soon = save_soon
        self._listeners = CoordinatorListeners(on_news)
        self._depended: dict[str, BackupSource] = {}
        self.device_grid: bool | None = None
        """The grid signal last polled from the site's grid device (a battery)."""

    def observe(self) -> Observation:
        """What the site sees now."""
        site = self._site
        options = dict(site.entry.options)
        measured = power_w(site.hass, site.load_sensor) if site.load_sensor else None
        estimated = modelled_load_w(options, building=site.building)
        load_w, load_known = site_load(measured, estimated, site.load_sensor is not None)
        confirm = switch_on(site.hass, site.switch_confirm or site.transfer_switch)
        return Observation(
            grid_available=self._grid_available(),
            switch_on_vehicle=confirm,
            sources={source: self._observe_source(source) for source in site.sources},
            load_w=load_w,
            automatic=site.automatic,
            load_known=load_known,
            load_measured=measured is not None,
        )

    def _grid_available(self) -> bool | None:
        site = self._site
        if site.grid_device:
            source = self.source(site.grid_device)
            if source is not None and not source.polls_grid:
                # A charger's own grid state arrives with its fast status poll.
                self._listeners.follow(site.grid_device, source.coordinator)
                return source.grid_available()
            return self.device_grid
        minimum = float(site_option(dict(site.entry.options), CONF_GRID_MIN_VOLTAGE))
        return grid_from_entity(site.hass, site.grid_entity, minimum) if site.grid_entity else None

    async def async_poll_grid_device(self, max_age_s: float) -> bool:
        """Read the grid device's signal at most ``max_age_s`` old; whether it changed.

        A charger's grid state comes with its status: the read refreshes that status
        when it is older (its listeners step the site), so nothing changes here.
        """
        site = self._site
        source = self.source(site.grid_device) if site.grid_device else None
        if source is None or not source.polls_grid:
            self.device_grid = None
            if source is not None:
                await source.async_read_grid(max_age_s)
            return False
        grid = await source.async_read_grid(max_age_s)
        changed = grid != self.device_grid
        self.device_grid = grid
        return changed

    def source(self, entry_id: str) -> BackupSource | None:
        """The adapter of a loaded source entry (None: not loaded, or not a source)."""
        site = self._site
        entry = site.hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            return None
        context = SourceContext(
            site.book,
            site.owner_key,
            site.reserve_soc_pct,
            self._save_soon,
            recharge_power_w=site.recharge_power_w,
        )
        return backup_source(entry_id, device_runtime(entry), context)

    def is_stray(self, entry_id: str) -> bool:
        """Whether a source discharges in a session of the site's (or in nobody's)."""
        source = self.source(entry_id)
        return source is not None and source.is_stray()

    def _observe_source(self, entry_id: str) -> SourceObservation:
        source = self.source(entry_id)
        if source is None:
            # Not loaded (yet): after a restart a source's entry may come up after the site's.
            return SourceObservation(available=False, soc_pct=None, floor_pct=100.0, known=False)
        self._listeners.follow(entry_id, source.coordinator)
        self._depend(source)
        active = entry_id in self._site.machine.supplying_sources
        return source.observe(self._health(source, active), active=active, now=time.monotonic())

    def _health(self, source: BackupSource, active: bool) -> Health:
        """A source's health; the source the site depends on is asked again at a miss."""
        site, health = self._site, source.poll_health
        if site.book.missed_poll(source.entry_id, health.consecutive_failures) and active:
            # The source the site depends on missed a poll: ask again at once rather
            # than at its (maybe 30 s) interval, so a real failure is told quickly.
            site.hass.async_create_task(
                source.coordinator.async_request_refresh(), f"{DOMAIN} site re-poll"
            )
        now, rule = time.monotonic(), site.failure_rule
        return judge_health(
            known=health.known(now, rule),
            failed=health.failed(now, rule),
            healthy_for_s=health.healthy_for_s(now),
            now=now,
            command_failed_at=site.book.command_failed.get(source.entry_id),
            recover_after_s=rule.recover_after_s,
        )

    def _depend(self, source: BackupSource) -> None:
        """The site depends on this device: reconnect fast, guard the site's reserve."""
        known = self._depended.get(source.entry_id)
        if known is not None and known.runtime is source.runtime:
            return
        self._depended[source.entry_id] = source
        source.depend()

    def let_go(self) -> None:
        """The site stops: no more listening, and its sources are free again."""
        self._listeners.clear()
        for source in self._depended.values():
            source.let_go()
        self._depended.clear()
