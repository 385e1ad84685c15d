"""Fault injection: what can go wrong between Home Assistant and a device.

Network faults (refuse, stall, drop, exception) are timed in real seconds, since
they act on real client timeouts; device faults (reboot phases) follow simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
import math
from typing import Any

from .modbus_server import ModbusTcpServer


class FaultKind(StrEnum):
    """Every fault the simulator can inject."""

    REFUSE = "refuse"  # connections refused (nothing listens on the port)
    STALL = "stall"  # replies delayed by delay_s (clients time out)
    DROP = "drop"  # the connection is closed on the next request
    EXCEPTION = "exception"  # every request answered with Modbus exception `code`
    SHORT = "short"  # read replies carry one register fewer than asked (malformed)
    GARBAGE = "garbage"  # reads return random values
    REBOOT = "reboot"  # the device restarts (connections drop, state 7 for a while)
    SOC_GLITCH = "soc_glitch"  # the SoC register reads 1 % for `count` reads
    ERROR = "error"  # the device reports unrecoverable error `code`


@dataclass(frozen=True, slots=True)
class Fault:
    """A validated fault request."""

    kind: FaultKind
    duration_s: float = math.inf
    delay_s: float = 10.0
    code: int = 4
    count: int = 1

    @classmethod
    def from_json(cls, payload: dict[str, Any]) -> Fault:
        """Validate a control-API payload; raise ValueError with a clear message."""
        try:
            kind = FaultKind(payload["kind"])
        except (KeyError, ValueError):
            raise ValueError(f"kind must be one of {[k.value for k in FaultKind]}") from None
        duration = float(payload.get("duration_s", math.inf))
        delay = float(payload.get("delay_s", 10.0))
        code = int(payload.get("code", 4))
        count = int(payload.get("count", 1))
        if duration <= 0 or delay < 0 or count < 1:
            raise ValueError("duration_s must be > 0, delay_s >= 0 and count >= 1")
        if not 1 <= code <= 0xFFFFFFFF or (kind is FaultKind.EXCEPTION and code > 0xFF):
            raise ValueError("code out of range")
        return cls(kind, duration, delay, code, count)


class NetworkFaultState:
    """Timed network faults on one Modbus server, applied by :meth:`housekeeping`."""

    def __init__(self, server: ModbusTcpServer) -> None:
        """Attach to ``server``."""
        self.server = server
        self.refuse_until = 0.0
        self.stall_until = 0.0
        self.exception_until = 0.0
        self.short_until = 0.0

    def apply(self, fault: Fault, wall_now: float) -> bool:
        """Apply a network fault; return False when ``fault`` is not a network fault."""
        until = wall_now + fault.duration_s
        if fault.kind is FaultKind.REFUSE:
            self.refuse_until = until
        elif fault.kind is FaultKind.STALL:
            self.stall_until = until
            self.server.faults.stall_s = fault.delay_s
        elif fault.kind is FaultKind.DROP:
            self.server.faults.drop_next = True
        elif fault.kind is FaultKind.EXCEPTION:
            self.exception_until = until
            self.server.faults.exception_code = fault.code
        elif fault.kind is FaultKind.SHORT:
            self.short_until = until
            self.server.faults.short_reads = True
        else:
            return False
        return True

    def clear(self) -> None:
        """Remove every network fault."""
        self.refuse_until = self.stall_until = self.exception_until = self.short_until = 0.0
        self.server.faults.stall_s = 0.0
        self.server.faults.short_reads = False
        self.server.faults.exception_code = 0
        self.server.faults.drop_next = False

    async def housekeeping(self, wall_now: float, *, offline: bool = False) -> None:
        """Expire faults and open or close the port as faults and ``offline`` require."""
        if wall_now >= self.stall_until:
            self.server.faults.stall_s = 0.0
        if wall_now >= self.exception_until:
            self.server.faults.exception_code = 0
        if wall_now >= self.short_until:
            self.server.faults.short_reads = False
        if offline or wall_now < self.refuse_until:
            if self.server.listening:
                await self.server.stop()
        elif not self.server.listening:
            await self.server.start()
