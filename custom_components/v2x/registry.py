"""Device-registry look-ups that hold on every Home Assistant release V2X supports.

Home Assistant 2026 made a device belong to one config entry: identifiers are no
longer unique across entries, ``async_get_device(identifiers=...)`` is deprecated,
and ``DeviceEntry.config_entries`` gave way to ``config_entry_id``. Looking a
device up among its own entry's devices works the same on 2025.4 and on 2026.
"""

from __future__ import annotations

from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

# Home Assistant 2026 names the device a device is connected through by its registry
# id (``via_device_id``); 2025.4 by an identifier (``via_device``, deprecated since).
_VIA_BY_ID: Final = "via_device_id" in (
    getattr(dr.DeviceInfo, "__dataclass_fields__", None) or dr.DeviceInfo.__annotations__
)


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


def link_to_parent(
    info: dr.DeviceInfo, hass: HomeAssistant, entry_id: str, identifier: tuple[str, str]
) -> dr.DeviceInfo:
    """Link a device to the device it belongs under, the way this release wants.

    Where the link goes by registry id the parent must be registered already.
    """
    if not _VIA_BY_ID:
        info["via_device"] = identifier
    elif (parent := entry_device(hass, entry_id, identifier)) is not None:
        _link(info, parent)
    return info


def link_to_device(info: dr.DeviceInfo, parent: dr.DeviceEntry) -> dr.DeviceInfo:
    """Link a device to a registered device (of any entry): "connected via" it."""
    if _VIA_BY_ID:
        _link(info, parent)
    else:
        info["via_device"] = next(iter(sorted(parent.identifiers)))
    return info


def _link(info: dr.DeviceInfo, parent: dr.DeviceEntry) -> None:
    target: Any = info  # a TypedDict up to 2026.10, a dataclass after
    if isinstance(target, dict):
        target["via_device_id"] = parent.id
    else:
        target.via_device_id = parent.id
