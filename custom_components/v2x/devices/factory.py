"""Build device objects from configuration values (no Home Assistant imports)."""

from __future__ import annotations

import aiohttp

from .bluetti import UNIT_ID as BLUETTI_UNIT_ID, BluettiStation
from .echonet import EchonetClient, EchonetEndpoint
from .echonet.ev_charger import EchonetEvCharger
from .errors import DeviceError
from .modbus import ModbusTransport
from .model import Charger, PortableBattery
from .quasar import Quasar1
from .sunspec import SunSpecCharger
from .zendure import ZendureClient

FAMILY_QUASAR1 = "quasar1"
FAMILY_SUNSPEC = "sunspec"
FAMILY_ECHONET = "echonet_lite"
FAMILY_ZENDURE = "zendure"
FAMILY_BLUETTI = "bluetti"
CHARGER_FAMILIES = (FAMILY_QUASAR1, FAMILY_SUNSPEC, FAMILY_ECHONET)
ECHONET_TIMEOUT_S = 1.0
ECHONET_RETRIES = 2
BATTERY_FAMILIES = (FAMILY_ZENDURE, FAMILY_BLUETTI)


class UnknownFamilyError(DeviceError):
    """The configuration names a device family this version does not support."""


def create_charger(
    family: str,
    *,
    host: str,
    port: int,
    unit_id: int,
    watchdog_s: int = 60,
    timeout_s: float = 3.0,
    echonet_endpoint: EchonetEndpoint | None = None,
) -> Charger:
    """Return a ready (not yet connected) charger of the given family.

    ECHONET Lite chargers share one UDP endpoint per process (``echonet_endpoint``);
    ``unit_id`` is ignored for them.
    """
    if family == FAMILY_QUASAR1:
        transport = ModbusTransport(host, port, unit_id, timeout_s=timeout_s)
        return Quasar1(transport, watchdog_s=watchdog_s)
    if family == FAMILY_SUNSPEC:
        transport = ModbusTransport(host, port, unit_id, timeout_s=timeout_s)
        return SunSpecCharger(transport, watchdog_s=watchdog_s)
    if family == FAMILY_ECHONET:
        if echonet_endpoint is None:
            raise ValueError("an ECHONET Lite charger needs the shared endpoint")
        client = EchonetClient(
            echonet_endpoint, host, port, timeout_s=ECHONET_TIMEOUT_S, retries=ECHONET_RETRIES
        )
        return EchonetEvCharger(client)
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
