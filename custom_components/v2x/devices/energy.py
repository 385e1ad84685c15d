"""Energy counters integrated from power samples (trapezoidal rule).

Charged and discharged energy are kept apart so both can feed the Energy dashboard
as ``total_increasing`` sensors. A gap longer than ``max_gap_s`` between samples
(the device was unreachable) is not integrated: we do not know what happened then.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_WS_PER_KWH = 3_600_000.0


@dataclass(slots=True)
class EnergyCounter:
    """Integrate signed power (W, positive = charging) into two kWh totals."""

    max_gap_s: float = 30.0
    charged_kwh: float = 0.0
    discharged_kwh: float = 0.0
    _last: tuple[float, float] | None = field(default=None, init=False)
    _restored: set[str] = field(default_factory=set, init=False)

    def restore(
        self, *, charged_kwh: float | None = None, discharged_kwh: float | None = None
    ) -> None:
        """Add totals saved before a restart, once per total; negatives are ignored."""
        if charged_kwh is not None and charged_kwh >= 0 and "charged" not in self._restored:
            self._restored.add("charged")
            self.charged_kwh += charged_kwh
        if (
            discharged_kwh is not None
            and discharged_kwh >= 0
            and "discharged" not in self._restored
        ):
            self._restored.add("discharged")
            self.discharged_kwh += discharged_kwh

    def add(self, time_s: float, power_w: float) -> None:
        """Add one sample taken at monotonic ``time_s``."""
        last, self._last = self._last, (time_s, power_w)
        if last is None:
            return
        last_time, last_power = last
        dt = time_s - last_time
        if dt <= 0 or dt > self.max_gap_s:
            return
        charged_ws, discharged_ws = _split_trapezoid(last_power, power_w, dt)
        self.charged_kwh += charged_ws / _WS_PER_KWH
        self.discharged_kwh += discharged_ws / _WS_PER_KWH

    def break_gap(self) -> None:
        """Forget the last sample (the device became unreachable)."""
        self._last = None


def _split_trapezoid(p0: float, p1: float, dt: float) -> tuple[float, float]:
    """Return (charged, discharged) watt-seconds between two samples, both >= 0."""
    if p0 >= 0 and p1 >= 0:
        return (p0 + p1) / 2 * dt, 0.0
    if p0 <= 0 and p1 <= 0:
        return 0.0, -(p0 + p1) / 2 * dt
    # The line crosses zero at t0: one triangle on each side.
    t0 = min(dt, max(0.0, dt * p0 / (p0 - p1)))  # clamped: rounding must not leave [0, dt]
    first = abs(p0) * t0 / 2
    second = abs(p1) * (dt - t0) / 2
    return (first, second) if p0 > 0 else (second, first)
