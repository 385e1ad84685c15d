"""Base entities of the V2X platforms."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity, DataUpdateCoordinator

from .const import DOMAIN
from .coordinator import BatteryCoordinator
from .devices.model import DeviceIdentity
from .models import BatteryRuntimeData, ChargerRuntimeData
from .site import BackupSite, site_device_identifier

STATIONARY_NAMES: Final = {
    "state_of_charge": "storage_state_of_charge",
    "vehicle_energy": "storage_energy",
    "vehicle_capacity": "storage_capacity",
}
"""The names of a charger's entities that speak of a vehicle, for a battery of its own."""


class ChangesOnly[CoordinatorT: DataUpdateCoordinator[Any]](CoordinatorEntity[CoordinatorT]):
    """A coordinator entity that writes its state only when what it shows changed.

    A charger polled every second would otherwise rewrite a dozen states a second that
    did not change: Home Assistant drops an unchanged state only after the entity has
    built all of it (state, attributes, name, unit) and the state machine compared it.
    What the entity shows is its availability, state and attributes (capability, state
    and extra); Home Assistant's own writes (added, renamed) show the same, because
    every update either wrote what it computed or found it equal to what was written.
    """

    _shown: tuple[Any, ...] | None = None
    """What the last coordinator update wrote."""

    def _showing(self) -> tuple[Any, ...]:
        if not self.available:
            return (False,)
        return (
            True,
            self.state,
            self.capability_attributes,
            self.state_attributes,
            self.extra_state_attributes,
        )

    async def async_added_to_hass(self) -> None:
        """Home Assistant writes the state once the entity is added: that is shown."""
        await super().async_added_to_hass()
        self._shown = self._showing()

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state, unless it would show exactly what was written last."""
        shown = self._showing()
        if shown == self._shown:
            return
        self._shown = shown
        super()._handle_coordinator_update()


class V2XEntity[CoordinatorT: DataUpdateCoordinator[Any]](ChangesOnly[CoordinatorT]):
    """An entity of one V2X device, fed by one of its coordinators."""

    _attr_has_entity_name = True

    def __init__(
        self,
        coordinator: CoordinatorT,
        identity: DeviceIdentity,
        description: EntityDescription,
        *,
        key_suffix: str = "",
    ) -> None:
        """Attach to the device and give the entity a stable unique id."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"{identity.serial_number}_{description.key}{key_suffix}"
        entry = coordinator.config_entry
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, identity.serial_number)},
            manufacturer=identity.manufacturer,
            model=identity.model,
            name=entry.title if entry else None,
            serial_number=identity.serial_number,
            sw_version=identity.firmware_version,
        )


class V2XChargerEntity[CoordinatorT: DataUpdateCoordinator[Any]](V2XEntity[CoordinatorT]):
    """An entity of a bidirectional charger."""

    def __init__(
        self, data: ChargerRuntimeData, coordinator: CoordinatorT, description: EntityDescription
    ) -> None:
        """Keep the charger's runtime data at hand; a stationary battery's names say so."""
        super().__init__(coordinator, data.identity, description)
        self._data = data
        stationary_name = STATIONARY_NAMES.get(str(description.translation_key))
        if data.charger.capabilities.stationary and stationary_name is not None:
            self._attr_translation_key = stationary_name


class V2XBatteryEntity(V2XEntity[BatteryCoordinator]):
    """An entity of a portable battery."""

    def __init__(
        self, data: BatteryRuntimeData, description: EntityDescription, *, key_suffix: str = ""
    ) -> None:
        """Keep the battery's runtime data at hand."""
        super().__init__(data.coordinator, data.identity, description, key_suffix=key_suffix)
        self._data = data


class V2XSiteEntity(ChangesOnly[BackupSite]):
    """An entity of a backup site (house or building)."""

    _attr_has_entity_name = True

    def __init__(self, site: BackupSite, description: EntityDescription) -> None:
        """Attach to the site's own device."""
        super().__init__(site)
        self.entity_description = description
        entry = site.entry
        self._attr_unique_id = f"site_{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={site_device_identifier(entry.entry_id)},
            manufacturer="V2X",
            model="Backup site (building)" if site.building else "Backup site (house)",
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )
