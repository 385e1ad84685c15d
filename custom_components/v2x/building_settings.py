"""A V2B building's options: the tariff, the demand charge, each car's settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .const import (
    CONF_OFFPEAK_PRICE,
    CONF_PEAK_END,
    CONF_PEAK_PRICE,
    CONF_PEAK_START,
    CONF_PEAK_WEEKDAYS_ONLY,
    CONF_VEHICLE_SETTINGS,
    DEFAULT_V2B_OPTIONS,
    DEFAULT_VEHICLE_SETTINGS,
)
from .planner.schedule import parse_time
from .planner.series import TariffPeriod, TimeOfUseTariff


def building_option(options: Mapping[str, Any], key: str) -> Any:
    """One option of the building, or its default."""
    return options.get(key, DEFAULT_V2B_OPTIONS.get(key))


def vehicle_setting(options: Mapping[str, Any], vehicle_id: str, key: str) -> Any:
    """One per-car setting from the options, or its default."""
    settings = dict(options.get(CONF_VEHICLE_SETTINGS, {}))
    return dict(settings.get(vehicle_id, {})).get(key, DEFAULT_VEHICLE_SETTINGS.get(key))


def tariff(options: Mapping[str, Any]) -> TimeOfUseTariff:
    """The time-of-use tariff of the options."""
    weekdays = frozenset(range(5)) if building_option(options, CONF_PEAK_WEEKDAYS_ONLY) else None
    period = TariffPeriod(
        start=parse_time(
            building_option(options, CONF_PEAK_START), DEFAULT_V2B_OPTIONS[CONF_PEAK_START]
        ),
        end=parse_time(building_option(options, CONF_PEAK_END), DEFAULT_V2B_OPTIONS[CONF_PEAK_END]),
        price=float(building_option(options, CONF_PEAK_PRICE)),
        **({"weekdays": weekdays} if weekdays is not None else {}),
    )
    return TimeOfUseTariff(float(building_option(options, CONF_OFFPEAK_PRICE)), (period,))
