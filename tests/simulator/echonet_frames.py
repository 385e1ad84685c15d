"""Hand-written ECHONET Lite frames and a hand-driven controller socket for the twin tests.

Requests and expected replies are written from protocols.md section 4.1 (frame: 10 81,
TID, SEOJ, DEOJ, ESV, OPC, EPC/PDC/EDT), deliberately not with the twin's own encoder.
The controller is 0x05FF01 throughout.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

# 0xFE, Nichicon 0x00006C, then "EVPS-SIM-0001" in ASCII (13 bytes).
IDENT = "FE 00006C 45 56 50 53 2D 53 49 4D 2D 30 30 30 31"


def h(text: str) -> bytes:
    """Bytes from hex with spaces."""
    return bytes.fromhex(text.replace(" ", ""))


def req(tid: str, deoj: str, esv: str, body: str) -> str:
    """A request from the controller 05FF01."""
    return f"1081 {tid} 05FF01 {deoj} {esv} {body}"


def res(tid: str, seoj: str, esv: str, body: str) -> bytes:
    """The expected reply to the controller 05FF01."""
    return h(f"1081 {tid} {seoj} 05FF01 {esv} {body}")


class _ClientProtocol(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.replies: asyncio.Queue[bytes | Exception] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.replies.put_nowait(data)

    def error_received(self, exc: Exception) -> None:
        self.replies.put_nowait(exc)


class Udp:
    """A hand-driven ECHONET Lite controller socket."""

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _ClientProtocol) -> None:
        self.transport = transport
        self.protocol = protocol

    def send(self, frame: str | bytes) -> None:
        while not self.protocol.replies.empty():
            self.protocol.replies.get_nowait()
        self.transport.sendto(h(frame) if isinstance(frame, str) else frame)

    async def receive(self, wait: float = 1.0) -> bytes:
        reply = await asyncio.wait_for(self.protocol.replies.get(), wait)
        assert isinstance(reply, bytes), reply
        return reply

    async def ask(self, frame: str | bytes, wait: float = 1.0) -> bytes:
        self.send(frame)
        return await self.receive(wait)

    async def silent(self, frame: str | bytes, wait: float = 0.15) -> None:
        self.send(frame)
        with contextlib.suppress(TimeoutError):
            reply = await asyncio.wait_for(self.protocol.replies.get(), wait)
            assert not isinstance(reply, bytes), f"unexpected reply {reply.hex()}"


async def open_client(port: int) -> Udp:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        _ClientProtocol, remote_addr=("127.0.0.1", port)
    )
    return Udp(transport, protocol)


def get(tid: str, deoj: str, *epcs: str) -> str:
    body = f"{len(epcs):02X} " + " ".join(f"{epc} 00" for epc in epcs)
    return req(tid, deoj, "62", body)


def setc(tid: str, *props: tuple[str, str], esv: str = "61", deoj: str = "027E01") -> str:
    body = f"{len(props):02X} " + " ".join(f"{epc} {len(h(edt)):02X} {edt}" for epc, edt in props)
    return req(tid, deoj, esv, body)


async def read_property(udp: Udp, eoj: str, epc: str) -> bytes:
    """One property of object ``eoj`` via Get; the EDT (checks the reply's framing)."""
    reply = await udp.ask(get("00FF", eoj, epc))
    assert reply[:13] == h(f"1081 00FF {eoj} 05FF01 72 01 {epc}"), reply.hex()
    return reply[14:]


async def write_property(udp: Udp, eoj: str, epc: str, edt: str) -> None:
    """SetC one property of object ``eoj`` and expect Set_Res."""
    reply = await udp.ask(setc("00FE", (epc, edt), deoj=eoj))
    assert reply == res("00FE", eoj, "71", f"01 {epc} 00"), reply.hex()


def decode_map(edt: bytes) -> set[int]:
    """Property map decoding written from section 4.1 (not the twin's encoder)."""
    count = edt[0]
    if count < 16:
        return set(edt[1 : 1 + count])
    return {
        (bit + 8) * 0x10 + byte
        for byte in range(16)
        for bit in range(8)
        if edt[1 + byte] & (1 << bit)
    }
