"""What every simulated Modbus TCP device shares: lifecycle and the common faults."""

from __future__ import annotations

from typing import Protocol

from .clock import SimClock
from .faults import Fault, FaultKind, NetworkFaultState
from .modbus_server import ModbusTcpServer


class _Named(Protocol):
    name: str


class ModbusTwin[ConfigT: _Named]:
    """Start, stop, housekeeping and the faults every Modbus twin handles the same way.

    Subclasses set ``config``, ``clock``, ``server``, ``network`` and ``garbage_until``
    and implement :meth:`advance` (physics) and :meth:`reboot`.
    """

    config: ConfigT
    clock: SimClock
    server: ModbusTcpServer
    network: NetworkFaultState
    garbage_until: float

    @property
    def name(self) -> str:
        """The device's name in the scenario."""
        return self.config.name

    @property
    def booting(self) -> bool:
        """Whether the device is starting up (its port refuses connections)."""
        return False

    def advance(self) -> None:
        """Bring the physics up to the current simulated time."""
        raise NotImplementedError

    def reboot(self) -> None:
        """Restart the device."""
        raise NotImplementedError

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
