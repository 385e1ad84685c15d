"""Entities of a vehicle-to-building entry: the building's plan and each car bay."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.components.binary_sensor import BinarySensorEntity, BinarySensorEntityDescription
from homeassistant.components.datetime import DateTimeEntity, DateTimeEntityDescription
from homeassistant.components.number import NumberEntity, NumberEntityDescription, NumberMode
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import PERCENTAGE, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .building import (
    BuildingManager,
    BuildingStatus,
    VehicleStatus,
    building_device_identifier,
    vehicle_device_identifier,
)
from .const import DOMAIN
from .planner.guard import GuardAction
from .registry import link_to_device, link_to_parent

STEP_ATTRIBUTE_DECIMALS = 2
GUARD_OFF = "off"
"""The peak guard's state when it has nothing to hold (no plan, no demand charge)."""
BUILDING_MODEL = "Vehicle-to-building peak shaving"


def async_register_building_device(hass: HomeAssistant, entry: ConfigEntry[Any]) -> None:
    """Register the building's device first: its car bays are linked to it by id."""
    dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={building_device_identifier(entry.entry_id)},
        manufacturer="V2X",
        model=BUILDING_MODEL,
        name=entry.title,
        entry_type=DeviceEntryType.SERVICE,
    )


class V2BEntity(CoordinatorEntity[BuildingManager]):
    """An entity of the building itself."""

    _attr_has_entity_name = True

    def __init__(self, manager: BuildingManager, description: EntityDescription) -> None:
        """Attach to the building's device."""
        super().__init__(manager)
        self.entity_description = description
        entry = manager.entry
        self._attr_unique_id = f"v2b_{entry.entry_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={building_device_identifier(entry.entry_id)},
            manufacturer="V2X",
            model=BUILDING_MODEL,
            name=entry.title,
            entry_type=DeviceEntryType.SERVICE,
        )


class V2BVehicleEntity(CoordinatorEntity[BuildingManager]):
    """An entity of one car bay (a charger and the car on it) of the building."""

    _attr_has_entity_name = True

    def __init__(
        self, manager: BuildingManager, vehicle_id: str, description: EntityDescription
    ) -> None:
        """Attach to the bay's device, under the building."""
        super().__init__(manager)
        self.entity_description = description
        self.vehicle_id = vehicle_id
        entry = manager.entry
        self._attr_unique_id = f"v2b_{entry.entry_id}_{vehicle_id}_{description.key}"
        info = DeviceInfo(
            identifiers={vehicle_device_identifier(entry.entry_id, vehicle_id)},
            manufacturer="V2X",
            model="Vehicle-to-building car bay",
            # "Office bay 1": short on a card, and unlike its charger's own name.
            translation_key="car_bay",
            translation_placeholders={
                "building": entry.title,
                "bay": str(manager.vehicle_ids.index(vehicle_id) + 1),
            },
            entry_type=DeviceEntryType.SERVICE,
        )
        # The bay's page links to its charger ("connected via"); to the building only
        # while the charger's device is not registered yet.
        charger_devices = dr.async_entries_for_config_entry(dr.async_get(manager.hass), vehicle_id)
        self._attr_device_info = (
            link_to_device(info, charger_devices[0])
            if charger_devices
            else link_to_parent(
                info, manager.hass, entry.entry_id, building_device_identifier(entry.entry_id)
            )
        )

    @property
    def vehicle(self) -> VehicleStatus | None:
        """The car's status in the latest plan."""
        return self.coordinator.data.vehicles.get(self.vehicle_id)


class V2BCarOnlyEntity(V2BVehicleEntity):
    """An entity of a car's departure: a stationary battery has none.

    Not created for a bay whose charger is known to be a stationary battery; one made
    while the charger was not loaded yet is unavailable once it turns out to be one.
    """

    @property
    def available(self) -> bool:
        """Unavailable on a stationary battery's bay."""
        return super().available and not self.coordinator.bays.stationary(self.vehicle_id)


def _car_bays(manager: BuildingManager, domain: str, description: EntityDescription) -> list[str]:
    """The bays with a car (not known to be a stationary battery): they have departures.

    A stationary battery's bay loses the ``description`` entity (of ``domain``) left in
    the registry from a start before its charger was loaded.
    """
    registry = er.async_get(manager.hass)
    cars = []
    for vehicle_id in manager.vehicle_ids:
        if not manager.bays.stationary(vehicle_id):
            cars.append(vehicle_id)
            continue
        unique_id = f"v2b_{manager.entry.entry_id}_{vehicle_id}_{description.key}"
        left = registry.async_get_entity_id(domain, DOMAIN, unique_id)
        if left is not None:
            registry.async_remove(left)
    return cars


# -- building sensors ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BuildingSensorDescription(SensorEntityDescription):
    """A sensor of the building."""

    value_fn: Callable[[BuildingStatus], float | str | None]
    monetary: bool = False


def _kw(key: str, value_fn: Callable[[BuildingStatus], float | None]) -> BuildingSensorDescription:
    return BuildingSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.POWER,
        native_unit_of_measurement=UnitOfPower.KILO_WATT,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=1,
        value_fn=value_fn,
    )


def _money(
    key: str, value_fn: Callable[[BuildingStatus], float | None]
) -> BuildingSensorDescription:
    return BuildingSensorDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=value_fn,
        monetary=True,
    )


BUILDING_SENSORS: tuple[BuildingSensorDescription, ...] = (
    _kw("planned_peak", lambda s: s.plan.peak_kw if s.plan else None),
    _kw(
        "peak_without_v2b",
        lambda s: s.comparison.building_only_peak_kw if s.comparison else None,
    ),
    _kw("peak_reduction", lambda s: s.comparison.peak_reduction_kw if s.comparison else None),
    _kw("billed_peak", lambda s: s.billed_peak_kw),
    _kw("target_peak", lambda s: s.guard.target_peak_kw if s.guard else None),
    _kw("interval_import", lambda s: s.interval_average_kw),
    _kw("peak_without_cars", lambda s: s.peak_without_cars_kw),
    _kw("peak_cut", lambda s: s.peak_cut_kw),
    BuildingSensorDescription(
        key="guard_action",
        translation_key="guard_action",
        device_class=SensorDeviceClass.ENUM,
        options=[GUARD_OFF, *(action.value for action in GuardAction)],
        value_fn=lambda s: s.guard.action.value if s.guard else GUARD_OFF,
    ),
    _money("expected_cost_today", lambda s: s.cost_today),
    _money("expected_savings_today", lambda s: s.savings_today),
    _money("demand_charge_saved", lambda s: s.demand_charge_saved),
)


def _plan_attributes(status: BuildingStatus) -> dict[str, Any]:
    plan = status.plan
    if plan is None or status.start is None:
        return {"status": None, "error": status.error, "forecast_source": status.load_source}
    return {
        "status": plan.status,
        "plan_start": status.start.isoformat(),
        "step_minutes": round(plan.step_h * 60),
        "forecast_source": status.load_source,
        "solve_ms": round(plan.solve_time_s * 1000, 1),
        "grid_kw": [round(float(v), STEP_ATTRIBUTE_DECIMALS) for v in plan.grid_kw],
        "load_kw": [round(float(v), STEP_ATTRIBUTE_DECIMALS) for v in plan.load_kw],
    }


def _guard_attributes(status: BuildingStatus) -> dict[str, Any]:
    guard = status.guard
    if guard is None:
        return {"allowed_import_kw": None, "import_kw": None, "over_kw": None}
    return {
        "allowed_import_kw": round(guard.allowed_import_kw, 3),
        "import_kw": round(guard.import_kw, 3),
        "over_kw": round(guard.over_kw, 3),
    }


class BuildingSensor(V2BEntity, SensorEntity):
    """A figure of the building's plan."""

    entity_description: BuildingSensorDescription
    _unrecorded_attributes = frozenset({"grid_kw", "load_kw", "plan_start", "solve_ms"})

    def __init__(self, manager: BuildingManager, description: BuildingSensorDescription) -> None:
        """Monetary sensors use Home Assistant's currency."""
        super().__init__(manager, description)
        if description.monetary:
            self._attr_native_unit_of_measurement = manager.hass.config.currency

    @property
    def native_value(self) -> float | str | None:
        """The current value, rounded for display."""
        value = self.entity_description.value_fn(self.coordinator.data)
        return round(value, 3) if isinstance(value, float | int) else value

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The planned peak carries the plan itself (for charts), the guard what it did."""
        key = self.entity_description.key
        if key == "planned_peak":
            return _plan_attributes(self.coordinator.data)
        if key == "guard_action":
            return _guard_attributes(self.coordinator.data)
        return None


class PlanFeasibleSensor(V2BEntity, BinarySensorEntity):
    """On when every car will be at its target and the import limit is kept."""

    @property
    def is_on(self) -> bool | None:
        """Whether the plan keeps every promise."""
        plan = self.coordinator.data.plan
        return None if plan is None else plan.feasible

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Which cars fall short and by how much; import above the limit."""
        status = self.coordinator.data
        plan = status.plan
        short = {
            vehicle.name: round(vehicle.shortfall_kwh, 2)
            for vehicle in status.vehicles.values()
            if vehicle.shortfall_kwh
        }
        excess = float(plan.import_excess_kw.max(initial=0.0)) if plan else None
        return {"shortfall_kwh": short, "import_above_limit_kw": excess, "error": status.error}


PLAN_FEASIBLE = BinarySensorEntityDescription(key="plan_feasible", translation_key="plan_feasible")


# -- car bay entities ---------------------------------------------------------------------


PLANNED_POWER_ZERO_KW = 0.05
"""A planned power smaller than this is shown as 0 (the sensor shows one decimal)."""


class PlannedPowerSensor(V2BVehicleEntity, SensorEntity):
    """The car's planned power now: positive charges, negative discharges."""

    @property
    def native_value(self) -> float | None:
        """Planned kW this step; 0 while the car is away or someone else controls it."""
        vehicle = self.vehicle
        if vehicle is None:
            return None
        if vehicle.planned_power_kw is None:
            return 0.0 if vehicle.reason in ("unplugged", "manual") else None
        # Below 50 W (no charger runs that) is 0: a card would read "-0.0 kW".
        power = round(vehicle.planned_power_kw, 3)
        return 0.0 if abs(power) < PLANNED_POWER_ZERO_KW else power

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """Why the car is not in the plan, when it is not."""
        vehicle = self.vehicle
        return {"in_plan": bool(vehicle and vehicle.planned), "reason": vehicle and vehicle.reason}


class DepartureSocSensor(V2BCarOnlyEntity, SensorEntity):
    """State of charge the car is planned to have when it leaves."""

    @property
    def native_value(self) -> float | None:
        """Planned SoC at departure."""
        vehicle = self.vehicle
        if vehicle is None or vehicle.departure_soc_pct is None:
            return None
        return round(vehicle.departure_soc_pct, 1)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """How far below its target the car will be (kWh), and whether it leaves late.

        Late is after the plan's end: the value is then the SoC there, on its way to
        the target.
        """
        vehicle = self.vehicle
        return {
            "shortfall_kwh": None if vehicle is None else vehicle.shortfall_kwh,
            "departure_beyond_plan": bool(vehicle and vehicle.departure_beyond_plan),
        }


PLANNED_POWER = SensorEntityDescription(
    key="planned_power",
    translation_key="planned_power",
    device_class=SensorDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.KILO_WATT,
    state_class=SensorStateClass.MEASUREMENT,
    suggested_display_precision=1,
)
DEPARTURE_SOC = SensorEntityDescription(
    key="departure_soc",
    translation_key="departure_soc",
    device_class=SensorDeviceClass.BATTERY,
    native_unit_of_measurement=PERCENTAGE,
    suggested_display_precision=0,
)


class DepartureEntity(V2BCarOnlyEntity, DateTimeEntity):
    """When the car leaves next; setting it plans again."""

    @property
    def native_value(self) -> datetime:
        """The next departure."""
        return self.coordinator.departure(self.vehicle_id)

    async def async_set_value(self, value: datetime) -> None:
        """A new departure for this car (the next one only; the daily time stays)."""
        await self.coordinator.async_set_departure(self.vehicle_id, value, None)
        self.async_write_ha_state()


class TargetSocNumber(V2BCarOnlyEntity, NumberEntity):
    """State of charge the car must have when it leaves."""

    _attr_native_min_value = 10
    _attr_native_max_value = 100
    _attr_native_step = 1
    _attr_native_unit_of_measurement = PERCENTAGE
    _attr_mode = NumberMode.SLIDER

    @property
    def native_value(self) -> float:
        """The current target."""
        return self.coordinator.target_soc(self.vehicle_id)

    async def async_set_native_value(self, value: float) -> None:
        """A new target; the plan follows at once."""
        await self.coordinator.async_set_departure(self.vehicle_id, None, float(value))
        self.async_write_ha_state()


DEPARTURE = DateTimeEntityDescription(key="departure", translation_key="departure")
TARGET_SOC = NumberEntityDescription(key="target_soc", translation_key="target_soc")


def sensors(manager: BuildingManager) -> list[Entity]:
    """Every sensor of a building and its car bays."""
    entities: list[Entity] = [BuildingSensor(manager, desc) for desc in BUILDING_SENSORS]
    cars = _car_bays(manager, "sensor", DEPARTURE_SOC)
    for vehicle_id in manager.vehicle_ids:
        entities.append(PlannedPowerSensor(manager, vehicle_id, PLANNED_POWER))
        if vehicle_id in cars:
            entities.append(DepartureSocSensor(manager, vehicle_id, DEPARTURE_SOC))
    return entities


def binary_sensors(manager: BuildingManager) -> list[Entity]:
    """The plan-feasible sensor."""
    return [PlanFeasibleSensor(manager, PLAN_FEASIBLE)]


def numbers(manager: BuildingManager) -> list[Entity]:
    """A target SoC per car (none for a stationary battery)."""
    return [
        TargetSocNumber(manager, vid, TARGET_SOC)
        for vid in _car_bays(manager, "number", TARGET_SOC)
    ]


def datetimes(manager: BuildingManager) -> list[Entity]:
    """A departure time per car (none for a stationary battery)."""
    return [
        DepartureEntity(manager, vid, DEPARTURE)
        for vid in _car_bays(manager, "datetime", DEPARTURE)
    ]
