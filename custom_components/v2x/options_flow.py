"""Options of every kind of entry: poll rates and limits, site timings, tariffs, cars."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import BooleanSelector
import voluptuous as vol

from . import building_flow
from .const import (
    CONF_CAPACITY,
    CONF_CONFIRM_TIMEOUT,
    CONF_ELEVATOR_PEAK,
    CONF_ELEVATOR_STANDBY,
    CONF_ELEVATOR_TRIP,
    CONF_ELEVATOR_TRIPS,
    CONF_FAILED_AFTER,
    CONF_FAILED_POLLS,
    CONF_FULL_INTERVAL,
    CONF_GRID_DEVICE,
    CONF_GRID_ENTITY,
    CONF_GRID_MIN_VOLTAGE,
    CONF_GRID_POLL,
    CONF_HOUSE_LOAD,
    CONF_LOAD_RESTORE_GAP,
    CONF_MAX_DISCHARGE_POWER,
    CONF_OUTAGE_DEBOUNCE,
    CONF_PARK_WARNING,
    CONF_POLL_INTERVAL,
    CONF_READY_HOURS,
    CONF_RECHARGE_POWER,
    CONF_RECOVER_AFTER,
    CONF_RESERVE_SOC,
    CONF_RESTORE_DELAY,
    CONF_SHARE_LOAD,
    CONF_SITE_TYPE,
    CONF_STAGE_CRITICAL,
    CONF_STATUS_INTERVAL,
    CONF_TRIP_LIMIT,
    CONF_VEHICLE,
    CONF_VEHICLES,
    CONF_WATCHDOG,
    DEFAULT_ELEVATOR_OPTIONS,
    DEFAULT_OPTIONS,
    DEFAULT_SITE_OPTIONS,
    MAX_CHARGER_POWER_W,
    MIN_GRID_POLL_S,
    SITE_BUILDING,
)
from .helpers import box_selector
from .models import EntryKind, default_device_options, entry_family, entry_kind
from .site_flow import entry_title

# The watchdog must survive a few missed polls, or the charger stops between two.
WATCHDOG_POLL_FACTOR = 3


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
            return await self.async_step_building()
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
        family = entry_family(self.config_entry)
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_STATUS_INTERVAL): box_selector(1, 60, "s"),
            vol.Required(CONF_FULL_INTERVAL): box_selector(5, 600, "s"),
            vol.Required(CONF_RESERVE_SOC): box_selector(0, 95, "%"),
            vol.Required(CONF_WATCHDOG): box_selector(10, family.watchdog_max_s, "s"),
            vol.Optional(CONF_MAX_DISCHARGE_POWER): box_selector(100, MAX_CHARGER_POWER_W, "W"),
            vol.Required(CONF_CAPACITY): box_selector(1, 200, "kWh", step=0.1),
        }
        if not family.watchdog:
            # ECHONET Lite has no watchdog: nothing to set.
            del fields[vol.Required(CONF_WATCHDOG)]
        schema = vol.Schema(fields)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(schema, current),
            errors=errors,
        )

    async def async_step_building(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A building's options come in two parts: its tariff, and each car's settings."""
        return self.async_show_menu(step_id="building", menu_options=["tariff", "vehicle"])

    async def async_step_battery(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Poll interval and usable capacity of a portable battery."""
        family = entry_family(self.config_entry)
        min_poll_s = family.poll.min_s if family.poll else 1
        if user_input is not None:
            options: dict[str, Any] = {CONF_POLL_INTERVAL: int(user_input[CONF_POLL_INTERVAL])}
            if user_input.get(CONF_CAPACITY):
                options[CONF_CAPACITY] = float(user_input[CONF_CAPACITY])
            return self.async_create_entry(data=options)
        current = {**default_device_options(family), **self.config_entry.options}
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
            options = {**entry.options, **user_input}
            if CONF_RECHARGE_POWER not in user_input:  # emptied: full power again
                options.pop(CONF_RECHARGE_POWER, None)
            return self.async_create_entry(data=options)
        building = entry.data.get(CONF_SITE_TYPE) == SITE_BUILDING
        fields: dict[vol.Marker, Any] = {
            vol.Required(CONF_RESERVE_SOC): box_selector(5, 95, "%"),
            vol.Required(CONF_RESTORE_DELAY): box_selector(0, 3600, "s"),
            vol.Required(CONF_OUTAGE_DEBOUNCE): box_selector(0, 60, "s", step=0.1),
            vol.Required(CONF_CONFIRM_TIMEOUT): box_selector(1, 120, "s"),
            vol.Required(CONF_FAILED_POLLS): box_selector(1, 20),
            vol.Required(CONF_FAILED_AFTER): box_selector(1, 600, "s"),
            vol.Required(CONF_RECOVER_AFTER): box_selector(0, 3600, "s"),
            vol.Optional(CONF_SHARE_LOAD): BooleanSelector(),
            vol.Optional(CONF_LOAD_RESTORE_GAP): box_selector(0, 600, "s"),
            vol.Optional(CONF_STAGE_CRITICAL): BooleanSelector(),
            vol.Optional(CONF_TRIP_LIMIT): box_selector(1, 20),
            vol.Optional(CONF_READY_HOURS): box_selector(0, 72, "h", step=0.5),
            vol.Optional(CONF_RECHARGE_POWER): box_selector(100, 350000, "W"),
        }
        if building:
            fields |= {
                vol.Required(CONF_PARK_WARNING): box_selector(0, 120, "min"),
                vol.Optional(CONF_ELEVATOR_PEAK): box_selector(0, 100000, "W"),
                vol.Required(CONF_ELEVATOR_STANDBY): box_selector(0, 20000, "W"),
                vol.Required(CONF_ELEVATOR_TRIP): box_selector(0, 5000, "Wh"),
                vol.Required(CONF_ELEVATOR_TRIPS): box_selector(0, 600),
            }
        else:
            fields[vol.Required(CONF_HOUSE_LOAD)] = box_selector(0, 50000, "W")
        grid_entity = str(entry.data.get(CONF_GRID_ENTITY) or "")
        if entry.data.get(CONF_GRID_DEVICE):
            fields[vol.Required(CONF_GRID_POLL)] = box_selector(MIN_GRID_POLL_S, 60, "s", step=0.05)
        elif not grid_entity.startswith("binary_sensor."):  # a voltage (or power) sensor
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
            description_placeholders={"vehicle": entry_title(self.hass, self._vehicle)},
        )
