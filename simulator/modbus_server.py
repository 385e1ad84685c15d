"""A small Modbus TCP server, written from the Modbus specifications.

Implemented from "MODBUS Application Protocol Specification V1.1b3" and "MODBUS
Messaging on TCP/IP Implementation Guide V1.0b": the 7-byte MBAP header (transaction
id, protocol id 0, length, unit id) followed by the PDU; functions 0x03 (read holding
registers), 0x06 (write single register) and 0x10 (write multiple registers);
exception responses (function | 0x80, exception code).

It does not use pymodbus on purpose: the simulator is an independent reading of the
documents, it runs unchanged whatever pymodbus the client uses, and faults (stalls,
dropped connections, refused connections, quirky write echoes) are easy to inject.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
import logging
import struct
from typing import Protocol

_LOGGER = logging.getLogger(__name__)

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SERVER_DEVICE_FAILURE = 0x04

_MBAP = struct.Struct(">HHHB")


class NoReply(Exception):  # noqa: N818 - it is an outcome, not an error
    """Raised by a device handler that does not answer at all (the client times out)."""


class ModbusError(Exception):
    """Raised by a device handler to answer with an exception response."""

    def __init__(self, code: int) -> None:
        """Store the Modbus exception code."""
        super().__init__(f"Modbus exception {code}")
        self.code = code


class ModbusDevice(Protocol):
    """What the server needs from a simulated device."""

    def accepts_unit(self, unit_id: int) -> bool:
        """Whether the device answers requests for this unit id."""
        ...

    def on_request(self) -> None:
        """Note that a Modbus request arrived (feeds the device's idle watchdog)."""
        ...

    def read_holding(self, address: int, count: int) -> list[int]:
        """Return ``count`` registers from ``address`` or raise ModbusError."""
        ...

    def write_single(self, address: int, value: int) -> int:
        """Write one register; return the address to echo (normally ``address``)."""
        ...

    def write_multiple(self, address: int, values: list[int]) -> None:
        """Write consecutive registers or raise ModbusError."""
        ...


@dataclass(slots=True)
class NetworkFaults:
    """Faults the transport injects, whatever the device."""

    stall_s: float = 0.0
    exception_code: int = 0
    drop_next: bool = False
    short_reads: bool = False


def _exception(function_code: int, code: int) -> bytes:
    return bytes((function_code | 0x80, code))


def handle_pdu(device: ModbusDevice, pdu: bytes) -> bytes:
    """Execute one request PDU against ``device`` and return the response PDU."""
    function_code = pdu[0]
    try:
        if function_code == 0x03:
            if len(pdu) != 5:
                raise ModbusError(ILLEGAL_DATA_VALUE)
            address, count = struct.unpack(">HH", pdu[1:5])
            if not 1 <= count <= 125:
                raise ModbusError(ILLEGAL_DATA_VALUE)
            if address + count > 0x10000:
                raise ModbusError(ILLEGAL_DATA_ADDRESS)
            values = device.read_holding(address, count)
            return bytes((0x03, 2 * count)) + struct.pack(f">{count}H", *values)
        if function_code == 0x06:
            if len(pdu) != 5:
                raise ModbusError(ILLEGAL_DATA_VALUE)
            address, value = struct.unpack(">HH", pdu[1:5])
            echo = device.write_single(address, value)
            return struct.pack(">BHH", 0x06, echo, value)
        if function_code == 0x10:
            if len(pdu) < 6:
                raise ModbusError(ILLEGAL_DATA_VALUE)
            address, count, byte_count = struct.unpack(">HHB", pdu[1:6])
            if not 1 <= count <= 123 or byte_count != 2 * count or len(pdu) != 6 + byte_count:
                raise ModbusError(ILLEGAL_DATA_VALUE)
            if address + count > 0x10000:
                raise ModbusError(ILLEGAL_DATA_ADDRESS)
            device.write_multiple(address, list(struct.unpack(f">{count}H", pdu[6:])))
            return struct.pack(">BHH", 0x10, address, count)
        raise ModbusError(ILLEGAL_FUNCTION)
    except ModbusError as err:
        return _exception(function_code, err.code)


class ModbusTcpServer:
    """Serve one simulated device on one TCP port."""

    def __init__(self, device: ModbusDevice, host: str = "127.0.0.1", port: int = 0) -> None:
        """Prepare to serve ``device``; ``port`` 0 picks a free port at start."""
        self.device = device
        self.host = host
        self.port = port
        self.faults = NetworkFaults()
        self.requests = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def listening(self) -> bool:
        """Whether connections are currently accepted."""
        return self._server is not None

    async def start(self) -> None:
        """Start listening (again); the bound port is kept across restarts."""
        if self._server is not None:
            return
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every open connection (connections are refused)."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        self.drop_connections()
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        if handlers:
            await asyncio.gather(*handlers, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    def drop_connections(self) -> None:
        """Close every open client connection (like a device reboot would)."""
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    def _reply(self, pdu: bytes) -> bytes:
        """The response PDU, with the exception and short-reply faults applied."""
        if self.faults.exception_code:
            return _exception(pdu[0], self.faults.exception_code)
        reply = handle_pdu(self.device, pdu)
        if self.faults.short_reads and reply[0] == 0x03 and reply[1] >= 2:
            reply = bytes((0x03, reply[1] - 2)) + reply[2:-2]
        return reply

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._writers.add(writer)
        try:
            while True:
                header = await reader.readexactly(_MBAP.size)
                transaction_id, protocol_id, length, unit_id = _MBAP.unpack(header)
                if protocol_id != 0 or not 2 <= length <= 254:
                    break  # not Modbus: the implementation guide says close the connection
                pdu = await reader.readexactly(length - 1)
                self.requests += 1
                if self.faults.drop_next:
                    self.faults.drop_next = False
                    break
                if not self.device.accepts_unit(unit_id):
                    continue  # no reply at all: the client times out
                self.device.on_request()
                try:
                    reply = self._reply(pdu)
                except NoReply:
                    continue
                if self.faults.stall_s:
                    await asyncio.sleep(self.faults.stall_s)
                writer.write(_MBAP.pack(transaction_id, 0, len(reply) + 1, unit_id) + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)
