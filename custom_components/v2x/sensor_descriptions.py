"""What each sensor of a charger, a portable battery and a backup site reads.

Pure descriptions (``value_fn``, ``exists_fn``, ``attributes_fn``): ``sensor.py`` makes
the entities from them, and the building's sensors live in ``building_entities.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfTemperature,
    UnitOfTime,
)

from .backup.machine import BackupState
from .backup.runtime import describe_runtime
from .devices.model import BatteryCapabilities, BatteryReading, ChargerSnapshot, ChargerStatus
from .models import ChargerRuntimeData
from .site import SiteStatus


def _power(key: str, **kwargs: Any) -> dict[str, Any]:
    """Common attributes of a power sensor in W."""
    return {
        "key": key,
        "translation_key": key,
        "device_class": SensorDeviceClass.POWER,
        "native_unit_of_measurement": UnitOfPower.WATT,
        "state_class": SensorStateClass.MEASUREMENT,
        **kwargs,
    }


@dataclass(frozen=True, kw_only=True)
class StatusSensorDescription(SensorEntityDescription):
    """A charger sensor computed from the fast status."""

    value_fn: Callable[[ChargerStatus], float | int | str | None]
    attributes_fn: Callable[[ChargerStatus], dict[str, Any]] | None = None


@dataclass(frozen=True, kw_only=True)
class FullSensorDescription(SensorEntityDescription):
    """A charger sensor computed from the full poll, created only where the device has it."""

    value_fn: Callable[[ChargerSnapshot], float | int | None]
    exists_fn: Callable[[ChargerRuntimeData], bool] = lambda _: True


@dataclass(frozen=True, kw_only=True)
class BatterySensorDescription(SensorEntityDescription):
    """A portable-battery sensor, created only where the family reports the value."""

    value_fn: Callable[[BatteryReading], float | int | None]
    exists_fn: Callable[[BatteryReading, BatteryCapabilities], bool] | None = None


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
    StatusSensorDescription(**_power("power"), value_fn=lambda status: status.power_w),
    StatusSensorDescription(
        key="charger_state",
        translation_key="charger_state",
        device_class=SensorDeviceClass.ENUM,
        value_fn=lambda status: status.state.value,
    ),
)

FULL_SENSORS: tuple[FullSensorDescription, ...] = (
    FullSensorDescription(
        **_power("max_available_power", entity_category=EntityCategory.DIAGNOSTIC),
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
    FullSensorDescription(
        key="grid_frequency",
        translation_key="grid_frequency",
        device_class=SensorDeviceClass.FREQUENCY,
        native_unit_of_measurement=UnitOfFrequency.HERTZ,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda snapshot: snapshot.grid_frequency_hz,
        exists_fn=lambda data: data.full.data.grid_frequency_hz is not None,
    ),
    FullSensorDescription(
        key="vehicle_energy",
        translation_key="vehicle_energy",
        # Stored energy: no state class, so the Energy dashboard does not offer it as a
        # flow (its pickers take every kWh statistic; the flows are the counters below).
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.vehicle_energy_kwh,
        exists_fn=lambda data: data.charger.capabilities.vehicle_energy,
    ),
    FullSensorDescription(
        key="vehicle_capacity",
        translation_key="vehicle_capacity",
        device_class=SensorDeviceClass.ENERGY_STORAGE,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        entity_category=EntityCategory.DIAGNOSTIC,
        suggested_display_precision=1,
        value_fn=lambda snapshot: snapshot.vehicle_capacity_kwh,
        exists_fn=lambda data: data.charger.capabilities.vehicle_energy,
    ),
    FullSensorDescription(
        key="state_of_health",
        translation_key="state_of_health",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda snapshot: snapshot.state_of_health_pct,
        exists_fn=lambda data: data.full.data.state_of_health_pct is not None,
    ),
)

# Chargers that count energy themselves (ECHONET Lite 0xD8/0xD6, SunSpec 701 TotWh):
# their own totals go to the Energy dashboard instead of an integration of the power.
DEVICE_ENERGY_SENSORS: tuple[FullSensorDescription, ...] = (
    FullSensorDescription(
        key="charged_energy",
        translation_key="charged_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.charged_energy_kwh,
    ),
    FullSensorDescription(
        key="discharged_energy",
        translation_key="discharged_energy",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        value_fn=lambda snapshot: snapshot.discharged_energy_kwh,
    ),
)

BATTERY_SENSORS: tuple[BatterySensorDescription, ...] = (
    BatterySensorDescription(
        key="battery_level",
        translation_key="battery_level",
        device_class=SensorDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda reading: reading.state.soc.value_pct,
    ),
    BatterySensorDescription(
        **_power("battery_power"), value_fn=lambda reading: reading.state.power_w
    ),
    BatterySensorDescription(
        **_power("output_power"),
        value_fn=lambda reading: reading.home_output_w,
        exists_fn=lambda reading, _: reading.home_output_w is not None,
    ),
    BatterySensorDescription(
        **_power("off_grid_power"),
        value_fn=lambda reading: reading.off_grid_output_w,
        exists_fn=lambda reading, _: reading.off_grid_output_w is not None,
    ),
    BatterySensorDescription(
        **_power("grid_input_power"),
        value_fn=lambda reading: reading.grid_input_w,
        exists_fn=lambda reading, _: reading.grid_input_w is not None,
    ),
    BatterySensorDescription(
        **_power("solar_power"),
        value_fn=lambda reading: reading.solar_input_w,
        exists_fn=lambda reading, _: reading.solar_input_w is not None,
    ),
    BatterySensorDescription(
        key="remaining_runtime",
        translation_key="remaining_runtime",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        value_fn=lambda reading: (
            None
            if reading.state.remaining_minutes is None
            else round(reading.state.remaining_minutes)
        ),
    ),
    BatterySensorDescription(
        key="temperature",
        translation_key="temperature",
        device_class=SensorDeviceClass.TEMPERATURE,
        native_unit_of_measurement=UnitOfTemperature.CELSIUS,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda reading: reading.state.temperature_c,
        exists_fn=lambda reading, _: reading.state.temperature_c is not None,
    ),
    BatterySensorDescription(
        key="min_soc",
        translation_key="min_soc",
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda reading: reading.state.min_soc_pct,
        # Read-only here; where the family can write it, it is a number entity.
        exists_fn=lambda reading, caps: (
            reading.state.min_soc_pct is not None and not caps.soc_limits_writable
        ),
    ),
    BatterySensorDescription(
        key="max_soc",
        translation_key="max_soc",
        native_unit_of_measurement=PERCENTAGE,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda reading: reading.state.max_soc_pct,
        exists_fn=lambda reading, caps: (
            reading.state.max_soc_pct is not None and not caps.soc_limits_writable
        ),
    ),
    BatterySensorDescription(
        key="battery_voltage",
        translation_key="battery_voltage",
        device_class=SensorDeviceClass.VOLTAGE,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda reading: reading.battery_voltage_v,
        exists_fn=lambda reading, _: reading.battery_voltage_v is not None,
    ),
    BatterySensorDescription(
        key="battery_current",
        translation_key="battery_current",
        device_class=SensorDeviceClass.CURRENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        state_class=SensorStateClass.MEASUREMENT,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda reading: reading.battery_current_a,
        exists_fn=lambda reading, _: reading.battery_current_a is not None,
    ),
    BatterySensorDescription(
        key="pack_count",
        translation_key="pack_count",
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda reading: reading.pack_count,
        exists_fn=lambda reading, _: reading.pack_count is not None,
    ),
)

PACK_SOC = SensorEntityDescription(
    key="pack_soc",
    translation_key="pack_soc",
    device_class=SensorDeviceClass.BATTERY,
    native_unit_of_measurement=PERCENTAGE,
    state_class=SensorStateClass.MEASUREMENT,
    entity_category=EntityCategory.DIAGNOSTIC,
)


def _energy(key: str, *, charged: bool) -> EnergySensorDescription:
    return EnergySensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        state_class=SensorStateClass.TOTAL_INCREASING,
        suggested_display_precision=2,
        charged=charged,
    )


ENERGY_SENSORS = (
    _energy("charged_energy", charged=True),
    _energy("discharged_energy", charged=False),
)


@dataclass(frozen=True, kw_only=True)
class SiteSensorDescription(SensorEntityDescription):
    """A sensor of a backup site."""

    value_fn: Callable[[SiteStatus], float | int | str | None]
    attributes_fn: Callable[[SiteStatus], dict[str, Any]] | None = None


def _runtime_attributes(status: SiteStatus) -> dict[str, Any]:
    minutes = status.runtime_min
    if minutes is None:
        return {"hours": None, "minutes": None, "summary": None}
    hours, rest = divmod(round(minutes), 60)
    return {"hours": hours, "minutes": rest, "summary": describe_runtime(minutes)}


def _backup_attributes(status: SiteStatus) -> dict[str, Any]:
    """Drill or not, and the alarm and active source only while there is one.

    An attribute that is None reads "Alarm: Unknown" in the more-info dialog, as if the
    site could not tell; a template's ``state_attr`` gives None for a missing one alike.
    """
    attributes: dict[str, Any] = {
        "drill": status.drill,
        "supplying_sources": list(status.supplying_sources),
    }
    if status.alarm is not None:
        attributes["alarm"] = status.alarm
    if status.active_source is not None:
        attributes["active_source"] = status.active_source
    return attributes


def _source_attributes(status: SiteStatus) -> dict[str, Any]:
    """Each source's floor (the higher of the site's and its own reserve) and energy."""
    return {
        "sources": [
            {
                "name": source.name,
                "soc_pct": None if source.soc_pct is None else round(source.soc_pct, 1),
                "floor_pct": round(source.floor_pct, 1),
                "energy_kwh": None if source.energy_kwh is None else round(source.energy_kwh, 2),
            }
            for source in status.sources
        ]
    }


SITE_SENSORS: tuple[SiteSensorDescription, ...] = (
    SiteSensorDescription(
        key="backup_state",
        translation_key="backup_state",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in BackupState],
        value_fn=lambda status: status.state.value,
        attributes_fn=_backup_attributes,
    ),
    SiteSensorDescription(
        key="runtime_remaining",
        translation_key="runtime_remaining",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_unit_of_measurement=UnitOfTime.HOURS,
        suggested_display_precision=1,
        value_fn=lambda status: None if status.runtime_min is None else round(status.runtime_min),
        attributes_fn=_runtime_attributes,
    ),
    SiteSensorDescription(
        key="energy_available",
        translation_key="energy_available",
        device_class=SensorDeviceClass.ENERGY_STORAGE,  # stored: no state class (see above)
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda status: None if status.energy_kwh is None else round(status.energy_kwh, 3),
        attributes_fn=_source_attributes,
    ),
    SiteSensorDescription(**_power("site_load"), value_fn=lambda status: round(status.load_w)),
)
