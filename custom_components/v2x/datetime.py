"""Datetime entities: the next departure of each car of a vehicle-to-building entry."""

from __future__ import annotations

from typing import cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import building_entities
from .building import BuildingManager
from .coordinator import V2XConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create a departure entity per car of a building."""
    # Only building entries forward this platform.
    manager = cast("BuildingManager", entry.runtime_data)
    async_add_entities(building_entities.datetimes(manager))
