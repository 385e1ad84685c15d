"""The ECHONET Lite twin announces property changes (INF), as Release R requires.

A hand-made controller socket joins the ECHONET Lite group 224.0.23.0 on loopback
and listens on a free port the twin announces to; a second one sends requests. Every
expected frame is written by hand from protocols.md 4.1/4.2: EHD 10 81, TID, SEOJ
027E01 (or the node profile 0EF001), DEOJ 0EF001, ESV 0x73, OPC, EPC/PDC/EDT.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import socket
from typing import Any

import pytest

from simulator.clock import SimClock
from simulator.echonet import EchonetConfig, EchonetTwin
from simulator.faults import Fault, FaultKind
from simulator.world import Grid

GROUP = "224.0.23.0"


def h(text: str) -> bytes:
    """Bytes from hex with spaces."""
    return bytes.fromhex(text.replace(" ", ""))


def inf(seoj: str, body: str) -> bytes:
    """An announcement, without its TID (the twin's own counter)."""
    return h(f"{seoj} 0EF001 73 {body}")


class _Queue(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.frames.put_nowait(data)


class Listener:
    """A controller that hears announcements (multicast or unicast) on one port."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Queue) -> None:
        self.transport = transport
        self.protocol = protocol
        self.port = int(transport.get_extra_info("sockname")[1])

    async def next(self, wait: float = 1.0) -> bytes:
        """The next frame's bytes after the header and TID (SEOJ onwards); checks EHD."""
        frame = await asyncio.wait_for(self.protocol.frames.get(), wait)
        assert frame[:2] == h("1081"), frame.hex()
        return frame[4:]

    async def quiet(self, wait: float = 0.15) -> None:
        with contextlib.suppress(TimeoutError):
            frame = await asyncio.wait_for(self.protocol.frames.get(), wait)
            raise AssertionError(f"unexpected announcement {frame.hex()}")

    def drain(self) -> None:
        while not self.protocol.frames.empty():
            self.protocol.frames.get_nowait()


async def _listener(*, join: bool) -> Listener:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("0.0.0.0", 0))  # noqa: S104 - group traffic needs the wildcard address
    if join:
        request = socket.inet_aton(GROUP) + socket.inet_aton("127.0.0.1")
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        _Queue, sock=sock
    )
    return Listener(transport, protocol)


@pytest.fixture
async def listener(allow_loopback: None) -> AsyncIterator[Listener]:
    heard = await _listener(join=True)
    yield heard
    heard.transport.close()


async def _twin(config: EchonetConfig, clock: SimClock, grid: Grid) -> EchonetTwin:
    twin = EchonetTwin(config, clock, grid)
    await twin.start()
    return twin


@pytest.fixture
async def twin(listener: Listener, clock: SimClock, grid: Grid) -> AsyncIterator[EchonetTwin]:
    device = await _twin(EchonetConfig(port=0, announce_port=listener.port), clock, grid)
    yield device
    await device.stop()


async def _setc(twin: EchonetTwin, epc: str, edt: str) -> bytes:
    """SetC one property of 027E01 from another socket; the reply."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _Queue, remote_addr=("127.0.0.1", twin.port)
    )
    try:
        transport.sendto(h(f"1081 0042 05FF01 027E01 61 01 {epc} {len(h(edt)):02X} {edt}"))
        return await asyncio.wait_for(protocol.frames.get(), 1.0)
    finally:
        transport.close()


async def test_start_announces_the_instance_list(listener: Listener, twin: EchonetTwin) -> None:
    # A node that joins the network tells the group its objects (0xD5: one, 027E01).
    assert await listener.next() == inf("0EF001", "01 D5 04 01 027E01")
    await twin.housekeeping()
    await listener.quiet()  # nothing changed: nothing more is announced


async def test_a_grid_cut_is_announced_by_the_group(
    listener: Listener, twin: EchonetTwin, grid: Grid
) -> None:
    await listener.next()
    grid.available = False
    await twin.housekeeping()
    # 0xDB: 0x01 = independent (off-grid).
    assert await listener.next() == inf("027E01", "01 DB 01 01")
    grid.available = True
    await twin.housekeeping()
    assert await listener.next() == inf("027E01", "01 DB 01 00")
    assert [(a.esv, a.deoj, a.epcs) for a in twin.announcements[1:]] == [
        (0x73, 0x027E01, (0xDB,)),
        (0x73, 0x027E01, (0xDB,)),
    ]


async def test_a_mode_change_is_announced_after_the_reply(
    listener: Listener, twin: EchonetTwin, clock: SimClock
) -> None:
    await listener.next()
    reply = await _setc(twin, "DA", "43")  # discharge
    assert reply == h("1081 0042 027E01 05FF01 71 01 DA 00")
    # The set mode and the actual mode (preparation 0x48), in one INF, EPC order.
    assert await listener.next() == inf("027E01", "02 DA 01 43 E1 01 48")
    clock.advance(2.5)  # past the 2 s preparation
    await twin.housekeeping()
    assert await listener.next() == inf("027E01", "01 E1 01 43")


async def test_tids_count_up(listener: Listener, twin: EchonetTwin, grid: Grid) -> None:
    listener.drain()
    tids = []
    for available in (False, True, False):
        grid.available = available
        await twin.housekeeping()
        frame = await asyncio.wait_for(listener.protocol.frames.get(), 1.0)
        tids.append(int.from_bytes(frame[2:4], "big"))
    assert tids == [tids[0], tids[0] + 1, tids[0] + 2]


async def test_unplug_and_fault_are_announced(listener: Listener, twin: EchonetTwin) -> None:
    await listener.next()
    twin.update_state({"plugged": False})
    await twin.housekeeping()
    assert await listener.next() == inf("027E01", "01 C7 01 30")  # not connected
    twin.apply_fault(Fault(FaultKind.ERROR, code=0x1234))
    await twin.housekeeping()
    # 0x88 fault; 0xE1 other while an error is active.
    assert await listener.next() == inf("027E01", "02 88 01 41 E1 01 40")


async def test_a_rebooting_unit_announces_nothing_then_rejoins(
    listener: Listener, twin: EchonetTwin, clock: SimClock, grid: Grid
) -> None:
    await listener.next()
    await _setc(twin, "DA", "43")
    await listener.next()
    twin.apply_fault(Fault(FaultKind.REBOOT))
    grid.available = False
    await twin.housekeeping()
    await listener.quiet()
    clock.advance(6)  # reboot_s is 5
    await twin.housekeeping()
    assert await listener.next() == inf("0EF001", "01 D5 04 01 027E01")
    # What changed meanwhile: standby after the reboot, and the grid.
    assert await listener.next() == inf("027E01", "03 DA 01 44 DB 01 01 E1 01 44")


async def test_garbage_spoils_announcements_too(
    listener: Listener, twin: EchonetTwin, grid: Grid
) -> None:
    await listener.next()
    twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=60))
    grid.available = False
    await twin.housekeeping()
    frame = await asyncio.wait_for(listener.protocol.frames.get(), 1.0)
    assert frame[:2] != h("1081")


async def test_an_unconfirmed_chademo_unit_does_not_announce_its_connection(
    listener: Listener, clock: SimClock, grid: Grid
) -> None:
    # DC_AA (0x22): 0xC7 cannot be read before 0xCD is set, so it is not announced.
    twin = await _twin(
        EchonetConfig(port=0, announce_port=listener.port, equipment_type=0x22), clock, grid
    )
    try:
        await listener.next()
        twin.update_state({"plugged": False})
        twin.update_state({"plugged": True})
        await twin.housekeeping()
        await listener.quiet()
        await _setc(twin, "CD", "10")
        assert await listener.next() == inf("027E01", "01 C7 01 43")
    finally:
        await twin.stop()


async def test_announcements_may_go_to_one_controller(
    allow_loopback: None, clock: SimClock, grid: Grid
) -> None:
    heard = await _listener(join=False)
    twin = await _twin(
        EchonetConfig(port=0, announce_host="127.0.0.1", announce_port=heard.port), clock, grid
    )
    try:
        assert await heard.next() == inf("0EF001", "01 D5 04 01 027E01")
        grid.available = False
        await twin.housekeeping()
        assert await heard.next() == inf("027E01", "01 DB 01 01")
        assert twin.describe()["announcements"] == 2
    finally:
        await twin.stop()
        heard.transport.close()


def test_the_announce_port_is_checked() -> None:
    with pytest.raises(ValueError, match="announce_port"):
        EchonetConfig(announce_port=0)
