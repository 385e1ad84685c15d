"""Set up a charger or a portable-battery entry: connect, identify, start polling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .connect import async_connection
from .const import (
    CONF_CAPACITY,
    CONF_FULL_INTERVAL,
    CONF_MAX_DISCHARGE_POWER,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_WATCHDOG,
    DOMAIN,
)
from .controller import ChargerController
from .coordinator import BatteryCoordinator, FullCoordinator, StatusCoordinator
from .devices.energy import EnergyCounter
from .devices.errors import DeviceError
from .devices.model import AnnouncingCharger, DeviceIdentity
from .echonet_support import async_start_discovery
from .errors import not_ready
from .models import (
    BatteryRuntimeData,
    ChargerRuntimeData,
    async_close_device,
    battery_poll_s,
    entry_family,
    option,
)
from .registry import entry_device


async def async_setup_charger(hass: HomeAssistant, entry: ConfigEntry[Any]) -> ChargerRuntimeData:
    """Connect to the charger, read its identity and poll it at two rates."""
    family = entry_family(entry)
    try:
        connection = await async_connection(
            hass, family, entry.data, user=entry.entry_id, watchdog_s=option(entry, CONF_WATCHDOG)
        )
    except DeviceError as err:
        raise not_ready(err) from err
    if family.network_scan:
        async_start_discovery(hass, entry.entry_id)  # follows the unit's address
    charger = family.create_charger(connection)
    try:
        identity = await charger.async_read_identity()
    except DeviceError as err:
        await async_close_device(hass, entry, family, charger)
        raise not_ready(err) from err
    controller = ChargerController(
        hass,
        charger,
        reserve_soc_pct=option(entry, CONF_RESERVE_SOC),
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
        interval_s=option(entry, CONF_STATUS_INTERVAL),
    )
    full = FullCoordinator(
        hass,
        entry,
        charger=charger,
        controller=controller,
        identity=identity,
        interval_s=option(entry, CONF_FULL_INTERVAL),
        status=status,
    )
    runtime = ChargerRuntimeData(
        hass=hass,
        entry=entry,
        family=family,
        charger=charger,
        identity=identity,
        status=status,
        full=full,
        controller=controller,
        energy=energy,
    )
    await _async_first_refresh(runtime, full, status)
    # The controller must run every poll even if every entity is disabled.
    entry.async_on_unload(status.async_add_listener(lambda: None))
    if isinstance(charger, AnnouncingCharger):
        entry.async_on_unload(await charger.async_listen(status.async_announced))
    return runtime


async def async_setup_battery(hass: HomeAssistant, entry: ConfigEntry[Any]) -> BatteryRuntimeData:
    """Connect to the battery, read its identity and poll it."""
    family = entry_family(entry)
    connection = await async_connection(hass, family, entry.data, user=entry.entry_id)
    battery = family.create_battery(connection)
    battery.capacity_kwh = entry.options.get(CONF_CAPACITY)
    try:
        identity = await battery.async_read_identity()
    except DeviceError as err:
        await async_close_device(hass, entry, family, battery)
        raise not_ready(err) from err
    poll_s = battery_poll_s(entry, family)
    energy = EnergyCounter(max_gap_s=3 * poll_s)
    coordinator = BatteryCoordinator(hass, entry, battery=battery, energy=energy, interval_s=poll_s)
    runtime = BatteryRuntimeData(
        hass=hass,
        entry=entry,
        family=family,
        battery=battery,
        identity=identity,
        coordinator=coordinator,
        energy=energy,
    )
    await _async_first_refresh(runtime, coordinator)
    return runtime


async def _async_first_refresh(
    runtime: ChargerRuntimeData | BatteryRuntimeData, *coordinators: DataUpdateCoordinator[Any]
) -> None:
    """Make ``runtime`` its entry's and poll once; a failed first poll closes it again."""
    runtime.entry.runtime_data = runtime
    try:
        for coordinator in coordinators:
            await coordinator.async_config_entry_first_refresh()
    except ConfigEntryNotReady:
        await runtime.async_close()
        raise


def _device_id_lookup(
    hass: HomeAssistant, entry: ConfigEntry[Any], identity: DeviceIdentity
) -> Callable[[], str | None]:
    def device_id() -> str | None:
        device = entry_device(hass, entry.entry_id, (DOMAIN, identity.serial_number))
        return device.id if device else None

    return device_id
