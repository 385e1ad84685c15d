"""What a V2B building keeps across restarts.

The peak billed so far and the building's own (without the cars), today's ledger,
each car's departure and target overrides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .const import DOMAIN
from .planner.ledger import Ledger
from .planner.peak import PeakTracker

STORAGE_VERSION: Final = 1


@dataclass(slots=True)
class VehicleState:
    """A car's overrides of its daily departure and its target."""

    departure_override: datetime | None = None
    target_override: float | None = None


@dataclass(slots=True)
class Saved:
    """What was saved."""

    peak: PeakTracker
    base_peak: PeakTracker
    """The peak of the building's own load (without the cars) in the same period."""
    ledger: Ledger
    vehicles: dict[str, VehicleState]


class BuildingStore:
    """The storage of one building."""

    def __init__(self, hass: HomeAssistant, entry_id: str) -> None:
        """Store under the building's entry id."""
        self._store: Store[dict[str, Any]] = Store(
            hass, STORAGE_VERSION, f"{DOMAIN}.v2b.{entry_id}"
        )

    async def async_load(self, billing_day: int, interval_min: int) -> Saved:
        """What was saved (an empty record the first time)."""
        saved = await self._store.async_load() or {}
        return Saved(
            peak=PeakTracker.from_dict(dict(saved.get("peak", {})), billing_day, interval_min),
            base_peak=PeakTracker.from_dict(
                dict(saved.get("base_peak", {})), billing_day, interval_min
            ),
            ledger=Ledger.from_dict(dict(saved.get("ledger", {}))),
            vehicles={
                vehicle_id: _restore_vehicle(dict(state))
                for vehicle_id, state in dict(saved.get("vehicles", {})).items()
            },
        )

    async def async_save(
        self,
        peak: PeakTracker,
        base_peak: PeakTracker,
        ledger: Ledger,
        vehicles: dict[str, VehicleState],
    ) -> None:
        """Save the building's state."""
        await self._store.async_save(
            {
                "peak": peak.as_dict(),
                "base_peak": base_peak.as_dict(),
                "ledger": ledger.as_dict(),
                "vehicles": {
                    vehicle_id: {
                        "departure": state.departure_override.isoformat()
                        if state.departure_override
                        else None,
                        "target": state.target_override,
                    }
                    for vehicle_id, state in vehicles.items()
                },
            }
        )


def _restore_vehicle(saved: dict[str, Any]) -> VehicleState:
    state = VehicleState()
    departure = saved.get("departure")
    if isinstance(departure, str):
        state.departure_override = dt_util.parse_datetime(departure)
    target = saved.get("target")
    if isinstance(target, int | float):
        state.target_override = float(target)
    return state
