"""What every simulated Modbus TCP device shares.

Its server and lifecycle, the common faults and the raw-register endpoint of the
control API.
"""

from __future__ import annotations

import random
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from .clock import SimClock
from .faults import Fault, FaultKind, NetworkFaultState
from .modbus_server import ILLEGAL_DATA_ADDRESS, ModbusError, ModbusTcpServer
from .twin import DeviceEndpoint, DeviceRequest, Twin

if TYPE_CHECKING:
    from .world import Grid

MAX_READ_REGISTERS = 125


class ModbusConfig(Protocol):
    """What a Modbus twin's config has."""

    @property
    def name(self) -> str:
        """The device's name in the scenario."""
        ...

    @property
    def port(self) -> int:
        """The TCP port (0: any free port)."""
        ...

    @property
    def serial(self) -> int | str:
        """The serial number (it also seeds the garbage-read fault)."""
        ...


def read_registers(twin: ModbusTwin[Any], request: DeviceRequest) -> dict[str, Any]:
    """``GET /devices/{name}/registers?start=526&count=17``: raw register values.

    None where a read would not be answered; read without Modbus, so without feeding a
    watchdog.
    """
    try:
        start = int(request.query.get("start", "0"))
        count = int(request.query.get("count", "1"))
    except ValueError:
        raise ValueError("start and count must be integers") from None
    if not 1 <= count <= MAX_READ_REGISTERS:
        raise ValueError(f"count must be in 1..{MAX_READ_REGISTERS}")
    twin.advance()
    values = [
        twin.register(a) if twin.is_readable(a) else None for a in range(start, start + count)
    ]
    return {"start": start, "values": values}


class ModbusTwin[ConfigT: ModbusConfig](Twin[ConfigT]):
    """Server, start, stop, housekeeping and the faults every Modbus twin handles the same.

    Subclasses implement :meth:`_step` (physics), :meth:`reboot` and the register map
    (:meth:`is_readable`, :meth:`register` and the Modbus functions).
    """

    endpoints: ClassVar[tuple[DeviceEndpoint[Any], ...]] = (
        DeviceEndpoint("GET", "registers", read_registers, refusal="is not a Modbus device"),
    )

    def __init__(self, config: ConfigT, clock: SimClock, grid: Grid | None = None) -> None:
        """A server for the device on ``config.port``; nothing listens before start."""
        super().__init__(config, clock, grid)
        self.server = ModbusTcpServer(self, port=config.port)
        self.network = NetworkFaultState(self.server)
        self.garbage_until = 0.0
        self._rng = random.Random(config.serial)

    @property
    def address(self) -> tuple[str, int]:
        """Host and (bound) port of the Modbus server."""
        return self.server.host, self.server.port

    @property
    def listening(self) -> bool:
        """Whether the port accepts connections."""
        return self.server.listening

    @property
    def booting(self) -> bool:
        """Whether the device is starting up (its port refuses connections)."""
        return False

    def reboot(self) -> None:
        """Restart the device."""
        raise NotImplementedError

    def garbage(self, count: int) -> list[int]:
        """``count`` random register values (the garbage fault)."""
        return [self._rng.randrange(0x10000) for _ in range(count)]

    # -- the register map and the Modbus functions (ModbusDevice) ----------------------

    def is_readable(self, address: int) -> bool:
        """Whether a read covering ``address`` is answered."""
        raise NotImplementedError

    def register(self, address: int) -> int:
        """The raw value of one readable register now."""
        raise NotImplementedError

    def accepts_unit(self, unit_id: int) -> bool:
        """Whether a request for ``unit_id`` is answered."""
        raise NotImplementedError

    def on_request(self) -> None:
        """Called for every request before it is handled."""
        raise NotImplementedError

    def read_holding(self, address: int, count: int) -> list[int]:
        """Function 0x03: exception 2 unless every address is readable; garbage if faulted."""
        self.advance()
        addresses = range(address, address + count)
        if not all(self.is_readable(a) for a in addresses):
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        if self.clock.wall() < self.garbage_until:
            return self.garbage(count)
        return [self.register(a) for a in addresses]

    def write_single(self, address: int, value: int) -> int:
        """Function 0x06; returns the address to echo."""
        raise NotImplementedError

    def write_multiple(self, address: int, values: list[int]) -> None:
        """Function 0x10."""
        raise NotImplementedError

    # -- lifecycle and faults ----------------------------------------------------------

    async def start(self) -> None:
        """Start serving Modbus TCP."""
        await self.server.start()

    async def stop(self) -> None:
        """Stop serving and drop connections."""
        await self.server.stop()

    async def housekeeping(self) -> None:
        """Advance physics, expire faults, refuse connections while booting."""
        self.advance()
        if self.clock.wall() >= self.garbage_until:
            self.garbage_until = 0.0
        await self.network.housekeeping(self.clock.wall(), offline=self.booting)

    def apply_common_fault(self, fault: Fault) -> bool:
        """Network faults, garbage reads and reboots; False for a device-specific kind."""
        if self.network.apply(fault, self.clock.wall()):
            return True
        self.advance()
        if fault.kind is FaultKind.GARBAGE:
            self.garbage_until = self.clock.wall() + fault.duration_s
            return True
        if fault.kind is FaultKind.REBOOT:
            self.server.drop_connections()
            self.reboot()
            return True
        return False
