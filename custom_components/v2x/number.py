"""Numbers of a V2X charger: the power setpoint and the reserve SoC."""

from __future__ import annotations

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .const import CONF_RESERVE_SOC
from .coordinator import StatusCoordinator, V2XConfigEntry
from .devices.model import OperatingMode
from .entity import V2XChargerEntity

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


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the numbers."""
    status = entry.runtime_data.status
    async_add_entities(
        [
            PowerSetpointNumber(entry, status, POWER_SETPOINT),
            ReserveSocNumber(entry, status, RESERVE_SOC),
        ]
    )


class PowerSetpointNumber(V2XChargerEntity[StatusCoordinator], NumberEntity):
    """Signed setpoint: > 0 charges, < 0 discharges (never below the reserve), 0 stops."""

    @property
    def native_max_value(self) -> float:
        """The charger's maximum power."""
        return float(self._entry.runtime_data.controller.max_available_power_w)

    @property
    def native_min_value(self) -> float:
        """Minus the charger's maximum power."""
        return -self.native_max_value

    @property
    def native_value(self) -> float:
        """The setpoint the integration holds (0 without a session)."""
        controller = self._entry.runtime_data.controller
        if controller.session is None:
            return 0.0
        return float(controller.setpoint_w or 0)

    async def async_set_native_value(self, value: float) -> None:
        """Start charging, discharging, or stop."""
        controller = self._entry.runtime_data.controller
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
        return float(self._entry.runtime_data.controller.reserve_soc_pct)

    async def async_set_native_value(self, value: float) -> None:
        """Store the reserve in the entry's options (applied at once)."""
        self.hass.config_entries.async_update_entry(
            self._entry, options={**self._entry.options, CONF_RESERVE_SOC: round(value)}
        )
