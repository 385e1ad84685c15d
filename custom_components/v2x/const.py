"""Constants of the V2X integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "v2x"
LOGGER = logging.getLogger(__package__)

# What an entry is (charger, battery, site, building) and, for devices, their family
# (the key of a family of the device registry, devices/registry.py).
CONF_KIND: Final = "kind"
CONF_FAMILY: Final = "family"
CONF_UNIT_ID: Final = "unit_id"

# Backup sites (entry data).
CONF_SITE_TYPE: Final = "site_type"
SITE_HOUSE: Final = "house"
SITE_DEVICE_PREFIX: Final = "site_"
"""A site's device identifier is this and its entry id."""
SITE_BUILDING: Final = "building"
CONF_GRID_ENTITY: Final = "grid_entity"
CONF_GRID_DEVICE: Final = "grid_device"
CONF_SOURCES: Final = "sources"
CONF_TRANSFER_SWITCH: Final = "transfer_switch"
CONF_SWITCH_CONFIRM: Final = "switch_confirm"
CONF_CRITICAL_LOADS: Final = "critical_loads"
CONF_SHEDDABLE_LOADS: Final = "sheddable_loads"
CONF_LOAD_SENSOR: Final = "load_sensor"
# Backup sites (options).
CONF_GRID_MIN_VOLTAGE: Final = "grid_min_voltage"
CONF_RESTORE_DELAY: Final = "restore_delay_s"
CONF_OUTAGE_DEBOUNCE: Final = "outage_debounce_s"
CONF_CONFIRM_TIMEOUT: Final = "confirm_timeout_s"
CONF_HOUSE_LOAD: Final = "house_load_w"
CONF_RECHARGE_POWER: Final = "recharge_power_w"
"""A site's power to recharge its cars after an outage (absent: each charger's full power)."""
CONF_ELEVATOR_STANDBY: Final = "elevator_standby_w"
CONF_ELEVATOR_TRIP: Final = "elevator_trip_wh"
CONF_ELEVATOR_TRIPS: Final = "elevator_trips_per_hour"
CONF_PARK_WARNING: Final = "park_warning_min"
CONF_GRID_POLL: Final = "grid_poll_s"
MAX_CHARGER_POWER_W: Final = 100_000
"""The largest power a form or an action accepts (a charger's own maximum is checked after)."""
MIN_GRID_POLL_S: Final = 0.2
"""The fastest grid poll a site may ask of a device with no push (SunSpec, batteries)."""
CONF_FAILED_POLLS: Final = "source_failed_polls"
CONF_FAILED_AFTER: Final = "source_failed_after_s"
CONF_RECOVER_AFTER: Final = "source_recover_after_s"
CONF_ELEVATOR_PEAK: Final = "elevator_peak_w"
CONF_READY_HOURS: Final = "ready_hours"
CONF_LOAD_RESTORE_GAP: Final = "load_restore_gap_s"
"""On the return to the grid, the time between two shed loads coming back on."""
CONF_STAGE_CRITICAL: Final = "stage_critical_loads"
"""Whether the critical loads come back one by one after switchover too."""
CONF_TRIP_LIMIT: Final = "load_trip_limit"
"""How often a load may trip the vehicle supply in one outage before it is left off."""
CONF_SHARE_LOAD: Final = "share_load"
"""Whether the sources supply together when one alone cannot carry the site's load."""

# Options (all changeable at runtime without a reload).
CONF_STATUS_INTERVAL: Final = "status_interval_s"
CONF_FULL_INTERVAL: Final = "full_interval_s"
CONF_RESERVE_SOC: Final = "reserve_soc_pct"
CONF_WATCHDOG: Final = "watchdog_s"
CONF_MAX_DISCHARGE_POWER: Final = "max_discharge_power_w"
CONF_POLL_INTERVAL: Final = "poll_interval_s"
CONF_CAPACITY: Final = "capacity_kwh"

DEFAULT_STATUS_INTERVAL_S: Final = 1
DEFAULT_FULL_INTERVAL_S: Final = 10
DEFAULT_RESERVE_SOC_PCT: Final = 30
DEFAULT_WATCHDOG_S: Final = 60
DEFAULT_VEHICLE_CAPACITY_KWH: Final = 40.0  # a Nissan Leaf e+ sized default

DEFAULT_OPTIONS: Final = {
    CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL_S,
    CONF_FULL_INTERVAL: DEFAULT_FULL_INTERVAL_S,
    CONF_RESERVE_SOC: DEFAULT_RESERVE_SOC_PCT,
    CONF_WATCHDOG: DEFAULT_WATCHDOG_S,
    CONF_CAPACITY: DEFAULT_VEHICLE_CAPACITY_KWH,
}

DEFAULT_SITE_OPTIONS: Final = {
    CONF_RESERVE_SOC: 30,
    CONF_RESTORE_DELAY: 60,
    CONF_OUTAGE_DEBOUNCE: 0.5,
    CONF_CONFIRM_TIMEOUT: 10,
    CONF_HOUSE_LOAD: 1000,
    CONF_PARK_WARNING: 10,
    CONF_GRID_MIN_VOLTAGE: 180,
    CONF_GRID_POLL: 1,
    CONF_FAILED_POLLS: 2,
    CONF_FAILED_AFTER: 15,
    CONF_RECOVER_AFTER: 30,
    CONF_READY_HOURS: 1,
    CONF_LOAD_RESTORE_GAP: 2,
    CONF_SHARE_LOAD: False,
    CONF_STAGE_CRITICAL: True,
    CONF_TRIP_LIMIT: 3,
}
DEFAULT_ELEVATOR_OPTIONS: Final = {
    CONF_ELEVATOR_PEAK: 8000,
    CONF_ELEVATOR_STANDBY: 250,
    CONF_ELEVATOR_TRIP: 60,
    CONF_ELEVATOR_TRIPS: 20,
}

# Services and their fields.
SERVICE_CHARGE: Final = "charge"
SERVICE_DISCHARGE: Final = "discharge"
SERVICE_STOP: Final = "stop"
SERVICE_SET_OUTPUT: Final = "set_output"
SERVICE_START_BACKUP: Final = "start_backup"
SERVICE_END_BACKUP: Final = "end_backup"
SERVICE_RUN_DRILL: Final = "run_drill"
DEFAULT_DRILL_MINUTES: Final = 5
ATTR_DEVICE_ID: Final = "device_id"
ATTR_POWER_W: Final = "power_w"
ATTR_UNTIL_SOC: Final = "until_soc_pct"
ATTR_DURATION: Final = "duration"
ATTR_ENABLED: Final = "enabled"
ATTR_OUTPUT_LIMIT: Final = "output_limit_w"

# Events.
EVENT_SESSION_ENDED: Final = "v2x_session_ended"

# Vehicle-to-building peak shaving (entry data).
CONF_VEHICLES: Final = "vehicles"
CONF_BUILDING_POWER: Final = "building_power_entity"
CONF_METER_INCLUDES_VEHICLES: Final = "meter_includes_vehicles"
CONF_LOAD_FORECAST: Final = "load_forecast_entity"
CONF_PRICE_ENTITY: Final = "price_entity"
# Vehicle-to-building peak shaving (options).
CONF_OFFPEAK_PRICE: Final = "offpeak_price"
CONF_PEAK_PRICE: Final = "peak_price"
CONF_PEAK_START: Final = "peak_start"
CONF_PEAK_END: Final = "peak_end"
CONF_PEAK_WEEKDAYS_ONLY: Final = "peak_weekdays_only"
CONF_DEMAND_CHARGE: Final = "demand_charge_per_kw"
CONF_BILLING_DAY: Final = "billing_day"
CONF_DEMAND_INTERVAL: Final = "demand_interval_min"
CONF_IMPORT_LIMIT: Final = "import_limit_kw"
CONF_WEAR_COST: Final = "wear_cost_per_kwh"
CONF_CAUTIOUS_GUARD: Final = "cautious_guard"
CONF_VEHICLE_SETTINGS: Final = "vehicle_settings"
CONF_DEPARTURE: Final = "departure"
CONF_TARGET_SOC: Final = "target_soc_pct"
CONF_EFFICIENCY: Final = "efficiency_pct"
CONF_VEHICLE: Final = "vehicle"

DEFAULT_V2B_OPTIONS: Final = {
    CONF_OFFPEAK_PRICE: 0.10,
    CONF_PEAK_PRICE: 0.30,
    CONF_PEAK_START: "13:00:00",
    CONF_PEAK_END: "19:00:00",
    CONF_PEAK_WEEKDAYS_ONLY: True,
    CONF_DEMAND_CHARGE: 0.0,
    CONF_BILLING_DAY: 1,
    CONF_DEMAND_INTERVAL: 15,
    CONF_WEAR_COST: 0.02,
    CONF_CAUTIOUS_GUARD: False,
}
DEFAULT_VEHICLE_SETTINGS: Final = {
    CONF_DEPARTURE: "17:30:00",
    CONF_TARGET_SOC: 100,
    CONF_RESERVE_SOC: 30,
    CONF_EFFICIENCY: 85,
}

SERVICE_GET_PLAN: Final = "get_plan"
SERVICE_SET_DEPARTURE: Final = "set_departure"
ATTR_DEPARTURE: Final = "departure"
ATTR_TARGET_SOC: Final = "target_soc_pct"
