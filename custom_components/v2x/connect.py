"""Open a device of any family from a config entry's data, and let it go again.

The one place that turns a family (:mod:`.devices.registry`) and stored
connection data into a device object with what it shares with others: Home
Assistant's HTTP session, or the process-wide ECHONET Lite endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .const import CONF_UNIT_ID
from .devices.family import Connection, DeviceFamily, DeviceKind
from .devices.model import Charger, DeviceIdentity, PortableBattery
from .echonet_support import async_acquire_endpoint, async_release_endpoint


async def async_connection(
    hass: HomeAssistant,
    family: DeviceFamily,
    data: Mapping[str, Any],
    *,
    user: str,
    watchdog_s: int = 60,
) -> Connection:
    """Where the device is, with what its family shares (held for ``user``).

    A family on the shared endpoint holds it for ``user`` until :func:`async_release`.
    """
    endpoint = await async_acquire_endpoint(hass, user) if family.shared_endpoint else None
    return Connection(
        host=data[CONF_HOST],
        port=data[CONF_PORT],
        unit_id=int(data.get(CONF_UNIT_ID, family.unit_id or 1)),
        timeout_s=family.timeout_s,
        watchdog_s=watchdog_s,
        session=async_get_clientsession(hass),
        endpoint=endpoint,
    )


def async_release(hass: HomeAssistant, family: DeviceFamily, user: str) -> None:
    """Let go of what :func:`async_connection` held for ``user``."""
    if family.shared_endpoint:
        async_release_endpoint(hass, user)


async def async_probe_identity(
    hass: HomeAssistant, family: DeviceFamily, data: Mapping[str, Any], *, user: str
) -> DeviceIdentity:
    """Connect, read the device's identity and close again, whatever happens."""
    connection = await async_connection(hass, family, data, user=user)
    device: Charger | PortableBattery | None = None
    try:
        if family.kind is DeviceKind.BATTERY:
            device = family.create_battery(connection)
        else:
            device = family.create_charger(connection)
        return await device.async_read_identity()
    finally:
        if device is not None:
            await device.async_close()
        async_release(hass, family, user)
