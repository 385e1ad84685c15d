"""Base entity of the V2X charger platforms."""

from __future__ import annotations

from typing import Any

from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN
from .coordinator import V2XConfigEntry


class V2XChargerEntity[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """An entity of one charger device, fed by one of its coordinators."""

    _attr_has_entity_name = True

    def __init__(
        self, entry: V2XConfigEntry, coordinator: CoordinatorT, description: EntityDescription
    ) -> None:
        """Attach to the charger's device and give the entity a stable unique id."""
        super().__init__(coordinator)
        self.entity_description = description
        identity = entry.runtime_data.identity
        self._entry = entry
        self._attr_unique_id = f"{identity.serial_number}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, identity.serial_number)},
            manufacturer=identity.manufacturer,
            model=identity.model,
            name=entry.title,
            serial_number=identity.serial_number,
            sw_version=identity.firmware_version,
        )
