"""State-of-charge glitch filter.

Field users of the Wallbox Quasar report that the SoC register reads 0 when no car
is connected or no power flows, and occasionally glitches to 1 %. The filter keeps
the last good value (flagged stale) and accepts a sudden jump only once the device
has repeated it, so a single glitch can never drive a decision. Every charger
family goes through it: SunSpec 713 reads 0 % for "no storage", and a car's battery
management never lets it reach 0 %, so 0 means "no value" everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import SocReading


@dataclass(slots=True)
class SocFilter:
    """Turn raw SoC register readings into trusted :class:`SocReading` values."""

    confirmations: int = 3
    max_jump_pct: float = 10.0
    _last_good: float | None = field(default=None, init=False)
    _candidate: float | None = field(default=None, init=False)
    _candidate_count: int = field(default=0, init=False)

    def reset(self) -> None:
        """Forget everything: a different vehicle may be plugged in next."""
        self._last_good = None
        self._candidate = None
        self._candidate_count = 0

    def update(self, raw_pct: float, *, vehicle_connected: bool | None) -> SocReading:
        """Feed one raw reading; return what the integration should believe."""
        if vehicle_connected is False:
            self.reset()
            return SocReading(None)
        if raw_pct <= 0 or raw_pct > 100:
            # 0: no car or no power flow on the Quasar; keep the last good value.
            self._candidate = None
            self._candidate_count = 0
            return self._kept()
        if self._plausible(raw_pct):
            return self._accept(raw_pct)
        if self._candidate is not None and abs(raw_pct - self._candidate) <= 1:
            self._candidate_count += 1
        else:
            self._candidate = raw_pct
            self._candidate_count = 1
        if self._candidate_count >= self.confirmations:
            return self._accept(raw_pct)
        return self._kept()

    def _plausible(self, raw_pct: float) -> bool:
        if self._last_good is None:
            # A first reading of 1 % is the documented glitch: wait for confirmation.
            return raw_pct > 1
        return abs(raw_pct - self._last_good) <= self.max_jump_pct

    def _accept(self, raw_pct: float) -> SocReading:
        self._last_good = float(raw_pct)
        self._candidate = None
        self._candidate_count = 0
        return SocReading(self._last_good)

    def missing(self) -> SocReading:
        """The device answered no SoC this time: keep the last good value (stale)."""
        return self._kept()

    def _kept(self) -> SocReading:
        if self._last_good is None:
            return SocReading(None)
        return SocReading(self._last_good, stale=True)
