"""Diagnostics for V2X devices, serial numbers and hosts redacted.

Two layers: the values of known keys (host, serial, title...) are replaced at any
depth, through dicts, lists and tuples; and every serial number any V2X entry knows
(entry unique ids, device registry serials and identifiers, device identities, the
packs of a multi-pack battery) is replaced wherever it appears inside a string, since
names, titles of other entries and site states carry them too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, is_dataclass
import re
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.const import CONF_HOST
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .building import BuildingManager
from .const import DOMAIN
from .coordinator import BatteryRuntimeData, ChargerRuntimeData, V2XConfigEntry
from .site import BackupSite

TO_REDACT = {CONF_HOST, "serial_number", "unique_id", "title", "sn"}
# Shorter strings are not treated as serial numbers: replacing them inside every text
# would garble the diagnostics without hiding anything identifying.
MIN_SERIAL_LENGTH = 4


def known_serials(hass: HomeAssistant) -> set[str]:
    """Every serial number (or serial-like unique id) known to any V2X entry."""
    serials: set[str] = set()
    devices = dr.async_get(hass)
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.unique_id:
            serials.add(entry.unique_id)
        for device in dr.async_entries_for_config_entry(devices, entry.entry_id):
            if device.serial_number:
                serials.add(device.serial_number)
            serials.update(value for domain, value in device.identifiers if domain == DOMAIN)
        data = getattr(entry, "runtime_data", None)
        if isinstance(data, (ChargerRuntimeData, BatteryRuntimeData)):
            serial = data.identity.serial_number
            serials.add(serial)
            # A title may show only part of a long serial (the tail of an ECHONET id).
            serials.update(
                word
                for word in entry.title.split()
                if len(word) >= MIN_SERIAL_LENGTH and word.casefold() in serial.casefold()
            )
        if isinstance(data, BatteryRuntimeData) and data.coordinator.data is not None:
            serials.update(pack.serial_number for pack in data.coordinator.data.packs)
    return {serial for serial in serials if len(serial) >= MIN_SERIAL_LENGTH}


class _Redactor:
    """Redacts keys at any depth and serial numbers inside any string."""

    def __init__(self, keys: Iterable[str], serials: Iterable[str]) -> None:
        self._keys = set(keys)
        self._serials = {serial.casefold() for serial in serials}
        ordered = sorted(self._serials, key=len, reverse=True)  # the longest match wins
        self._pattern = (
            re.compile("|".join(re.escape(serial) for serial in ordered), re.IGNORECASE)
            if ordered
            else None
        )

    def text(self, value: str) -> str:
        if self._pattern is None:
            return value
        return self._pattern.sub(REDACTED, value)

    def value(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                self.text(key) if isinstance(key, str) else key: self._item(key, item)
                for key, item in value.items()
            }
        if isinstance(value, (list, tuple, set, frozenset)):
            return [self.value(item) for item in value]
        if is_dataclass(value) and not isinstance(value, type):
            return self.value(asdict(value))
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return REDACTED if str(value).casefold() in self._serials else value
        return value

    def _item(self, key: Any, item: Any) -> Any:
        if item is None or item == "":  # kept as they are, like async_redact_data does
            return item
        if key in self._keys:
            return REDACTED
        return self.value(item)


def redact(hass: HomeAssistant, data: Mapping[str, Any]) -> dict[str, Any]:
    """`data` with the known keys and every known serial number redacted."""
    redacted: dict[str, Any] = _Redactor(TO_REDACT, known_serials(hass)).value(data)
    return redacted


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
        return redact(
            hass,
            entry_info
            | {
                "machine": data.machine.snapshot(),
                "status": asdict(status) if status else None,
                "automatic": data.automatic,
            },
        )
    if isinstance(data, BuildingManager):
        return redact(hass, entry_info | data.diagnostics())
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
    return redact(hass, common | specific)
