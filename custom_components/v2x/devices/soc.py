"""State-of-charge glitch filter.

Field users of the Wallbox Quasar report that the SoC register reads 0 when no car
is connected or no power flows, and occasionally glitches to 1 %. The filter keeps
the last good value (flagged stale) and accepts a sudden jump only once the device
has repeated it, so a single glitch can never drive a decision. Every charger
family goes through it: SunSpec 713 reads 0 % for "no storage", and a car's battery
management never lets it reach 0 %, so 0 means "no value" everywhere.

A jump the charger's other readings explain is believed sooner: when the device's
state (its ``context``: the charger state a profile passes in) has changed since the
last good reading — another car plugged in between two polls, charging started or
stopped, even in readings that carried no SoC — two matching readings are enough
instead of three. A lone reading is
never enough, and 1 % (the documented glitch) never counts as explained.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import SocReading


@dataclass(slots=True)
class SocFilter:
    """Turn raw SoC register readings into trusted :class:`SocReading` values."""

    confirmations: int = 3
    explained_confirmations: int = 2
    """Matching readings needed when the device's state changed since the last good one."""
    max_jump_pct: float = 10.0
    _last_good: float | None = field(default=None, init=False)
    _last_context: object = field(default=None, init=False)
    _changed_since_good: bool = field(default=False, init=False)
    _candidate: float | None = field(default=None, init=False)
    _candidate_count: int = field(default=0, init=False)

    def reset(self) -> None:
        """Forget everything: a different vehicle may be plugged in next."""
        self._last_good = None
        self._last_context = None
        self._changed_since_good = False
        self._candidate = None
        self._candidate_count = 0

    def update(
        self, raw_pct: float, *, vehicle_connected: bool | None, context: object = None
    ) -> SocReading:
        """Feed one raw reading; return what the integration should believe.

        ``context`` is what else the device reports now (its state); None: nothing.
        """
        if vehicle_connected is False:
            self.reset()
            return SocReading(None)
        if context is not None and context != self._last_context:
            self._changed_since_good = True
        if raw_pct <= 0 or raw_pct > 100:
            # 0: no car or no power flow on the Quasar; keep the last good value.
            self._candidate = None
            self._candidate_count = 0
            return self._kept()
        if self._plausible(raw_pct):
            return self._accept(raw_pct, context)
        if self._candidate is not None and abs(raw_pct - self._candidate) <= 1:
            self._candidate_count += 1
        else:
            self._candidate = raw_pct
            self._candidate_count = 1
        explained = self._changed_since_good and raw_pct > 1
        needed = self.explained_confirmations if explained else self.confirmations
        if self._candidate_count >= needed:
            return self._accept(raw_pct, context)
        return self._kept()

    def _plausible(self, raw_pct: float) -> bool:
        if self._last_good is None:
            # A first reading of 1 % is the documented glitch: wait for confirmation.
            return raw_pct > 1
        return abs(raw_pct - self._last_good) <= self.max_jump_pct

    def _accept(self, raw_pct: float, context: object) -> SocReading:
        self._last_good = float(raw_pct)
        self._last_context = context
        self._changed_since_good = False
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
