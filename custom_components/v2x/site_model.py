"""What a backup site is configured with, as the modules around site.py read it.

``site.BackupSite`` has all of it; the repairs and the observer depend on this
protocol instead of on the site itself, so none of them imports the other back.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from homeassistant.config_entries import ConfigEntry


class ConfiguredSite(Protocol):
    """A site's entry, its entities and its reserve."""

    @property
    def entry(self) -> ConfigEntry[Any]:
        """The site's entry."""

    @property
    def sources(self) -> Sequence[str]:
        """The entries that can supply the site, in priority order."""

    @property
    def transfer_switch(self) -> str:
        """The switch that moves the circuit between grid and vehicle power."""

    @property
    def switch_confirm(self) -> str | None:
        """What confirms the switch moved, if anything."""

    @property
    def grid_entity(self) -> str | None:
        """The entity that says whether the grid is there, if the grid is read from one."""

    @property
    def load_sensor(self) -> str | None:
        """The measured load, if any."""

    @property
    def reserve_soc_pct(self) -> float:
        """No source is discharged at or below this."""
