"""The cars of a V2B building: their settings and overrides, and what the planner sees.

A bay whose charger is a stationary battery (its capabilities say ``stationary``, e.g.
an ECHONET Lite storage battery) is planned as one: no departure, no target, only its
reserve (the higher of the bay's and the device's) as a floor.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from .backup_sources import vehicle_capacity_kwh
from .building_settings import building_option, vehicle_setting
from .building_store import VehicleState
from .const import (
    CONF_CAPACITY,
    CONF_DEPARTURE,
    CONF_EFFICIENCY,
    CONF_RESERVE_SOC,
    CONF_TARGET_SOC,
    CONF_WEAR_COST,
    DEFAULT_VEHICLE_SETTINGS,
)
from .models import ChargerRuntimeData
from .planner.model import VehicleSpec
from .planner.policy import vehicle_spec
from .planner.report import VehicleStatus
from .planner.schedule import STEP, next_departure, parse_time
from .planner.series import steps_until


class CarBays:
    """Each car bay's settings (from the options) and overrides (from a service)."""

    def __init__(
        self,
        entry: Any,
        vehicle_ids: list[str],
        charger: Callable[[str], ChargerRuntimeData | None],
    ) -> None:
        """The bays of the entry's cars; ``charger`` finds a car's charger."""
        self._entry = entry
        self._vehicle_ids = vehicle_ids
        self._charger = charger
        self.cars: dict[str, VehicleState] = {vid: VehicleState() for vid in vehicle_ids}

    def stationary(self, vehicle_id: str) -> bool:
        """Whether the bay's charger is a stationary battery (False while it is not loaded)."""
        data = self._charger(vehicle_id)
        return data is not None and data.charger.capabilities.stationary

    def setting(self, vehicle_id: str, key: str) -> Any:
        """One per-car setting from the options, or its default."""
        return vehicle_setting(self._entry.options, vehicle_id, key)

    def departure(self, vehicle_id: str, now: datetime) -> datetime:
        """The car's next departure."""
        daily = parse_time(
            self.setting(vehicle_id, CONF_DEPARTURE), DEFAULT_VEHICLE_SETTINGS[CONF_DEPARTURE]
        )
        return next_departure(now, daily, self.cars[vehicle_id].departure_override)

    def target_soc(self, vehicle_id: str) -> float:
        """The car's target state of charge at departure."""
        override = self.cars[vehicle_id].target_override
        if override is not None:
            return override
        return float(self.setting(vehicle_id, CONF_TARGET_SOC))

    def reserve_soc(self, vehicle_id: str) -> float:
        """The car's reserve: the higher of the building's and its charger's."""
        reserve = float(self.setting(vehicle_id, CONF_RESERVE_SOC))
        data = self._charger(vehicle_id)
        if data is not None:
            reserve = max(reserve, data.controller.limits.reserve_soc_pct)
        return reserve

    def override(
        self, vehicle_id: str, departure: datetime | None, target_soc_pct: float | None
    ) -> None:
        """Set the next departure and/or target of one car."""
        state = self.cars[vehicle_id]
        if departure is not None:
            state.departure_override = departure
        if target_soc_pct is not None:
            state.target_override = target_soc_pct

    def plan_inputs(
        self,
        now: datetime,
        start: datetime,
        availability: Callable[[str], tuple[bool, str | None]],
        name: Callable[[str], str],
    ) -> tuple[list[VehicleSpec], dict[str, VehicleStatus]]:
        """Every car's status, and the specs of those in the plan starting at ``start``."""
        specs: list[VehicleSpec] = []
        statuses: dict[str, VehicleStatus] = {}
        for vehicle_id in self._vehicle_ids:
            departure = self.departure(vehicle_id, now)
            target = self.target_soc(vehicle_id)
            present, reason = availability(vehicle_id)
            data = self._charger(vehicle_id)
            stationary = self.stationary(vehicle_id)
            soc = None
            if data is not None and data.status.data is not None:
                soc = data.status.data.soc.value_pct
            statuses[vehicle_id] = VehicleStatus(
                charger_entry_id=vehicle_id,
                name=name(vehicle_id),
                departure=departure,
                target_soc_pct=target,
                planned=present,
                reason=reason,
                soc_pct=soc,
                stationary=stationary,
            )
            if present and data is not None and soc is not None:
                specs.append(
                    self._spec(vehicle_id, data, soc, target, steps_until(start, departure, STEP))
                )
        return specs, statuses

    def _spec(
        self,
        vehicle_id: str,
        data: ChargerRuntimeData,
        soc: float,
        target: float,
        departure_step: int,
    ) -> VehicleSpec:
        limits = data.controller.limits
        capacity = self.setting(vehicle_id, CONF_CAPACITY) or vehicle_capacity_kwh(data)
        return vehicle_spec(
            vehicle_id,
            soc_pct=soc,
            capacity_kwh=float(capacity),
            reserve_pct=max(
                float(self.setting(vehicle_id, CONF_RESERVE_SOC)), limits.reserve_soc_pct
            ),
            target_pct=target,
            departure_step=departure_step,
            max_charge_w=limits.max_charge_power_w,
            max_discharge_w=limits.max_discharge_power_w,
            efficiency_pct=float(self.setting(vehicle_id, CONF_EFFICIENCY)),
            wear_cost_per_kwh=float(building_option(self._entry.options, CONF_WEAR_COST)),
            min_power_w=data.charger.capabilities.min_power_w,
            stationary=data.charger.capabilities.stationary,
        )
