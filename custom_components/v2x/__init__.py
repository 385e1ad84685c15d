"""The V2X integration: vehicle-to-home and vehicle-to-building for Home Assistant."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.const import CONF_HOST, CONF_PORT, Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.typing import ConfigType

from .const import (
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_MAX_DISCHARGE_POWER,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_UNIT_ID,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DOMAIN,
)
from .controller import ChargerController
from .coordinator import ChargerRuntimeData, FullCoordinator, StatusCoordinator, V2XConfigEntry
from .devices.energy import EnergyCounter
from .devices.errors import DeviceError
from .devices.factory import create_charger
from .services import async_setup_services

PLATFORMS: list[Platform] = [
    Platform.BINARY_SENSOR,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.SWITCH,
]

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once, whether or not an entry is loaded."""
    async_setup_services(hass)
    return True


def _option(entry: V2XConfigEntry, key: str) -> int:
    return int(entry.options.get(key, DEFAULT_OPTIONS[key]))


async def async_setup_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Connect to the charger, read its identity and start polling."""
    charger = create_charger(
        entry.data[CONF_FAMILY],
        host=entry.data[CONF_HOST],
        port=entry.data[CONF_PORT],
        unit_id=entry.data[CONF_UNIT_ID],
        watchdog_s=_option(entry, CONF_WATCHDOG),
        timeout_s=DEFAULT_REQUEST_TIMEOUT_S,
    )
    try:
        identity = await charger.async_read_identity()
    except DeviceError as err:
        await charger.async_close()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=err.translation_key,
            translation_placeholders={"error": str(err)},
        ) from err

    def device_id() -> str | None:
        device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, identity.serial_number)})
        return device.id if device else None

    controller = ChargerController(
        hass,
        charger,
        reserve_soc_pct=_option(entry, CONF_RESERVE_SOC),
        max_discharge_power_w=entry.options.get(CONF_MAX_DISCHARGE_POWER),
        device_id=device_id,
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
        await charger.async_close()
        raise
    # The controller must run every poll even if every entity is disabled.
    entry.async_on_unload(status.async_add_listener(lambda: None))
    entry.async_on_unload(entry.add_update_listener(_async_options_updated))
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    return True


async def _async_options_updated(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    """Apply new options at once, without reconnecting."""
    data = entry.runtime_data
    data.status.update_interval = _seconds(entry, CONF_STATUS_INTERVAL)
    data.full.update_interval = _seconds(entry, CONF_FULL_INTERVAL)
    data.charger.watchdog_s = _option(entry, CONF_WATCHDOG)
    data.controller.reserve_soc_pct = _option(entry, CONF_RESERVE_SOC)
    data.controller.max_discharge_power_w = entry.options.get(CONF_MAX_DISCHARGE_POWER)
    data.status.async_update_listeners()


def _seconds(entry: V2XConfigEntry, key: str) -> timedelta:
    return timedelta(seconds=_option(entry, key))


async def async_unload_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Stop any running session, unload the platforms and close the connection."""
    data = entry.runtime_data
    await data.controller.async_shutdown()
    unloaded = await hass.config_entries.async_unload_platforms(entry, PLATFORMS)
    if unloaded:
        await data.charger.async_close()
    return unloaded
