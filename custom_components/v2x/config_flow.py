"""Config flow: add a charger by host, port and unit id; reconfigure; options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import voluptuous as vol

from .const import (
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_MAX_DISCHARGE_POWER,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_UNIT_ID,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DOMAIN,
    FAMILY_QUASAR1,
    LOGGER,
)
from .coordinator import V2XConfigEntry
from .devices.errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
)
from .devices.factory import create_charger
from .devices.model import DeviceIdentity
from .devices.quasar import DEFAULT_PORT, DEFAULT_UNIT_ID, MAX_POWER_W

# The watchdog must survive a few missed polls, or the charger stops between two.
WATCHDOG_POLL_FACTOR = 3


def _box(minimum: int, maximum: int, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _connection_schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): TextSelector(
                TextSelectorConfig(autocomplete="off")
            ),
            vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORT)): _box(1, 65535),
            vol.Required(CONF_UNIT_ID, default=defaults.get(CONF_UNIT_ID, DEFAULT_UNIT_ID)): _box(
                1, 247
            ),
        }
    )


def _connection_data(user_input: dict[str, Any]) -> dict[str, Any]:
    return {
        CONF_FAMILY: FAMILY_QUASAR1,
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
        CONF_UNIT_ID: int(user_input[CONF_UNIT_ID]),
    }


async def _async_probe(data: dict[str, Any]) -> DeviceIdentity:
    """Connect and read the identity; the connection is always closed again."""
    charger = create_charger(
        data[CONF_FAMILY],
        host=data[CONF_HOST],
        port=data[CONF_PORT],
        unit_id=data[CONF_UNIT_ID],
        timeout_s=DEFAULT_REQUEST_TIMEOUT_S,
    )
    try:
        return await charger.async_read_identity()
    finally:
        await charger.async_close()


async def _async_validate(data: dict[str, Any]) -> tuple[DeviceIdentity | None, dict[str, str]]:
    """Probe the device; map failures to form errors."""
    try:
        return await _async_probe(data), {}
    except DeviceConnectionError:
        return None, {CONF_HOST: "cannot_connect"}
    except DeviceTimeoutError:
        return None, {CONF_HOST: "timeout"}
    except DeviceProtocolError:
        return None, {"base": "invalid_response"}
    except DeviceError:
        return None, {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - the form must show 'unknown', never crash
        LOGGER.exception("Unexpected error while probing %s", data.get(CONF_HOST))
        return None, {"base": "unknown"}


class V2XConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a bidirectional charger."""

    VERSION = 1
    MINOR_VERSION = 1

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: V2XConfigEntry) -> V2XOptionsFlow:
        """Options: poll intervals, reserve, watchdog, discharge power."""
        return V2XOptionsFlow()

    async def _async_identify(
        self, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], DeviceIdentity | None, dict[str, str]]:
        """Probe the device behind the form input; its serial becomes the unique id."""
        data = _connection_data(user_input)
        identity, errors = await _async_validate(data)
        if identity is not None:
            await self.async_set_unique_id(identity.serial_number)
        return data, identity, errors

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for host, port and unit id; read the serial before creating the entry."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(user_input)
            if identity is not None:
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=f"{identity.manufacturer} {identity.model} {identity.serial_number}",
                    data=data,
                    options=dict(DEFAULT_OPTIONS),
                )
        return self.async_show_form(
            step_id="user",
            data_schema=self.add_suggested_values_to_schema(
                _connection_schema({}), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change host, port or unit id of the same charger."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(user_input)
            if identity is not None:
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(entry, data_updates=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema({**entry.data, **(user_input or {})}),
            errors=errors,
        )


class V2XOptionsFlow(OptionsFlow):
    """Change how often the charger is polled and how it may be used."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option."""
        errors: dict[str, str] = {}
        if user_input is not None:
            options = {key: int(value) for key, value in user_input.items()}
            if options[CONF_WATCHDOG] < WATCHDOG_POLL_FACTOR * options[CONF_STATUS_INTERVAL]:
                errors[CONF_WATCHDOG] = "watchdog_too_short"
            else:
                return self.async_create_entry(data=options)
        current = {**DEFAULT_OPTIONS, **self.config_entry.options, **(user_input or {})}
        schema = vol.Schema(
            {
                vol.Required(CONF_STATUS_INTERVAL): _box(1, 60, "s"),
                vol.Required(CONF_FULL_INTERVAL): _box(5, 600, "s"),
                vol.Required(CONF_RESERVE_SOC): _box(0, 95, "%"),
                vol.Required(CONF_WATCHDOG): _box(10, 3600, "s"),
                vol.Optional(CONF_MAX_DISCHARGE_POWER): _box(100, MAX_POWER_W, "W"),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
        )
