"""The backup-site forms: grid signal, sources, transfer switch, loads; their checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from .const import (
    CONF_CRITICAL_LOADS,
    CONF_LOAD_SENSOR,
    CONF_SHEDDABLE_LOADS,
    CONF_SITE_TYPE,
    CONF_SOURCES,
    CONF_SWITCH_CONFIRM,
    CONF_TRANSFER_SWITCH,
    DOMAIN,
    SITE_BUILDING,
    SITE_HOUSE,
)
from .helpers import choice_selector
from .models import entry_kind
from .runtime import as_battery, as_charger, loaded

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


def entry_title(hass: HomeAssistant, entry_id: str) -> str:
    """An entry's title, or its id if it is gone."""
    entry = hass.config_entries.async_get_entry(entry_id)
    return entry.title if entry else entry_id


def site_form_values(data: Mapping[str, Any]) -> dict[str, Any]:
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


def site_power_data(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The site's sources, switch and loads from the form, and what is wrong with them."""
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
