"""Build a charger object from configuration values (no Home Assistant imports)."""

from __future__ import annotations

from .errors import DeviceError
from .modbus import ModbusTransport
from .model import Charger
from .quasar import Quasar1

FAMILY_QUASAR1 = "quasar1"
FAMILIES = (FAMILY_QUASAR1,)


class UnknownFamilyError(DeviceError):
    """The configuration names a device family this version does not support."""

    translation_key = "unknown_family"


def create_charger(
    family: str,
    *,
    host: str,
    port: int,
    unit_id: int,
    watchdog_s: int = 60,
    timeout_s: float = 3.0,
) -> Charger:
    """Return a ready (not yet connected) charger of the given family."""
    if family == FAMILY_QUASAR1:
        transport = ModbusTransport(host, port, unit_id, timeout_s=timeout_s)
        return Quasar1(transport, watchdog_s=watchdog_s)
    raise UnknownFamilyError(f"unknown charger family {family!r}")
