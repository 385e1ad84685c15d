"""What a site's entities show, from the machine and what it observed."""

from __future__ import annotations

from custom_components.v2x.backup.machine import (
    BackupMachine,
    BackupState,
    MachineConfig,
    Observation,
    SourceObservation,
)
from custom_components.v2x.backup.status import site_status


def test_status_of_a_site_on_the_grid() -> None:
    machine = BackupMachine(MachineConfig(sources=("car",)), 0.0)
    car = SourceObservation(available=True, soc_pct=80.0, floor_pct=30.0, capacity_kwh=40.0)
    observation = Observation(
        grid_available=True, switch_on_vehicle=False, sources={"car": car}, load_w=2000.0
    )
    status = site_status(machine, observation, active_source_name=None, automatic=False)
    assert status.state is BackupState.GRID
    assert (status.alarm, status.drill, status.on_vehicle_power) == (None, False, False)
    assert (status.grid_available, status.load_w, status.automatic) == (True, 2000.0, False)
    assert status.energy_kwh == 20.0  # 50 % of 40 kWh above the floor
    assert status.runtime_min == 600.0  # 20 kWh at 2 kW
    assert status.active_source is None


def test_status_without_energy_tells_no_runtime() -> None:
    machine = BackupMachine(MachineConfig(sources=("car",)), 0.0)
    car = SourceObservation(available=False, soc_pct=None, floor_pct=30.0)
    observation = Observation(
        grid_available=None, switch_on_vehicle=None, sources={"car": car}, load_w=500.0
    )
    status = site_status(machine, observation, active_source_name="Car", automatic=True)
    assert (status.energy_kwh, status.runtime_min, status.active_source) == (None, None, "Car")
