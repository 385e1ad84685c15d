"""What a V2B building reads from Home Assistant: its meter, forecasts, statistics.

The recorder's statistics of the meter are what the load profile is learned from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timedelta
import math
from typing import Any, Final

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant, State
from homeassistant.util import dt as dt_util

from .building_settings import building_option, tariff
from .const import (
    CONF_BUILDING_POWER,
    CONF_DEMAND_CHARGE,
    CONF_IMPORT_LIMIT,
    CONF_LOAD_FORECAST,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_PRICE_ENTITY,
)
from .models import ChargerRuntimeData
from .planner import nowcast
from .planner.model import FloatArray, PlanInput, VehicleSpec
from .planner.peak import PlanBilling
from .planner.schedule import HORIZON_STEPS, STEP, todays_steps
from .planner.series import LoadProfile, TimeOfUseTariff, parse_forecast, step_starts

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
    if not math.isfinite(value):
        return None  # "nan" and "inf" parse as floats; no meter means them
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


class BuildingReadings:
    """The building's meter, its cars' chargers, and the forecasts it plans on, now."""

    def __init__(
        self,
        hass: HomeAssistant,
        data: Mapping[str, Any],
        chargers: Callable[[], Iterable[ChargerRuntimeData | None]],
    ) -> None:
        """Read the entities named in the entry's data; ``chargers`` gives the cars'."""
        self._hass = hass
        self.meter: str = data[CONF_BUILDING_POWER]
        self.meter_includes_vehicles = bool(data.get(CONF_METER_INCLUDES_VEHICLES, True))
        self.forecast_entity: str | None = data.get(CONF_LOAD_FORECAST)
        self.price_entity: str | None = data.get(CONF_PRICE_ENTITY)
        self._chargers = chargers

    def meter_import_kw(self) -> float | None:
        """The building meter now, in kW (None when unknown)."""
        return power_kw(self._hass, self.meter)

    def vehicles_kw(self) -> float:
        """What the cars draw now (negative: they supply)."""
        total = 0.0
        for data in self._chargers():
            if data is not None and data.status.data is not None:
                total += data.status.data.power_w / 1000
        return total

    def import_and_base_kw(self) -> tuple[float, float] | None:
        """The grid import and the building's own load, from one reading of each.

        The import includes the cars (it is what is billed), the own load does not.
        None when the meter is unknown.
        """
        meter = self.meter_import_kw()
        if meter is None:
            return None
        cars = self.vehicles_kw()
        if self.meter_includes_vehicles:
            return meter, meter - cars
        return meter + cars, meter

    def grid_import_kw(self) -> float | None:
        """What the building draws from the grid now, cars included (what is billed)."""
        both = self.import_and_base_kw()
        return None if both is None else both[0]

    def base_load_kw(self) -> float | None:
        """The building's load without the cars, measured now."""
        both = self.import_and_base_kw()
        return None if both is None else both[1]

    def load_forecast(
        self, starts: list[datetime], step: timedelta, profile: LoadProfile
    ) -> tuple[FloatArray, str]:
        """Forecast entity, else the learned profile, else the load measured now."""
        entity = self.forecast_entity
        return nowcast.load_forecast(
            starts,
            step,
            measured_kw=self.base_load_kw(),
            profile=profile,
            forecast=forecast_points(self._hass, entity) if entity else [],
            forecast_scale=scale_to_kw(self._hass, entity) if entity else 1.0,
            reading_at=last_reported(self._hass, self.meter),
        )

    def plan_input(
        self,
        start: datetime,
        vehicles: list[VehicleSpec],
        profile: LoadProfile,
        options: Mapping[str, Any],
        billing: PlanBilling,
    ) -> tuple[PlanInput, str]:
        """What the plan starting at ``start`` is made on, and where its load came from."""
        starts = step_starts(start, HORIZON_STEPS, STEP)
        load, source = self.load_forecast(starts, STEP, profile)
        limit = building_option(options, CONF_IMPORT_LIMIT)
        return (
            PlanInput(
                step_h=STEP.total_seconds() / 3600,
                load_kw=load,
                price=self.prices(starts, STEP, tariff(options)),
                vehicles=tuple(vehicles),
                import_limit_kw=float(limit) if limit else None,
                demand_charge_per_kw=float(building_option(options, CONF_DEMAND_CHARGE)),
                billed_peak_kw=billing.peak_kw,
                demand_mask=todays_steps(starts),
                billing_steps=billing.steps,
                billing_offset=billing.offset,
                billing_so_far_kwh=billing.so_far_kwh,
            ),
            source,
        )

    def prices(
        self, starts: list[datetime], step: timedelta, tariff: TimeOfUseTariff
    ) -> FloatArray:
        """The price entity's, where it tells, else the tariff's."""
        prices = tariff.prices(starts)
        if not self.price_entity:
            return prices
        points = forecast_points(self._hass, self.price_entity)
        current = number(self._hass, self.price_entity)
        return nowcast.prices(starts, step, prices, points, current)
