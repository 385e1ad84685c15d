"""Button of a backup site: run a drill."""

from __future__ import annotations

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import DEFAULT_DRILL_MINUTES, DOMAIN
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
        """Start a drill of the default length."""
        start_drill(self.coordinator, DEFAULT_DRILL_MINUTES * 60.0)


def start_drill(site: BackupSite, duration_s: float) -> None:
    """Start a drill, or say clearly why not."""
    status = site.data
    if status is not None and status.grid_available is not True:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="drill_needs_grid")
    if status is not None and status.state.value != "grid":
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="backup_busy")
    if not site.usable_source_exists():
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_usable_source")
    site.request("drill", duration_s)
