"""Service actions: v2x.charge, v2x.discharge and v2x.stop."""

from __future__ import annotations

from datetime import timedelta

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, callback
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
import voluptuous as vol

from .const import (
    ATTR_DEVICE_ID,
    ATTR_DURATION,
    ATTR_POWER_W,
    ATTR_UNTIL_SOC,
    DOMAIN,
    SERVICE_CHARGE,
    SERVICE_DISCHARGE,
    SERVICE_STOP,
)
from .coordinator import V2XConfigEntry
from .devices.model import OperatingMode


def _positive_duration(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise vol.Invalid("duration must be positive")
    return value


SESSION_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_POWER_W): vol.All(vol.Coerce(int), vol.Range(min=1, max=100_000)),
        vol.Optional(ATTR_UNTIL_SOC): vol.All(vol.Coerce(float), vol.Range(min=1, max=100)),
        vol.Optional(ATTR_DURATION): vol.All(cv.time_period, _positive_duration),
    }
)
STOP_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})


def _entry_for_device(hass: HomeAssistant, device_id: str) -> V2XConfigEntry:
    """The loaded charger entry behind a device id, or a translated error."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="device_not_found",
            translation_placeholders={"device_id": device_id},
        )
    for entry_id in device.config_entries:
        entry: V2XConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            continue
        if entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"name": entry.title},
            )
        return entry
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="device_not_found",
        translation_placeholders={"device_id": device_id},
    )


async def _async_session(call: ServiceCall, mode: OperatingMode) -> None:
    entry = _entry_for_device(call.hass, call.data[ATTR_DEVICE_ID])
    duration: timedelta | None = call.data.get(ATTR_DURATION)
    await entry.runtime_data.controller.async_start(
        mode,
        power_w=call.data[ATTR_POWER_W],
        until_soc_pct=call.data.get(ATTR_UNTIL_SOC),
        duration_s=duration.total_seconds() if duration is not None else None,
    )
    entry.runtime_data.status.async_update_listeners()
    await entry.runtime_data.status.async_request_refresh()


async def _async_charge(call: ServiceCall) -> None:
    await _async_session(call, OperatingMode.CHARGE)


async def _async_discharge(call: ServiceCall) -> None:
    await _async_session(call, OperatingMode.DISCHARGE)


async def _async_stop(call: ServiceCall) -> None:
    entry = _entry_for_device(call.hass, call.data[ATTR_DEVICE_ID])
    await entry.runtime_data.controller.async_stop()
    entry.runtime_data.status.async_update_listeners()
    await entry.runtime_data.status.async_request_refresh()


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's services (once, in async_setup)."""
    hass.services.async_register(DOMAIN, SERVICE_CHARGE, _async_charge, schema=SESSION_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_DISCHARGE, _async_discharge, schema=SESSION_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_STOP, _async_stop, schema=STOP_SCHEMA)
