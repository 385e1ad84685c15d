"""Remote-control switch of a V2X charger."""

from __future__ import annotations

from typing import Any

from homeassistant.components.switch import SwitchEntity, SwitchEntityDescription
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import FullCoordinator, V2XConfigEntry
from .entity import V2XChargerEntity

PARALLEL_UPDATES = 1

REMOTE_CONTROL = SwitchEntityDescription(key="remote_control", translation_key="remote_control")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the remote-control switch."""
    async_add_entities([RemoteControlSwitch(entry, entry.runtime_data.full, REMOTE_CONTROL)])


class RemoteControlSwitch(V2XChargerEntity[FullCoordinator], SwitchEntity):
    """On: Home Assistant controls the charger (watchdog armed). Off: the vendor app does."""

    @property
    def is_on(self) -> bool:
        """Whether the charger reports remote (Modbus) control."""
        return self.coordinator.data.control.remote

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Take remote control without starting anything."""
        await self._entry.runtime_data.controller.async_take_control()
        await self.coordinator.async_refresh()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop and give control back to the charger's own logic."""
        await self._entry.runtime_data.controller.async_release_control()
        await self.coordinator.async_refresh()
