"""ECHONET Lite endpoint, client and discovery against a tiny UDP responder on loopback.

The responder parses requests and builds its replies by hand (byte concatenation
after protocols.md 4.1), independently of the codec under test.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
import logging
import socket

import pytest

from custom_components.v2x.devices import echonet
from custom_components.v2x.devices.echonet import (
    CONTROLLER,
    ESV_GET,
    ESV_SETI,
    NODE_PROFILE,
    EchonetClient,
    EchonetEndpoint,
    Eoj,
    Property,
    async_discover,
)
from custom_components.v2x.devices.echonet.endpoint import _Pending
from custom_components.v2x.devices.errors import (
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ResponseImpossibleError,
)

EV = b"\x02\x7e\x01"
NODE = b"\x0e\xf0\x01"
IDENT = bytes.fromhex("FE00006C" + "00112233445566778899AABBCC")


@dataclass
class Request:
    """One request as the responder saw it."""

    raw: bytes
    tid: int
    seoj: bytes
    deoj: bytes
    esv: int
    properties: list[tuple[int, bytes]]

    @property
    def epcs(self) -> list[int]:
        return [epc for epc, _ in self.properties]


class Responder(asyncio.DatagramProtocol):
    """A tiny ECHONET Lite node answering Get and SetC from dicts of properties."""

    def __init__(self) -> None:
        self.objects: dict[bytes, dict[int, bytes]] = {}
        self.settable: dict[bytes, set[int]] = {}
        self.refuse: set[int] = set()  # SetC of these: SetC_SNA
        self.ignore_writes: set[int] = set()  # Set_Res, but the value does not change
        self.requests: list[Request] = []
        self.drop = 0  # how many requests to leave unanswered
        self.hook: Callable[[Request], list[bytes] | None] | None = None
        self.on_set: Callable[[bytes, int, bytes], None] | None = None
        self.transport: asyncio.DatagramTransport | None = None

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        assert data[:2] == b"\x10\x81"
        properties = []
        offset = 12
        for _ in range(data[11]):
            epc, pdc = data[offset], data[offset + 1]
            properties.append((epc, data[offset + 2 : offset + 2 + pdc]))
            offset += 2 + pdc
        request = Request(
            data, int.from_bytes(data[2:4]), data[4:7], data[7:10], data[10], properties
        )
        self.requests.append(request)
        if self.drop:
            self.drop -= 1
            return
        replies = self.hook(request) if self.hook else None
        if replies is None:
            replies = [self.answer(request)] if request.deoj in self.objects else []
        assert self.transport is not None
        for reply in replies:
            self.transport.sendto(reply, addr)

    def answer(self, request: Request) -> bytes:
        values = self.objects[request.deoj]
        out: list[tuple[int, bytes]] = []
        failed = False
        if request.esv == 0x62:
            for epc, _ in request.properties:
                out.append((epc, values.get(epc, b"")))
                failed |= epc not in values
            esv = 0x52 if failed else 0x72
        else:
            assert request.esv == 0x61
            for epc, edt in request.properties:
                if epc in self.refuse or epc not in self.settable.get(request.deoj, set()):
                    out.append((epc, edt))
                    failed = True
                    continue
                if epc not in self.ignore_writes:
                    values[epc] = edt
                    if self.on_set:
                        self.on_set(request.deoj, epc, edt)
                out.append((epc, b""))
            esv = 0x51 if failed else 0x71
        return reply_bytes(request, esv, out)


def reply_bytes(
    request: Request, esv: int, properties: list[tuple[int, bytes]], *, tid: int | None = None
) -> bytes:
    """A reply frame built by hand: SEOJ/DEOJ swapped, same TID unless told."""
    body = b"".join(bytes((epc, len(edt))) + edt for epc, edt in properties)
    tid_bytes = request.raw[2:4] if tid is None else tid.to_bytes(2)
    return (
        b"\x10\x81" + tid_bytes + request.deoj + request.seoj + bytes((esv, len(properties))) + body
    )


async def start_responder(host: str = "127.0.0.1") -> tuple[Responder, asyncio.BaseTransport]:
    """Start a responder on a free loopback port."""
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        Responder, local_addr=(host, 0)
    )
    return protocol, transport


@pytest.fixture
async def responder(allow_loopback: None) -> AsyncIterator[Responder]:
    """A node with a node profile and one EV charger object."""
    node, transport = await start_responder()
    node.objects[NODE] = {0x83: IDENT, 0x8A: b"\x00\x00\x6c", 0xD6: b"\x01" + EV}
    node.objects[EV] = {0xE4: b"\x50", 0xC7: b"\x43", 0xDA: b"\x44"}
    node.settable[EV] = {0xDA}
    yield node
    transport.close()


def _client(endpoint: EchonetEndpoint, node: Responder, **kwargs: float) -> EchonetClient:
    options = {"timeout_s": 0.2, "retries": 1, **kwargs}
    return EchonetClient(
        endpoint,
        "127.0.0.1",
        node.port,
        timeout_s=options["timeout_s"],
        retries=int(options["retries"]),
    )


EV_EOJ = Eoj(0x02, 0x7E, 0x01)


async def test_get_sends_one_frame_and_decodes(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    client = _client(endpoint, responder)
    values = await client.async_get(EV_EOJ, [0xE4, 0xC7])
    assert values == {0xE4: b"\x50", 0xC7: b"\x43"}
    [request] = responder.requests
    # Controller 05FF01 to 027E01, Get, OPC 2, two EPCs with PDC 0.
    assert request.raw[4:] == bytes.fromhex("05FF01 027E01 62 02 E400 C700")
    assert client.requests_sent == 1
    assert endpoint.requests_sent == endpoint.datagrams_sent == 1


async def test_get_sna_maps_missing_properties_to_none(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    del responder.objects[EV][0xE4]
    values = await _client(endpoint, responder).async_get(EV_EOJ, [0xC7, 0xE4])
    assert values == {0xC7: b"\x43", 0xE4: None}


async def test_get_argument_checks(endpoint: EchonetEndpoint, responder: Responder) -> None:
    client = _client(endpoint, responder)
    with pytest.raises(ValueError, match="at least one"):
        await client.async_get(EV_EOJ, [])
    with pytest.raises(ValueError, match="once"):
        await client.async_get(EV_EOJ, [0xE4, 0xE4])
    assert responder.requests == []


async def test_set_sends_setc(endpoint: EchonetEndpoint, responder: Responder) -> None:
    client = _client(endpoint, responder)
    await client.async_set(EV_EOJ, {0xDA: b"\x43"})
    assert responder.requests[0].raw[4:] == bytes.fromhex("05FF01 027E01 61 01 DA0143")
    assert responder.objects[EV][0xDA] == b"\x43"


async def test_set_argument_checks(endpoint: EchonetEndpoint, responder: Responder) -> None:
    client = _client(endpoint, responder)
    with pytest.raises(ValueError, match="at least one property"):
        await client.async_set(EV_EOJ, {})
    with pytest.raises(ValueError, match="at least one byte"):
        await client.async_set(EV_EOJ, {0xDA: b""})


async def test_setc_sna_names_the_refused_epcs(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.settable[EV] = {0xDA}
    with pytest.raises(ResponseImpossibleError, match=r"refused to set 0xEB of 027E01"):
        await _client(endpoint, responder).async_set(EV_EOJ, {0xDA: b"\x42", 0xEB: b"\x01"})
    # The accepted property was still written.
    assert responder.objects[EV][0xDA] == b"\x42"


async def test_setc_sna_without_data_names_every_epc(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.hook = lambda request: [reply_bytes(request, 0x51, [(0xDA, b""), (0xEB, b"")])]
    with pytest.raises(ResponseImpossibleError, match=r"0xDA, 0xEB"):
        await _client(endpoint, responder).async_set(EV_EOJ, {0xDA: b"\x42", 0xEB: b"\x01"})


async def test_set_res_carrying_data_is_a_protocol_error(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.hook = lambda request: [reply_bytes(request, 0x71, [(0xDA, b"\x43")])]
    with pytest.raises(DeviceProtocolError, match="PDC must be 0"):
        await _client(endpoint, responder).async_set(EV_EOJ, {0xDA: b"\x43"})


async def test_set_res_for_other_epcs_is_a_protocol_error(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.hook = lambda request: [reply_bytes(request, 0x71, [(0xDB, b"")])]
    with pytest.raises(DeviceProtocolError, match=r"Set_Res lists 0xDB, the request named 0xDA"):
        await _client(endpoint, responder).async_set(EV_EOJ, {0xDA: b"\x43"})


async def test_get_res_missing_an_epc_is_a_protocol_error(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.hook = lambda request: [reply_bytes(request, 0x72, [])]
    with pytest.raises(DeviceProtocolError, match="Get_Res lists no EPC"):
        await _client(endpoint, responder).async_get(EV_EOJ, [0xE4])


async def test_replies_with_a_wrong_tid_or_esv_or_object_are_ignored(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    def noisy(request: Request) -> list[bytes]:
        good = responder.answer(request)
        tid = request.tid
        other_object = (
            good[:4] + b"\x02\x7d\x01" + good[7:]
        )  # a storage battery answering the same TID
        return [
            reply_bytes(request, 0x72, [(0xE4, b"\x01")], tid=(tid + 1) & 0xFFFF),
            reply_bytes(request, 0x73, [(0xE4, b"\x02")]),  # INF with our TID
            b"\x10\x81\x00",  # garbage
            other_object,
            good,
        ]

    responder.hook = noisy
    values = await _client(endpoint, responder).async_get(EV_EOJ, [0xE4])
    assert values == {0xE4: b"\x50"}


async def test_reply_from_another_host_is_ignored(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    impostor = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    impostor.bind(("127.0.0.2", 0))
    try:

        def from_elsewhere(request: Request) -> list[bytes]:
            impostor.sendto(reply_bytes(request, 0x72, [(0xE4, b"\x07")]), endpoint.local_address)
            return []

        responder.hook = from_elsewhere
        with pytest.raises(DeviceTimeoutError):
            await _client(endpoint, responder, retries=0).async_get(EV_EOJ, [0xE4])
    finally:
        impostor.close()


async def test_retry_after_a_dropped_request_uses_the_same_tid(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.drop = 1
    client = _client(endpoint, responder, timeout_s=0.1, retries=2)
    assert await client.async_get(EV_EOJ, [0xE4]) == {0xE4: b"\x50"}
    first, second = responder.requests
    assert first.raw == second.raw
    assert (client.requests_sent, endpoint.requests_sent, endpoint.datagrams_sent) == (1, 1, 2)


async def test_late_reply_to_the_first_try_is_accepted(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    async def answer_late(request: Request) -> None:
        await asyncio.sleep(0.15)
        assert responder.transport is not None
        responder.transport.sendto(responder.answer(request), endpoint.local_address)

    tasks: list[asyncio.Task[None]] = []

    def late(request: Request) -> list[bytes]:
        if len(responder.requests) == 1:
            tasks.append(asyncio.ensure_future(answer_late(request)))
        return []

    responder.hook = late
    client = _client(endpoint, responder, timeout_s=0.1, retries=3)
    assert await client.async_get(EV_EOJ, [0xE4]) == {0xE4: b"\x50"}
    assert len(responder.requests) == 2
    await asyncio.gather(*tasks)


async def test_timeout_after_the_last_try(endpoint: EchonetEndpoint, responder: Responder) -> None:
    responder.drop = 10
    client = _client(endpoint, responder, timeout_s=0.05, retries=2)
    with pytest.raises(DeviceTimeoutError, match="after 3 tries"):
        await client.async_get(EV_EOJ, [0xE4])
    assert len(responder.requests) == 3
    assert len({request.tid for request in responder.requests}) == 1
    assert endpoint._pending == {}


async def test_request_to_an_unknown_object_times_out(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    with pytest.raises(DeviceTimeoutError):
        await _client(endpoint, responder, timeout_s=0.05, retries=0).async_get(
            Eoj(0x02, 0x7D, 0x01), [0xE4]
        )


async def test_tids_increase_and_wrap(endpoint: EchonetEndpoint, responder: Responder) -> None:
    endpoint._next_tid = 0xFFFF
    client = _client(endpoint, responder)
    await client.async_get(EV_EOJ, [0xE4])
    await client.async_get(EV_EOJ, [0xE4])
    assert [request.tid for request in responder.requests] == [0xFFFF, 0x0000]


async def test_tid_still_waiting_is_skipped(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    endpoint._next_tid = 5
    responder.drop = 1
    slow = asyncio.ensure_future(
        _client(endpoint, responder, timeout_s=0.3, retries=0).async_get(EV_EOJ, [0xE4])
    )
    await asyncio.sleep(0.05)
    endpoint._next_tid = 5  # as if every other TID had been used since
    await _client(endpoint, responder).async_get(EV_EOJ, [0xE4])
    assert [request.tid for request in responder.requests] == [5, 6]
    with pytest.raises(DeviceTimeoutError):
        await slow


class _EveryTidBusy(dict[int, _Pending]):
    def __contains__(self, key: object) -> bool:
        return True


async def test_all_tids_busy(endpoint: EchonetEndpoint) -> None:
    endpoint._pending = _EveryTidBusy()
    with pytest.raises(DeviceConnectionError, match="TIDs"):
        await endpoint.async_request("127.0.0.1", 9, CONTROLLER, EV_EOJ, ESV_GET, [])


async def test_concurrent_requests_are_matched_by_tid(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    client = _client(endpoint, responder)
    results = await asyncio.gather(
        client.async_get(EV_EOJ, [0xE4]),
        client.async_get(EV_EOJ, [0xC7]),
        client.async_get(EV_EOJ, [0xDA]),
    )
    assert list(results) == [{0xE4: b"\x50"}, {0xC7: b"\x43"}, {0xDA: b"\x44"}]


async def test_request_argument_checks(endpoint: EchonetEndpoint) -> None:
    with pytest.raises(ValueError, match="SetI is not a request"):
        await endpoint.async_request("127.0.0.1", 9, CONTROLLER, EV_EOJ, ESV_SETI, [])
    with pytest.raises(ValueError, match="retries"):
        await endpoint.async_request("127.0.0.1", 9, CONTROLLER, EV_EOJ, ESV_GET, [], retries=-1)


async def test_an_invalid_frame_leaves_nothing_pending(endpoint: EchonetEndpoint) -> None:
    too_many = [Property(0x80)] * 256
    with pytest.raises(ValueError, match="at most 255"):
        await endpoint.async_request("127.0.0.1", 9, CONTROLLER, EV_EOJ, ESV_GET, too_many)
    with pytest.raises(ValueError, match="at most 255"):
        await endpoint.async_collect("127.0.0.1", 9, CONTROLLER, EV_EOJ, ESV_GET, too_many)
    assert endpoint._pending == {}
    assert endpoint.requests_sent == endpoint.datagrams_sent == 0


async def test_closing_fails_pending_requests(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.drop = 10
    pending = asyncio.ensure_future(
        _client(endpoint, responder, timeout_s=5).async_get(EV_EOJ, [0xE4])
    )
    await asyncio.sleep(0.05)
    endpoint.close()
    with pytest.raises(DeviceConnectionError, match="closed"):
        await pending
    assert endpoint.closed
    with pytest.raises(DeviceConnectionError, match="not open"):
        await _client(endpoint, responder).async_get(EV_EOJ, [0xE4])
    endpoint.close()  # twice is harmless


async def test_lost_socket_fails_pending_requests(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.drop = 10
    pending = asyncio.ensure_future(
        _client(endpoint, responder, timeout_s=5).async_get(EV_EOJ, [0xE4])
    )
    await asyncio.sleep(0.05)
    assert endpoint._transport is not None
    protocol = endpoint._transport.get_protocol()
    assert isinstance(protocol, asyncio.DatagramProtocol)
    protocol.error_received(OSError("ICMP unreachable"))  # only logged
    protocol.connection_lost(OSError("network down"))
    with pytest.raises(DeviceConnectionError, match="network down"):
        await pending


async def test_send_on_a_closed_endpoint() -> None:
    with pytest.raises(DeviceConnectionError, match="closed"):
        EchonetEndpoint()._send(b"", ("127.0.0.1", 9))


async def test_host_names_are_resolved(endpoint: EchonetEndpoint, responder: Responder) -> None:
    client = EchonetClient(endpoint, "localhost", responder.port, timeout_s=0.5)
    assert await client.async_get(EV_EOJ, [0xE4]) == {0xE4: b"\x50"}


async def test_unresolvable_host(
    endpoint: EchonetEndpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()

    async def fail(*args: object, **kwargs: object) -> list[object]:
        raise socket.gaierror("no such host")

    monkeypatch.setattr(loop, "getaddrinfo", fail)
    with pytest.raises(DeviceConnectionError, match=r"cannot resolve charger\.invalid"):
        await EchonetClient(endpoint, "charger.invalid").async_get(EV_EOJ, [0xE4])


async def test_client_close_leaves_the_shared_endpoint_open(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    await _client(endpoint, responder).async_close()
    assert not endpoint.closed


async def test_open_binds_the_requested_port(allow_loopback: None) -> None:
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    free_port = probe.getsockname()[1]
    probe.close()
    opened = await EchonetEndpoint.async_open(local_host="127.0.0.1", local_port=free_port)
    try:
        assert opened.local_address == ("127.0.0.1", free_port)
    finally:
        opened.close()


async def test_open_falls_back_to_an_ephemeral_port_when_busy(
    allow_loopback: None, caplog: pytest.LogCaptureFixture
) -> None:
    busy = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # no SO_REUSEADDR
    busy.bind(("127.0.0.1", 0))
    port = busy.getsockname()[1]
    try:
        with caplog.at_level(logging.WARNING):
            opened = await EchonetEndpoint.async_open(local_host="127.0.0.1", local_port=port)
        try:
            assert opened.local_address[1] not in (0, port)
            assert "is busy" in caplog.text
        finally:
            opened.close()
    finally:
        busy.close()


async def test_open_fails_cleanly_on_a_foreign_address(allow_loopback: None) -> None:
    with pytest.raises(DeviceConnectionError, match="cannot bind"):
        await EchonetEndpoint.async_open(local_host="192.0.2.77", local_port=3610)
    with pytest.raises(DeviceConnectionError, match="cannot bind"):
        await EchonetEndpoint.async_open(local_host="192.0.2.77", local_port=0)


async def test_collect_returns_every_reply(endpoint: EchonetEndpoint, responder: Responder) -> None:
    def twice(request: Request) -> list[bytes]:
        reply = responder.answer(request)
        return [reply, reply]

    responder.hook = twice
    replies = await endpoint.async_collect(
        "127.0.0.1",
        responder.port,
        CONTROLLER,
        EV_EOJ,
        ESV_GET,
        [Property(0xE4)],
        wait_s=0.2,
    )
    assert [(r.host, r.port, r.frame.properties) for r in replies] == [
        ("127.0.0.1", responder.port, (Property(0xE4, b"\x50"),))
    ] * 2
    assert endpoint._pending == {}


async def test_collect_fails_when_the_endpoint_closes(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    collecting = asyncio.ensure_future(
        endpoint.async_collect(
            "127.0.0.1", responder.port, CONTROLLER, EV_EOJ, ESV_GET, [Property(0xE4)], wait_s=5
        )
    )
    await asyncio.sleep(0.05)
    endpoint.close()
    with pytest.raises(DeviceConnectionError):
        await collecting


async def test_multicast_goes_to_the_echonet_group(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    # No multicast in tests: point the group at the responder.
    endpoint.multicast_group = "127.0.0.1"
    endpoint.node_port = responder.port
    replies = await endpoint.async_send_multicast(
        CONTROLLER, NODE_PROFILE, ESV_GET, [Property(0xD6)], wait_s=0.2
    )
    assert [reply.frame.properties for reply in replies] == [(Property(0xD6, b"\x01" + EV),)]
    assert responder.requests[0].raw[4:] == bytes.fromhex("05FF01 0EF001 62 01 D600")


def test_multicast_defaults_are_the_documented_ones() -> None:
    assert (echonet.MULTICAST_GROUP, echonet.ECHONET_PORT) == ("224.0.23.0", 3610)


async def test_unicast_discovery(endpoint: EchonetEndpoint, responder: Responder) -> None:
    battery_only, battery_transport = await start_responder()
    battery_only.objects[NODE] = {0xD6: bytes.fromhex("01 027D01")}
    garbage, garbage_transport = await start_responder()
    garbage.objects[NODE] = {0xD6: bytes.fromhex("02 027E01")}  # says 2, lists 1
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        nodes = await async_discover(
            endpoint,
            targets=[
                ("127.0.0.1", responder.port),
                ("127.0.0.1", battery_only.port),
                ("127.0.0.1", garbage.port),
                ("127.0.0.1", silent.getsockname()[1]),
            ],
            wait_s=0.2,
        )
    finally:
        battery_transport.close()
        garbage_transport.close()
        silent.close()
    by_port = {node.port: node for node in nodes}
    assert set(by_port) == {responder.port, battery_only.port}
    charger = by_port[responder.port]
    assert charger.host == "127.0.0.1"
    assert charger.instances == (EV_EOJ,)
    assert charger.ev_chargers == (EV_EOJ,)
    assert charger.identification == "FE00006C00112233445566778899AABBCC"
    assert charger.manufacturer_code == 0x00006C
    battery = by_port[battery_only.port]
    assert battery.instances == (Eoj(0x02, 0x7D, 0x01),)
    assert (battery.identification, battery.manufacturer_code) == (None, None)
    # The battery-only node was not asked for 0x83/0x8A.
    assert [request.epcs for request in battery_only.requests] == [[0xD6]]
    assert [request.epcs for request in responder.requests] == [[0xD6], [0x83, 0x8A]]


async def test_discovery_without_identification(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    del responder.objects[NODE][0x83]
    del responder.objects[NODE][0x8A]
    [node] = await async_discover(endpoint, targets=[("127.0.0.1", responder.port)], wait_s=0.2)
    assert (node.identification, node.manufacturer_code) == (None, None)
    assert node.ev_chargers == (EV_EOJ,)


async def test_discovery_survives_a_bad_identification(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    responder.objects[NODE][0x83] = b"\xfe\x00"
    [node] = await async_discover(endpoint, targets=[("127.0.0.1", responder.port)], wait_s=0.2)
    assert node.identification is None
    assert node.ev_chargers == (EV_EOJ,)


async def test_multicast_discovery(endpoint: EchonetEndpoint, responder: Responder) -> None:
    endpoint.multicast_group = "127.0.0.1"
    endpoint.node_port = responder.port

    def answer_twice(request: Request) -> list[bytes]:
        reply = responder.answer(request)
        return [reply, reply]  # a node seen twice is listed once

    responder.hook = answer_twice
    nodes = await async_discover(endpoint, wait_s=0.2)
    assert len(nodes) == 1
    assert nodes[0].port == responder.port  # requests go to the ECHONET port
    assert nodes[0].identification == IDENT.hex().upper()


async def test_discovery_skips_nodes_without_an_instance_list(
    endpoint: EchonetEndpoint, responder: Responder
) -> None:
    del responder.objects[NODE][0xD6]  # answered with Get_SNA
    assert await async_discover(endpoint, targets=[("127.0.0.1", responder.port)], wait_s=0.2) == []
