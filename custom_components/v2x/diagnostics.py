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
from .models import BatteryRuntimeData, ChargerRuntimeData, DeviceRuntime, device_runtime
from .runtime import EntryRuntime, RuntimeVisitor, V2XConfigEntry, visit
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
        data = device_runtime(entry)
        if data is not None:
            serial = data.identity.serial_number
            serials.add(serial)
            # A title may show only part of a long serial (the tail of an ECHONET id).
            serials.update(
                word
                for word in entry.title.split()
                if len(word) >= MIN_SERIAL_LENGTH and word.casefold() in serial.casefold()
            )
            serials.update(visit(data, _PackSerials()))
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
    entry_info = {
        "entry": {
            "title": entry.title,
            "unique_id": entry.unique_id,
            "data": dict(entry.data),
            "options": dict(entry.options),
        }
    }
    return redact(hass, entry_info | visit(entry.runtime_data, _Diagnostics()))


class _PackSerials(RuntimeVisitor[list[str]]):
    """The serial numbers of a battery's packs (a charger has none)."""

    def otherwise(self, runtime: EntryRuntime) -> list[str]:
        return []

    def battery(self, runtime: BatteryRuntimeData) -> list[str]:
        reading = runtime.coordinator.data
        return [] if reading is None else [pack.serial_number for pack in reading.packs]


def _device_common(data: DeviceRuntime) -> dict[str, Any]:
    return {
        "identity": asdict(data.identity),
        "energy": {
            "charged_kwh": data.energy.charged_kwh,
            "discharged_kwh": data.energy.discharged_kwh,
        },
    }


class _Diagnostics(RuntimeVisitor[dict[str, Any]]):
    """What each kind of entry tells about itself."""

    def site(self, runtime: BackupSite) -> dict[str, Any]:
        status = runtime.data
        return {
            "machine": runtime.machine.snapshot(),
            "status": asdict(status) if status else None,
            "automatic": runtime.automatic,
        }

    def building(self, runtime: BuildingManager) -> dict[str, Any]:
        return runtime.diagnostics()

    def charger(self, runtime: ChargerRuntimeData) -> dict[str, Any]:
        controller = runtime.controller
        session = controller.session
        return _device_common(runtime) | {
            "capabilities": asdict(runtime.charger.capabilities),
            "status": asdict(runtime.status.data) if runtime.status.data else None,
            "full": asdict(runtime.full.data) if runtime.full.data else None,
            "controller": {
                "mode": controller.mode.value,
                "session": asdict(session) if session else None,
                "requested_w": controller.requested_w,
                "setpoint_w": controller.setpoint_w,
                "last_end_reason": controller.last_end_reason,
                "limits": asdict(controller.limits),
            },
            "transport": {
                "requests_sent": runtime.charger.requests_sent,
                "connects": runtime.charger.connects,
                "announcements": runtime.status.announcements,
                "status_last_update_success": runtime.status.last_update_success,
                "full_last_update_success": runtime.full.last_update_success,
            },
        }

    def battery(self, runtime: BatteryRuntimeData) -> dict[str, Any]:
        return _device_common(runtime) | {
            "capabilities": asdict(runtime.battery.capabilities),
            "reading": asdict(runtime.coordinator.data) if runtime.coordinator.data else None,
            "capacity_kwh_option": runtime.battery.capacity_kwh,
            "transport": {
                "requests_sent": runtime.battery.requests_sent,
                "last_update_success": runtime.coordinator.last_update_success,
            },
        }
