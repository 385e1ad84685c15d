"""Sensors of V2X chargers, portable batteries, backup sites and buildings."""

from __future__ import annotations

from decimal import Decimal
from time import monotonic
from typing import Any, Final

from homeassistant.components.sensor import RestoreSensor, SensorDeviceClass, SensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from . import building_entities
from .building import BuildingManager
from .coordinator import FullCoordinator, StatusCoordinator
from .devices.energy import EnergyCounter
from .devices.model import DeviceIdentity
from .entity import V2XBatteryEntity, V2XChargerEntity, V2XEntity, V2XSiteEntity
from .models import BatteryRuntimeData, ChargerRuntimeData
from .runtime import EntityVisitor, V2XConfigEntry, visit
from .sensor_descriptions import (
    BATTERY_SENSORS,
    DEVICE_ENERGY_SENSORS,
    ENERGY_SENSORS,
    FULL_SENSORS,
    PACK_SOC,
    SITE_SENSORS,
    STATUS_SENSORS,
    BatterySensorDescription,
    EnergySensorDescription,
    FullSensorDescription,
    SiteSensorDescription,
    StatusSensorDescription,
)
from .site import BackupSite

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors the device supports."""
    async_add_entities(visit(entry.runtime_data, _Sensors()))


class _Sensors(EntityVisitor[Entity]):
    def charger(self, runtime: ChargerRuntimeData) -> list[Entity]:
        entities: list[Entity] = [
            StatusSensor(runtime, runtime.status, desc) for desc in STATUS_SENSORS
        ]
        entities.extend(
            FullSensor(runtime, runtime.full, desc)
            for desc in FULL_SENSORS
            if desc.exists_fn(runtime)
        )
        if runtime.charger.capabilities.energy_counters:
            entities.extend(
                FullSensor(runtime, runtime.full, desc) for desc in DEVICE_ENERGY_SENSORS
            )
        else:
            entities.extend(
                EnergySensor(runtime.status, runtime.identity, desc, runtime.energy)
                for desc in ENERGY_SENSORS
            )
        return entities

    def battery(self, runtime: BatteryRuntimeData) -> list[Entity]:
        reading, caps = runtime.coordinator.data, runtime.battery.capabilities
        entities: list[Entity] = [
            BatterySensor(runtime, desc)
            for desc in BATTERY_SENSORS
            if desc.exists_fn is None or desc.exists_fn(reading, caps)
        ]
        entities.extend(PackSocSensor(runtime, index) for index in range(len(reading.packs)))
        entities.extend(
            EnergySensor(runtime.coordinator, runtime.identity, desc, runtime.energy)
            for desc in ENERGY_SENSORS
        )
        return entities

    def site(self, runtime: BackupSite) -> list[Entity]:
        return [SiteSensor(runtime, desc) for desc in SITE_SENSORS]

    def building(self, runtime: BuildingManager) -> list[Entity]:
        return list(building_entities.sensors(runtime))


class StatusSensor(V2XChargerEntity[StatusCoordinator], SensorEntity):
    """A sensor of the charger's fast status."""

    entity_description: StatusSensorDescription

    def __init__(
        self,
        data: ChargerRuntimeData,
        coordinator: StatusCoordinator,
        description: StatusSensorDescription,
    ) -> None:
        """An enum sensor lists only the states this charger can report."""
        super().__init__(data, coordinator, description)
        if description.device_class is SensorDeviceClass.ENUM:
            self._attr_options = [state.value for state in data.charger.capabilities.states]

    @property
    def native_value(self) -> float | int | str | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Extra attributes (SoC staleness)."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)


class FullSensor(V2XChargerEntity[FullCoordinator], SensorEntity):
    """A sensor of the charger's full poll."""

    entity_description: FullSensorDescription

    @property
    def native_value(self) -> float | int | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)


class BatterySensor(V2XBatteryEntity, SensorEntity):
    """A sensor of a portable battery."""

    entity_description: BatterySensorDescription

    @property
    def native_value(self) -> float | int | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)


class PackSocSensor(V2XBatteryEntity, SensorEntity):
    """The state of charge of one pack of a multi-pack battery."""

    def __init__(self, data: BatteryRuntimeData, index: int) -> None:
        """Sensor for pack number ``index + 1``."""
        super().__init__(data, PACK_SOC, key_suffix=f"_{index + 1}")
        self._index = index
        self._attr_translation_placeholders = {"pack": str(index + 1)}

    @property
    def available(self) -> bool:
        """Unavailable when the pack is no longer reported."""
        return super().available and self._index < len(self.coordinator.data.packs)

    @property
    def native_value(self) -> int:
        """The pack's state of charge."""
        return self.coordinator.data.packs[self._index].soc_pct

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The pack's own temperature."""
        return {"temperature_c": self.coordinator.data.packs[self._index].temperature_c}


ENERGY_WRITE_STEP_KWH: Final = 0.1
"""An integrated energy total is written to the state machine once it has moved this
much (a recorder row per step, not per poll)..."""
ENERGY_WRITE_MAX_S: Final = 60.0
"""... or this long after the last write, if it moved at all: the Energy dashboard's
5-minute statistics take the last state of each period, at most a minute old."""


class EnergySensor(V2XEntity[DataUpdateCoordinator[Any]], RestoreSensor):
    """Charged or discharged energy for the Energy dashboard.

    The total is integrated at every status poll, but its state is written only when it
    has grown by :data:`ENERGY_WRITE_STEP_KWH` or :data:`ENERGY_WRITE_MAX_S` have passed
    with any change, or the availability changed: while a car charges at 7.4 kW that is
    one write every ~49 s instead of every second, none while it stands. Each write is the
    exact total at that moment, and what is saved for a restart is the total at saving.
    """

    entity_description: EnergySensorDescription
    _written: tuple[float, bool, float] | None = None
    """The value and availability last written, and when (monotonic seconds)."""

    def __init__(
        self,
        coordinator: DataUpdateCoordinator[Any],
        identity: DeviceIdentity,
        description: EnergySensorDescription,
        energy: EnergyCounter,
    ) -> None:
        """Report the totals of ``energy``."""
        super().__init__(coordinator, identity, description)
        self._energy = energy

    async def async_added_to_hass(self) -> None:
        """Continue from the total saved before the last restart."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is None or not isinstance(last.native_value, int | float | Decimal | str):
            return
        try:
            value = float(last.native_value)
        except ValueError:
            return
        if self.entity_description.charged:
            self._energy.restore(charged_kwh=value)
        else:
            self._energy.restore(discharged_kwh=value)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Write the state only when the total moved enough, or availability changed."""
        value, available, now = self.native_value, self.available, monotonic()
        written = self._written
        if written is not None and written[1] == available:
            moved = value - written[0]
            if moved < ENERGY_WRITE_STEP_KWH and (
                moved == 0 or now - written[2] < ENERGY_WRITE_MAX_S
            ):
                return
        self._written = (value, available, now)
        super()._handle_coordinator_update()

    @property
    def native_value(self) -> float:
        """The total in kWh, to the watt-hour."""
        energy = self._energy
        total = energy.charged_kwh if self.entity_description.charged else energy.discharged_kwh
        return round(total, 3)


class SiteSensor(V2XSiteEntity, SensorEntity):
    """A sensor of a backup site."""

    entity_description: SiteSensorDescription

    @property
    def native_value(self) -> float | int | str | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Details (alarm, drill, source; runtime in hours and minutes)."""
        if self.entity_description.attributes_fn is None:
            return None
        return self.entity_description.attributes_fn(self.coordinator.data)
