"""What a V2B building reads from Home Assistant: its meter, forecasts, statistics.

The recorder's statistics of the meter are what the load profile is learned from.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util

from .planner.series import LoadProfile, parse_forecast

LEARN_DAYS: Final = 28
FORECAST_ATTRIBUTES: Final = ("forecast", "prices", "raw_today", "raw_tomorrow")


def kw_per_unit(state: State) -> float:
    """Factor from a power entity's unit to kW (its values are kW unless it says W)."""
    return 0.001 if state.attributes.get("unit_of_measurement") == UnitOfPower.WATT else 1.0


def power_kw(hass: HomeAssistant, entity_id: str) -> float | None:
    """A power entity now, in kW (None when unknown)."""
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value * kw_per_unit(state)


def number(hass: HomeAssistant, entity_id: str) -> float | None:
    """An entity's state as a number (None when it is none)."""
    state = hass.states.get(entity_id)
    if state is None:
        return None
    try:
        return float(state.state)
    except ValueError:
        return None


def scale_to_kw(hass: HomeAssistant, entity_id: str) -> float:
    """Factor from an entity's values to kW (1 when it has no state)."""
    state = hass.states.get(entity_id)
    return kw_per_unit(state) if state is not None else 1.0


def last_reported(hass: HomeAssistant, entity_id: str) -> datetime | None:
    """When an entity last reported a reading."""
    state = hass.states.get(entity_id)
    return state.last_reported if state is not None else None


def forecast_points(hass: HomeAssistant, entity_id: str) -> list[tuple[datetime, float]]:
    """(time, value) points of a forecast entity's attributes, in time order."""
    state = hass.states.get(entity_id)
    if state is None:
        return []
    points: list[tuple[datetime, float]] = []
    for attribute in FORECAST_ATTRIBUTES:
        points.extend(parse_forecast(state.attributes.get(attribute)))
    return sorted(points, key=lambda point: point[0])


async def async_learn_profile(
    hass: HomeAssistant, entity_id: str, now: datetime
) -> LoadProfile | None:
    """The load per weekday and 15 minutes, learned from the meter's statistics.

    None without a recorder, or without statistics to learn from.
    """
    if "recorder" not in hass.config.components:
        return None
    samples = await _async_statistics(hass, entity_id, now - timedelta(days=LEARN_DAYS), now)
    return LoadProfile.learn(samples) if samples else None


async def _async_statistics(
    hass: HomeAssistant, entity_id: str, start: datetime, end: datetime
) -> list[tuple[datetime, float]]:
    """(local time, kW) samples of the meter from the recorder's statistics.

    Five-minute statistics where the recorder still has them (about ten days),
    else hourly ones (kept for ever), so a fresh install learns from its history.
    """
    from homeassistant.components.recorder.statistics import (  # noqa: PLC0415
        statistics_during_period,
    )
    from homeassistant.helpers.recorder import get_instance  # noqa: PLC0415

    scale = scale_to_kw(hass, entity_id)
    samples: list[tuple[datetime, float]] = []
    for period in ("5minute", "hour"):
        rows = await get_instance(hass).async_add_executor_job(
            statistics_during_period, hass, start, end, {entity_id}, period, None, {"mean"}
        )
        for row in rows.get(entity_id, []):
            mean = row.get("mean")
            if mean is None:
                continue
            moment = dt_util.as_local(dt_util.utc_from_timestamp(float(row["start"])))
            minutes = 5 if period == "5minute" else 60
            samples.extend(
                (moment + timedelta(minutes=offset), float(mean) * scale)
                for offset in range(0, minutes, 15 if minutes == 60 else 5)
            )
        if len(samples) >= 96:
            break
    return samples
