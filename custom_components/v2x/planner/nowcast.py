"""The load and price series a V2B plan is made on.

The load comes from a forecast entity, else the learned profile, else the load
measured now; the step under way is a nowcast. The prices are the tariff's, where
a price entity tells no better. Pure functions, no Home Assistant imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
import math

import numpy as np

from .model import FloatArray
from .series import LoadProfile, fill_missing, instant, sample_forecast


def load_forecast(
    starts: Sequence[datetime],
    step: timedelta,
    *,
    measured_kw: float | None,
    profile: LoadProfile,
    forecast: Sequence[tuple[datetime, float]] = (),
    forecast_scale: float = 1.0,
    reading_at: datetime | None = None,
) -> tuple[FloatArray, str]:
    """The building's load over ``starts`` (kW), and where it came from.

    The step under way is a nowcast: its forecast, moved by how far the latest meter
    reading (``measured_kw``, taken at ``reading_at``) is from the forecast of the step
    that reading was taken in. At a step boundary the latest reading belongs to the
    step that just ended, and on a morning ramp it can be far below the step that begins.
    """
    # One step before the horizon too, for a reading taken before it starts.
    steps = [(instant(starts[0]) - step).astimezone(starts[0].tzinfo), *starts]
    series: FloatArray = np.full(len(steps), measured_kw if measured_kw is not None else 0.0)
    source = "measured" if measured_kw is not None else "none"
    if not profile.empty:
        series, source = profile.forecast(steps), "learned"
    if forecast:
        values = sample_forecast(list(forecast), steps, step) * forecast_scale
        series, source = fill_missing(values, series), "forecast"
    load = series[1:].copy()
    if measured_kw is not None:
        before = reading_at is not None and instant(reading_at) < instant(starts[0])
        load[0] = measured_kw + (series[1] - series[0] if before else 0.0)
    return load, source


def prices(
    starts: Sequence[datetime],
    step: timedelta,
    tariff_prices: FloatArray,
    forecast: Sequence[tuple[datetime, float]],
    current: float | None,
) -> FloatArray:
    """A price entity's forecast (its current price for the step under way), else the tariff."""
    values = sample_forecast(list(forecast), list(starts), step)
    if current is not None and math.isnan(values[0]):
        values[0] = current
    return fill_missing(values, tariff_prices)
