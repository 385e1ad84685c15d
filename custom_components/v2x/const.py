"""Constants of the V2X integration."""

from __future__ import annotations

import logging
from typing import Final

DOMAIN: Final = "v2x"
LOGGER = logging.getLogger(__package__)

CONF_FAMILY: Final = "family"
CONF_UNIT_ID: Final = "unit_id"
FAMILY_QUASAR1: Final = "quasar1"
FAMILY_ZENDURE: Final = "zendure"
FAMILY_BLUETTI: Final = "bluetti"
CHARGER_FAMILIES: Final = (FAMILY_QUASAR1,)
BATTERY_FAMILIES: Final = (FAMILY_ZENDURE, FAMILY_BLUETTI)

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
DEFAULT_REQUEST_TIMEOUT_S: Final = 3.0

DEFAULT_BATTERY_TIMEOUT_S: Final = 5.0
# Zendure's HTTP API copes with 10 s polls; Bluetti's weak Modbus stack wants 30 s.
DEFAULT_BATTERY_POLL_S: Final = {FAMILY_ZENDURE: 10, FAMILY_BLUETTI: 30}
MIN_BATTERY_POLL_S: Final = {FAMILY_ZENDURE: 2, FAMILY_BLUETTI: 15}

DEFAULT_OPTIONS: Final = {
    CONF_STATUS_INTERVAL: DEFAULT_STATUS_INTERVAL_S,
    CONF_FULL_INTERVAL: DEFAULT_FULL_INTERVAL_S,
    CONF_RESERVE_SOC: DEFAULT_RESERVE_SOC_PCT,
    CONF_WATCHDOG: DEFAULT_WATCHDOG_S,
}

# Services and their fields.
SERVICE_CHARGE: Final = "charge"
SERVICE_DISCHARGE: Final = "discharge"
SERVICE_STOP: Final = "stop"
SERVICE_SET_OUTPUT: Final = "set_output"
ATTR_DEVICE_ID: Final = "device_id"
ATTR_POWER_W: Final = "power_w"
ATTR_UNTIL_SOC: Final = "until_soc_pct"
ATTR_DURATION: Final = "duration"
ATTR_ENABLED: Final = "enabled"
ATTR_OUTPUT_LIMIT: Final = "output_limit_w"

# Events.
EVENT_SESSION_ENDED: Final = "v2x_session_ended"
