"""Operating-mode select of a V2X charger: idle, charge, discharge, backup."""

from __future__ import annotations

from dataclasses import replace

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import StatusCoordinator
from .devices.model import OperatingMode
from .entity import V2XChargerEntity
from .models import ChargerRuntimeData
from .runtime import EntityVisitor, V2XConfigEntry, visit

PARALLEL_UPDATES = 1

CHARGER_OWN = "charger_own"
"""The option of a charger left to its own logic (the vendor app), out of remote control."""

MODE_SELECT = SelectEntityDescription(
    key="operating_mode",
    translation_key="operating_mode",
    options=[mode.value for mode in OperatingMode],
)
MODE_SELECT_WITH_OWN = replace(MODE_SELECT, options=[*(MODE_SELECT.options or ()), CHARGER_OWN])


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the operating-mode select (chargers only)."""
    async_add_entities(visit(entry.runtime_data, _Selects()))


class _Selects(EntityVisitor[Entity]):
    def charger(self, runtime: ChargerRuntimeData) -> list[Entity]:
        own = runtime.charger.capabilities.remote_control
        return [
            OperatingModeSelect(
                runtime, runtime.status, MODE_SELECT_WITH_OWN if own else MODE_SELECT
            )
        ]


class OperatingModeSelect(V2XChargerEntity[StatusCoordinator], SelectEntity):
    """What the integration asks of the charger.

    charge: at the maximum available power; discharge: at the maximum discharge
    power down to the reserve; backup: like discharge, with no end but the reserve
    (a backup site adjusts the power to the house load). A charger with remote control
    has one more: its own logic (the vendor app), shown when no session runs and the
    charger is out of remote control (as the full poll read it, or as our last command
    left it): it may be charging at full power then, which "idle" would deny.
    """

    @property
    def current_option(self) -> str:
        """The mode of the running session; with none, idle or the charger's own."""
        controller = self._data.controller
        if (
            controller.mode is OperatingMode.IDLE
            and controller.remote is False
            and CHARGER_OWN in self.options
        ):
            return CHARGER_OWN
        return controller.mode.value

    async def async_select_option(self, option: str) -> None:
        """Start a session in the chosen mode (idle stops); the charger's own hands back."""
        if option == CHARGER_OWN:
            await self._data.controller.async_release_control()
        else:
            await self._data.controller.async_start(OperatingMode(option))
        self.coordinator.async_update_listeners()
        await self.coordinator.async_request_refresh()
