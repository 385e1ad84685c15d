"""Config flow: add a charger or a portable battery; zeroconf; reconfigure; options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import voluptuous as vol

from .const import (
    BATTERY_FAMILIES,
    CONF_CAPACITY,
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_MAX_DISCHARGE_POWER,
    CONF_POLL_INTERVAL,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_UNIT_ID,
    CONF_WATCHDOG,
    DEFAULT_BATTERY_POLL_S,
    DEFAULT_BATTERY_TIMEOUT_S,
    DEFAULT_OPTIONS,
    DEFAULT_REQUEST_TIMEOUT_S,
    DOMAIN,
    FAMILY_BLUETTI,
    FAMILY_QUASAR1,
    FAMILY_ZENDURE,
    LOGGER,
    MIN_BATTERY_POLL_S,
)
from .coordinator import V2XConfigEntry
from .devices import bluetti, quasar, zendure
from .devices.errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
)
from .devices.factory import create_battery, create_charger
from .devices.model import DeviceIdentity
from .devices.zendure import ZendureAuthError

# The watchdog must survive a few missed polls, or the charger stops between two.
WATCHDOG_POLL_FACTOR = 3
DEFAULT_PORTS = {
    FAMILY_QUASAR1: quasar.DEFAULT_PORT,
    FAMILY_ZENDURE: zendure.DEFAULT_PORT,
    FAMILY_BLUETTI: bluetti.DEFAULT_PORT,
}


def _box(
    minimum: float, maximum: float, unit: str | None = None, step: float = 1
) -> NumberSelector:
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _connection_schema(family: str, defaults: dict[str, Any]) -> vol.Schema:
    fields: dict[vol.Marker, Any] = {
        vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, vol.UNDEFINED)): TextSelector(
            TextSelectorConfig(autocomplete="off")
        ),
        vol.Required(CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_PORTS[family])): _box(
            1, 65535
        ),
    }
    if family == FAMILY_QUASAR1:
        fields[vol.Required(CONF_UNIT_ID, default=defaults.get(CONF_UNIT_ID, 1))] = _box(1, 247)
    return vol.Schema(fields)


def _connection_data(family: str, user_input: dict[str, Any]) -> dict[str, Any]:
    data = {
        CONF_FAMILY: family,
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
    }
    if family == FAMILY_QUASAR1:
        data[CONF_UNIT_ID] = int(user_input[CONF_UNIT_ID])
    return data


def _default_options(family: str) -> dict[str, Any]:
    if family in BATTERY_FAMILIES:
        return {CONF_POLL_INTERVAL: DEFAULT_BATTERY_POLL_S[family]}
    return dict(DEFAULT_OPTIONS)


async def _async_probe(hass: HomeAssistant, data: dict[str, Any]) -> DeviceIdentity:
    """Connect and read the identity; the connection is always closed again."""
    family = data[CONF_FAMILY]
    if family in BATTERY_FAMILIES:
        battery = create_battery(
            family,
            host=data[CONF_HOST],
            port=data[CONF_PORT],
            session=async_get_clientsession(hass),
            timeout_s=DEFAULT_BATTERY_TIMEOUT_S,
        )
        try:
            return await battery.async_read_identity()
        finally:
            await battery.async_close()
    charger = create_charger(
        family,
        host=data[CONF_HOST],
        port=data[CONF_PORT],
        unit_id=data[CONF_UNIT_ID],
        timeout_s=DEFAULT_REQUEST_TIMEOUT_S,
    )
    try:
        return await charger.async_read_identity()
    finally:
        await charger.async_close()


async def _async_validate(
    hass: HomeAssistant, data: dict[str, Any]
) -> tuple[DeviceIdentity | None, dict[str, str]]:
    """Probe the device; map failures to form errors."""
    try:
        return await _async_probe(hass, data), {}
    except DeviceConnectionError:
        return None, {CONF_HOST: "cannot_connect"}
    except DeviceTimeoutError:
        return None, {CONF_HOST: "timeout"}
    except ZendureAuthError:
        return None, {"base": "local_api_disabled"}
    except DeviceProtocolError:
        return None, {"base": "invalid_response"}
    except DeviceError:
        return None, {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - the form must show 'unknown', never crash
        LOGGER.exception("Unexpected error while probing %s", data.get(CONF_HOST))
        return None, {"base": "unknown"}


def _title(identity: DeviceIdentity) -> str:
    return f"{identity.manufacturer} {identity.model} {identity.serial_number}"


class V2XConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a bidirectional charger or a portable battery."""

    VERSION = 1
    MINOR_VERSION = 1

    def __init__(self) -> None:
        """Start with nothing discovered."""
        self._discovered: dict[str, Any] = {}
        self._discovered_title = ""

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: V2XConfigEntry) -> V2XOptionsFlow:
        """Options of chargers and batteries."""
        return V2XOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to add."""
        return self.async_show_menu(
            step_id="user", menu_options=[FAMILY_QUASAR1, FAMILY_ZENDURE, FAMILY_BLUETTI]
        )

    async def async_step_quasar1(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Wallbox Quasar 1: host, port, unit id."""
        return await self._async_step_device(FAMILY_QUASAR1, user_input)

    async def async_step_zendure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Zendure device with the local API: host and port."""
        return await self._async_step_device(FAMILY_ZENDURE, user_input)

    async def async_step_bluetti(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A Bluetti power station with Modbus TCP: host and port."""
        return await self._async_step_device(FAMILY_BLUETTI, user_input)

    async def _async_identify(
        self, family: str, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], DeviceIdentity | None, dict[str, str]]:
        """Probe the device behind the form input; its serial becomes the unique id."""
        data = _connection_data(family, user_input)
        identity, errors = await _async_validate(self.hass, data)
        if identity is not None:
            await self.async_set_unique_id(identity.serial_number, raise_on_progress=False)
        return data, identity, errors

    async def _async_step_device(
        self, family: str, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(family, user_input)
            if identity is not None:
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=_title(identity), data=data, options=_default_options(family)
                )
        return self.async_show_form(
            step_id=family,
            data_schema=self.add_suggested_values_to_schema(
                _connection_schema(family, {}), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A Zendure device announced itself (_zendure._tcp)."""
        data = {
            CONF_FAMILY: FAMILY_ZENDURE,
            CONF_HOST: discovery_info.host,
            CONF_PORT: discovery_info.port or zendure.DEFAULT_PORT,
        }
        identity, errors = await _async_validate(self.hass, data)
        if identity is None:
            return self.async_abort(reason=next(iter(errors.values())))
        await self.async_set_unique_id(identity.serial_number)
        # A known device that moved: update its address (and reload it), nothing else.
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]}
        )
        self._discovered = data
        self._discovered_title = _title(identity)
        self.context["title_placeholders"] = {"name": self._discovered_title}
        return await self.async_step_zeroconf_confirm()

    async def async_step_zeroconf_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask before adding a discovered device."""
        if user_input is not None:
            return self.async_create_entry(
                title=self._discovered_title,
                data=self._discovered,
                options=_default_options(FAMILY_ZENDURE),
            )
        return self.async_show_form(
            step_id="zeroconf_confirm",
            description_placeholders={
                "name": self._discovered_title,
                "host": self._discovered[CONF_HOST],
            },
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the address of the same device."""
        entry = self._get_reconfigure_entry()
        family = entry.data[CONF_FAMILY]
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(family, user_input)
            if identity is not None:
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self.async_update_reload_and_abort(entry, data_updates=data)
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(family, {**entry.data, **(user_input or {})}),
            errors=errors,
        )


class V2XOptionsFlow(OptionsFlow):
    """Change how often a device is polled and how it may be used."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option of the device's kind."""
        if self.config_entry.data[CONF_FAMILY] in BATTERY_FAMILIES:
            return await self.async_step_battery()
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
                vol.Optional(CONF_MAX_DISCHARGE_POWER): _box(100, quasar.MAX_POWER_W, "W"),
            }
        )
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
        )

    async def async_step_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Poll interval and usable capacity of a portable battery."""
        family = self.config_entry.data[CONF_FAMILY]
        if user_input is not None:
            options: dict[str, Any] = {CONF_POLL_INTERVAL: int(user_input[CONF_POLL_INTERVAL])}
            if user_input.get(CONF_CAPACITY):
                options[CONF_CAPACITY] = float(user_input[CONF_CAPACITY])
            return self.async_create_entry(data=options)
        current = {**_default_options(family), **self.config_entry.options}
        schema = vol.Schema(
            {
                vol.Required(CONF_POLL_INTERVAL): _box(MIN_BATTERY_POLL_S[family], 600, "s"),
                vol.Optional(CONF_CAPACITY): _box(0.1, 100, "kWh", step=0.01),
            }
        )
        return self.async_show_form(
            step_id="battery", data_schema=self.add_suggested_values_to_schema(schema, current)
        )
