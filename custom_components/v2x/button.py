"""Button of a backup site: run a drill."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DEFAULT_DRILL_MINUTES
from .entity import V2XSiteEntity
from .runtime import EntityVisitor, V2XConfigEntry, visit
from .site import BackupSite

PARALLEL_UPDATES = 1

RUN_DRILL = ButtonEntityDescription(key="run_drill", translation_key="run_drill")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the drill button (sites only)."""
    async_add_entities(visit(entry.runtime_data, _Buttons()))


class _Buttons(EntityVisitor[Entity]):
    def site(self, runtime: BackupSite) -> list[Entity]:
        return [RunDrillButton(runtime, RUN_DRILL)]


class RunDrillButton(V2XSiteEntity, ButtonEntity):
    """Rehearse the switchover while the grid is present, like a generator test."""

    async def async_press(self) -> None:
        """Start a drill of the default length, or say clearly why not."""
        self.coordinator.request("drill", DEFAULT_DRILL_MINUTES * 60.0)
