"""Forms of the vehicle-to-building (peak shaving) entries: setup, reconfigure, options."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TimeSelector,
)
import voluptuous as vol

from .building_settings import building_option
from .const import (
    CONF_BILLING_DAY,
    CONF_BUILDING_POWER,
    CONF_CAPACITY,
    CONF_CAUTIOUS_GUARD,
    CONF_DEMAND_CHARGE,
    CONF_DEMAND_INTERVAL,
    CONF_DEPARTURE,
    CONF_EFFICIENCY,
    CONF_IMPORT_LIMIT,
    CONF_LOAD_FORECAST,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_PRICE_ENTITY,
    CONF_RESERVE_SOC,
    CONF_TARGET_SOC,
    CONF_VEHICLE,
    CONF_VEHICLE_SETTINGS,
    CONF_VEHICLES,
    CONF_WEAR_COST,
    DEFAULT_V2B_OPTIONS,
    DEFAULT_VEHICLE_SETTINGS,
    DOMAIN,
)
from .helpers import box_selector, choice_selector
from .models import EntryKind, entry_kind
from .planner.peak import DEMAND_INTERVALS_MIN


def charger_choices(hass: HomeAssistant) -> dict[str, str]:
    """V2X bidirectional chargers: entry id -> title."""
    return {
        entry.entry_id: entry.title
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry_kind(entry.data) is EntryKind.CHARGER
    }


def setup_schema(hass: HomeAssistant, *, with_name: bool) -> vol.Schema:
    """The cars, the building meter and the optional forecast entities."""
    power_sensor = EntitySelector(
        EntitySelectorConfig(domain="sensor", device_class=SensorDeviceClass.POWER)
    )
    fields: dict[vol.Marker, Any] = {}
    if with_name:
        fields[vol.Required(CONF_NAME, default="Building")] = TextSelector()
    fields |= {
        vol.Required(CONF_VEHICLES): choice_selector(charger_choices(hass), multiple=True),
        vol.Required(CONF_BUILDING_POWER): power_sensor,
        vol.Required(CONF_METER_INCLUDES_VEHICLES, default=True): BooleanSelector(),
        vol.Optional(CONF_LOAD_FORECAST): power_sensor,
        vol.Optional(CONF_PRICE_ENTITY): EntitySelector(EntitySelectorConfig(domain="sensor")),
    }
    return vol.Schema(fields)


def setup_data(user_input: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Entry data from the setup form, and the form's errors."""
    vehicles = list(dict.fromkeys(user_input.get(CONF_VEHICLES, [])))
    errors: dict[str, str] = {}
    if not vehicles:
        errors[CONF_VEHICLES] = "no_vehicles"
    data: dict[str, Any] = {
        CONF_VEHICLES: vehicles,
        CONF_BUILDING_POWER: user_input[CONF_BUILDING_POWER],
        CONF_METER_INCLUDES_VEHICLES: bool(user_input.get(CONF_METER_INCLUDES_VEHICLES, True)),
    }
    for key in (CONF_LOAD_FORECAST, CONF_PRICE_ENTITY):
        if user_input.get(key):
            data[key] = user_input[key]
    if data.get(CONF_LOAD_FORECAST) == data[CONF_BUILDING_POWER]:
        errors[CONF_LOAD_FORECAST] = "forecast_is_meter"
    return data, errors


TARIFF_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_OFFPEAK_PRICE): box_selector(0, 10, "/kWh", 0.001),
        vol.Required(CONF_PEAK_PRICE): box_selector(0, 10, "/kWh", 0.001),
        vol.Required(CONF_PEAK_START): TimeSelector(),
        vol.Required(CONF_PEAK_END): TimeSelector(),
        vol.Required(CONF_PEAK_WEEKDAYS_ONLY): BooleanSelector(),
        vol.Required(CONF_DEMAND_CHARGE): box_selector(0, 1000, "/kW", 0.01),
        vol.Required(CONF_BILLING_DAY): box_selector(1, 28),
        vol.Optional(CONF_DEMAND_INTERVAL): SelectSelector(
            SelectSelectorConfig(
                options=[str(minutes) for minutes in DEMAND_INTERVALS_MIN],
                translation_key="demand_interval",
                mode=SelectSelectorMode.DROPDOWN,
            )
        ),
        vol.Optional(CONF_IMPORT_LIMIT): box_selector(1, 100_000, "kW", 0.1),
        vol.Required(CONF_WEAR_COST): box_selector(0, 5, "/kWh", 0.001),
        vol.Optional(CONF_CAUTIOUS_GUARD): BooleanSelector(),
    }
)


def tariff_values(options: dict[str, Any]) -> dict[str, Any]:
    """Current tariff options with their defaults (the form's suggested values)."""
    values = {**DEFAULT_V2B_OPTIONS, **options}
    values[CONF_DEMAND_INTERVAL] = str(values[CONF_DEMAND_INTERVAL])
    return values


def tariff_options(options: dict[str, Any], user_input: dict[str, Any]) -> dict[str, Any]:
    """New options from the tariff form (other options kept)."""
    new = {key: value for key, value in options.items() if key != CONF_IMPORT_LIMIT}
    new |= {
        CONF_OFFPEAK_PRICE: float(user_input[CONF_OFFPEAK_PRICE]),
        CONF_PEAK_PRICE: float(user_input[CONF_PEAK_PRICE]),
        CONF_PEAK_START: str(user_input[CONF_PEAK_START]),
        CONF_PEAK_END: str(user_input[CONF_PEAK_END]),
        CONF_PEAK_WEEKDAYS_ONLY: bool(user_input[CONF_PEAK_WEEKDAYS_ONLY]),
        CONF_DEMAND_CHARGE: float(user_input[CONF_DEMAND_CHARGE]),
        CONF_BILLING_DAY: int(user_input[CONF_BILLING_DAY]),
        # Absent (a form sent by a script written before these options): kept as it was.
        CONF_DEMAND_INTERVAL: int(
            user_input.get(CONF_DEMAND_INTERVAL, building_option(options, CONF_DEMAND_INTERVAL))
        ),
        CONF_WEAR_COST: float(user_input[CONF_WEAR_COST]),
        CONF_CAUTIOUS_GUARD: bool(
            user_input.get(CONF_CAUTIOUS_GUARD, building_option(options, CONF_CAUTIOUS_GUARD))
        ),
    }
    if user_input.get(CONF_IMPORT_LIMIT):
        new[CONF_IMPORT_LIMIT] = float(user_input[CONF_IMPORT_LIMIT])
    return new


def vehicle_choice_schema(hass: HomeAssistant, vehicles: list[str]) -> vol.Schema:
    """Which car's settings to change."""
    known = charger_choices(hass)
    return vol.Schema(
        {
            vol.Required(CONF_VEHICLE): choice_selector(
                {vid: known.get(vid, vid) for vid in vehicles}
            )
        }
    )


VEHICLE_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_DEPARTURE): TimeSelector(),
        vol.Required(CONF_TARGET_SOC): box_selector(10, 100, "%"),
        vol.Required(CONF_RESERVE_SOC): box_selector(0, 90, "%"),
        vol.Optional(CONF_CAPACITY): box_selector(1, 200, "kWh", 0.1),
        vol.Required(CONF_EFFICIENCY): box_selector(50, 100, "%"),
    }
)


def vehicle_values(options: dict[str, Any], vehicle_id: str) -> dict[str, Any]:
    """One car's current settings with their defaults."""
    saved = dict(options.get(CONF_VEHICLE_SETTINGS, {})).get(vehicle_id, {})
    return {**DEFAULT_VEHICLE_SETTINGS, **saved}


def vehicle_options(
    options: dict[str, Any], vehicle_id: str, user_input: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """New options with one car's settings replaced, and the form's errors."""
    settings: dict[str, Any] = {
        CONF_DEPARTURE: str(user_input[CONF_DEPARTURE]),
        CONF_TARGET_SOC: int(user_input[CONF_TARGET_SOC]),
        CONF_RESERVE_SOC: int(user_input[CONF_RESERVE_SOC]),
        CONF_EFFICIENCY: int(user_input[CONF_EFFICIENCY]),
    }
    if user_input.get(CONF_CAPACITY):
        settings[CONF_CAPACITY] = float(user_input[CONF_CAPACITY])
    errors: dict[str, str] = {}
    if settings[CONF_RESERVE_SOC] > settings[CONF_TARGET_SOC]:
        errors[CONF_RESERVE_SOC] = "reserve_above_target"
    all_settings = dict(options.get(CONF_VEHICLE_SETTINGS, {}))
    all_settings[vehicle_id] = settings
    return {**options, CONF_VEHICLE_SETTINGS: all_settings}, errors
