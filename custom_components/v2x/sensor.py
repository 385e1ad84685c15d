"""Sensors of a V2X charger: SoC, power, state, energy and measurements."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargerRuntimeData, FullCoordinator, StatusCoordinator, V2XConfigEntry
from .devices.model import ChargerSnapshot, ChargerState, ChargerStatus
from .entity import V2XChargerEntity

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class StatusSensorDescription(SensorEntityDescription):
    """A sensor computed from the fast status."""

    value_fn: Callable[[ChargerStatus], float | int | str | None]
    attributes_fn: Callable[[ChargerStatus], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class FullSensorDescription(SensorEntityDescription):
    """A sensor computed from the full poll, created only where the device has it."""

    value_fn: Callable[[ChargerSnapshot], float | int | None]
    exists_fn: Callable[[ChargerRuntimeData], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class EnergySensorDescription(SensorEntityDescription):
    """An energy total integrated from power, restored across restarts."""

    charged: bool


STATUS_SENSORS: tuple[StatusSensorDescription, ...] = (
    StatusSensorDescription(
        key="state_of_charge",
        translation_key="state_of_charge",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.soc.value_pct,
        attributes_fn=lambda status: {"stale": status.soc.stale},
    ),
    StatusSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda status: status.power_w,
    ),
    StatusSensorDescription(
        key="charger_state",
        translation_key="charger_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in ChargerState],
        value_fn=lambda status: status.state.value,
    ),
)

FULL_SENSORS: tuple[FullSensorDescription, ...] = (
    FullSensorDescription(
        key="max_available_power",
        translation_key="max_available_power",
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.WATT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.max_available_power_w,
    ),
    FullSensorDescription(
        key="ac_voltage",
        translation_key="ac_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.ac_voltage_v,
        exists_fn=lambda data: data.full.data.ac_voltage_v is not None,
    ),
    FullSensorDescription(
        key="ac_current",
        translation_key="ac_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.ac_current_a,
        exists_fn=lambda data: data.full.data.ac_current_a is not None,
    ),
)

ENERGY_SENSORS: tuple[EnergySensorDescription, ...] = (
    EnergySensorDescription(
        key="charged_energy",
        translation_key="charged_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        charged=True,
    ),
    EnergySensorDescription(
        key="discharged_energy",
        translation_key="discharged_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        charged=False,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the sensors the device supports."""
    data = entry.runtime_data
    entities: list[SensorEntity] = [
        StatusSensor(entry, data.status, description) for description in STATUS_SENSORS
    ]
    entities.extend(
        FullSensor(entry, data.full, description)
        for description in FULL_SENSORS
        if description.exists_fn(data)
    )
    entities.extend(EnergySensor(entry, data.status, description) for description in ENERGY_SENSORS)
    async_add_entities(entities)


class StatusSensor(V2XChargerEntity[StatusCoordinator], SensorEntity):
    """A sensor of the fast status."""

    entity_description: StatusSensorDescription

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
    """A sensor of the full poll."""

    entity_description: FullSensorDescription

    @property
    def native_value(self) -> float | int | None:
        """The current value."""
        return self.entity_description.value_fn(self.coordinator.data)


class EnergySensor(V2XChargerEntity[StatusCoordinator], RestoreSensor):
    """Charged or discharged energy for the Energy dashboard."""

    entity_description: EnergySensorDescription

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
        energy = self._entry.runtime_data.energy
        if self.entity_description.charged:
            energy.restore(charged_kwh=value)
        else:
            energy.restore(discharged_kwh=value)

    @property
    def native_value(self) -> float:
        """The total in kWh, to the watt-hour."""
        energy = self._entry.runtime_data.energy
        total = energy.charged_kwh if self.entity_description.charged else energy.discharged_kwh
        return round(total, 3)
