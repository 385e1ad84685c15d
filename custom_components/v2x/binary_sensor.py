"""Binary sensors of V2X chargers and portable batteries."""

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
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import building_entities
from .building import BuildingManager
from .coordinator import StatusCoordinator
from .devices.model import (
    BatteryCapabilities,
    BatteryReading,
    ChargerCapabilities,
    ChargerStatus,
)
from .entity import V2XBatteryEntity, V2XChargerEntity, V2XSiteEntity
from .models import BatteryRuntimeData, ChargerRuntimeData
from .runtime import EntityVisitor, V2XConfigEntry, visit
from .site import BackupSite, SiteStatus

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class StatusBinarySensorDescription(BinarySensorEntityDescription):
    """A charger binary sensor computed from the fast status."""

    is_on_fn: Callable[[ChargerStatus], bool | None]
    attributes_fn: Callable[[ChargerStatus], dict[str, Any]] | None = None
    exists_fn: Callable[[ChargerCapabilities], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class BatteryBinarySensorDescription(BinarySensorEntityDescription):
    """A portable-battery binary sensor, created only where the family reports it."""

    is_on_fn: Callable[[BatteryReading], bool | None]
    exists_fn: Callable[[BatteryReading, BatteryCapabilities], bool]


CHARGER_BINARY_SENSORS: tuple[StatusBinarySensorDescription, ...] = (
    StatusBinarySensorDescription(
        key="vehicle_connected",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda status: status.vehicle_connected,
        exists_fn=lambda caps: caps.reports_vehicle,
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
    StatusBinarySensorDescription(
        key="grid_present",
        translation_key="grid_present",
        device_class=BinarySensorDeviceClass.POWER,
        is_on_fn=lambda status: status.grid_available,
        exists_fn=lambda caps: caps.reports_grid,
    ),
)

BATTERY_BINARY_SENSORS: tuple[BatteryBinarySensorDescription, ...] = (
    BatteryBinarySensorDescription(
        key="grid_present",
        translation_key="grid_present",
        device_class=BinarySensorDeviceClass.POWER,
        is_on_fn=lambda reading: reading.state.grid_available,
        exists_fn=lambda reading, _: reading.state.grid_available is not None,
    ),
    BatteryBinarySensorDescription(
        key="battery_charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda reading: reading.state.power_w > 0,
        exists_fn=lambda reading, _: True,
    ),
    BatteryBinarySensorDescription(
        key="grid_charging",
        translation_key="grid_charging",
        is_on_fn=lambda reading: reading.grid_charge_on,
        exists_fn=lambda reading, caps: (
            reading.grid_charge_on is not None and not caps.grid_charge_switch
        ),
    ),
    BatteryBinarySensorDescription(
        key="error",
        translation_key="error",
        device_class=BinarySensorDeviceClass.PROBLEM,
        is_on_fn=lambda reading: reading.error,
        exists_fn=lambda _, caps: caps.reports_errors,
    ),
)


@dataclass(frozen=True, kw_only=True)
class SiteBinarySensorDescription(BinarySensorEntityDescription):
    """A binary sensor of a backup site."""

    is_on_fn: Callable[[SiteStatus], bool | None]
    attributes_fn: Callable[[SiteStatus], dict[str, Any]] | None = None


def _readiness_attributes(status: SiteStatus) -> dict[str, Any]:
    """Why the site is not ready (the problems as keys), and what it would last."""
    ready = status.readiness
    if ready is None:
        return {}
    return {
        "problems": [problem.value for problem in ready.problems],
        "sources_unavailable": list(ready.sources_unavailable),
        "sources_at_reserve": list(ready.sources_at_reserve),
        "sources_soc_unknown": list(ready.sources_soc_unknown),
        "needs_internet": list(ready.needs_internet),
        "runtime_h": None if ready.runtime_h is None else round(ready.runtime_h, 1),
        "wanted_h": ready.wanted_h,
        "supply_w": ready.supply_w,
        "peak_load_w": round(ready.peak_load_w),
    }


SITE_BINARY_SENSORS: tuple[SiteBinarySensorDescription, ...] = (
    SiteBinarySensorDescription(
        key="on_vehicle_power",
        translation_key="on_vehicle_power",
        is_on_fn=lambda status: status.on_vehicle_power,
    ),
    SiteBinarySensorDescription(
        key="grid_present",
        translation_key="grid_present",
        device_class=BinarySensorDeviceClass.POWER,
        is_on_fn=lambda status: status.grid_available,
    ),
    SiteBinarySensorDescription(
        key="ready",
        translation_key="ready",
        is_on_fn=lambda status: None if status.readiness is None else status.readiness.ready,
        attributes_fn=_readiness_attributes,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the binary sensors the device supports."""
    async_add_entities(visit(entry.runtime_data, _BinarySensors()))


class _BinarySensors(EntityVisitor[Entity]):
    def charger(self, runtime: ChargerRuntimeData) -> list[Entity]:
        caps = runtime.charger.capabilities
        return [
            StatusBinarySensor(runtime, runtime.status, desc)
            for desc in CHARGER_BINARY_SENSORS
            if desc.exists_fn(caps)
        ]

    def battery(self, runtime: BatteryRuntimeData) -> list[Entity]:
        reading, caps = runtime.coordinator.data, runtime.battery.capabilities
        return [
            BatteryBinarySensor(runtime, desc)
            for desc in BATTERY_BINARY_SENSORS
            if desc.exists_fn(reading, caps)
        ]

    def site(self, runtime: BackupSite) -> list[Entity]:
        return [SiteBinarySensor(runtime, desc) for desc in SITE_BINARY_SENSORS]

    def building(self, runtime: BuildingManager) -> list[Entity]:
        return list(building_entities.binary_sensors(runtime))


class StatusBinarySensor(V2XChargerEntity[StatusCoordinator], BinarySensorEntity):
    """A binary sensor of the charger's fast status."""

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


class BatteryBinarySensor(V2XBatteryEntity, BinarySensorEntity):
    """A binary sensor of a portable battery."""

    entity_description: BatteryBinarySensorDescription

    def __init__(
        self, data: BatteryRuntimeData, description: BatteryBinarySensorDescription
    ) -> None:
        """Create the sensor."""
        super().__init__(data, description)

    @property
    def is_on(self) -> bool | None:
        """Whether the condition holds."""
        return self.entity_description.is_on_fn(self.coordinator.data)


class SiteBinarySensor(V2XSiteEntity, BinarySensorEntity):
    """A binary sensor of a backup site."""

    entity_description: SiteBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """Whether the condition holds."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """What the condition depends on, where the description says."""
        attributes = self.entity_description.attributes_fn
        return None if attributes is None else attributes(self.coordinator.data)
