"""Config flow: add a charger or a portable battery; zeroconf; reconfigure; options."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_NAME, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import voluptuous as vol

from . import building_flow
from .const import (
    CONF_FAMILY,
    CONF_GRID_DEVICE,
    CONF_GRID_ENTITY,
    CONF_KIND,
    CONF_SITE_TYPE,
    CONF_TRANSFER_SWITCH,
    DEFAULT_ELEVATOR_OPTIONS,
    DEFAULT_SITE_OPTIONS,
    DOMAIN,
    SITE_BUILDING,
)
from .device_flow import async_validate, connection_data, connection_schema, device_title
from .devices.family import DeviceFamily, DeviceKind
from .devices.model import DeviceIdentity
from .devices.registry import by_network_scan, by_zeroconf, families, family as device_family
from .echonet_support import CONF_IDENTIFICATION, async_request_scan
from .helpers import choice_selector
from .models import EntryKind, default_device_options, entry_family, entry_kind
from .options_flow import V2XOptionsFlow
from .runtime import V2XConfigEntry
from .site_flow import (
    CONF_GRID_SIGNAL,
    GRID_ENTITY_SELECTOR,
    GRID_SIGNAL_DEVICE,
    SITE_SCHEMA,
    entry_title,
    grid_device_choices,
    site_form_values,
    site_power_data,
    site_power_schema,
    source_choices,
)

# The menu: what the user adds. Devices are then chosen by product (the registry).
MENU_BUILDING = "v2b"


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
                    title=device_title(identity), data=data, options=default_device_options(family)
                )
        return self.async_show_form(
            step_id="device",
            data_schema=self.add_suggested_values_to_schema(
                connection_schema(family, {}), user_input or {}
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
            data, errors = site_power_data(user_input)
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
        family = (
            device_family(str(discovery_info[CONF_FAMILY]))
            if CONF_FAMILY in discovery_info
            else by_network_scan()
        )
        data = connection_data(family, discovery_info)
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
        data = connection_data(family, user_input)
        identity, errors = await async_validate(self.hass, data)
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
        return await self._async_offer_discovered(connection_data(family, connection))

    async def _async_offer_discovered(self, data: dict[str, Any]) -> ConfigFlowResult:
        """Read the discovered device's identity, then ask before adding it."""
        identity, errors = await async_validate(self.hass, data)
        if identity is None:
            return self.async_abort(reason=next(iter(errors.values())))
        await self.async_set_unique_id(identity.serial_number)
        # A known device that moved: update its address (and reload it), nothing else.
        self._abort_if_unique_id_configured(
            updates={CONF_HOST: data[CONF_HOST], CONF_PORT: data[CONF_PORT]},
            reload_on_update=False,  # the entry's update listener reloads it
        )
        self._discovered = data
        self._discovered_title = device_title(identity)
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
                options=default_device_options(device_family(self._discovered[CONF_FAMILY])),
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
        family = entry_family(entry)
        errors: dict[str, str] = {}
        if user_input is not None:
            data, identity, errors = await self._async_identify(family, user_input)
            if identity is not None:
                self._abort_if_unique_id_mismatch(reason="wrong_device")
                return self._async_reconfigured(entry, {**entry.data, **data})
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=connection_schema(family, {**entry.data, **(user_input or {})}),
            errors=errors,
        )

    async def async_step_reconfigure_site(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The grid signal, sources, transfer switch and loads of an existing site."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = site_power_data(user_input)
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
            choices = {grid_device: entry_title(self.hass, grid_device)}
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
                schema, user_input or site_form_values(entry.data)
            ),
            errors=errors,
        )
