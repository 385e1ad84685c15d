"""Build device objects from configuration values (no Home Assistant imports)."""

from __future__ import annotations

import aiohttp

from .bluetti import UNIT_ID as BLUETTI_UNIT_ID, BluettiStation
from .errors import DeviceError
from .modbus import ModbusTransport
from .model import Charger, PortableBattery
from .quasar import Quasar1
from .zendure import ZendureClient

FAMILY_QUASAR1 = "quasar1"
FAMILY_ZENDURE = "zendure"
FAMILY_BLUETTI = "bluetti"
CHARGER_FAMILIES = (FAMILY_QUASAR1,)
BATTERY_FAMILIES = (FAMILY_ZENDURE, FAMILY_BLUETTI)


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


def create_battery(
    family: str,
    *,
    host: str,
    port: int,
    session: aiohttp.ClientSession,
    timeout_s: float = 5.0,
) -> PortableBattery:
    """Return a ready (not yet connected) portable battery of the given family."""
    if family == FAMILY_ZENDURE:
        return ZendureClient(session, host, port, timeout_s=timeout_s)
    if family == FAMILY_BLUETTI:
        transport = ModbusTransport(host, port, BLUETTI_UNIT_ID, timeout_s=timeout_s)
        return BluettiStation(transport)
    raise UnknownFamilyError(f"unknown battery family {family!r}")
