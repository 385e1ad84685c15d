"""Diagnostics for V2X devices, serial numbers and hosts redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant

from .building import BuildingManager
from .coordinator import ChargerRuntimeData, V2XConfigEntry
from .site import BackupSite

TO_REDACT = {CONF_HOST, "serial_number", "unique_id", "title", "sn"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: V2XConfigEntry
) -> dict[str, Any]:
    """Everything useful to debug a device, without identifying it."""
    data = entry.runtime_data
    entry_info = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": dict(entry.options),
        }
    }
    if isinstance(data, BackupSite):
        status = data.data
        return async_redact_data(
            entry_info
            | {
                "machine": data.machine.snapshot(),
                "status": asdict(status) if status else None,
                "automatic": data.automatic,
            },
            TO_REDACT,
        )
    if isinstance(data, BuildingManager):
        return async_redact_data(entry_info | data.diagnostics(), TO_REDACT)
    common = entry_info | {
        "identity": asdict(data.identity),
        "energy": {
            "charged_kwh": data.energy.charged_kwh,
            "discharged_kwh": data.energy.discharged_kwh,
        },
    }
    if isinstance(data, ChargerRuntimeData):
        controller = data.controller
        session = controller.session
        specific: dict[str, Any] = {
            "capabilities": asdict(data.charger.capabilities),
            "status": asdict(data.status.data) if data.status.data else None,
            "full": asdict(data.full.data) if data.full.data else None,
            "controller": {
                "mode": controller.mode.value,
                "session": asdict(session) if session else None,
                "requested_w": controller.requested_w,
                "setpoint_w": controller.setpoint_w,
                "last_end_reason": controller.last_end_reason,
                "limits": asdict(controller.limits),
            },
            "transport": {
                "requests_sent": data.charger.requests_sent,
                "connects": data.charger.connects,
                "status_last_update_success": data.status.last_update_success,
                "full_last_update_success": data.full.last_update_success,
            },
        }
    else:
        specific = {
            "capabilities": asdict(data.battery.capabilities),
            "reading": asdict(data.coordinator.data) if data.coordinator.data else None,
            "capacity_kwh_option": data.battery.capacity_kwh,
            "transport": {
                "requests_sent": data.battery.requests_sent,
                "last_update_success": data.coordinator.last_update_success,
            },
        }
    return async_redact_data(common | specific, TO_REDACT)
