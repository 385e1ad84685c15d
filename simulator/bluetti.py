"""Simulated Bluetti AC500 over Modbus TCP.

From protocols.md section 5.1 and the community register list it cites
(bluetti-registers ``modbus-tcp/ac500.json``). Written independently of the
integration. Behaviour taken from the hardware reports in that list:

* only the documented registers exist; a read that touches any other address gets
  no reply at all (an AC500 times out on the "+1" of its single-register power
  totals instead of answering exception 2);
* unit id 1 only; a request for another id freezes the Modbus stack: nothing is
  answered any more until the station is power-cycled (``clear_faults``/restart);
* the write response echoes an internal address (57016 -> 2022, 57009 -> 2207,
  57005 -> 2012 as reported; 57001 -> 2011 and 57017 -> 2023 are assumptions);
* AC output switch (57001) really cuts the simulated AC output; DC switch (57005)
  the DC loads; the grid-charging switch (57009) reads 1 and ignores writes on an
  AC500 (stuck, as reported); the SoC thresholds (57016/57017) refuse writes with
  exception 2;
* model string byte-swapped per register; serial 4 registers low word first;
  versions 2 registers low word first (major*100 + minor); 32-bit energy totals
  high word first (assumption: the list gives only "uint, length 2").

Physics: a battery of ``packs`` x ``pack_kwh``. With the grid up the AC loads pass
through from the grid and the battery charges from it (at ``charge_power_w``) up to
the high threshold; with the grid down the battery carries the AC and DC loads until
it is empty (``discharge_floor_pct``), then the outputs go dark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .battery import Battery, apply_state
from .clock import SimClock
from .faults import Fault
from .modbus_server import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, ModbusError, NoReply
from .modbus_twin import ModbusTwin
from .records import WriteRecord
from .registry import TwinKind, register

if TYPE_CHECKING:
    from .world import Grid

_ECHO = {57001: 2011, 57005: 2012, 57009: 2207, 57016: 2022, 57017: 2023}


@dataclass(slots=True)
class BluettiConfig:
    """Static parameters of one simulated station."""

    name: str = "bluetti"
    port: int = 5021
    model: str = "AC500"
    serial: int = 2237000012345
    version_arm: int = 403907  # 4039.07
    version_dsp: int = 405503
    packs: int = 2
    pack_kwh: float = 3.072
    soc_pct: float = 80.0
    soc_low_pct: int = 30
    soc_high_pct: int = 80
    efficiency: float = 0.9
    charge_power_w: float = 1000.0
    max_output_w: float = 5000.0
    ac_load_w: float = 300.0
    dc_load_w: float = 20.0
    pv_w: float = 0.0
    battery: Battery = field(init=False)

    def __post_init__(self) -> None:
        """Build the battery from the pack count."""
        self.battery = Battery(
            capacity_kwh=self.packs * self.pack_kwh,
            soc_pct=self.soc_pct,
            efficiency=self.efficiency,
            charge_cap_pct=100.0,
            discharge_floor_pct=0.0,
        )


class BluettiTwin(ModbusTwin[BluettiConfig]):
    """The register map and physics of one AC500."""

    label = "Bluetti power station"

    def __init__(self, config: BluettiConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """Create the station with AC and DC outputs on.

        Without a ``grid`` the supply is always there.
        """
        super().__init__(config, clock, grid)
        self.battery = config.battery
        self.ac_on = True
        self.dc_on = True
        self.grid_charge = 1
        self.frozen = False
        self.ac_output_w = 0.0
        self.dc_output_w = 0.0
        self.grid_input_w = 0.0
        self.pv_input_w = 0.0
        self.ac_output_energy_kwh = 0.0
        self._readers = self._build_readers()
        self._update_flows()

    # -- physics ---------------------------------------------------------------------

    def advance(self) -> None:
        """Bring the battery up to the current simulation time."""
        super().advance()
        self._update_flows()

    def _step(self, dt: float) -> None:
        self._update_flows()
        battery_w = self.pv_input_w + self.grid_input_w - self.ac_output_w - self.dc_output_w
        self.battery.step(battery_w, dt)
        self.ac_output_energy_kwh += self.ac_output_w * dt / 3_600_000

    def _update_flows(self) -> None:
        config = self.config
        empty = self.battery.soc_pct <= self.battery.discharge_floor_pct
        grid = self.grid_available
        ac_load = config.ac_load_w if self.ac_on else 0.0
        dc_load = config.dc_load_w if self.dc_on else 0.0
        if not grid and empty and config.pv_w <= 0:
            ac_load = dc_load = 0.0  # the outputs go dark
        self.ac_output_w = min(ac_load, config.max_output_w)
        self.dc_output_w = dc_load
        self.pv_input_w = config.pv_w
        charging = grid and self.grid_charge and self.battery.soc_pct < config.soc_high_pct
        self.grid_input_w = (
            (self.ac_output_w + (config.charge_power_w if charging else 0.0)) if grid else 0.0
        )

    # -- lifecycle and faults ----------------------------------------------------------

    def reboot(self) -> None:
        """A power cycle: connections drop (done by the caller), the stack unfreezes."""
        self.frozen = False

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault (reboot = power cycle: connections drop, the stack unfreezes)."""
        if not self.apply_common_fault(fault):
            raise ValueError(f"a Bluetti station has no {fault.kind.value} fault")

    def clear_faults(self) -> None:
        """Remove every fault; a frozen Modbus stack is power-cycled."""
        self.network.clear()
        self.garbage_until = 0.0
        self.frozen = False

    def update_state(self, payload: dict[str, Any]) -> None:
        """Control API: loads, PV, state of charge."""
        self.advance()
        apply_state(self.config, self.battery, payload, ("ac_load_w", "dc_load_w", "pv_w"))
        self._update_flows()

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        self.advance()
        return {
            "kind": "bluetti",
            "model": self.config.model,
            "port": self.server.port,
            "listening": self.server.listening,
            "frozen": self.frozen,
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.battery.capacity_kwh,
            "ac_output_on": self.ac_on,
            "dc_output_on": self.dc_on,
            "ac_output_w": self.ac_output_w,
            "dc_output_w": self.dc_output_w,
            "grid_input_w": self.grid_input_w,
            "pv_input_w": self.pv_input_w,
            "modbus_requests": self.server.requests,
            "writes": len(self.writes),
        }

    # -- Modbus ------------------------------------------------------------------------

    def accepts_unit(self, unit_id: int) -> bool:
        """Unit 1 only; any other id freezes the stack until a power cycle."""
        if unit_id != 1:
            self.frozen = True
        return not self.frozen

    def on_request(self) -> None:
        """The station has no Modbus watchdog."""

    def is_readable(self, address: int) -> bool:
        """Whether the address is one the register list documents."""
        return address in self._readers

    def register(self, address: int) -> int:
        """The raw value of a documented register."""
        return self._readers[address]()

    def read_holding(self, address: int, count: int) -> list[int]:
        """Function 0x03: documented addresses only, otherwise silence."""
        self.advance()
        addresses = range(address, address + count)
        if not all(a in self._readers for a in addresses):
            raise NoReply
        if self.clock.wall() < self.garbage_until:
            return self.garbage(count)
        return [self._readers[a]() for a in addresses]

    def write_single(self, address: int, value: int) -> int:
        """Function 0x06; the echo is the station's internal address."""
        self.advance()
        if address in (57016, 57017) or address not in _ECHO:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        if value not in (0, 1):
            raise ModbusError(ILLEGAL_DATA_VALUE)
        applied = address != 57009 or self.config.model != "AC500"
        self.writes.append(
            WriteRecord(address, value, self.clock.now(), self.clock.wall(), applied)
        )
        if address == 57001:
            self.ac_on = bool(value)
        elif address == 57005:
            self.dc_on = bool(value)
        elif applied:
            self.grid_charge = value
        self._update_flows()
        return _ECHO[address]

    def write_multiple(self, address: int, values: list[int]) -> None:
        """Function 0x10 is not offered by the station."""
        raise ModbusError(ILLEGAL_DATA_ADDRESS)

    def _build_readers(self) -> dict[int, Callable[[], int]]:
        config = self.config
        model = config.model.encode("ascii").ljust(12, b"\0")[:12]
        serial = [(config.serial >> (16 * i)) & 0xFFFF for i in range(4)]
        readers: dict[int, Callable[[], int]] = {
            50002: lambda: round(self.ac_output_w),
            50004: lambda: round(self.pv_input_w),
            50006: lambda: round(self.grid_input_w) & 0xFFFF,
            50012: lambda: (round(self.ac_output_energy_kwh * 10) >> 16) & 0xFFFF,
            50013: lambda: round(self.ac_output_energy_kwh * 10) & 0xFFFF,
            50018: lambda: 0,
            50019: lambda: 0,
            50022: lambda: 1,
            50214: lambda: 5000 if self.grid_available else 0,
            51001: lambda: config.packs,
            51002: lambda: 537,  # 53.7 V
            51003: lambda: round(abs(self._battery_w()) / 53.7 * 10),
            51004: lambda: round(self.battery.soc_pct),
            57001: lambda: int(self.ac_on),
            57005: lambda: int(self.dc_on),
            57009: lambda: self.grid_charge,
            57016: lambda: config.soc_low_pct,
            57017: lambda: config.soc_high_pct,
        }
        for index in range(6):
            readers[50200 + index] = (
                lambda i=index: model[2 * i] | (model[2 * i + 1] << 8)  # type: ignore[misc]
            )
        for index in range(4):
            readers[50206 + index] = lambda i=index: serial[i]  # type: ignore[misc]
        for base, version in ((50210, config.version_arm), (50212, config.version_dsp)):
            readers[base] = lambda v=version: v & 0xFFFF  # type: ignore[misc]
            readers[base + 1] = lambda v=version: (v >> 16) & 0xFFFF  # type: ignore[misc]
        for address in range(50023, 50027):
            readers[address] = lambda: 0
        return readers

    def _battery_w(self) -> float:
        return self.pv_input_w + self.grid_input_w - self.ac_output_w - self.dc_output_w


KIND = register(TwinKind("bluetti", "bluettis", BluettiConfig, BluettiTwin))
