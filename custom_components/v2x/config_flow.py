"""Config flow: add a charger or a portable battery; zeroconf; reconfigure; options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import voluptuous as vol

from . import building_flow
from .connect import async_probe_identity
from .const import (
    CONF_CAPACITY,
    CONF_CONFIRM_TIMEOUT,
    CONF_CRITICAL_LOADS,
    CONF_ELEVATOR_STANDBY,
    CONF_ELEVATOR_TRIP,
    CONF_ELEVATOR_TRIPS,
    CONF_FAILED_AFTER,
    CONF_FAILED_POLLS,
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_GRID_DEVICE,
    CONF_GRID_ENTITY,
    CONF_GRID_MIN_VOLTAGE,
    CONF_GRID_POLL,
    CONF_HOUSE_LOAD,
    CONF_KIND,
    CONF_LOAD_SENSOR,
    CONF_MAX_DISCHARGE_POWER,
    CONF_OUTAGE_DEBOUNCE,
    CONF_PARK_WARNING,
    CONF_POLL_INTERVAL,
    CONF_RECOVER_AFTER,
    CONF_RESERVE_SOC,
    CONF_RESTORE_DELAY,
    CONF_SHEDDABLE_LOADS,
    CONF_SITE_TYPE,
    CONF_SOURCES,
    CONF_STATUS_INTERVAL,
    CONF_SWITCH_CONFIRM,
    CONF_TRANSFER_SWITCH,
    CONF_UNIT_ID,
    CONF_VEHICLE,
    CONF_VEHICLES,
    CONF_WATCHDOG,
    DEFAULT_ELEVATOR_OPTIONS,
    DEFAULT_OPTIONS,
    DEFAULT_SITE_OPTIONS,
    DOMAIN,
    LOGGER,
    SITE_BUILDING,
    SITE_HOUSE,
)
from .devices.errors import (
    DeviceConnectionError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    LocalApiDisabledError,
)
from .devices.family import DeviceFamily, DeviceKind
from .devices.model import DeviceIdentity
from .devices.registry import by_zeroconf, families, family as device_family
from .echonet_support import CONF_IDENTIFICATION, async_request_scan
from .helpers import box_selector, choice_selector
from .models import EntryKind, entry_kind
from .runtime import V2XConfigEntry, as_battery, as_charger, loaded

PROBE_USER = "config_flow"
MAX_SERIAL_IN_TITLE = 16
TITLE_SERIAL_TAIL = 6
MAX_CHARGER_POWER_W = 100_000
# The watchdog must survive a few missed polls, or the charger stops between two.
WATCHDOG_POLL_FACTOR = 3
# The menu: what the user adds. Devices are then chosen by product (the registry).
MENU_BUILDING = "v2b"


def _connection_schema(family: DeviceFamily, defaults: Mapping[str, Any]) -> vol.Schema:
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


def _connection_data(family: DeviceFamily, user_input: Mapping[str, Any]) -> dict[str, Any]:
    data = {
        CONF_KIND: family.kind.value,
        CONF_FAMILY: family.key,
        CONF_HOST: str(user_input[CONF_HOST]).strip(),
        CONF_PORT: int(user_input[CONF_PORT]),
    }
    if family.unit_id is not None:
        data[CONF_UNIT_ID] = int(user_input[CONF_UNIT_ID])
    return data


def _default_options(family: DeviceFamily) -> dict[str, Any]:
    if family.poll is not None:
        return {CONF_POLL_INTERVAL: family.poll.default_s}
    return dict(DEFAULT_OPTIONS)


async def _async_probe(hass: HomeAssistant, data: dict[str, Any]) -> DeviceIdentity:
    """Connect and read the identity; the connection is always closed again."""
    family = device_family(data[CONF_FAMILY])
    return await async_probe_identity(hass, family, data, user=PROBE_USER)


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
    except LocalApiDisabledError:
        return None, {"base": "local_api_disabled"}
    except DeviceProtocolError:
        return None, {"base": "invalid_response"}
    except DeviceError:
        return None, {"base": "cannot_connect"}
    except Exception:  # noqa: BLE001 - the form must show 'unknown', never crash
        LOGGER.exception("Unexpected error while probing %s", data.get(CONF_HOST))
        return None, {"base": "unknown"}


def _title(identity: DeviceIdentity) -> str:
    serial = identity.serial_number
    if len(serial) > MAX_SERIAL_IN_TITLE:
        # ECHONET Lite identification numbers are 34 hex digits: keep the distinct end.
        serial = serial[-TITLE_SERIAL_TAIL:]
    return f"{identity.manufacturer} {identity.model} {serial}"


class V2XConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a bidirectional charger or a portable battery."""

    VERSION = 1
    MINOR_VERSION = 2

    def __init__(self) -> None:
        """Start with nothing discovered."""
        self._discovered: dict[str, Any] = {}
        self._discovered_title = ""
        self._site: dict[str, Any] = {}
        self._family: DeviceFamily | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: V2XConfigEntry) -> V2XOptionsFlow:
        """Options of chargers and batteries."""
        return V2XOptionsFlow()

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose what to add."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[EntryKind.CHARGER, EntryKind.BATTERY, EntryKind.SITE, MENU_BUILDING],
        )

    # -- chargers and portable batteries: the product, then where it is -----------------

    async def async_step_charger(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which bidirectional charger (the families of the device registry)."""
        return await self._async_step_product(DeviceKind.CHARGER, user_input)

    async def async_step_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Which portable battery or power station."""
        return await self._async_step_product(DeviceKind.BATTERY, user_input)

    async def _async_step_product(
        self, kind: DeviceKind, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        choices = [each.key for each in families(kind)]
        if user_input is not None:
            self._family = device_family(str(user_input[CONF_FAMILY]))
            return await self.async_step_device()
        schema = vol.Schema(
            {
                vol.Required(CONF_FAMILY, default=choices[0]): SelectSelector(
                    SelectSelectorConfig(
                        options=choices, translation_key="product", mode=SelectSelectorMode.LIST
                    )
                )
            }
        )
        return self.async_show_form(step_id=kind.value, data_schema=schema)

    async def async_step_device(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Host, port (and unit id where the protocol has one) of the chosen product.

        Opening the form of a family found by a network scan (ECHONET Lite) also looks
        for units once: what answers is offered under *Discovered* a few seconds later.
        """
        family = self._family
        if family is None:  # only reachable through a hand-made flow
            return self.async_abort(reason="unknown")
        if user_input is None and family.network_scan:
            async_request_scan(self.hass)
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(family, user_input)
            if identity is not None:
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=_title(identity), data=data, options=_default_options(family)
                )
        return self.async_show_form(
            step_id="device",
            data_schema=self.add_suggested_values_to_schema(
                _connection_schema(family, {}), user_input or {}
            ),
            errors=errors,
            description_placeholders={"product": family.title},
        )

    # -- vehicle-to-building -------------------------------------------------------------

    async def async_step_v2b(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A building whose cars shave its peak: the cars, the meter, the forecasts."""
        if not building_flow.charger_choices(self.hass):
            return self.async_abort(reason="no_chargers")
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = building_flow.setup_data(user_input)
            if not errors:
                name = str(user_input.get(CONF_NAME, "")).strip() or "Building"
                return self.async_create_entry(
                    title=name, data={CONF_KIND: EntryKind.BUILDING.value, **data}, options={}
                )
        return self.async_show_form(
            step_id="v2b",
            data_schema=self.add_suggested_values_to_schema(
                building_flow.setup_schema(self.hass, with_name=True), user_input or {}
            ),
            errors=errors,
        )

    def _async_reconfigured(
        self, entry: ConfigEntry, data: dict[str, Any], *, unique_id: str | None = None
    ) -> ConfigFlowResult:
        """Store the new data and finish; the entry's update listener reloads it."""
        if unique_id is None:
            self.hass.config_entries.async_update_entry(entry, data=data)
        else:
            self.hass.config_entries.async_update_entry(entry, data=data, unique_id=unique_id)
        return self.async_abort(reason="reconfigure_successful")

    async def async_step_reconfigure_v2b(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the cars, the meter or the forecasts of a V2B building."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = building_flow.setup_data(user_input)
            if not errors:
                return self._async_reconfigured(
                    entry, {CONF_KIND: EntryKind.BUILDING.value, **data}
                )
        return self.async_show_form(
            step_id="reconfigure_v2b",
            data_schema=self.add_suggested_values_to_schema(
                building_flow.setup_schema(self.hass, with_name=False),
                {**entry.data, **(user_input or {})},
            ),
            errors=errors,
        )

    # -- backup sites ------------------------------------------------------------------

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A house or building to protect: name, kind, and where the grid signal comes from."""
        if not source_choices(self.hass):
            return self.async_abort(reason="no_sources")
        if user_input is not None:
            self._site = {
                CONF_NAME: str(user_input[CONF_NAME]).strip() or "Home",
                CONF_SITE_TYPE: user_input[CONF_SITE_TYPE],
            }
            if user_input[CONF_GRID_SIGNAL] == GRID_SIGNAL_DEVICE:
                return await self.async_step_site_grid_device()
            return await self.async_step_site_grid_entity()
        return self.async_show_form(step_id="site", data_schema=SITE_SCHEMA)

    async def async_step_site_grid_entity(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The grid signal is a binary sensor (on = grid) or a voltage sensor."""
        if user_input is not None:
            self._site[CONF_GRID_ENTITY] = user_input[CONF_GRID_ENTITY]
            return await self.async_step_site_power()
        schema = vol.Schema({vol.Required(CONF_GRID_ENTITY): GRID_ENTITY_SELECTOR})
        return self.async_show_form(step_id="site_grid_entity", data_schema=schema)

    async def async_step_site_grid_device(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The grid signal is reported by one of the V2X devices."""
        choices = grid_device_choices(self.hass)
        if not choices:
            return await self.async_step_site_grid_entity()
        if user_input is not None:
            self._site[CONF_GRID_DEVICE] = user_input[CONF_GRID_DEVICE]
            return await self.async_step_site_power()
        schema = vol.Schema({vol.Required(CONF_GRID_DEVICE): choice_selector(choices)})
        return self.async_show_form(step_id="site_grid_device", data_schema=schema)

    async def async_step_site_power(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Sources in priority order, the transfer switch, and the loads."""
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _site_power_data(user_input)
            if not errors:
                await self.async_set_unique_id(f"site_{data[CONF_TRANSFER_SWITCH]}")
                self._abort_if_unique_id_configured()
                site = {**self._site, **data}
                options = dict(DEFAULT_SITE_OPTIONS)
                if site[CONF_SITE_TYPE] == SITE_BUILDING:
                    options |= DEFAULT_ELEVATOR_OPTIONS
                title = site.pop(CONF_NAME)
                return self.async_create_entry(
                    title=title, data={CONF_KIND: EntryKind.SITE.value, **site}, options=options
                )
        return self.async_show_form(
            step_id="site_power",
            data_schema=self.add_suggested_values_to_schema(
                site_power_schema(self.hass), user_input or {}
            ),
            errors=errors,
        )

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """A device answered a network scan (ECHONET Lite: the only family found so)."""
        scanned = next(each for each in families() if each.network_scan)
        family = device_family(str(discovery_info.get(CONF_FAMILY, scanned.key)))
        data = _connection_data(family, discovery_info)
        await self.async_set_unique_id(str(discovery_info[CONF_IDENTIFICATION]))
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]},
            reload_on_update=False,  # the entry's update listener reloads it
        )
        return await self._async_offer_discovered(data)

    async def _async_identify(
        self, family: DeviceFamily, user_input: dict[str, Any]
    ) -> tuple[dict[str, Any], DeviceIdentity | None, dict[str, str]]:
        """Probe the device behind the form input; its serial becomes the unique id."""
        data = _connection_data(family, user_input)
        identity, errors = await _async_validate(self.hass, data)
        if identity is not None:
            await self.async_set_unique_id(identity.serial_number, raise_on_progress=False)
        return data, identity, errors

    async def async_step_zeroconf(self, discovery_info: ZeroconfServiceInfo) -> ConfigFlowResult:
        """A device announced itself over zeroconf (a service type of a family)."""
        family = by_zeroconf(discovery_info.type)
        if family is None:
            return self.async_abort(reason="not_supported")
        connection = {
            CONF_HOST: discovery_info.host,
            CONF_PORT: discovery_info.port or family.default_port,
        }
        return await self._async_offer_discovered(_connection_data(family, connection))

    async def _async_offer_discovered(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Read the discovered device's identity, then ask before adding it."""
        identity, errors = await _async_validate(self.hass, data)
        if identity is None:
            return self.async_abort(reason=next(iter(errors.values())))
        await self.async_set_unique_id(identity.serial_number)
        # A known device that moved: update its address (and reload it), nothing else.
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]},
            reload_on_update=False,  # the entry's update listener reloads it
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
                options=_default_options(device_family(self._discovered[CONF_FAMILY])),
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
        """Change the address of the same device, or what a site is made of."""
        entry = self._get_reconfigure_entry()
        kind = entry_kind(entry.data)
        if kind is EntryKind.SITE:
            return await self.async_step_reconfigure_site()
        if kind is EntryKind.BUILDING:
            return await self.async_step_reconfigure_v2b()
        family = device_family(entry.data[CONF_FAMILY])
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(family, user_input)
            if identity is not None:
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self._async_reconfigured(entry, {**entry.data, **data})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_connection_schema(family, {**entry.data, **(user_input or {})}),
            errors=errors,
        )

    async def async_step_reconfigure_site(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The grid signal, sources, transfer switch and loads of an existing site."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _site_power_data(user_input)
            switch = data[CONF_TRANSFER_SWITCH]
            if any(
                other.entry_id != entry.entry_id and other.data.get(CONF_TRANSFER_SWITCH) == switch
                for other in self.hass.config_entries.async_entries(DOMAIN)
            ):
                errors[CONF_TRANSFER_SWITCH] = "switch_in_use"
            if not errors:
                for key in (CONF_GRID_ENTITY, CONF_GRID_DEVICE):
                    if key in user_input:
                        data[key] = user_input[key]
                kept = {
                    key: value
                    for key, value in entry.data.items()
                    if key in (CONF_KIND, CONF_SITE_TYPE)
                }
                return self._async_reconfigured(entry, {**kept, **data}, unique_id=f"site_{switch}")
        if grid_device := entry.data.get(CONF_GRID_DEVICE):
            choices = {grid_device: _entry_title(self.hass, grid_device)}
            choices |= grid_device_choices(self.hass)
            grid_field: dict[vol.Marker, Any] = {
                vol.Required(CONF_GRID_DEVICE): choice_selector(choices)
            }
        else:
            grid_field = {vol.Required(CONF_GRID_ENTITY): GRID_ENTITY_SELECTOR}
        schema = vol.Schema(grid_field).extend(site_power_schema(self.hass).schema)
        return self.async_show_form(
            step_id="reconfigure_site",
            data_schema=self.add_suggested_values_to_schema(
                schema, user_input or _site_form_values(entry.data)
            ),
            errors=errors,
        )


class V2XOptionsFlow(OptionsFlow):
    """Change how often a device is polled and how it may be used."""

    _vehicle = ""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """One form with every option of the device's kind."""
        kind = entry_kind(self.config_entry.data)
        if kind is EntryKind.BATTERY:
            return await self.async_step_battery()
        if kind is EntryKind.SITE:
            return await self.async_step_site()
        if kind is EntryKind.BUILDING:
            return self.async_show_menu(step_id="init", menu_options=["tariff", "vehicle"])
        errors: dict[str, str] = {}
        if user_input is not None:
            options: dict[str, Any] = {
                key: float(value) if key == CONF_CAPACITY else int(value)
                for key, value in user_input.items()
            }
            watchdog = options.get(CONF_WATCHDOG)
            if (
                watchdog is not None
                and watchdog < WATCHDOG_POLL_FACTOR * options[CONF_STATUS_INTERVAL]
            ):
                errors[CONF_WATCHDOG] = "watchdog_too_short"
            else:
                return self.async_create_entry(data=options)
        current = {**DEFAULT_OPTIONS, **self.config_entry.options, **(user_input or {})}
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_STATUS_INTERVAL): box_selector(1, 60, "s"),
            vol.Required(CONF_FULL_INTERVAL): box_selector(5, 600, "s"),
            vol.Required(CONF_RESERVE_SOC): box_selector(0, 95, "%"),
            vol.Required(CONF_WATCHDOG): box_selector(10, 3600, "s"),
            vol.Optional(CONF_MAX_DISCHARGE_POWER): box_selector(100, MAX_CHARGER_POWER_W, "W"),
            vol.Required(CONF_CAPACITY): box_selector(1, 200, "kWh", step=0.1),
        }
        if not device_family(self.config_entry.data[CONF_FAMILY]).watchdog:
            # ECHONET Lite has no watchdog: nothing to set.
            del fields[vol.Required(CONF_WATCHDOG)]
        schema = vol.Schema(fields)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
        )

    async def async_step_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Poll interval and usable capacity of a portable battery."""
        family = device_family(self.config_entry.data[CONF_FAMILY])
        min_poll_s = family.poll.min_s if family.poll else 1
        if user_input is not None:
            options: dict[str, Any] = {CONF_POLL_INTERVAL: int(user_input[CONF_POLL_INTERVAL])}
            if user_input.get(CONF_CAPACITY):
                options[CONF_CAPACITY] = float(user_input[CONF_CAPACITY])
            return self.async_create_entry(data=options)
        current = {**_default_options(family), **self.config_entry.options}
        schema = vol.Schema(
            {
                vol.Required(CONF_POLL_INTERVAL): box_selector(min_poll_s, 600, "s"),
                vol.Optional(CONF_CAPACITY): box_selector(0.1, 100, "kWh", step=0.01),
            }
        )
        return self.async_show_form(
            step_id="battery", data_schema=self.add_suggested_values_to_schema(schema, current)
        )

    async def async_step_site(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Reserve, timings and the load model of a backup site."""
        entry = self.config_entry
        if user_input is not None:
            return self.async_create_entry(data={**entry.options, **user_input})
        building = entry.data.get(CONF_SITE_TYPE) == SITE_BUILDING
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_RESERVE_SOC): box_selector(5, 95, "%"),
            vol.Required(CONF_RESTORE_DELAY): box_selector(0, 3600, "s"),
            vol.Required(CONF_OUTAGE_DEBOUNCE): box_selector(0, 60, "s", step=0.1),
            vol.Required(CONF_CONFIRM_TIMEOUT): box_selector(1, 120, "s"),
            vol.Required(CONF_PARK_WARNING): box_selector(0, 120, "min"),
            vol.Required(CONF_FAILED_POLLS): box_selector(1, 20),
            vol.Required(CONF_FAILED_AFTER): box_selector(1, 600, "s"),
            vol.Required(CONF_RECOVER_AFTER): box_selector(0, 3600, "s"),
        }
        if building:
            fields |= {
                vol.Required(CONF_ELEVATOR_STANDBY): box_selector(0, 20000, "W"),
                vol.Required(CONF_ELEVATOR_TRIP): box_selector(0, 5000, "Wh"),
                vol.Required(CONF_ELEVATOR_TRIPS): box_selector(0, 600),
            }
        else:
            fields[vol.Required(CONF_HOUSE_LOAD)] = box_selector(0, 50000, "W")
        if entry.data.get(CONF_GRID_DEVICE):
            fields[vol.Required(CONF_GRID_POLL)] = box_selector(1, 60, "s")
        else:
            fields[vol.Required(CONF_GRID_MIN_VOLTAGE)] = box_selector(50, 400, "V")
        current = {**DEFAULT_SITE_OPTIONS, **DEFAULT_ELEVATOR_OPTIONS, **entry.options}
        return self.async_show_form(
            step_id="site",
            data_schema=self.add_suggested_values_to_schema(vol.Schema(fields), current),
        )

    async def async_step_tariff(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Tariff, demand charge, billing day, import limit and battery wear of a building."""
        options = dict(self.config_entry.options)
        if user_input is not None:
            return self.async_create_entry(data=building_flow.tariff_options(options, user_input))
        return self.async_show_form(
            step_id="tariff",
            data_schema=self.add_suggested_values_to_schema(
                building_flow.TARIFF_SCHEMA, building_flow.tariff_values(options)
            ),
        )

    async def async_step_vehicle(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose the car whose departure, target and battery to set."""
        vehicles = list(self.config_entry.data[CONF_VEHICLES])
        if user_input is not None:
            self._vehicle = str(user_input[CONF_VEHICLE])
            return await self.async_step_vehicle_settings()
        return self.async_show_form(
            step_id="vehicle",
            data_schema=building_flow.vehicle_choice_schema(self.hass, vehicles),
        )

    async def async_step_vehicle_settings(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Departure time, target and reserve, capacity override and efficiency of one car."""
        options = dict(self.config_entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            new, errors = building_flow.vehicle_options(options, self._vehicle, user_input)
            if not errors:
                return self.async_create_entry(data=new)
        values = {**building_flow.vehicle_values(options, self._vehicle), **(user_input or {})}
        return self.async_show_form(
            step_id="vehicle_settings",
            data_schema=self.add_suggested_values_to_schema(building_flow.VEHICLE_SCHEMA, values),
            errors=errors,
            description_placeholders={"vehicle": _entry_title(self.hass, self._vehicle)},
        )


# -- backup-site helpers -------------------------------------------------------------------

CONF_GRID_SIGNAL = "grid_signal"
GRID_SIGNAL_ENTITY = "entity"
GRID_SIGNAL_DEVICE = "device"
CONF_PRIMARY_SOURCE = "primary_source"
CONF_SECOND_SOURCE = "second_source"
CONF_THIRD_SOURCE = "third_source"

SITE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default="Home"): TextSelector(),
        vol.Required(CONF_SITE_TYPE, default=SITE_HOUSE): SelectSelector(
            SelectSelectorConfig(
                options=[SITE_HOUSE, SITE_BUILDING],
                translation_key="site_type",
                mode=SelectSelectorMode.LIST,
            )
        ),
        vol.Required(CONF_GRID_SIGNAL, default=GRID_SIGNAL_ENTITY): SelectSelector(
            SelectSelectorConfig(
                options=[GRID_SIGNAL_ENTITY, GRID_SIGNAL_DEVICE],
                translation_key="grid_signal",
                mode=SelectSelectorMode.LIST,
            )
        ),
    }
)


GRID_ENTITY_SELECTOR = EntitySelector(EntitySelectorConfig(domain=["binary_sensor", "sensor"]))
_SOURCE_FIELDS = (CONF_PRIMARY_SOURCE, CONF_SECOND_SOURCE, CONF_THIRD_SOURCE)


def source_choices(hass: HomeAssistant) -> dict[str, str]:
    """V2X chargers and batteries that can power a site: entry id -> title."""
    return {
        entry.entry_id: entry.title
        for entry in hass.config_entries.async_entries(DOMAIN)
        if (kind := entry_kind(entry.data)) is not None and kind.is_device
    }


def _entry_title(hass: HomeAssistant, entry_id: str) -> str:
    entry = hass.config_entries.async_get_entry(entry_id)
    return entry.title if entry else entry_id


def _site_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
    """A site's stored data as the values of the site form (sources one per field)."""
    values = {key: value for key, value in data.items() if key != CONF_SOURCES}
    values.update(zip(_SOURCE_FIELDS, data.get(CONF_SOURCES, []), strict=False))
    return values


def grid_device_choices(hass: HomeAssistant) -> dict[str, str]:
    """V2X devices that report whether the grid is present."""
    choices = {}
    for entry in hass.config_entries.async_entries(DOMAIN):
        runtime = loaded(entry)
        charger, battery = as_charger(runtime), as_battery(runtime)
        if charger is not None and charger.charger.capabilities.reports_grid:
            choices[entry.entry_id] = entry.title
        reading = battery.coordinator.data if battery is not None else None
        if reading is not None and reading.state.grid_available is not None:
            choices[entry.entry_id] = entry.title
    return choices


def site_power_schema(hass: HomeAssistant) -> vol.Schema:
    """Sources in priority order, the transfer switch, the loads."""
    sources = source_choices(hass)
    switch = EntitySelector(EntitySelectorConfig(domain="switch"))
    switches = EntitySelector(EntitySelectorConfig(domain="switch", multiple=True))
    return vol.Schema(
        {
            vol.Required(CONF_PRIMARY_SOURCE): choice_selector(sources),
            vol.Optional(CONF_SECOND_SOURCE): choice_selector(sources),
            vol.Optional(CONF_THIRD_SOURCE): choice_selector(sources),
            vol.Required(CONF_TRANSFER_SWITCH): switch,
            vol.Optional(CONF_SWITCH_CONFIRM): EntitySelector(
                EntitySelectorConfig(domain=["binary_sensor", "switch", "input_boolean"])
            ),
            vol.Optional(CONF_CRITICAL_LOADS): switches,
            vol.Optional(CONF_SHEDDABLE_LOADS): switches,
            vol.Optional(CONF_LOAD_SENSOR): EntitySelector(
                EntitySelectorConfig(domain="sensor", device_class=SensorDeviceClass.POWER)
            ),
        }
    )


def _site_power_data(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    sources = [user_input[key] for key in _SOURCE_FIELDS if user_input.get(key)]
    critical = list(user_input.get(CONF_CRITICAL_LOADS, []))
    sheddable = list(user_input.get(CONF_SHEDDABLE_LOADS, []))
    switch = user_input[CONF_TRANSFER_SWITCH]
    errors: dict[str, str] = {}
    if len(set(sources)) != len(sources):
        errors[CONF_SECOND_SOURCE] = "duplicate_source"
    if switch in critical or switch in sheddable:
        errors[CONF_TRANSFER_SWITCH] = "switch_is_a_load"
    if set(critical) & set(sheddable):
        errors[CONF_SHEDDABLE_LOADS] = "load_twice"
    data: dict[str, Any] = {
        CONF_SOURCES: sources,
        CONF_TRANSFER_SWITCH: switch,
        CONF_CRITICAL_LOADS: critical,
        CONF_SHEDDABLE_LOADS: sheddable,
    }
    for key in (CONF_SWITCH_CONFIRM, CONF_LOAD_SENSOR):
        if user_input.get(key):
            data[key] = user_input[key]
    return data, errors
