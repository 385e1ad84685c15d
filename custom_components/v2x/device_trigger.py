"""Device triggers of backup sites: the outage events, offered in the automation editor."""

from __future__ import annotations

from typing import Any, Final

from homeassistant.components.device_automation import DEVICE_TRIGGER_BASE_SCHEMA
from homeassistant.components.homeassistant.triggers import event as event_trigger
from homeassistant.const import (
    CONF_DEVICE_ID,
    CONF_DOMAIN,
    CONF_EVENT_DATA,
    CONF_PLATFORM,
    CONF_TYPE,
)
from homeassistant.core import CALLBACK_TYPE, HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.trigger import TriggerActionType, TriggerInfo
from homeassistant.helpers.typing import ConfigType
import voluptuous as vol

from .backup.machine import (
    EVENT_BACKUP_ENDED,
    EVENT_BACKUP_STARTED,
    EVENT_PARK_REQUESTED,
    EVENT_RESERVE_REACHED,
    EVENT_SOURCE_FAILED,
)
from .const import CONF_SITE_TYPE, DOMAIN, SITE_BUILDING, SITE_DEVICE_PREFIX, SITE_HOUSE

CONF_EVENT_TYPE: Final = "event_type"
TRIGGER_TYPES: Final = {
    "backup_started": EVENT_BACKUP_STARTED,
    "backup_ended": EVENT_BACKUP_ENDED,
    "reserve_reached": EVENT_RESERVE_REACHED,
    "source_failed": EVENT_SOURCE_FAILED,
    "elevator_park_requested": EVENT_PARK_REQUESTED,
}

TRIGGER_SCHEMA = DEVICE_TRIGGER_BASE_SCHEMA.extend({vol.Required(CONF_TYPE): vol.In(TRIGGER_TYPES)})


BUILDING_ONLY: Final = frozenset({"elevator_park_requested"})
"""Triggers a house has no use for (it has no elevator)."""


def _site_kind(hass: HomeAssistant, device_id: str) -> str | None:
    """The kind of the backup site behind a device (house, building); None: no site.

    The site's entry is the one its device identifier names (``site_<entry id>``).
    """
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    for domain, identifier in device.identifiers:
        if domain == DOMAIN and identifier.startswith(SITE_DEVICE_PREFIX):
            entry = hass.config_entries.async_get_entry(identifier.removeprefix(SITE_DEVICE_PREFIX))
            data = entry.data if entry is not None else {}
            return str(data.get(CONF_SITE_TYPE, SITE_HOUSE))
    return None


async def async_get_triggers(hass: HomeAssistant, device_id: str) -> list[dict[str, Any]]:
    """The outage events of a backup-site device (the elevator's for buildings only)."""
    site_kind = _site_kind(hass, device_id)
    if site_kind is None:
        return []
    return [
        {CONF_PLATFORM: "device", CONF_DOMAIN: DOMAIN, CONF_DEVICE_ID: device_id, CONF_TYPE: kind}
        for kind in TRIGGER_TYPES
        if kind not in BUILDING_ONLY or site_kind == SITE_BUILDING
    ]


async def async_attach_trigger(
    hass: HomeAssistant,
    config: ConfigType,
    action: TriggerActionType,
    trigger_info: TriggerInfo,
) -> CALLBACK_TYPE:
    """Listen for the site's event of that type."""
    event_config = event_trigger.TRIGGER_SCHEMA(
        {
            CONF_PLATFORM: "event",
            CONF_EVENT_TYPE: TRIGGER_TYPES[config[CONF_TYPE]],
            CONF_EVENT_DATA: {CONF_DEVICE_ID: config[CONF_DEVICE_ID]},
        }
    )
    return await event_trigger.async_attach_trigger(
        hass, event_config, action, trigger_info, platform_type="device"
    )
