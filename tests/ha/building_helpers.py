"""A vehicle-to-building entry for the tests: its meter, tariff, clock and cars.

The fixtures that set one up (``building``, ``make_building``, ``frozen_clock``) are in
``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.building import (
    TICK,
    BuildingManager,
)
from custom_components.v2x.const import (
    CONF_BUILDING_POWER,
    CONF_DEMAND_CHARGE,
    CONF_DEPARTURE,
    CONF_KIND,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_TARGET_SOC,
    CONF_VEHICLE_SETTINGS,
    CONF_VEHICLES,
    DOMAIN,
)
from custom_components.v2x.models import EntryKind

from .helpers import wait_for_plan

METER = "sensor.building_power"


# A Wednesday afternoon, in the peak period of the test tariff.
NOW = (2026, 11, 18, 14, 5)


def _now() -> datetime:
    return datetime(*NOW, tzinfo=dt_util.get_default_time_zone())


def v2b_entry(charger_entry_id: str, **options: Any) -> MockConfigEntry:
    """A building with one car, a peak price from 13:00 to 16:00 and a late departure."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Office",
        data={
            CONF_KIND: EntryKind.BUILDING.value,
            CONF_VEHICLES: [charger_entry_id],
            CONF_BUILDING_POWER: METER,
            CONF_METER_INCLUDES_VEHICLES: False,
        },
        options={
            CONF_OFFPEAK_PRICE: 0.10,
            CONF_PEAK_PRICE: 0.30,
            CONF_PEAK_START: "13:00:00",
            CONF_PEAK_END: "16:00:00",
            CONF_PEAK_WEEKDAYS_ONLY: True,
            CONF_DEMAND_CHARGE: 0.0,
            CONF_VEHICLE_SETTINGS: {
                charger_entry_id: {CONF_DEPARTURE: "23:00:00", CONF_TARGET_SOC: 80}
            },
            **options,
        },
    )


FORECAST = "sensor.load_forecast"


PRICE = "sensor.spot_price"


MISSING = "no_such_charger_entry"


BUILDING_TICK_S = TICK.total_seconds() + 0.5  # fire the building's tick once


type MakeBuilding = Callable[..., Awaitable[BuildingManager]]


def _bay(number: int = 1) -> str:
    """The object id prefix of the building's car bay ``number`` (its device: "Office bay 1")."""
    return f"office_bay_{number}"


def building_entry(
    vehicles: list[str], data: dict[str, Any] | None = None, **options: Any
) -> MockConfigEntry:
    """Like v2b_entry, with more cars and more entry data."""
    template = v2b_entry(vehicles[0], **options)
    return MockConfigEntry(
        domain=DOMAIN,
        title=template.title,
        data={**template.data, CONF_VEHICLES: vehicles, **(data or {})},
        options=dict(template.options),
    )


async def replan(hass: HomeAssistant, manager: BuildingManager) -> None:
    manager.request_replan("test")
    await wait_for_plan(hass, manager)
