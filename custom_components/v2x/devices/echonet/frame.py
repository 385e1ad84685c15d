"""A small asyncio ECHONET Lite stack: frame codec, one shared UDP endpoint, a client.

Reference: ``shared/reference/protocols.md`` section 4.1 (rows tagged [V]).

* Frames are Format 1 only: EHD1 0x10, EHD2 0x81, TID (2 B), SEOJ (3 B), DEOJ (3 B),
  ESV (1 B), OPC (1 B), then OPC times {EPC (1 B), PDC (1 B), EDT (PDC bytes)}.
  SetGet frames (ESV 0x6E/0x7E/0x5E) carry two property lists whose layout the
  reference does not give, so they are neither sent nor decoded here.
* Transport: UDP port 3610, IPv4 multicast group 224.0.23.0.
* Property maps (0x9D/0x9E/0x9F): a count byte, then either the EPCs (count < 16)
  or a 16-byte bitmap in which byte i, bit j set means EPC (j + 8) * 0x10 + i.
* Multi-byte numbers are big-endian.

One :class:`EchonetEndpoint` (one UDP socket) serves every device of a process:
ECHONET Lite devices answer to port 3610, so two sockets on that port would steal
each other's replies. Replies are matched to requests by TID and source address.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
import ipaddress
import logging
import secrets
import socket
from typing import Final, Self

from ..errors import (
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ResponseImpossibleError,
)

_LOGGER = logging.getLogger(__name__)

ECHONET_PORT: Final = 3610
MULTICAST_GROUP: Final = "224.0.23.0"

EHD1: Final = 0x10
EHD2_FORMAT1: Final = 0x81
HEADER_SIZE: Final = 12  # EHD1, EHD2, TID (2), SEOJ (3), DEOJ (3), ESV, OPC
MAX_TID: Final = 0xFFFF

# ESV codes (protocols.md 4.1)
ESV_SETI: Final = 0x60
ESV_SETC: Final = 0x61
ESV_GET: Final = 0x62
ESV_INF_REQ: Final = 0x63
ESV_SETGET: Final = 0x6E
ESV_SET_RES: Final = 0x71
ESV_GET_RES: Final = 0x72
ESV_INF: Final = 0x73
ESV_INFC: Final = 0x74
ESV_INFC_RES: Final = 0x7A
ESV_SETGET_RES: Final = 0x7E
ESV_SETI_SNA: Final = 0x50
ESV_SETC_SNA: Final = 0x51
ESV_GET_SNA: Final = 0x52
ESV_INF_SNA: Final = 0x53
ESV_SETGET_SNA: Final = 0x5E

ESV_NAMES: Final[dict[int, str]] = {
    ESV_SETI: "SetI",
    ESV_SETC: "SetC",
    ESV_GET: "Get",
    ESV_INF_REQ: "INF_REQ",
    ESV_SETGET: "SetGet",
    ESV_SET_RES: "Set_Res",
    ESV_GET_RES: "Get_Res",
    ESV_INF: "INF",
    ESV_INFC: "INFC",
    ESV_INFC_RES: "INFC_Res",
    ESV_SETGET_RES: "SetGet_Res",
    ESV_SETI_SNA: "SetI_SNA",
    ESV_SETC_SNA: "SetC_SNA",
    ESV_GET_SNA: "Get_SNA",
    ESV_INF_SNA: "INF_SNA",
    ESV_SETGET_SNA: "SetGet_SNA",
}
SNA_CODES: Final = frozenset({ESV_SETI_SNA, ESV_SETC_SNA, ESV_GET_SNA, ESV_INF_SNA, ESV_SETGET_SNA})
_SETGET_CODES: Final = frozenset({ESV_SETGET, ESV_SETGET_RES, ESV_SETGET_SNA})

# The requests this stack sends, and the replies (success, "not possible") each expects.
# SetI is left out: it has no reply on success, so it cannot be retried on a timeout.
EXPECTED_REPLIES: Final[dict[int, frozenset[int]]] = {
    ESV_SETC: frozenset({ESV_SET_RES, ESV_SETC_SNA}),
    ESV_GET: frozenset({ESV_GET_RES, ESV_GET_SNA}),
    ESV_INF_REQ: frozenset({ESV_INF, ESV_INF_SNA}),
}

# Node-profile properties (EPC)
EPC_STANDARD_VERSION: Final = 0x82
EPC_IDENTIFICATION: Final = 0x83
EPC_MANUFACTURER: Final = 0x8A
EPC_INF_MAP: Final = 0x9D
EPC_SET_MAP: Final = 0x9E
EPC_GET_MAP: Final = 0x9F
EPC_SELF_NODE_INSTANCES: Final = 0xD6  # self-node instance list S

EV_CHARGER_CLASS: Final = 0x027E
IDENTIFICATION_SIZE: Final = 17
PROPERTY_MAP_BITMAP_THRESHOLD: Final = 16
_FIRST_EPC: Final = 0x80  # the bitmap form can only name EPCs 0x80..0xFF


def esv_name(esv: int) -> str:
    """A readable name for an ESV code (``0x62`` -> ``"Get"``)."""
    return ESV_NAMES.get(esv, f"ESV 0x{esv:02X}")


@dataclass(frozen=True, slots=True, order=True)
class Eoj:
    """An ECHONET object: class group, class and instance (``Eoj(0x02, 0x7E, 0x01)``)."""

    class_group: int
    class_code: int
    instance: int

    def __post_init__(self) -> None:
        """Each part is one byte."""
        for part in (self.class_group, self.class_code, self.instance):
            if not 0 <= part <= 0xFF:
                raise ValueError(f"EOJ parts are single bytes, got {part}")

    @classmethod
    def from_bytes(cls, data: bytes) -> Eoj:
        """Decode three bytes."""
        if len(data) != 3:
            raise DeviceProtocolError(f"an EOJ is 3 bytes, got {len(data)}")
        return cls(data[0], data[1], data[2])

    def to_bytes(self) -> bytes:
        """Encode as three bytes."""
        return bytes((self.class_group, self.class_code, self.instance))

    @property
    def class_id(self) -> int:
        """Class group and class as one number (``0x027E``)."""
        return self.class_group << 8 | self.class_code

    def __str__(self) -> str:
        """Hex form, e.g. ``027E01``."""
        return self.to_bytes().hex().upper()


NODE_PROFILE: Final = Eoj(0x0E, 0xF0, 0x01)
CONTROLLER: Final = Eoj(0x05, 0xFF, 0x01)


@dataclass(frozen=True, slots=True)
class Property:
    """One EPC with its data (``edt`` is empty in a Get request and in a Set_Res)."""

    epc: int
    edt: bytes = b""

    def __post_init__(self) -> None:
        """EPC is one byte; the PDC byte limits EDT to 255 bytes."""
        if not 0 <= self.epc <= 0xFF:
            raise ValueError(f"EPC must be a single byte, got {self.epc}")
        if len(self.edt) > 0xFF:
            raise ValueError(f"EDT of EPC 0x{self.epc:02X} exceeds 255 bytes")


@dataclass(frozen=True, slots=True)
class Frame:
    """One ECHONET Lite Format 1 frame."""

    tid: int
    seoj: Eoj
    deoj: Eoj
    esv: int
    properties: tuple[Property, ...] = ()

    def __post_init__(self) -> None:
        """TID is 16 bits, ESV and OPC one byte each."""
        if not 0 <= self.tid <= MAX_TID:
            raise ValueError(f"TID must be 0..0xFFFF, got {self.tid}")
        if not 0 <= self.esv <= 0xFF:
            raise ValueError(f"ESV must be a single byte, got {self.esv}")
        if len(self.properties) > 0xFF:
            raise ValueError("a frame carries at most 255 properties")

    @property
    def epcs(self) -> tuple[int, ...]:
        """The EPCs in frame order."""
        return tuple(prop.epc for prop in self.properties)

    @property
    def is_sna(self) -> bool:
        """Whether the ESV is one of the "not possible" replies."""
        return self.esv in SNA_CODES


def encode_frame(frame: Frame) -> bytes:
    """Serialise a frame (Format 1)."""
    out = bytearray((EHD1, EHD2_FORMAT1))
    out += frame.tid.to_bytes(2, "big")
    out += frame.seoj.to_bytes()
    out += frame.deoj.to_bytes()
    out += bytes((frame.esv, len(frame.properties)))
    for prop in frame.properties:
        out += bytes((prop.epc, len(prop.edt)))
        out += prop.edt
    return bytes(out)


def decode_frame(data: bytes) -> Frame:
    """Parse a Format 1 frame; anything malformed raises :class:`DeviceProtocolError`."""
    if len(data) < HEADER_SIZE:
        raise DeviceProtocolError(
            f"truncated frame: {len(data)} bytes, a header needs {HEADER_SIZE}"
        )
    if data[0] != EHD1 or data[1] != EHD2_FORMAT1:
        raise DeviceProtocolError(
            f"wrong EHD 0x{data[0]:02X}{data[1]:02X}: only ECHONET Lite Format 1 "
            f"(0x{EHD1:02X}{EHD2_FORMAT1:02X}) is supported"
        )
    esv = data[10]
    if esv in _SETGET_CODES:
        raise DeviceProtocolError(f"{esv_name(esv)} frames are not supported")
    opc = data[11]
    properties: list[Property] = []
    offset = HEADER_SIZE
    while len(properties) < opc:
        if offset == len(data):
            raise DeviceProtocolError(
                f"OPC mismatch: OPC is {opc} but the frame holds {len(properties)} properties"
            )
        if offset + 2 > len(data):
            raise DeviceProtocolError(
                f"truncated frame: property {len(properties) + 1} of {opc} has no PDC byte"
            )
        epc, pdc = data[offset], data[offset + 1]
        end = offset + 2 + pdc
        if end > len(data):
            raise DeviceProtocolError(
                f"EPC 0x{epc:02X}: PDC {pdc} runs {end - len(data)} bytes past the end of the frame"
            )
        properties.append(Property(epc, bytes(data[offset + 2 : end])))
        offset = end
    if offset != len(data):
        raise DeviceProtocolError(
            f"{len(data) - offset} trailing bytes after the {opc} properties of the frame"
        )
    return Frame(
        tid=int.from_bytes(data[2:4], "big"),
        seoj=Eoj.from_bytes(data[4:7]),
        deoj=Eoj.from_bytes(data[7:10]),
        esv=esv,
        properties=tuple(properties),
    )


def decode_property_map(edt: bytes) -> frozenset[int]:
    """Decode a property map (0x9D/0x9E/0x9F) in either of its two forms."""
    if not edt:
        raise DeviceProtocolError("empty property map")
    count = edt[0]
    if count < PROPERTY_MAP_BITMAP_THRESHOLD:
        listed = edt[1:]
        if len(listed) != count:
            raise DeviceProtocolError(
                f"property map lists {len(listed)} EPCs but its count byte says {count}"
            )
        epcs = frozenset(listed)
        if len(epcs) != count:
            raise DeviceProtocolError("property map lists an EPC twice")
        if any(epc < _FIRST_EPC for epc in epcs):
            raise DeviceProtocolError("property map lists an EPC below 0x80")
        return epcs
    if len(edt) != 1 + 16:
        raise DeviceProtocolError(
            f"property map of {count} EPCs needs a 16-byte bitmap, got {len(edt) - 1} bytes"
        )
    epcs = frozenset(
        (bit + 8) * 0x10 + index
        for index, byte in enumerate(edt[1:])
        for bit in range(8)
        if byte >> bit & 1
    )
    if len(epcs) != count:
        raise DeviceProtocolError(
            f"property map bitmap has {len(epcs)} bits set but its count byte says {count}"
        )
    return epcs


def encode_property_map(epcs: Iterable[int]) -> bytes:
    """Encode a property map, as a list below 16 EPCs and as a bitmap from 16 on."""
    unique = sorted(set(epcs))
    if any(not _FIRST_EPC <= epc <= 0xFF for epc in unique):
        raise ValueError("property maps hold EPCs 0x80..0xFF only")
    if len(unique) < PROPERTY_MAP_BITMAP_THRESHOLD:
        return bytes((len(unique), *unique))
    bitmap = bytearray(16)
    for epc in unique:
        bitmap[epc & 0x0F] |= 1 << ((epc >> 4) - 8)
    return bytes((len(unique), *bitmap))


def decode_instance_list(edt: bytes) -> tuple[Eoj, ...]:
    """Decode the self-node instance list S (0xD6): a count byte, then 3-byte EOJs."""
    if not edt:
        raise DeviceProtocolError("empty instance list (0xD6)")
    count = edt[0]
    if len(edt) != 1 + 3 * count:
        raise DeviceProtocolError(
            f"instance list (0xD6) says {count} instances but holds {len(edt) - 1} bytes"
        )
    return tuple(Eoj.from_bytes(edt[i : i + 3]) for i in range(1, len(edt), 3))


def decode_identification(edt: bytes) -> str:
    """Identification number (0x83): 17 bytes, returned as uppercase hex."""
    if len(edt) != IDENTIFICATION_SIZE:
        raise DeviceProtocolError(
            f"identification number (0x83) is {IDENTIFICATION_SIZE} bytes, got {len(edt)}"
        )
    return edt.hex().upper()


def decode_manufacturer_code(edt: bytes) -> int:
    """Manufacturer code (0x8A): 3 bytes, big-endian."""
    if len(edt) != 3:
        raise DeviceProtocolError(f"manufacturer code (0x8A) is 3 bytes, got {len(edt)}")
    return int.from_bytes(edt, "big")


@dataclass(frozen=True, slots=True)
class Received:
    """One reply collected for a request, with the address it came from."""

    host: str
    port: int
    frame: Frame


@dataclass(slots=True)
class _Pending:
    """A request waiting for its reply (or, for ``collect``, for every reply)."""

    host: str | None  # None: any source (multicast)
    deoj: Eoj
    expected: frozenset[int]
    future: asyncio.Future[Frame]
    """Resolved with the reply; collectors only see it fail (endpoint closed)."""
    collected: list[Received] | None = None

    def accepts(self, frame: Frame, host: str) -> bool:
        """Whether ``frame`` from ``host`` is a reply to this request."""
        if self.host is not None and host != self.host:
            return False
        if frame.esv not in self.expected:
            return False
        if frame.seoj.class_id != self.deoj.class_id:
            return False
        # Instance 0x00 addresses every instance of the class.
        return self.deoj.instance in (0, frame.seoj.instance)


class _EndpointProtocol(asyncio.DatagramProtocol):
    def __init__(self, endpoint: EchonetEndpoint) -> None:
        self._endpoint = endpoint

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self._endpoint._datagram_received(data, str(addr[0]), int(addr[1]))  # noqa: SLF001

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("ECHONET Lite socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        self._endpoint._fail_pending(  # noqa: SLF001
            DeviceConnectionError(f"ECHONET Lite socket closed: {exc or 'closed'}")
        )


class EchonetEndpoint:
    """One UDP socket shared by every ECHONET Lite device of a process.

    Open it with :meth:`async_open`; close it with :meth:`close` when the last
    device using it is gone (closing a device's client does not close it).
    """

    def __init__(self) -> None:
        """Create a closed endpoint; use :meth:`async_open`."""
        self.multicast_group = MULTICAST_GROUP
        """Where :meth:`async_send_multicast` sends (the ECHONET Lite group)."""
        self.node_port = ECHONET_PORT
        """The port every node listens on (multicast requests go to it, too)."""
        self._transport: asyncio.DatagramTransport | None = None
        self._pending: dict[int, _Pending] = {}
        self._next_tid = secrets.randbelow(MAX_TID + 1)
        self.requests_sent = 0
        """Requests sent (a retry of the same request is not counted again)."""
        self.datagrams_sent = 0
        """Datagrams sent, retries included."""
        self.local_address: tuple[str, int] = ("", 0)

    @classmethod
    async def async_open(
        cls,
        local_host: str = "0.0.0.0",  # noqa: S104 - devices answer from the whole LAN
        local_port: int = ECHONET_PORT,
    ) -> Self:
        """Bind ``local_host:local_port`` (3610 by default) and start listening.

        When the port is taken (another ECHONET Lite controller on this machine),
        fall back to an ephemeral port with a warning: devices that answer to the
        request's source port still work, those that always answer to 3610 do not.
        """
        endpoint = cls()
        sock = _bind(local_host, local_port)
        loop = asyncio.get_running_loop()
        try:
            transport, _ = await loop.create_datagram_endpoint(
                lambda: _EndpointProtocol(endpoint), sock=sock
            )
        except OSError as err:  # pragma: no cover - the socket is already bound
            sock.close()
            raise DeviceConnectionError(f"cannot open the ECHONET Lite socket: {err}") from err
        endpoint._transport = transport
        name = sock.getsockname()
        endpoint.local_address = (str(name[0]), int(name[1]))
        return endpoint

    @property
    def closed(self) -> bool:
        """Whether the socket is closed (or was never opened)."""
        return self._transport is None

    def close(self) -> None:
        """Close the socket; pending requests fail with :class:`DeviceConnectionError`."""
        transport, self._transport = self._transport, None
        self._fail_pending(DeviceConnectionError("the ECHONET Lite endpoint was closed"))
        if transport is not None:
            transport.close()

    async def async_request(  # noqa: PLR0917 - the frame's fields, in frame order
        self,
        host: str,
        port: int,
        seoj: Eoj,
        deoj: Eoj,
        esv: int,
        properties: Sequence[Property],
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
    ) -> Frame:
        """Send one request and return its reply (success or ``*_SNA``).

        The reply is matched by TID, source host, ESV and source object. On a
        timeout the same frame (same TID) is sent again, ``retries`` times; a late
        reply to an earlier try is accepted. Raises :class:`DeviceTimeoutError`
        after the last try and :class:`DeviceConnectionError` if the endpoint closes.
        """
        if retries < 0:
            raise ValueError("retries must be >= 0")
        address = (await _resolve(host), port)
        tid, pending = self._register(address[0], deoj, esv)
        try:
            data = encode_frame(Frame(tid, seoj, deoj, esv, tuple(properties)))
            self.requests_sent += 1
            for attempt in range(retries + 1):
                if attempt:
                    _LOGGER.debug(
                        "No reply from %s:%s to TID %d, retry %d", host, port, tid, attempt
                    )
                self._send(data, address)
                done, _ = await asyncio.wait({pending.future}, timeout=timeout_s)
                if done:
                    return pending.future.result()
        finally:
            self._pending.pop(tid, None)
        raise DeviceTimeoutError(
            f"no reply from {host}:{port} to {esv_name(esv)} after {retries + 1} tries "
            f"of {timeout_s} s"
        )

    async def async_collect(  # noqa: PLR0917 - the frame's fields, in frame order
        self,
        host: str,
        port: int,
        seoj: Eoj,
        deoj: Eoj,
        esv: int,
        properties: Sequence[Property],
        *,
        wait_s: float = 2.0,
    ) -> list[Received]:
        """Send one request and return every reply to it that arrives within ``wait_s``.

        Replies may come from any host (``host`` may be a multicast group).
        """
        address = (await _resolve(host), port)
        tid, pending = self._register(None, deoj, esv)
        pending.collected = []
        try:
            data = encode_frame(Frame(tid, seoj, deoj, esv, tuple(properties)))
            self.requests_sent += 1
            self._send(data, address)
            done, _ = await asyncio.wait({pending.future}, timeout=wait_s)
            if done:
                pending.future.result()  # raises when the endpoint was closed
            return list(pending.collected)
        finally:
            self._pending.pop(tid, None)

    async def async_send_multicast(
        self,
        seoj: Eoj,
        deoj: Eoj,
        esv: int,
        properties: Sequence[Property],
        *,
        wait_s: float = 2.0,
    ) -> list[Received]:
        """Send a request to the ECHONET Lite multicast group; collect every reply."""
        return await self.async_collect(
            self.multicast_group, self.node_port, seoj, deoj, esv, properties, wait_s=wait_s
        )

    def _register(self, host: str | None, deoj: Eoj, esv: int) -> tuple[int, _Pending]:
        if self._transport is None:
            raise DeviceConnectionError("the ECHONET Lite endpoint is not open")
        if esv not in EXPECTED_REPLIES:
            raise ValueError(f"{esv_name(esv)} is not a request this stack can send")
        tid = self._allocate_tid()
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        pending = _Pending(host, deoj, EXPECTED_REPLIES[esv], future)
        self._pending[tid] = pending
        return tid, pending

    def _allocate_tid(self) -> int:
        for _ in range(MAX_TID + 1):
            tid = self._next_tid
            self._next_tid = (tid + 1) & MAX_TID
            if tid not in self._pending:
                return tid
        raise DeviceConnectionError("all 65536 TIDs are waiting for replies")

    def _send(self, data: bytes, address: tuple[str, int]) -> None:
        if self._transport is None:
            raise DeviceConnectionError("the ECHONET Lite endpoint is closed")
        self._transport.sendto(data, address)
        self.datagrams_sent += 1

    def _datagram_received(self, data: bytes, host: str, port: int) -> None:
        try:
            frame = decode_frame(data)
        except DeviceProtocolError as err:
            _LOGGER.debug("Ignoring a malformed frame from %s:%s: %s", host, port, err)
            return
        pending = self._pending.get(frame.tid)
        if pending is None or not pending.accepts(frame, host):
            _LOGGER.debug(
                "Ignoring %s TID %d from %s:%s (not a reply we wait for)",
                esv_name(frame.esv),
                frame.tid,
                host,
                port,
            )
            return
        if pending.collected is not None:
            pending.collected.append(Received(host, port, frame))
        elif not pending.future.done():
            pending.future.set_result(frame)

    def _fail_pending(self, error: DeviceConnectionError) -> None:
        self._transport = None
        for pending in self._pending.values():
            if not pending.future.done():
                pending.future.set_exception(error)
                # A requester that was cancelled meanwhile (a scan stopped at unload)
                # never reads it: mark it read, so it is not logged as never retrieved.
                pending.future.exception()


def _bind(host: str, port: int) -> socket.socket:
    # No SO_REUSEADDR: sharing UDP 3610 with another controller would let the kernel
    # hand our replies to it. A busy port means an ephemeral one instead.
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        try:
            sock.bind((host, port))
        except OSError as err:
            if port == 0:
                raise
            _LOGGER.warning(
                "UDP port %s on %s is busy (%s): using an ephemeral port; ECHONET Lite "
                "devices that always answer to port %s will not be reachable",
                port,
                host,
                err,
                ECHONET_PORT,
            )
            sock.bind((host, 0))
    except OSError as err:
        sock.close()
        raise DeviceConnectionError(f"cannot bind the ECHONET Lite socket: {err}") from err
    return sock


async def _resolve(host: str) -> str:
    """The IPv4 address replies come from (replies are matched by source address)."""
    try:
        return str(ipaddress.IPv4Address(host))
    except ValueError:
        pass
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, None, family=socket.AF_INET, type=socket.SOCK_DGRAM
        )
    except OSError as err:
        raise DeviceConnectionError(f"cannot resolve {host}: {err}") from err
    if not infos:  # pragma: no cover - getaddrinfo raises instead
        raise DeviceConnectionError(f"cannot resolve {host}")
    return str(infos[0][4][0])


class EchonetClient:
    """One ECHONET Lite node reached through a shared :class:`EchonetEndpoint`."""

    def __init__(
        self,
        endpoint: EchonetEndpoint,
        host: str,
        port: int = ECHONET_PORT,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        seoj: Eoj = CONTROLLER,
    ) -> None:
        """Talk to ``host:port`` as controller object ``seoj``."""
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.retries = retries
        self.seoj = seoj
        self._requests_sent = 0

    @property
    def requests_sent(self) -> int:
        """Requests this client sent (a retry of the same request is not counted)."""
        return self._requests_sent

    async def async_get(self, eoj: Eoj, epcs: Sequence[int]) -> dict[int, bytes | None]:
        """Read ``epcs`` of ``eoj`` in one Get frame.

        A Get_SNA is not an error: the properties the device answered with PDC = 0
        (e.g. vehicle data with no vehicle connected) map to ``None``.
        """
        if not epcs:
            raise ValueError("a Get needs at least one EPC")
        if len(set(epcs)) != len(epcs):
            raise ValueError("a Get names each EPC once")
        reply = await self._request(eoj, ESV_GET, [Property(epc) for epc in epcs])
        _check_epcs(reply, epcs)
        return {prop.epc: prop.edt or None for prop in reply.properties}

    async def async_set(self, eoj: Eoj, values: Mapping[int, bytes]) -> None:
        """Write ``values`` to ``eoj`` in one SetC frame.

        Raises :class:`ResponseImpossibleError` naming the refused EPCs on a
        SetC_SNA, and :class:`DeviceProtocolError` when the reply does not list the
        written EPCs.
        """
        if not values:
            raise ValueError("a SetC needs at least one property")
        if any(not edt for edt in values.values()):
            raise ValueError("a SetC writes at least one byte per property")
        epcs = list(values)
        reply = await self._request(
            eoj, ESV_SETC, [Property(epc, edt) for epc, edt in values.items()]
        )
        _check_epcs(reply, epcs)
        if reply.esv == ESV_SETC_SNA:
            # Refused properties come back with their data, accepted ones with PDC = 0.
            refused = [prop.epc for prop in reply.properties if prop.edt] or epcs
            raise ResponseImpossibleError(
                f"{self.host} refused to set {_epc_list(refused)} of {eoj} (SetC_SNA)"
            )
        if any(prop.edt for prop in reply.properties):
            raise DeviceProtocolError(f"{self.host}: Set_Res carries data (PDC must be 0)")

    async def async_close(self) -> None:
        """Nothing to release: the endpoint is shared and closed by its owner."""

    async def _request(self, eoj: Eoj, esv: int, properties: list[Property]) -> Frame:
        self._requests_sent += 1
        return await self.endpoint.async_request(
            self.host,
            self.port,
            self.seoj,
            eoj,
            esv,
            properties,
            timeout_s=self.timeout_s,
            retries=self.retries,
        )


def _check_epcs(reply: Frame, epcs: Sequence[int]) -> None:
    if sorted(reply.epcs) != sorted(epcs):
        raise DeviceProtocolError(
            f"{esv_name(reply.esv)} lists {_epc_list(reply.epcs)}, "
            f"the request named {_epc_list(epcs)}"
        )


def _epc_list(epcs: Iterable[int]) -> str:
    return ", ".join(f"0x{epc:02X}" for epc in epcs) or "no EPC"


@dataclass(frozen=True, slots=True)
class DiscoveredNode:
    """An ECHONET Lite node found by :func:`async_discover`."""

    host: str
    port: int
    instances: tuple[Eoj, ...]
    identification: str | None = None
    """Node profile identification number (0x83) as uppercase hex, if read."""
    manufacturer_code: int | None = None
    """Node profile manufacturer code (0x8A), if read."""

    @property
    def ev_chargers(self) -> tuple[Eoj, ...]:
        """The EV charger/discharger (class 0x027E) instances of this node."""
        return tuple(eoj for eoj in self.instances if eoj.class_id == EV_CHARGER_CLASS)


@dataclass(slots=True)
class _Found:
    host: str
    port: int
    instances: tuple[Eoj, ...]
    extra: dict[int, bytes | None] = field(default_factory=dict)


async def async_discover(
    endpoint: EchonetEndpoint,
    *,
    targets: list[tuple[str, int]] | None = None,
    wait_s: float = 2.0,
) -> list[DiscoveredNode]:
    """Find ECHONET Lite nodes and their objects.

    With ``targets=None`` the node profile's self-node instance list S (0xD6) is
    requested from the multicast group 224.0.23.0:3610 and every reply arriving
    within ``wait_s`` is kept; with ``targets`` the same Get goes to each
    ``(host, port)`` by unicast. Nodes with an EV charger/discharger (0x027E) are
    then asked for their identification number (0x83) and manufacturer code (0x8A).
    Nodes that do not answer, or answer nonsense, are left out (logged at debug).
    """
    request = [Property(EPC_SELF_NODE_INSTANCES)]
    replies: list[Received] = []
    if targets is None:
        replies = await endpoint.async_send_multicast(
            CONTROLLER, NODE_PROFILE, ESV_GET, request, wait_s=wait_s
        )
        # Requests go to the node port (3610) whatever source port a device answered from.
        replies = [Received(r.host, endpoint.node_port, r.frame) for r in replies]
    else:
        answers = await asyncio.gather(
            *(_probe(endpoint, host, port, request, wait_s) for host, port in targets)
        )
        replies = [answer for answer in answers if answer is not None]
    found: dict[tuple[str, int], _Found] = {}
    for reply in replies:
        key = (reply.host, reply.port)
        if key in found:
            continue
        try:
            edts = {prop.epc: prop.edt for prop in reply.frame.properties}
            instances = decode_instance_list(edts.get(EPC_SELF_NODE_INSTANCES, b""))
        except DeviceProtocolError as err:
            _LOGGER.debug("Ignoring node %s:%s: %s", reply.host, reply.port, err)
            continue
        found[key] = _Found(reply.host, reply.port, instances)
    nodes = await asyncio.gather(*(_describe(endpoint, node, wait_s) for node in found.values()))
    return sorted(nodes, key=lambda node: (node.host, node.port))


async def _probe(
    endpoint: EchonetEndpoint, host: str, port: int, request: list[Property], wait_s: float
) -> Received | None:
    try:
        frame = await endpoint.async_request(
            host, port, CONTROLLER, NODE_PROFILE, ESV_GET, request, timeout_s=wait_s, retries=0
        )
    except (DeviceTimeoutError, DeviceConnectionError) as err:
        _LOGGER.debug("No ECHONET Lite node at %s:%s: %s", host, port, err)
        return None
    return Received(host, port, frame)


async def _describe(endpoint: EchonetEndpoint, node: _Found, wait_s: float) -> DiscoveredNode:
    identification: str | None = None
    manufacturer: int | None = None
    if any(eoj.class_id == EV_CHARGER_CLASS for eoj in node.instances):
        client = EchonetClient(endpoint, node.host, node.port, timeout_s=wait_s, retries=1)
        try:
            values = await client.async_get(NODE_PROFILE, [EPC_IDENTIFICATION, EPC_MANUFACTURER])
            if (edt := values[EPC_IDENTIFICATION]) is not None:
                identification = decode_identification(edt)
            if (edt := values[EPC_MANUFACTURER]) is not None:
                manufacturer = decode_manufacturer_code(edt)
        except (DeviceProtocolError, DeviceTimeoutError, DeviceConnectionError) as err:
            _LOGGER.debug("Cannot identify node %s:%s: %s", node.host, node.port, err)
    return DiscoveredNode(node.host, node.port, node.instances, identification, manufacturer)
