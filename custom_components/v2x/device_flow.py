"""The device part of the config flow: the connection form, the probe and the title.

The flow steps live in ``config_flow.py``; the site's and the building's forms in
``site_flow.py`` and ``building_flow.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
import itertools
from typing import Any

from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig
import voluptuous as vol

from .connect import async_probe_identity
from .const import CONF_FAMILY, CONF_KIND, CONF_UNIT_ID, LOGGER
from .devices.errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    LocalApiDisabledError,
)
from .devices.family import DeviceFamily
from .devices.model import DeviceIdentity
from .devices.registry import family as device_family
from .helpers import box_selector

PROBE_USER = "config_flow"
_PROBES = itertools.count(1)
MAX_SERIAL_IN_TITLE = 16
TITLE_SERIAL_TAIL = 6


def connection_schema(family: DeviceFamily, defaults: Mapping[str, Any]) -> vol.Schema:
    """Host, port and (for Modbus families) unit id, with the family's defaults."""
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): TextSelector(
            TextSelectorConfig(autocomplete="off")
        ),
        vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, family.default_port)): box_selector(
            1, 65535
        ),
    }
    if family.unit_id is not None:
        fields[vol.Required(CONF_UNIT_ID, default=defaults.get(CONF_UNIT_ID, family.unit_id))] = (
            box_selector(1, 247)
        )
    return vol.Schema(fields)


def connection_data(family: DeviceFamily, user_input: Mapping[str, Any]) -> dict[str, Any]:
    """The entry data of a device of ``family`` at the address the user gave."""
    data = {
        CONF_KIND: family.kind.value,
        CONF_FAMILY: family.key,
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
    }
    if family.unit_id is not None:
        data[CONF_UNIT_ID] = int(user_input[CONF_UNIT_ID])
    return data


async def async_probe(hass: HomeAssistant, data: dict[str, Any]) -> DeviceIdentity:
    """Connect and read the identity; the connection is always closed again."""
    family = device_family(data[CONF_FAMILY])
    # Each probe holds the shared ECHONET Lite endpoint under its own name: two at once (a
    # tribrid node's charger and battery, discovered together) must not close it for the
    # other when the first one is done.
    user = f"{PROBE_USER}_{next(_PROBES)}"
    return await async_probe_identity(hass, family, data, user=user)


async def async_validate(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[DeviceIdentity | None, dict[str, str]]:
    """Probe the device; map failures to form errors."""
    try:
        return await async_probe(hass, data), {}
    except DeviceConnectionError:
        return None, {CONF_HOST: "cannot_connect"}
    except DeviceTimeoutError:
        return None, {CONF_HOST: "timeout"}
    except LocalApiDisabledError:
        return None, {"base": "local_api_disabled"}
    except DeviceProtocolError:
        return None, {"base": "invalid_response"}
    except DeviceError:
        return None, {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - the form must show 'unknown', never crash
        LOGGER.exception("Unexpected error while probing %s", data.get(CONF_HOST))
        return None, {"base": "unknown"}


def device_title(identity: DeviceIdentity) -> str:
    """Manufacturer, model and serial (the distinct end of a long one)."""
    serial = identity.serial_number
    if len(serial) > MAX_SERIAL_IN_TITLE:
        # ECHONET Lite identification numbers are 34 hex digits: keep the distinct end.
        serial = serial[-TITLE_SERIAL_TAIL:]
    return f"{identity.manufacturer} {identity.model} {serial}"
