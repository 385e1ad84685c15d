"""The stray guard of a backup site: no source discharges that the site does not want.

Only the sources the machine has supplying may discharge, and only while the circuit is
confirmed on the vehicle side. Anything else (a discharge left running and unowned
by a restart, a source given up whose stop did not reach it, a battery the site
switched on) is stopped, and the stop is retried until the source confirms it.
Sessions a person or a plan started are left alone. Which sources to stop is a pure
rule (:func:`~.backup.sources.strays_to_stop`); this module carries it out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
import time
from typing import TYPE_CHECKING, Final, Protocol

from homeassistant.core import callback
from homeassistant.exceptions import HomeAssistantError

from .backup.sources import allowed_to_supply, strays_to_stop
from .const import DOMAIN, LOGGER
from .devices.errors import DeviceError

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from .backup.machine import BackupMachine, Observation
    from .backup.sources import SourceBook
    from .site_observer import SiteObserver

STRAY_STOP_RETRY_S: Final = 5.0
"""How long a stop is given to show before it is sent again."""


class GuardedSite(Protocol):
    """What the guard reads of its site (site.BackupSite has it)."""

    hass: HomeAssistant
    book: SourceBook
    observer: SiteObserver

    @property
    def entry(self) -> ConfigEntry:
        """The site's entry."""

    @property
    def sources(self) -> Sequence[str]:
        """The site's sources, in priority order."""

    @property
    def machine(self) -> BackupMachine:
        """The outage state machine."""

    @property
    def lock(self) -> asyncio.Lock:
        """Held while the site commands its devices, one command at a time."""

    async def async_stop_source(self, entry_id: str) -> None:
        """Stop a source supplying."""


class StrayGuard:
    """Stops the site's sources that discharge unasked."""

    def __init__(self, site: GuardedSite) -> None:
        """Guard ``site``'s sources."""
        self._site = site

    @callback
    def check(self, observation: Observation) -> None:
        """Start a stop for every source that discharges when the site does not want it."""
        site = self._site
        machine = site.machine
        allowed = allowed_to_supply(
            machine.state, machine.supplying_sources, observation.switch_on_vehicle
        )
        for source in strays_to_stop(
            site.sources,
            allowed,
            site.observer.is_stray,
            site.book,
            now=time.monotonic(),
            retry_s=STRAY_STOP_RETRY_S,
        ):
            LOGGER.info("%s: stopping %s, discharging unasked", site.entry.title, source)
            site.hass.async_create_task(self._async_stop(source), f"{DOMAIN} stray stop")

    async def _async_stop(self, entry_id: str) -> None:
        site = self._site
        async with site.lock:
            # Judged again now: the actions that ran before (a stop, a recharge) may
            # have settled it, and a recharge session must not be undone.
            machine = site.machine
            if not site.observer.is_stray(entry_id) or (
                entry_id in machine.supplying_sources and machine.on_vehicle_power
            ):
                return
            try:
                await site.async_stop_source(entry_id)
            except (HomeAssistantError, DeviceError, TimeoutError) as err:
                LOGGER.debug("%s: stopping %s failed: %s", site.entry.title, entry_id, err)
