"""The Home Assistant layer's entry points: set up, update and unload a config entry.

Home Assistant calls these through the package's ``__init__``, which imports this
module in Home Assistant's import executor on first use (see docs/core.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.typing import ConfigType

from .building import BuildingManager
from .building_entities import async_register_building_device
from .const import CONF_SOURCES, LOGGER
from .device_setup import async_setup_battery, async_setup_charger
from .models import EntryKind, entry_kind, migrated_data
from .runtime import EntryRuntime, V2XConfigEntry, as_charger, loaded
from .services import async_setup_services
from .site import BackupSite, site_owner_key
from .site_store import SiteStore


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once (ECHONET Lite discovery starts with an ECHONET entry)."""
    async_setup_services(hass)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """1.1 -> 1.2: store what the entry is (``kind``); sites and buildings lose "family"."""
    if entry.version > 1:
        return False  # made by a newer version of this integration
    if entry.minor_version < 2:
        data = migrated_data(entry.data)
        if data is None:
            return False
        hass.config_entries.async_update_entry(entry, data=data, minor_version=2)
    return True


async def _async_setup_site(hass: HomeAssistant, entry: V2XConfigEntry) -> BackupSite:
    site = BackupSite(hass, entry)
    entry.runtime_data = site
    await site.async_start()
    return site


async def _async_setup_building(hass: HomeAssistant, entry: V2XConfigEntry) -> BuildingManager:
    manager = BuildingManager(hass, entry)
    entry.runtime_data = manager
    async_register_building_device(hass, entry)
    await manager.async_start()
    return manager


_SETUP: Final[
    dict[EntryKind, Callable[[HomeAssistant, V2XConfigEntry], Awaitable[EntryRuntime]]]
] = {
    EntryKind.CHARGER: async_setup_charger,
    EntryKind.BATTERY: async_setup_battery,
    EntryKind.SITE: _async_setup_site,
    EntryKind.BUILDING: _async_setup_building,
}


async def async_setup_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Connect to the device (or start the site or building) and set up its platforms."""
    kind = entry_kind(entry.data)
    if kind is None:  # pragma: no cover - a migration that failed stops before this
        return False
    runtime = await _SETUP[kind](hass, entry)
    _listen_for_updates(entry)
    await hass.config_entries.async_forward_entry_setups(entry, runtime.platforms)
    return True


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
        await entry.runtime_data.async_apply_options()

    entry.async_on_unload(entry.add_update_listener(_async_updated))


async def async_unload_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Stop what runs, unload the platforms, then close the connection."""
    runtime = entry.runtime_data
    await runtime.async_stop()
    unloaded = await hass.config_entries.async_unload_platforms(entry, runtime.platforms)
    if unloaded:
        await runtime.async_close()
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    """A removed site hands back the chargers it still runs and forgets its state."""
    if entry_kind(entry.data) is EntryKind.SITE:
        await _async_remove_site(hass, entry)


async def _async_remove_site(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    """A removed site hands back the chargers it still runs, and forgets its state.

    A recharge after an outage (or a backup, if the site goes mid-outage) would run
    on with nobody to end it, and the charger would stay under remote control: each
    charger whose session is the site's is handed back to its own logic.
    """
    owner = site_owner_key(entry.entry_id)
    for source_id in entry.data.get(CONF_SOURCES, []):
        source = hass.config_entries.async_get_entry(source_id)
        if source is None:
            continue
        data = as_charger(loaded(source))
        if data is None or data.controller.owner != owner:
            continue
        try:
            await data.controller.async_release_control()
        except HomeAssistantError as err:
            LOGGER.warning("%s: handing %s back failed: %s", entry.title, source.title, err)
    await SiteStore(hass, entry.entry_id).async_remove()
