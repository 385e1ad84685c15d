"""Modbus TCP transport shared by every Modbus device profile.

One :class:`ModbusTransport` per device: one ``AsyncModbusTcpClient``, one lock that
profiles hold for each multi-request sequence (:meth:`ModbusTransport.exclusive`),
a per-request timeout, reconnection with exponential backoff, contiguous block reads
(at most 125 registers, falling back to the documented addresses when a device
rejects a gap) and typed errors.

Works with pymodbus 3.8/3.9 (``slave=``) and >= 3.10 (``device_id=``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator
import contextlib
import contextvars
from dataclasses import dataclass, field
import inspect
import logging
import struct
import time
from typing import TYPE_CHECKING, Any, ClassVar, Final

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
from pymodbus.pdu import ModbusPDU

from .errors import (
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ValueOutOfRangeError,
)

if TYPE_CHECKING:
    from .model import ChargerSnapshot, ChargerStatus, DeviceIdentity

_LOGGER = logging.getLogger(__name__)

MAX_REGISTERS_PER_READ: Final = 125
FC_READ_HOLDING: Final = 0x03
FC_WRITE_SINGLE: Final = 0x06
FC_WRITE_MULTIPLE: Final = 0x10
_U16_MAX: Final = 0xFFFF


def _detect_unit_keyword() -> str:
    """Return the keyword pymodbus uses for the unit id (``device_id`` since 3.10)."""
    parameters = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
    return "device_id" if "device_id" in parameters else "slave"


UNIT_KEYWORD: Final = _detect_unit_keyword()


def to_signed16(value: int) -> int:
    """Decode a 16-bit two's-complement register."""
    return value - 0x10000 if value & 0x8000 else value


def decode_text(words: Iterable[int]) -> str | None:
    """Two ASCII characters per register, high byte first, NUL padded; None when empty."""
    raw = b"".join(word.to_bytes(2, "big") for word in words)
    text = raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()
    return text or None


def encode_s32(value: int) -> list[int]:
    """A two's-complement int32 as two registers, high word first."""
    if not -0x80000000 <= value <= 0x7FFFFFFF:
        raise ValueOutOfRangeError("int32", value, "-2147483648..2147483647")
    raw = value & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def from_signed16(value: int) -> int:
    """Encode a signed integer as a 16-bit two's-complement register."""
    if not -0x8000 <= value <= 0x7FFF:
        raise ValueOutOfRangeError("int16", value, "-32768..32767")
    return value & 0xFFFF


@dataclass(frozen=True, slots=True)
class RegisterBlock:
    """A contiguous range of holding registers read in one request.

    ``implemented`` lists the addresses the device documents inside the range. When a
    device rejects the whole range (exception 2, illegal data address) the transport
    reads only the contiguous runs of implemented addresses instead, and remembers it.
    """

    name: str
    start: int
    count: int
    implemented: frozenset[int] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        """Validate the block against the Modbus limits."""
        if not 1 <= self.count <= MAX_REGISTERS_PER_READ:
            raise ValueError(f"block {self.name}: count {self.count} not in 1..125")
        if self.start < 0 or self.start + self.count - 1 > _U16_MAX:
            raise ValueError(f"block {self.name}: address out of range")
        outside = [a for a in self.implemented if not self.start <= a < self.start + self.count]
        if outside:
            raise ValueError(f"block {self.name}: implemented addresses {outside} outside")

    @classmethod
    def spanning(cls, name: str, addresses: Iterable[int]) -> RegisterBlock:
        """Build the smallest block covering the given documented addresses."""
        implemented = frozenset(addresses)
        start = min(implemented)
        return cls(name, start, max(implemented) - start + 1, implemented)

    def runs(self) -> list[tuple[int, int]]:
        """Contiguous (start, count) runs of the implemented addresses."""
        addresses = sorted(self.implemented) or list(range(self.start, self.start + self.count))
        runs: list[tuple[int, int]] = []
        run_start = previous = addresses[0]
        for address in addresses[1:]:
            if address != previous + 1:
                runs.append((run_start, previous - run_start + 1))
                run_start = address
            previous = address
        runs.append((run_start, previous - run_start + 1))
        return runs


class RegisterImage:
    """Register values read from a device, keyed by address, with typed accessors."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[int, int] | None = None) -> None:
        """Wrap a mapping of address to raw 16-bit value."""
        self._values: dict[int, int] = dict(values or {})

    def update(self, start: int, registers: Iterable[int]) -> None:
        """Store consecutive registers starting at ``start``."""
        for offset, value in enumerate(registers):
            self._values[start + offset] = value

    def __contains__(self, address: object) -> bool:
        """Return whether the address was read."""
        return address in self._values

    def as_dict(self) -> dict[int, int]:
        """Return a copy of the raw values."""
        return dict(self._values)

    def u16(self, address: int) -> int:
        """Unsigned 16-bit value at ``address``."""
        try:
            return self._values[address]
        except KeyError:
            raise DeviceProtocolError(f"register {address} was not read") from None

    def s16(self, address: int) -> int:
        """Signed (two's complement) 16-bit value at ``address``."""
        return to_signed16(self.u16(address))

    def u32(self, address: int) -> int:
        """Unsigned 32-bit value, high word at ``address``."""
        return (self.u16(address) << 16) | self.u16(address + 1)

    def s32(self, address: int) -> int:
        """Signed (two's complement) 32-bit value, high word at ``address``."""
        raw = self.u32(address)
        return raw - 0x100000000 if raw & 0x80000000 else raw

    def u64(self, address: int) -> int:
        """Unsigned 64-bit value, highest word at ``address``."""
        return (self.u32(address) << 32) | self.u32(address + 2)

    def f32(self, address: int) -> float:
        """IEEE 754 single-precision value, high word at ``address``."""
        packed = struct.pack(">HH", self.u16(address), self.u16(address + 1))
        value: float = struct.unpack(">f", packed)[0]
        return value

    def text(self, address: int, count: int) -> str | None:
        """ASCII text of ``count`` registers from ``address`` (None when empty)."""
        return decode_text(self.u16(a) for a in range(address, address + count))


type ClientFactory = Callable[[str, int, float], AsyncModbusTcpClient]


# pymodbus logs every failed request itself (an ERROR per exception response, a WARNING
# per refused connect) although our transport raises a typed error for each, which the
# coordinators report once per outage. Its records emitted on behalf of a V2X transport
# are demoted to DEBUG: visible when pymodbus debug logging is on, silent otherwise. The
# scope is a context variable set around our own calls (pymodbus' socket callbacks
# inherit the context of the connect that created them), so other users of pymodbus in
# the same process, such as Home Assistant's own modbus integration, keep their logs.
PYMODBUS_LOGGER: Final = "pymodbus.logging"
"""Every pymodbus version we support (3.8 to 3.16) logs through this one logger."""
_ON_BEHALF_OF_V2X: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "v2x_modbus_transport", default=False
)


class _DemotePymodbusRecords(logging.Filter):
    """Turn pymodbus' WARNING/ERROR records from our transports into DEBUG ones."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG or not _ON_BEHALF_OF_V2X.get():
            return True
        record.levelno, record.levelname = logging.DEBUG, logging.getLevelName(logging.DEBUG)
        return logging.getLogger(record.name).isEnabledFor(logging.DEBUG)


_DEMOTE_FILTER: Final = _DemotePymodbusRecords()


def quiet_pymodbus_logging() -> None:
    """Install the demoting filter on pymodbus' logger (idempotent)."""
    logger = logging.getLogger(PYMODBUS_LOGGER)
    if _DEMOTE_FILTER not in logger.filters:
        logger.addFilter(_DEMOTE_FILTER)


@contextlib.contextmanager
def _on_behalf_of_v2x() -> Iterator[None]:
    token = _ON_BEHALF_OF_V2X.set(True)
    try:
        yield
    finally:
        _ON_BEHALF_OF_V2X.reset(token)


def _default_client_factory(host: str, port: int, timeout_s: float) -> AsyncModbusTcpClient:
    # retries=0 and reconnect_delay=0: the transport owns retry and reconnect policy.
    return AsyncModbusTcpClient(host, port=port, timeout=timeout_s, retries=0, reconnect_delay=0)


class ModbusBus:
    """Request methods, available only while the transport's lock is held."""

    __slots__ = ("_transport",)

    def __init__(self, transport: ModbusTransport) -> None:
        """Bind to the transport whose lock the caller holds."""
        self._transport = transport

    async def read(self, start: int, count: int) -> list[int]:
        """Read ``count`` holding registers (function 0x03)."""
        return await self._transport._read(start, count)  # noqa: SLF001

    async def read_block(
        self, block: RegisterBlock, into: RegisterImage | None = None
    ) -> RegisterImage:
        """Read a block, splitting it into documented runs if the device rejects gaps."""
        image = into if into is not None else RegisterImage()
        await self._transport._read_block(block, image)  # noqa: SLF001
        return image

    async def write(self, address: int, value: int) -> None:
        """Write one holding register (function 0x06)."""
        await self._transport._write(address, value)  # noqa: SLF001

    async def write_many(self, address: int, values: list[int]) -> None:
        """Write consecutive holding registers (function 0x10)."""
        await self._transport._write_many(address, values)  # noqa: SLF001


class ModbusTransport:
    """One Modbus TCP connection to one device."""

    def __init__(
        self,
        host: str,
        port: int,
        unit_id: int,
        *,
        timeout_s: float = 3.0,
        backoff_initial_s: float = 0.5,
        backoff_max_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        client_factory: ClientFactory = _default_client_factory,
    ) -> None:
        """Prepare the transport; nothing is sent until the first request."""
        quiet_pymodbus_logging()
        if not 0 <= unit_id <= 247:
            raise ValueOutOfRangeError("unit_id", unit_id, "0..247")
        self.host = host
        self.port = port
        self.unit_id = unit_id
        self.timeout_s = timeout_s
        self._backoff_initial_s = backoff_initial_s
        self.backoff_max_s = backoff_max_s
        """The longest wait between reconnection attempts (see :meth:`set_backoff_max`)."""
        self._backoff_s = 0.0
        self._next_attempt = 0.0
        self._clock = clock
        self._client_factory = client_factory
        self._client: AsyncModbusTcpClient | None = None  # created on first use, in the loop
        self._lock = asyncio.Lock()
        self._split_blocks: set[RegisterBlock] = set()
        self.requests_sent = 0
        self.connects = 0

    @property
    def connected(self) -> bool:
        """Whether the TCP connection is currently open."""
        return self._client is not None and bool(self._client.connected)

    def set_backoff_max(self, backoff_max_s: float) -> None:
        """Wait at most ``backoff_max_s`` between reconnection attempts, from now on.

        A backup site that depends on the device shortens it, so a charger back
        after a network blip is found again within seconds, not half a minute.
        """
        self.backoff_max_s = backoff_max_s
        self._backoff_s = min(self._backoff_s, backoff_max_s)
        if self._next_attempt:
            self._next_attempt = min(self._next_attempt, self._clock() + backoff_max_s)

    @contextlib.asynccontextmanager
    async def exclusive(self) -> AsyncIterator[ModbusBus]:
        """Hold the device for a sequence of requests no other caller may interleave."""
        with _on_behalf_of_v2x():
            async with self._lock:
                await self._ensure_connected()
                yield ModbusBus(self)

    async def close(self) -> None:
        """Close the connection; a later request reconnects."""
        with _on_behalf_of_v2x():
            async with self._lock:
                self._drop()

    def _drop(self) -> None:
        """Close the socket so a late reply can never answer the next request."""
        if self._client is not None:
            self._client.close()

    @property
    def _connected_client(self) -> AsyncModbusTcpClient:
        if self._client is None or not self._client.connected:
            raise DeviceConnectionError(f"connection to {self.host}:{self.port} lost")
        return self._client

    async def _ensure_connected(self) -> None:
        if self.connected:
            return
        if self._client is None:
            self._client = self._client_factory(self.host, self.port, self.timeout_s)
        now = self._clock()
        if now < self._next_attempt:
            raise DeviceConnectionError(
                f"{self.host}:{self.port} unreachable; next attempt in "
                f"{self._next_attempt - now:.1f} s"
            )
        try:
            async with asyncio.timeout(self.timeout_s + 1.0):
                connected = await self._client.connect()
        except (TimeoutError, OSError, ModbusException):
            connected = False
        if not connected or not self._client.connected:
            self._client.close()
            self._backoff_s = min(
                self.backoff_max_s, max(self._backoff_initial_s, self._backoff_s * 2)
            )
            self._next_attempt = self._clock() + self._backoff_s
            raise DeviceConnectionError(f"cannot connect to {self.host}:{self.port}")
        self._backoff_s = 0.0
        self._next_attempt = 0.0
        self.connects += 1
        _LOGGER.debug("Connected to %s:%s", self.host, self.port)

    async def _execute(
        self,
        function_code: int,
        address: int,
        request: Callable[[AsyncModbusTcpClient], Awaitable[ModbusPDU | None]],
    ) -> ModbusPDU:
        client = self._connected_client
        self.requests_sent += 1
        try:
            # pymodbus applies the same timeout; this outer bound guards its internals.
            async with asyncio.timeout(self.timeout_s * 1.5 + 0.5):
                response = await request(client)
        except TimeoutError as err:
            self._drop()
            raise DeviceTimeoutError(
                f"no reply from {self.host}:{self.port} within {self.timeout_s} s"
            ) from err
        except ModbusIOException as err:
            self._drop()
            raise DeviceTimeoutError(f"no reply from {self.host}:{self.port}: {err}") from err
        except ConnectionException as err:
            self._drop()
            raise DeviceConnectionError(f"connection to {self.host}:{self.port} lost") from err
        except ModbusException as err:
            self._drop()
            raise DeviceProtocolError(f"invalid reply from {self.host}:{self.port}: {err}") from err
        if response is None:
            self._drop()
            raise DeviceProtocolError("empty reply")
        if response.isError():
            raise ModbusExceptionError(
                function_code, int(getattr(response, "exception_code", 0)), address
            )
        return response

    async def _read(self, start: int, count: int) -> list[int]:
        if not 1 <= count <= MAX_REGISTERS_PER_READ:
            raise ValueOutOfRangeError("count", count, "1..125")
        kwargs: dict[str, Any] = {"count": count, UNIT_KEYWORD: self.unit_id}
        response = await self._execute(
            FC_READ_HOLDING, start, lambda client: client.read_holding_registers(start, **kwargs)
        )
        registers = list(getattr(response, "registers", None) or [])
        if len(registers) != count:
            self._drop()
            raise DeviceProtocolError(
                f"asked for {count} registers at {start}, got {len(registers)}"
            )
        return registers

    async def _read_block(self, block: RegisterBlock, image: RegisterImage) -> None:
        if block not in self._split_blocks:
            try:
                image.update(block.start, await self._read(block.start, block.count))
            except ModbusExceptionError as err:
                if (
                    err.exception_code != ModbusExceptionError.ILLEGAL_DATA_ADDRESS
                    or len(block.runs()) == 1
                ):
                    raise
                _LOGGER.debug(
                    "%s rejects the gaps in block %s; reading runs", self.host, block.name
                )
            else:
                return
        for start, count in block.runs():
            image.update(start, await self._read(start, count))
        self._split_blocks.add(block)

    async def _write(self, address: int, value: int) -> None:
        if not 0 <= value <= _U16_MAX:
            raise ValueOutOfRangeError(f"register {address}", value, "0..65535")
        kwargs: dict[str, Any] = {UNIT_KEYWORD: self.unit_id}
        await self._execute(
            FC_WRITE_SINGLE, address, lambda client: client.write_register(address, value, **kwargs)
        )

    async def _write_many(self, address: int, values: list[int]) -> None:
        if not 1 <= len(values) <= 123:
            raise ValueOutOfRangeError("count", len(values), "1..123")
        for value in values:
            if not 0 <= value <= _U16_MAX:
                raise ValueOutOfRangeError(f"register {address}", value, "0..65535")
        kwargs: dict[str, Any] = {UNIT_KEYWORD: self.unit_id}
        await self._execute(
            FC_WRITE_MULTIPLE,
            address,
            lambda client: client.write_registers(address, values, **kwargs),
        )


class ModbusProfile:
    """A device profile on one :class:`ModbusTransport`: counters and closing."""

    def __init__(self, transport: ModbusTransport) -> None:
        """Use ``transport`` for every request."""
        self.transport = transport

    @property
    def requests_sent(self) -> int:
        """Requests sent so far on this device's transport."""
        return self.transport.requests_sent

    @property
    def connects(self) -> int:
        """Connections established so far (profiles re-read what a reboot may change)."""
        return self.transport.connects

    async def async_close(self) -> None:
        """Close the Modbus connection."""
        await self.transport.close()


class BlockCharger(ModbusProfile):
    """A charger whose map is read in fixed blocks (Wallbox Quasar 1, EVTEC BiDiPro).

    Identity is one block, a status poll one, a full poll the blocks in
    :attr:`full_poll_blocks`, read into one image; subclasses decode them.
    """

    identity_block: ClassVar[RegisterBlock]
    status_block: ClassVar[RegisterBlock]
    full_poll_blocks: ClassVar[tuple[RegisterBlock, ...]]

    async def async_read_identity(self) -> DeviceIdentity:
        """Read the identity block (one request)."""
        async with self.transport.exclusive() as bus:
            return self._decode_identity(await bus.read_block(self.identity_block))

    async def async_read_status(self) -> ChargerStatus:
        """Read the status block (one request)."""
        async with self.transport.exclusive() as bus:
            return self._decode_status(await bus.read_block(self.status_block))

    async def async_read_snapshot(self) -> ChargerSnapshot:
        """Read every block of a full poll (one request each)."""
        async with self.transport.exclusive() as bus:
            image = RegisterImage()
            for block in self.full_poll_blocks:
                await bus.read_block(block, image)
        return self._decode_snapshot(image)

    def _decode_identity(self, image: RegisterImage) -> DeviceIdentity:
        raise NotImplementedError

    def _decode_status(self, image: RegisterImage) -> ChargerStatus:
        raise NotImplementedError

    def _decode_snapshot(self, image: RegisterImage) -> ChargerSnapshot:
        raise NotImplementedError
