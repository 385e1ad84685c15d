"""The V2X integration: vehicle-to-home and vehicle-to-building for Home Assistant."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from homeassistant.const import CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.typing import ConfigType

from .building import BuildingManager
from .building_entities import async_register_building_device
from .const import (
    BATTERY_FAMILIES,
    CONF_CAPACITY,
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_MAX_DISCHARGE_POWER,
    CONF_POLL_INTERVAL,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_UNIT_ID,
    CONF_WATCHDOG,
    DEFAULT_BATTERY_POLL_S,
    DEFAULT_BATTERY_TIMEOUT_S,
    DEFAULT_OPTIONS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DOMAIN,
    FAMILY_ECHONET,
    FAMILY_SITE,
    FAMILY_V2B,
)
from .controller import ChargerController
from .coordinator import (
    BatteryCoordinator,
    BatteryRuntimeData,
    ChargerRuntimeData,
    FullCoordinator,
    StatusCoordinator,
    V2XConfigEntry,
)
from .devices.energy import EnergyCounter
from .devices.errors import DeviceError
from .devices.factory import create_battery, create_charger
from .devices.model import Charger, DeviceIdentity
from .echonet_support import (
    async_acquire_endpoint,
    async_release_endpoint,
    async_start_discovery,
    async_stop_discovery,
)
from .errors import not_ready
from .registry import entry_device
from .services import async_setup_services
from .site import BackupSite

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]
V2B_PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.DATETIME,
    Platform.NUMBER,
    Platform.SENSOR,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once (ECHONET Lite discovery starts with an ECHONET entry)."""
    async_setup_services(hass)
    return True


def _option(entry: V2XConfigEntry, key: str, default: int | None = None) -> int:
    fallback = DEFAULT_OPTIONS[key] if default is None else default
    return int(entry.options.get(key, fallback))


def _battery_poll_s(entry: V2XConfigEntry) -> int:
    return _option(entry, CONF_POLL_INTERVAL, DEFAULT_BATTERY_POLL_S[entry.data[CONF_FAMILY]])


async def async_setup_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Connect to the device, read its identity and start polling."""
    family = entry.data[CONF_FAMILY]
    if family == FAMILY_V2B:
        manager = BuildingManager(hass, entry)
        entry.runtime_data = manager
        async_register_building_device(hass, entry)
        await manager.async_start()
        _listen_for_updates(entry)
        await hass.config_entries.async_forward_entry_setups(entry, V2B_PLATFORMS)
        return True
    if family == FAMILY_SITE:
        site = BackupSite(hass, entry)
        entry.runtime_data = site
        await site.async_start()
    elif family in BATTERY_FAMILIES:
        await _async_setup_battery(hass, entry)
    else:
        await _async_setup_charger(hass, entry)
    _listen_for_updates(entry)
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_setup_charger(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    endpoint = None
    if entry.data[CONF_FAMILY] == FAMILY_ECHONET:
        try:
            endpoint = await async_acquire_endpoint(hass, entry.entry_id)
        except DeviceError as err:
            raise not_ready(err) from err
        async_start_discovery(hass, entry.entry_id)  # follows the unit's address
    charger = create_charger(
        entry.data[CONF_FAMILY],
        host=entry.data[CONF_HOST],
        port=entry.data[CONF_PORT],
        unit_id=entry.data.get(CONF_UNIT_ID, 0),
        watchdog_s=_option(entry, CONF_WATCHDOG),
        timeout_s=DEFAULT_REQUEST_TIMEOUT_S,
        echonet_endpoint=endpoint,
    )
    try:
        identity = await charger.async_read_identity()
    except DeviceError as err:
        await _async_close_charger(hass, entry, charger)
        raise not_ready(err) from err
    controller = ChargerController(
        hass,
        charger,
        reserve_soc_pct=_option(entry, CONF_RESERVE_SOC),
        max_discharge_power_w=entry.options.get(CONF_MAX_DISCHARGE_POWER),
        device_id=_device_id_lookup(hass, entry, identity),
    )
    energy = EnergyCounter()
    status = StatusCoordinator(
        hass,
        entry,
        charger=charger,
        controller=controller,
        energy=energy,
        interval_s=_option(entry, CONF_STATUS_INTERVAL),
    )
    full = FullCoordinator(
        hass,
        entry,
        charger=charger,
        controller=controller,
        identity=identity,
        interval_s=_option(entry, CONF_FULL_INTERVAL),
        status=status,
    )
    entry.runtime_data = ChargerRuntimeData(
        charger=charger,
        identity=identity,
        status=status,
        full=full,
        controller=controller,
        energy=energy,
    )
    try:
        await full.async_config_entry_first_refresh()
        await status.async_config_entry_first_refresh()
    except ConfigEntryNotReady:
        await _async_close_charger(hass, entry, charger)
        raise
    # The controller must run every poll even if every entity is disabled.
    entry.async_on_unload(status.async_add_listener(lambda: None))


async def _async_setup_battery(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    battery = create_battery(
        entry.data[CONF_FAMILY],
        host=entry.data[CONF_HOST],
        port=entry.data[CONF_PORT],
        session=async_get_clientsession(hass),
        timeout_s=DEFAULT_BATTERY_TIMEOUT_S,
    )
    battery.capacity_kwh = entry.options.get(CONF_CAPACITY)
    try:
        identity = await battery.async_read_identity()
    except DeviceError as err:
        await battery.async_close()
        raise not_ready(err) from err
    energy = EnergyCounter(max_gap_s=3 * _battery_poll_s(entry))
    coordinator = BatteryCoordinator(
        hass, entry, battery=battery, energy=energy, interval_s=_battery_poll_s(entry)
    )
    entry.runtime_data = BatteryRuntimeData(
        battery=battery, identity=identity, coordinator=coordinator, energy=energy
    )
    try:
        await coordinator.async_config_entry_first_refresh()
    except ConfigEntryNotReady:
        await battery.async_close()
        raise


async def _async_close_charger(
    hass: HomeAssistant, entry: V2XConfigEntry, charger: Charger
) -> None:
    await charger.async_close()
    if entry.data[CONF_FAMILY] == FAMILY_ECHONET:
        await async_stop_discovery(hass, entry.entry_id)
        async_release_endpoint(hass, entry.entry_id)


def _device_id_lookup(
    hass: HomeAssistant, entry: V2XConfigEntry, identity: DeviceIdentity
) -> Callable[[], str | None]:
    def device_id() -> str | None:
        device = entry_device(hass, entry.entry_id, (DOMAIN, identity.serial_number))
        return device.id if device else None

    return device_id


def _listen_for_updates(entry: V2XConfigEntry) -> None:
    """Options apply at once; new data (reconfigure, a device that moved) reloads.

    The listener is the one place that decides: the flows only update the entry
    (``async_update_and_abort``, ``reload_on_update=False``), as Home Assistant
    asks of an entry with an update listener.
    """
    set_up_with = dict(entry.data)

    async def _async_updated(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
        if dict(entry.data) != set_up_with:
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        await _async_options_updated(hass, entry)

    entry.async_on_unload(entry.add_update_listener(_async_updated))


async def _async_options_updated(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    """Apply new options at once, without reconnecting."""
    data = entry.runtime_data
    if isinstance(data, BackupSite | BuildingManager):
        data.apply_options()
        return
    if isinstance(data, BatteryRuntimeData):
        data.coordinator.update_interval = timedelta(seconds=_battery_poll_s(entry))
        data.energy.max_gap_s = 3 * _battery_poll_s(entry)
        data.battery.capacity_kwh = entry.options.get(CONF_CAPACITY)
        await data.coordinator.async_request_refresh()
        return
    data.status.update_interval = timedelta(seconds=_option(entry, CONF_STATUS_INTERVAL))
    data.full.update_interval = timedelta(seconds=_option(entry, CONF_FULL_INTERVAL))
    data.charger.watchdog_s = _option(entry, CONF_WATCHDOG)
    data.controller.reserve_soc_pct = _option(entry, CONF_RESERVE_SOC)
    data.controller.max_discharge_power_w = entry.options.get(CONF_MAX_DISCHARGE_POWER)
    data.status.async_update_listeners()


async def async_unload_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Stop any running session, unload the platforms and close the connection."""
    data = entry.runtime_data
    if isinstance(data, BackupSite):
        await data.async_stop()
        return await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if isinstance(data, BuildingManager):
        await data.async_stop()
        return await hass.config_entries.async_unload_platforms(entry, V2B_PLATFORMS)
    if isinstance(data, ChargerRuntimeData):
        await data.controller.async_shutdown()
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        if isinstance(data, ChargerRuntimeData):
            await _async_close_charger(hass, entry, data.charger)
        else:
            await data.battery.async_close()
    return unloaded
