"""Battery physics shared by every simulated vehicle and power station."""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any


@dataclass(slots=True)
class Battery:
    """A traction or storage battery seen from the charger's AC side.

    ``step`` applies AC power (positive = charging) for ``dt`` seconds. Charging
    stores ``efficiency`` of the AC energy; discharging takes ``1/efficiency`` of it
    from the cells. The vehicle's own battery management stops charging at
    ``charge_cap_pct`` and discharging at ``discharge_floor_pct``.
    """

    capacity_kwh: float = 40.0
    soc_pct: float = 60.0
    efficiency: float = 0.95
    charge_cap_pct: float = 97.0
    discharge_floor_pct: float = 5.0

    def __post_init__(self) -> None:
        """Validate the parameters."""
        if self.capacity_kwh <= 0:
            raise ValueError("capacity must be positive")
        if not 0 < self.efficiency <= 1:
            raise ValueError("efficiency must be in (0, 1]")
        if not 0 <= self.soc_pct <= 100:
            raise ValueError("soc must be in 0..100")

    @property
    def energy_kwh(self) -> float:
        """Energy stored now."""
        return self.capacity_kwh * self.soc_pct / 100

    def power_limit_w(self, requested_w: float) -> float:
        """Clamp a requested AC power to what the battery accepts right now."""
        if requested_w > 0 and self.soc_pct >= self.charge_cap_pct:
            return 0.0
        if requested_w < 0 and self.soc_pct <= self.discharge_floor_pct:
            return 0.0
        return requested_w

    def step(self, power_w: float, dt_s: float) -> None:
        """Apply ``power_w`` (AC side) for ``dt_s`` seconds."""
        if dt_s <= 0 or power_w == 0:
            return
        cell_w = power_w * self.efficiency if power_w > 0 else power_w / self.efficiency
        delta_pct = cell_w * dt_s / 3600.0 / 1000.0 / self.capacity_kwh * 100.0
        soc = self.soc_pct + delta_pct
        if power_w > 0:
            soc = min(soc, max(self.charge_cap_pct, self.soc_pct))
        else:
            soc = max(soc, min(self.discharge_floor_pct, self.soc_pct))
        self.soc_pct = min(100.0, max(0.0, soc))


def apply_state(
    config: object, battery: Battery, payload: dict[str, Any], keys: tuple[str, ...]
) -> None:
    """Apply a control-API state change: non-negative loads (``keys``) and ``soc_pct``.

    Everything is validated before anything changes.
    """
    values: dict[str, float] = {}
    for key in keys:
        if key in payload:
            value = float(payload[key])
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"{key} must be a number >= 0")
            values[key] = value
    soc = None
    if "soc_pct" in payload:
        soc = float(payload["soc_pct"])
        if not 0 <= soc <= 100:
            raise ValueError("soc_pct must be in 0..100")
    for key, value in values.items():
        setattr(config, key, value)
    if soc is not None:
        battery.soc_pct = soc
