"""Datetime entities: the next departure of each car of a vehicle-to-building entry."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import building_entities
from .building import BuildingManager
from .runtime import EntityVisitor, V2XConfigEntry, visit

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create a departure entity per car of a building."""
    async_add_entities(visit(entry.runtime_data, _Datetimes()))


class _Datetimes(EntityVisitor[Entity]):
    def building(self, runtime: BuildingManager) -> list[Entity]:
        return list(building_entities.datetimes(runtime))
