"""Switches: charger remote control; battery AC output, DC output, grid charging."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.switch import (
    SwitchDeviceClass,
    SwitchEntity,
    SwitchEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import FullCoordinator
from .devices.model import BatteryCapabilities, BatteryReading, PortableBattery
from .entity import V2XBatteryEntity, V2XChargerEntity, V2XSiteEntity
from .helpers import async_battery_command
from .models import BatteryRuntimeData, ChargerRuntimeData
from .runtime import EntityVisitor, V2XConfigEntry, visit
from .site import BackupSite

PARALLEL_UPDATES = 1

REMOTE_CONTROL = SwitchEntityDescription(key="remote_control", translation_key="remote_control")
AUTOMATIC_BACKUP = SwitchEntityDescription(
    key="automatic_backup",
    translation_key="automatic_backup",
    entity_category=EntityCategory.CONFIG,
)


@dataclass(frozen=True, kw_only=True)
class BatterySwitchDescription(SwitchEntityDescription):
    """A battery switch, created only where the family can switch it."""

    is_on_fn: Callable[[BatteryReading], bool | None]
    set_fn: Callable[[PortableBattery, bool], Awaitable[None]]
    exists_fn: Callable[[BatteryReading, BatteryCapabilities], bool]


BATTERY_SWITCHES: tuple[BatterySwitchDescription, ...] = (
    BatterySwitchDescription(
        key="ac_output",
        translation_key="ac_output",
        device_class=SwitchDeviceClass.OUTLET,
        is_on_fn=lambda reading: reading.state.output_enabled,
        set_fn=lambda battery, on: battery.async_set_output(enabled=on),
        exists_fn=lambda reading, _: reading.state.output_enabled is not None,
    ),
    BatterySwitchDescription(
        key="dc_output",
        translation_key="dc_output",
        is_on_fn=lambda reading: reading.dc_output_on,
        set_fn=lambda battery, on: battery.async_set_dc_output(on),
        exists_fn=lambda _, caps: caps.dc_output_switch,
    ),
    BatterySwitchDescription(
        key="grid_charging",
        translation_key="grid_charging",
        is_on_fn=lambda reading: reading.grid_charge_on,
        set_fn=lambda battery, on: battery.async_set_grid_charge(on),
        exists_fn=lambda _, caps: caps.grid_charge_switch,
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: V2XConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Create the switches the device supports."""
    async_add_entities(visit(entry.runtime_data, _Switches()))


class _Switches(EntityVisitor[Entity]):
    def charger(self, runtime: ChargerRuntimeData) -> list[Entity]:
        if not runtime.charger.capabilities.remote_control:
            return []
        return [RemoteControlSwitch(runtime, runtime.full, REMOTE_CONTROL)]

    def battery(self, runtime: BatteryRuntimeData) -> list[Entity]:
        reading, caps = runtime.coordinator.data, runtime.battery.capabilities
        return [
            BatterySwitch(runtime, desc)
            for desc in BATTERY_SWITCHES
            if desc.exists_fn(reading, caps)
        ]

    def site(self, runtime: BackupSite) -> list[Entity]:
        return [AutomaticBackupSwitch(runtime, AUTOMATIC_BACKUP)]


class RemoteControlSwitch(V2XChargerEntity[FullCoordinator], SwitchEntity):
    """On: Home Assistant controls the charger (watchdog armed). Off: the vendor app does."""

    @property
    def is_on(self) -> bool | None:
        """Whether the charger reports remote (Modbus) control."""
        control = self.coordinator.data.control
        return None if control is None else control.remote

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Take remote control without starting anything."""
        await self._data.controller.async_take_control()
        await self.coordinator.async_refresh()

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Stop and give control back to the charger's own logic."""
        await self._data.controller.async_release_control()
        await self.coordinator.async_refresh()


class BatterySwitch(V2XBatteryEntity, SwitchEntity):
    """A switch of a portable battery; every change is verified on the device."""

    entity_description: BatterySwitchDescription

    @property
    def is_on(self) -> bool | None:
        """The device's reported state."""
        return self.entity_description.is_on_fn(self.coordinator.data)

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch on."""
        await async_battery_command(
            self.coordinator, self.entity_description.set_fn(self._data.battery, True)
        )

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch off."""
        await async_battery_command(
            self.coordinator, self.entity_description.set_fn(self._data.battery, False)
        )


class AutomaticBackupSwitch(V2XSiteEntity, SwitchEntity):
    """On: an outage switches the site to vehicle power by itself."""

    @property
    def is_on(self) -> bool:
        """Whether automatic backup is on."""
        return self.coordinator.data.automatic

    async def async_turn_on(self, **kwargs: Any) -> None:
        """Switch automatic backup on."""
        await self.coordinator.async_set_automatic(True)

    async def async_turn_off(self, **kwargs: Any) -> None:
        """Switch automatic backup off (manual start_backup still works)."""
        await self.coordinator.async_set_automatic(False)
