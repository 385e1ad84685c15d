"""What the simulated devices record for tests and benchmarks."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class WriteRecord:
    """One accepted write (Modbus register or HTTP property)."""

    address: int | str
    value: int
    sim_time: float
    wall_time: float
    applied: bool
