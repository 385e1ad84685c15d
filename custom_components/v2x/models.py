"""What a config entry of this integration is, and what a device entry owns once loaded.

Four kinds of entry: a charger, a portable battery (both devices of a family in the
device registry, :mod:`.devices.registry`), a backup site and a building. The kind
is stored in the entry's data (``kind``); devices store their family as well.
The two device runtimes live here; the site's and the building's are
:class:`~.site.BackupSite` and :class:`~.building.BuildingManager`. What the
platforms see of all four is :mod:`.runtime`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Final, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant

from .connect import async_release
from .const import (
    CONF_CAPACITY,
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_KIND,
    CONF_MAX_DISCHARGE_POWER,
    CONF_POLL_INTERVAL,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
)
from .devices.family import DeviceFamily
from .devices.registry import FAMILIES, family as device_family
from .echonet_support import async_stop_discovery

if TYPE_CHECKING:
    from .controller import ChargerController
    from .coordinator import BatteryCoordinator, FullCoordinator, StatusCoordinator
    from .devices.energy import EnergyCounter
    from .devices.model import Charger, DeviceIdentity, PortableBattery

# Entries made before the kind was stored (config entry version 1.1) kept a "family"
# of "site" or "v2b" for the two systems.
_LEGACY_SYSTEM_FAMILIES: Final = {"site": "site", "v2b": "building"}


class EntryKind(StrEnum):
    """What a config entry stands for."""

    CHARGER = "charger"
    BATTERY = "battery"
    SITE = "site"
    BUILDING = "building"

    @property
    def is_device(self) -> bool:
        """A charger or a battery: one device of a family, reached over the network."""
        return self in (EntryKind.CHARGER, EntryKind.BATTERY)


def entry_kind(data: Mapping[str, Any]) -> EntryKind | None:
    """The kind of an entry from its data (also data stored by version 1.1), or None."""
    if (stored := data.get(CONF_KIND)) is not None:
        try:
            return EntryKind(stored)
        except ValueError:
            return None
    family = str(data.get(CONF_FAMILY))
    if family in _LEGACY_SYSTEM_FAMILIES:
        return EntryKind(_LEGACY_SYSTEM_FAMILIES[family])
    if family in FAMILIES:
        return EntryKind(FAMILIES[family].kind.value)
    return None


def migrated_data(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """Version 1.1 data as version 1.2 stores it (kind added), or None if unknown."""
    kind = entry_kind(data)
    if kind is None:
        return None
    new = {**data, CONF_KIND: kind.value}
    if not kind.is_device:
        new.pop(CONF_FAMILY, None)
    return new


# -- what a loaded entry owns -------------------------------------------------------------

DEVICE_PLATFORMS: Final = (
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
)
BUILDING_PLATFORMS: Final = (
    Platform.BINARY_SENSOR,
    Platform.DATETIME,
    Platform.NUMBER,
    Platform.SENSOR,
)


def entry_family(entry: ConfigEntry[Any]) -> DeviceFamily:
    """The device family a charger or battery entry was made for."""
    return device_family(entry.data[CONF_FAMILY])


def default_device_options(family: DeviceFamily) -> dict[str, Any]:
    """The options a new charger or battery entry starts with."""
    if family.poll is not None:
        return {CONF_POLL_INTERVAL: family.poll.default_s}
    return dict(DEFAULT_OPTIONS)


def option(entry: ConfigEntry[Any], key: str, default: int | None = None) -> int:
    """An integer option of a device entry, or its default."""
    fallback = DEFAULT_OPTIONS[key] if default is None else default
    return int(entry.options.get(key, fallback))


def battery_poll_s(entry: ConfigEntry[Any], family: DeviceFamily) -> int:
    """How often a portable battery is polled."""
    return option(entry, CONF_POLL_INTERVAL, family.poll.default_s if family.poll else None)


@dataclass(kw_only=True)
class _DeviceRuntime:
    """What every loaded device entry owns, charger or battery."""

    platforms: ClassVar[tuple[Platform, ...]] = DEVICE_PLATFORMS

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    family: DeviceFamily
    identity: DeviceIdentity
    energy: EnergyCounter


@dataclass(kw_only=True)
class ChargerRuntimeData(_DeviceRuntime):
    """Everything a loaded charger entry owns."""

    kind: ClassVar[EntryKind] = EntryKind.CHARGER

    charger: Charger
    status: StatusCoordinator
    full: FullCoordinator
    controller: ChargerController

    async def async_apply_options(self) -> None:
        """New poll rates, watchdog, reserve and power limit, without reconnecting."""
        entry = self.entry
        self.status.update_interval = timedelta(seconds=option(entry, CONF_STATUS_INTERVAL))
        self.full.update_interval = timedelta(seconds=option(entry, CONF_FULL_INTERVAL))
        self.charger.watchdog_s = option(entry, CONF_WATCHDOG)
        self.controller.reserve_soc_pct = option(entry, CONF_RESERVE_SOC)
        self.controller.max_discharge_power_w = entry.options.get(CONF_MAX_DISCHARGE_POWER)
        self.status.async_update_listeners()

    async def async_stop(self) -> None:
        """End a running session: the charger is left idle (or to its watchdog)."""
        await self.controller.async_shutdown()

    async def async_close(self) -> None:
        """Close the connection and what it shared."""
        await async_close_device(self.hass, self.entry, self.family, self.charger)


@dataclass(kw_only=True)
class BatteryRuntimeData(_DeviceRuntime):
    """Everything a loaded portable-battery entry owns."""

    kind: ClassVar[EntryKind] = EntryKind.BATTERY

    battery: PortableBattery
    coordinator: BatteryCoordinator

    async def async_apply_options(self) -> None:
        """New poll rate and capacity, then a fresh reading."""
        poll_s = battery_poll_s(self.entry, self.family)
        self.coordinator.update_interval = timedelta(seconds=poll_s)
        self.energy.max_gap_s = 3 * poll_s
        self.battery.capacity_kwh = self.entry.options.get(CONF_CAPACITY)
        await self.coordinator.async_request_refresh()

    async def async_stop(self) -> None:
        """Nothing runs on a battery between two polls."""

    async def async_close(self) -> None:
        """Close the connection and what it shared."""
        await async_close_device(self.hass, self.entry, self.family, self.battery)


async def async_close_device(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    family: DeviceFamily,
    device: Charger | PortableBattery,
) -> None:
    """Close a device of ``entry`` and let go of its discovery and shared endpoint."""
    await device.async_close()
    if family.network_scan:
        await async_stop_discovery(hass, entry.entry_id)
    async_release(hass, family, entry.entry_id)


type DeviceRuntime = ChargerRuntimeData | BatteryRuntimeData


def of_kind(runtime: object, *kinds: EntryKind) -> bool:
    """Whether ``runtime`` is the runtime of an entry of one of ``kinds``.

    Each runtime class names its kind, so this is the one test of what a runtime is.
    """
    return getattr(runtime, "kind", None) in kinds


def device_runtime(entry: ConfigEntry[Any] | None) -> DeviceRuntime | None:
    """The runtime of a loaded charger or battery entry, else None.

    For the systems (site, building) that use devices of other entries.
    """
    runtime = getattr(entry, "runtime_data", None)
    if of_kind(runtime, EntryKind.CHARGER, EntryKind.BATTERY):
        return cast("DeviceRuntime", runtime)
    return None


def charger_runtime(entry: ConfigEntry[Any] | None) -> ChargerRuntimeData | None:
    """The runtime of a loaded charger entry, else None."""
    runtime = getattr(entry, "runtime_data", None)
    return cast("ChargerRuntimeData", runtime) if of_kind(runtime, EntryKind.CHARGER) else None
