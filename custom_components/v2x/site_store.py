"""What a backup site keeps across restarts.

The machine's state (so that a restart in the middle of an outage continues where it
was), whether automatic backup is on, and the source book's saved part (the batteries
the site started, the last SoC each charger reported).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store

from .backup.machine import BackupMachine
from .backup.sources import SourceBook
from .const import DOMAIN

STORAGE_VERSION: Final = 1


@dataclass(frozen=True, slots=True)
class SavedSite:
    """What was saved (defaults the first time)."""

    automatic: bool
    book: SourceBook
    machine: dict[str, Any] | None
    """The machine's snapshot, if one was saved."""


class SiteStore:
    """The storage of one site."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Store under the site's entry id."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.site.{entry_id}"
        )

    async def async_load(self, sources: Iterable[str]) -> SavedSite:
        """What was saved, for the site's current ``sources`` only."""
        saved = await self._store.async_load() or {}
        machine = saved.get("machine")
        return SavedSite(
            automatic=bool(saved.get("automatic", True)),
            book=SourceBook.restore(saved, sources),
            machine=machine if isinstance(machine, dict) else None,
        )

    async def async_remove(self) -> None:
        """Forget everything saved (the site was removed)."""
        await self._store.async_remove()

    async def async_save(self, machine: BackupMachine, automatic: bool, book: SourceBook) -> None:
        """Save what a restart needs."""
        await self._store.async_save(
            {"machine": machine.snapshot(), "automatic": automatic, **book.saved()}
        )
