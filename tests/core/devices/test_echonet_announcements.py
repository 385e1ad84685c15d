"""Announcements (INF, INFC) reach the endpoint's subscribers and the charger's status.

Endpoint-level tests send hand-built frames (protocols.md 4.1) from a plain socket;
charger-level tests use the simulator's ECHONET Lite twin, which announces changes of
its announcement map by itself, to the ECHONET Lite group or to one controller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
import socket

import pytest

from custom_components.v2x.devices.echonet import (
    ESV_GET,
    EchonetClient,
    EchonetEndpoint,
    Eoj,
    Frame,
    Property,
)
from custom_components.v2x.devices.echonet.ev_charger import EchonetEvCharger
from custom_components.v2x.devices.model import AnnouncingCharger, ChargerStatus
from simulator.clock import SimClock
from simulator.echonet import EchonetConfig, EchonetTwin
from simulator.world import Grid
from tests.core.devices.echonet_helpers import until

EV = Eoj(0x02, 0x7E, 0x01)
GROUP = "224.0.23.0"


def h(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


class Peer(asyncio.DatagramProtocol):
    """A device socket: sends hand-made frames, keeps what comes back."""

    def __init__(self) -> None:
        self.received: asyncio.Queue[bytes] = asyncio.Queue()
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.received.put_nowait(data)

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def send(self, frame: str, port: int, host: str = "127.0.0.1") -> None:
        assert self.transport is not None
        self.transport.sendto(h(frame), (host, port))


@pytest.fixture
async def peer(allow_loopback: None) -> AsyncIterator[Peer]:
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Peer, local_addr=("127.0.0.1", 0)
    )
    yield protocol
    transport.close()


async def test_an_inf_reaches_the_subscriber_of_its_host_and_object(
    endpoint: EchonetEndpoint, peer: Peer
) -> None:
    port = endpoint.local_address[1]
    mine: list[Frame] = []
    other_host: list[Frame] = []
    other_class: list[Frame] = []
    other_port: list[Frame] = []
    endpoint.subscribe("127.0.0.1", peer.port, EV, mine.append)
    endpoint.subscribe("127.0.0.2", peer.port, EV, other_host.append)
    endpoint.subscribe("127.0.0.1", peer.port, Eoj(0x02, 0x7D, 0x01), other_class.append)
    # Another node on the same machine (another simulated unit) sends from its own port.
    endpoint.subscribe("127.0.0.1", peer.port + 1, EV, other_port.append)
    # INF from 027E01 to the node profile: 0xDB = 0x01 (independent).
    peer.send("1081 0007 027E01 0EF001 73 01 DB 01 01", port)
    await until(mine)
    assert mine[0].seoj == EV
    assert mine[0].properties == (Property(0xDB, b"\x01"),)
    assert other_host == other_class == other_port == []
    assert endpoint.announcements_received == 1


async def test_instance_zero_hears_every_instance(endpoint: EchonetEndpoint, peer: Peer) -> None:
    heard: list[Frame] = []
    endpoint.subscribe("127.0.0.1", peer.port, Eoj(0x02, 0x7E, 0x00), heard.append)
    peer.send("1081 0001 027E02 0EF001 73 01 80 01 30", endpoint.local_address[1])
    await until(heard)
    assert heard[0].seoj == Eoj(0x02, 0x7E, 0x02)


async def test_an_infc_is_confirmed_with_infc_res(endpoint: EchonetEndpoint, peer: Peer) -> None:
    heard: list[Frame] = []
    endpoint.subscribe("127.0.0.1", peer.port, EV, heard.append)
    peer.send("1081 1234 027E01 05FF01 74 02 DA 01 43 E1 01 48", endpoint.local_address[1])
    reply = await asyncio.wait_for(peer.received.get(), 1.0)
    # Same TID, the controller answers the unit, every EPC with PDC 0.
    assert reply == h("1081 1234 05FF01 027E01 7A 02 DA 00 E1 00")
    await until(heard)
    assert [p.epc for p in heard[0].properties] == [0xDA, 0xE1]


async def test_an_infc_to_instance_zero_is_answered_by_instance_one(
    endpoint: EchonetEndpoint, peer: Peer
) -> None:
    peer.send("1081 0002 027E01 05FF00 74 01 88 01 41", endpoint.local_address[1])
    reply = await asyncio.wait_for(peer.received.get(), 1.0)
    assert reply == h("1081 0002 05FF01 027E01 7A 01 88 00")


async def test_an_infc_to_another_object_is_not_answered(
    endpoint: EchonetEndpoint, peer: Peer
) -> None:
    peer.send("1081 0003 027E01 013001 74 01 80 01 30", endpoint.local_address[1])
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(peer.received.get(), 0.15)


async def test_unsubscribe_and_a_failing_handler(
    endpoint: EchonetEndpoint, peer: Peer, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(frame: Frame) -> None:
        raise RuntimeError("boom")

    heard: list[Frame] = []
    endpoint.subscribe("127.0.0.1", peer.port, EV, broken)
    stop = endpoint.subscribe("127.0.0.1", peer.port, EV, heard.append)
    port = endpoint.local_address[1]
    with caplog.at_level(logging.ERROR):
        peer.send("1081 0004 027E01 0EF001 73 01 80 01 30", port)
        await until(heard)
    assert "Handling an announcement from 127.0.0.1 failed" in caplog.text
    stop()
    stop()  # twice is harmless
    peer.send("1081 0005 027E01 0EF001 73 01 80 01 31", port)
    await asyncio.sleep(0.1)
    assert len(heard) == 1
    assert endpoint.announcements_received == 2


async def test_an_announcement_does_not_disturb_a_pending_request(
    endpoint: EchonetEndpoint, peer: Peer
) -> None:
    heard: list[Frame] = []
    endpoint.subscribe("127.0.0.1", peer.port, EV, heard.append)
    assert peer.transport is not None
    peer_port = int(peer.transport.get_extra_info("sockname")[1])
    request = asyncio.create_task(
        endpoint.async_request(
            "127.0.0.1", peer_port, Eoj(0x05, 0xFF, 0x01), EV, ESV_GET, [Property(0x80)],
            timeout_s=1.0, retries=0,
        )
    )  # fmt: skip
    sent = await asyncio.wait_for(peer.received.get(), 1.0)
    tid = sent[2:4].hex()
    port = endpoint.local_address[1]
    # An INF with another TID first, then the Get_Res.
    other = f"{(int(tid, 16) + 1) & 0xFFFF:04X}"
    peer.send(f"1081 {other} 027E01 0EF001 73 01 DB 01 01", port)
    peer.send(f"1081 {tid} 027E01 05FF01 72 01 80 01 30", port)
    reply = await request
    assert reply.properties == (Property(0x80, b"\x30"),)
    await until(heard)


async def test_the_wildcard_endpoint_joins_the_group(allow_loopback: None) -> None:
    endpoint = await EchonetEndpoint.async_open(local_host="0.0.0.0", local_port=0)  # noqa: S104
    try:
        assert endpoint.multicast_joined
        heard: list[Frame] = []
        sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sender.bind(("127.0.0.1", 0))
            endpoint.subscribe("127.0.0.1", sender.getsockname()[1], EV, heard.append)
            sender.setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1")
            )
            sender.sendto(
                h("1081 0009 027E01 0EF001 73 01 DB 01 00"), (GROUP, endpoint.local_address[1])
            )
        finally:
            sender.close()
        await until(heard)
    finally:
        endpoint.close()


async def test_an_endpoint_on_one_address_does_not_join(endpoint: EchonetEndpoint) -> None:
    assert not endpoint.multicast_joined


# -- the charger's status, from the twin's announcements -------------------------------


@pytest.fixture
async def twin(
    endpoint: EchonetEndpoint, clock: SimClock, grid: Grid
) -> AsyncIterator[EchonetTwin]:
    """A unit announcing to the endpoint's port, by unicast (the endpoint is on 127.0.0.1)."""
    config = EchonetConfig(
        port=0, announce_host="127.0.0.1", announce_port=endpoint.local_address[1]
    )
    device = EchonetTwin(config, clock, grid)
    await device.start()
    yield device
    await device.stop()


def _charger(endpoint: EchonetEndpoint, twin: EchonetTwin) -> EchonetEvCharger:
    return EchonetEvCharger(EchonetClient(endpoint, "127.0.0.1", twin.port, timeout_s=0.5))


async def test_a_grid_cut_reaches_the_status_without_a_poll(
    endpoint: EchonetEndpoint, twin: EchonetTwin, grid: Grid
) -> None:
    charger = _charger(endpoint, twin)
    assert isinstance(charger, AnnouncingCharger)
    seen: list[ChargerStatus] = []
    await charger.async_listen(seen.append)
    polled = await charger.async_read_status()
    assert polled.grid_available is True
    requests = len(twin.requests)
    grid.available = False
    await twin.housekeeping()
    await until(seen, 1)
    assert seen[0].grid_available is False
    assert seen[0].soc == polled.soc  # the SoC is the polled one
    assert seen[0].state == polled.state
    assert len(twin.requests) == requests  # nothing was asked


async def test_a_mode_change_is_announced_as_a_new_state(
    endpoint: EchonetEndpoint, twin: EchonetTwin, clock: SimClock
) -> None:
    charger = _charger(endpoint, twin)
    seen: list[ChargerStatus] = []
    await charger.async_listen(seen.append)
    await charger.async_read_identity()
    await charger.async_read_status()
    await charger.async_set_power(-3000)
    await until(seen, 1)
    assert seen[-1].state_code == 0x48  # preparation (actual mode 0xE1)
    clock.advance(3)
    await twin.housekeeping()
    await until(seen, 2)
    assert seen[-1].discharging


async def test_unplugging_is_announced_and_forgets_the_soc(
    endpoint: EchonetEndpoint, twin: EchonetTwin
) -> None:
    charger = _charger(endpoint, twin)
    seen: list[ChargerStatus] = []
    await charger.async_listen(seen.append)
    assert (await charger.async_read_status()).soc.known
    twin.update_state({"plugged": False})
    await twin.housekeeping()
    await until(seen, 1)
    assert seen[-1].vehicle_connected is False
    assert not seen[-1].soc.known


async def test_announcements_before_the_first_read_are_ignored(
    endpoint: EchonetEndpoint, twin: EchonetTwin, grid: Grid
) -> None:
    charger = _charger(endpoint, twin)
    seen: list[ChargerStatus] = []
    await charger.async_listen(seen.append)
    grid.available = False
    await twin.housekeeping()
    await asyncio.sleep(0.1)
    assert seen == []
    assert endpoint.announcements_received >= 1


def _from_twin(endpoint: EchonetEndpoint, twin: EchonetTwin, frame: str) -> None:
    """A datagram as if the unit sent it (from its address and port)."""
    endpoint._datagram_received(h(frame), "127.0.0.1", twin.port)


async def test_a_malformed_or_foreign_announcement_changes_nothing(
    endpoint: EchonetEndpoint, twin: EchonetTwin, caplog: pytest.LogCaptureFixture
) -> None:
    charger = _charger(endpoint, twin)
    seen: list[ChargerStatus] = []
    stop = await charger.async_listen(seen.append)
    await charger.async_read_status()
    # 0xDB two bytes long; an unknown 0xDB code; only properties a status does not use.
    for body in ("01 DB 02 00 01", "01 DB 01 07", "01 81 01 08"):
        _from_twin(endpoint, twin, f"1081 0001 027E01 0EF001 73 {body}")
    await asyncio.sleep(0.1)
    assert seen == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # told at debug
    # A real change still comes through, then nothing once stopped.
    _from_twin(endpoint, twin, "1081 0002 027E01 0EF001 73 01 DB 01 01")
    await until(seen, 1)
    assert seen[0].grid_available is False
    stop()
    _from_twin(endpoint, twin, "1081 0003 027E01 0EF001 73 01 DB 01 00")
    await asyncio.sleep(0.1)
    assert len(seen) == 1


async def test_an_unchanged_announcement_makes_no_new_status(
    endpoint: EchonetEndpoint, twin: EchonetTwin
) -> None:
    charger = _charger(endpoint, twin)
    seen: list[ChargerStatus] = []
    await charger.async_listen(seen.append)
    await charger.async_read_status()
    _from_twin(endpoint, twin, "1081 0001 027E01 0EF001 73 01 DB 01 00")
    await asyncio.sleep(0.1)
    assert seen == []


async def test_a_reply_in_flight_does_not_undo_an_announcement(
    endpoint: EchonetEndpoint, twin: EchonetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The unit answers (grid present), then announces the cut before the read resumes."""
    charger = _charger(endpoint, twin)
    seen: list[ChargerStatus] = []
    await charger.async_listen(seen.append)
    await charger.async_read_status()
    receive = endpoint._datagram_received

    def reply_then_cut(data: bytes, host: str, port: int) -> None:
        receive(data, host, port)
        if data[10] == 0x72:  # the Get_Res, with 0xDB = 0x00 in it
            receive(h("1081 0077 027E01 0EF001 73 01 DB 01 01"), host, port)

    monkeypatch.setattr(endpoint, "_datagram_received", reply_then_cut)
    status = await charger.async_read_status()
    assert seen[-1].grid_available is False
    assert status.grid_available is False  # the announcement is newer than the reply
    monkeypatch.undo()
    # The next read, with no announcement meanwhile, tells what the unit says.
    assert (await charger.async_read_status()).grid_available is True
