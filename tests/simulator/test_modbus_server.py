"""The simulator's Modbus TCP server, byte for byte, over a raw loopback socket.

Frames are written out by hand from the Modbus specifications (MBAP header: transaction
id, protocol id 0, length, unit id) and the Quasar map, not produced by any library.
"""

from __future__ import annotations

import asyncio

import pytest

from simulator.clock import SimClock
from simulator.modbus_server import ModbusTcpServer, handle_pdu
from simulator.quasar import QuasarConfig, QuasarTwin
from simulator.world import Simulation


async def _exchange(port: int, frame: bytes, expect: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(expect), 2)
    finally:
        writer.close()
        await writer.wait_closed()


def _port(sim: Simulation) -> int:
    return sim.quasars["quasar"].server.port


async def test_read_identity_frame(sim: Simulation) -> None:
    """FC 03 at 1, count 3: firmware 5130 = 0x140A, serial 20240117 = 0x0134 0xD6F5."""
    request = bytes.fromhex("0001 0000 0006 01 03 0001 0003".replace(" ", ""))
    reply = await _exchange(_port(sim), request, 15)
    assert reply == bytes.fromhex("0001 0000 0009 01 03 06 140A 0134 D6F5".replace(" ", ""))


async def test_write_single_echo_frame(sim: Simulation) -> None:
    """FC 06 at 81 (0x0051) = 1: the reply echoes address and value."""
    request = bytes.fromhex("00AB 0000 0006 01 06 0051 0001".replace(" ", ""))
    reply = await _exchange(_port(sim), request, 12)
    assert reply == request
    assert sim.quasars["quasar"].remote == 1


async def test_signed_setpoint_frame(sim: Simulation) -> None:
    """-7400 W is written as 0xE318 (two's complement) and reads back the same."""
    twin = sim.quasars["quasar"]
    twin.remote = 1
    request = bytes.fromhex("0002 0000 0006 01 06 0104 E318".replace(" ", ""))
    assert await _exchange(_port(sim), request, 12) == request
    assert twin.power_setpoint_w == -7400


async def test_write_multiple_frame(sim: Simulation) -> None:
    """FC 16 at 81, two registers: the reply gives address and quantity."""
    request = bytes.fromhex("0003 0000 000B 01 10 0051 0002 04 0001 0000".replace(" ", ""))
    reply = await _exchange(_port(sim), request, 12)
    assert reply == bytes.fromhex("0003 0000 0006 01 10 0051 0002".replace(" ", ""))
    twin = sim.quasars["quasar"]
    assert (twin.remote, twin.autostart) == (1, 0)


@pytest.mark.parametrize(
    ("pdu", "reply"),
    [
        ("03 0064 0002", "83 02"),  # unimplemented address 100
        ("03 0001 007E", "83 03"),  # 126 registers
        ("03 FFFF 0002", "83 02"),  # past the end of the address space
        ("06 0219 0001", "86 02"),  # state register is read-only
        ("06 0051 0002", "86 03"),  # control accepts 0/1 only
        ("06 0104 E000", "86 03"),  # -8192 W is out of range
        ("2B 0E01 00", "AB 01"),  # device identification is not implemented
        ("03 0001", "83 03"),  # truncated read request
        ("06 0051", "86 03"),  # truncated write request
        ("10 0051 0002 03 0001 00", "90 03"),  # byte count does not match
        ("10 0051", "90 03"),  # truncated write-multiple request
        ("10 FFFF 0002 04 0001 0001", "90 02"),  # past the end of the address space
    ],
)
def test_exception_responses(pdu: str, reply: str) -> None:
    """Exception responses as the specification defines them."""
    twin = QuasarTwin(QuasarConfig(), SimClock())
    assert handle_pdu(twin, bytes.fromhex(pdu.replace(" ", ""))) == bytes.fromhex(
        reply.replace(" ", "")
    )


async def test_wrong_unit_gets_no_reply(sim: Simulation) -> None:
    """Unit id 2: the Quasar stays silent."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(sim))
    writer.write(bytes.fromhex("0001 0000 0006 02 03 0001 0001".replace(" ", "")))
    await writer.drain()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(reader.read(1), 0.3)
    writer.close()
    await writer.wait_closed()


async def test_non_modbus_protocol_id_closes_connection(sim: Simulation) -> None:
    """A protocol id other than 0 is not Modbus: the server closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", _port(sim))
    writer.write(bytes.fromhex("0001 0001 0006 01 03 0001 0001".replace(" ", "")))
    await writer.drain()
    assert await asyncio.wait_for(reader.read(1), 2) == b""
    writer.close()
    await writer.wait_closed()


async def test_server_restart_keeps_port(allow_loopback: None) -> None:
    """Stopping refuses connections; starting again listens on the same port."""
    twin = QuasarTwin(QuasarConfig(port=0), SimClock())
    server = ModbusTcpServer(twin)
    await server.start()
    await server.start()  # idempotent
    port = server.port
    await server.stop()
    assert not server.listening
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)
    await server.start()
    assert server.port == port
    reply = await _exchange(port, bytes.fromhex("0001 0000 0006 01 03 0001 0001"), 11)
    assert reply[-2:] == bytes.fromhex("140A")
    await server.stop()
