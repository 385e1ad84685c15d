"""Device-registry look-ups that hold on every Home Assistant release V2X supports.

Home Assistant 2026 made a device belong to one config entry: identifiers are no
longer unique across entries, ``async_get_device(identifiers=...)`` is deprecated,
and ``DeviceEntry.config_entries`` gave way to ``config_entry_id``. Looking a
device up among its own entry's devices works the same on 2025.4 and on 2026.
"""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr


def entry_device(
    hass: HomeAssistant, entry_id: str, identifier: tuple[str, str]
) -> dr.DeviceEntry | None:
    """The device of config entry ``entry_id`` with ``identifier``, if registered."""
    registry = dr.async_get(hass)
    for device in dr.async_entries_for_config_entry(registry, entry_id):
        if identifier in device.identifiers:
            return device
    return None


def device_entry_ids(device: dr.DeviceEntry) -> list[str]:
    """The config entries a device belongs to (one since Home Assistant 2026)."""
    single = getattr(device, "config_entry_id", None)
    if isinstance(single, str):
        return [single]
    return list(device.config_entries)
