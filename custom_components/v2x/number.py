"""Numbers: charger power setpoint and reserve; battery limits and SoC window."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from . import building_entities
from .building import BuildingManager
from .const import CONF_RESERVE_SOC
from .coordinator import StatusCoordinator
from .devices.model import BatteryCapabilities, BatteryReading, OperatingMode, PortableBattery
from .entity import V2XBatteryEntity, V2XChargerEntity
from .helpers import async_battery_command
from .models import BatteryRuntimeData, ChargerRuntimeData
from .runtime import EntityVisitor, V2XConfigEntry, visit

PARALLEL_UPDATES = 1

POWER_SETPOINT = NumberEntityDescription(
    key="power_setpoint",
    translation_key="power_setpoint",
    device_class=NumberDeviceClass.POWER,
    native_unit_of_measurement=UnitOfPower.WATT,
    native_step=10,
    mode=NumberMode.BOX,
)
RESERVE_SOC = NumberEntityDescription(
    key="reserve_soc",
    translation_key="reserve_soc",
    device_class=NumberDeviceClass.BATTERY,
    native_unit_of_measurement=PERCENTAGE,
    native_min_value=0,
    native_max_value=95,
    native_step=1,
    entity_category=EntityCategory.CONFIG,
    mode=NumberMode.SLIDER,
)


@dataclass(frozen=True, kw_only=True)
class BatteryNumberDescription(NumberEntityDescription):
    """A battery setting, created only where the family can write it."""

    value_fn: Callable[[BatteryReading], float | None]
    set_fn: Callable[[PortableBattery, float], Awaitable[None]]
    exists_fn: Callable[[BatteryCapabilities], bool]
    max_fn: Callable[[BatteryCapabilities], float] | None = None


def _limit(key: str, **kwargs: object) -> dict[str, object]:
    return {
        "key": key,
        "translation_key": key,
        "device_class": NumberDeviceClass.POWER,
        "native_unit_of_measurement": UnitOfPower.WATT,
        "native_min_value": 0,
        "native_step": 10,
        "mode": NumberMode.BOX,
        **kwargs,
    }


BATTERY_NUMBERS: tuple[BatteryNumberDescription, ...] = (
    BatteryNumberDescription(
        **_limit("output_limit"),  # type: ignore[arg-type]
        value_fn=lambda reading: reading.output_limit_w,
        set_fn=lambda battery, value: battery.async_set_output(
            enabled=value > 0, limit_w=round(value) or None
        ),
        exists_fn=lambda caps: caps.output_limit,
        max_fn=lambda caps: caps.max_output_w,
    ),
    BatteryNumberDescription(
        **_limit("input_limit"),  # type: ignore[arg-type]
        value_fn=lambda reading: reading.input_limit_w,
        set_fn=lambda battery, value: battery.async_set_input_limit(round(value)),
        exists_fn=lambda caps: caps.input_limit,
        max_fn=lambda caps: caps.max_input_w,
    ),
    BatteryNumberDescription(
        key="min_soc",
        translation_key="min_soc",
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=0,
        native_max_value=50,
        native_step=1,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda reading: reading.state.min_soc_pct,
        set_fn=lambda battery, value: battery.async_set_soc_limits(min_pct=value),
        exists_fn=lambda caps: caps.soc_limits_writable,
    ),
    BatteryNumberDescription(
        key="max_soc",
        translation_key="max_soc",
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=70,
        native_max_value=100,
        native_step=1,
        entity_category=EntityCategory.CONFIG,
        value_fn=lambda reading: reading.state.max_soc_pct,
        set_fn=lambda battery, value: battery.async_set_soc_limits(max_pct=value),
        exists_fn=lambda caps: caps.soc_limits_writable,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the numbers the device supports."""
    async_add_entities(visit(entry.runtime_data, _Numbers()))


class _Numbers(EntityVisitor[Entity]):
    def charger(self, runtime: ChargerRuntimeData) -> list[Entity]:
        return [
            PowerSetpointNumber(runtime, runtime.status, POWER_SETPOINT),
            ReserveSocNumber(runtime, runtime.status, RESERVE_SOC),
        ]

    def battery(self, runtime: BatteryRuntimeData) -> list[Entity]:
        caps = runtime.battery.capabilities
        return [BatteryNumber(runtime, desc) for desc in BATTERY_NUMBERS if desc.exists_fn(caps)]

    def building(self, runtime: BuildingManager) -> list[Entity]:
        return list(building_entities.numbers(runtime))


class PowerSetpointNumber(V2XChargerEntity[StatusCoordinator], NumberEntity):
    """Signed setpoint: > 0 charges, < 0 discharges (never below the reserve), 0 stops."""

    @property
    def native_max_value(self) -> float:
        """The charger's maximum power."""
        return float(self._data.controller.max_available_power_w)

    @property
    def native_min_value(self) -> float:
        """Minus the charger's maximum power."""
        return -self.native_max_value

    @property
    def native_value(self) -> float:
        """The setpoint the integration holds (0 without a session)."""
        controller = self._data.controller
        if controller.session is None:
            return 0.0
        return float(controller.setpoint_w or 0)

    async def async_set_native_value(self, value: float) -> None:
        """Start charging, discharging, or stop."""
        controller = self._data.controller
        power = round(value)
        if power > 0:
            await controller.async_start(OperatingMode.CHARGE, power_w=power)
        elif power < 0:
            await controller.async_start(OperatingMode.DISCHARGE, power_w=-power)
        else:
            await controller.async_stop()
        self.coordinator.async_update_listeners()
        await self.coordinator.async_request_refresh()


class ReserveSocNumber(V2XChargerEntity[StatusCoordinator], NumberEntity):
    """The SoC below which the integration never discharges the vehicle."""

    @property
    def native_value(self) -> float:
        """The reserve in percent."""
        return float(self._data.controller.reserve_soc_pct)

    async def async_set_native_value(self, value: float) -> None:
        """Store the reserve in the entry's options (applied at once)."""
        entry = self.coordinator.config_entry
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_RESERVE_SOC: round(value)}
        )


class BatteryNumber(V2XBatteryEntity, NumberEntity):
    """A battery setting; every change is verified on the device."""

    entity_description: BatteryNumberDescription

    def __init__(self, data: BatteryRuntimeData, description: BatteryNumberDescription) -> None:
        """Create the number with the family's own maximum."""
        super().__init__(data, description)
        if description.max_fn is not None:
            self._attr_native_max_value = float(description.max_fn(data.battery.capabilities))

    @property
    def native_value(self) -> float | None:
        """The device's reported setting."""
        return self.entity_description.value_fn(self.coordinator.data)

    async def async_set_native_value(self, value: float) -> None:
        """Write the setting."""
        await async_battery_command(
            self.coordinator, self.entity_description.set_fn(self._data.battery, value)
        )
