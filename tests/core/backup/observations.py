"""Source observations the backup tests share: a car behind a 6 kW charger, a battery."""

from __future__ import annotations

from dataclasses import replace

from custom_components.v2x.backup.machine import SourceObservation

CAR = SourceObservation(
    available=True,
    soc_pct=60.0,
    floor_pct=30.0,
    capacity_kwh=40.0,
    max_discharge_w=6000,
    discharging=True,
)
"""A 40 kWh car at 60 % over a 30 % floor, discharging, behind a 6 kW charger."""
BATTERY = replace(CAR, capacity_kwh=2.0, max_discharge_w=800)
"""A 2 kWh portable battery with an 800 W output."""
