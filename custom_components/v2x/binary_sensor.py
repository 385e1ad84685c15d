"""Binary sensors of a V2X charger: vehicle connected, charging, discharging, error."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import StatusCoordinator, V2XConfigEntry
from .devices.model import ChargerStatus
from .entity import V2XChargerEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class StatusBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor computed from the fast status."""

    is_on_fn: Callable[[ChargerStatus], bool | None]
    attributes_fn: Callable[[ChargerStatus], dict[str, Any]] | None = None


BINARY_SENSORS: tuple[StatusBinarySensorDescription, ...] = (
    StatusBinarySensorDescription(
        key="vehicle_connected",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda status: status.vehicle_connected,
    ),
    StatusBinarySensorDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda status: status.charging,
    ),
    StatusBinarySensorDescription(
        key="discharging",
        translation_key="discharging",
        is_on_fn=lambda status: status.discharging,
    ),
    StatusBinarySensorDescription(
        key="error",
        translation_key="error",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda status: status.in_error,
        attributes_fn=lambda status: {
            "state_code": status.state_code,
            "unrecoverable_error_code": status.errors.unrecoverable,
            "recoverable_error_code": status.errors.recoverable,
        },
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the binary sensors."""
    status = entry.runtime_data.status
    async_add_entities(
        StatusBinarySensor(entry, status, description) for description in BINARY_SENSORS
    )


class StatusBinarySensor(V2XChargerEntity[StatusCoordinator], BinarySensorEntity):
    """A binary sensor of the fast status."""

    entity_description: StatusBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the condition holds (None when the device does not tell)."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The vendor error codes, for the error sensor."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
