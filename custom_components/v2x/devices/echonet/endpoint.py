"""One asyncio UDP endpoint shared by every ECHONET Lite device of a process.

Reference: ``shared/reference/protocols.md`` section 4.1 (rows tagged [V]): UDP
port 3610, IPv4 multicast group 224.0.23.0.

One :class:`EchonetEndpoint` (one UDP socket) serves every device of a process:
ECHONET Lite devices answer to port 3610, so two sockets on that port would steal
each other's replies. Replies are matched to requests by TID and source address.

Devices also speak unasked: a property that changes is announced (INF 0x73, usually to
the multicast group; INFC 0x74 to one controller, which confirms with INFC_Res 0x7A).
The endpoint joins the group and hands every announcement to the subscribers of its
source (host and object), see :meth:`EchonetEndpoint.subscribe`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
import contextlib
from dataclasses import dataclass
import ipaddress
import logging
import secrets
import socket
from typing import Final, Self

from ..errors import DeviceConnectionError, DeviceProtocolError, DeviceTimeoutError
from .frame import (
    ESV_GET,
    ESV_GET_RES,
    ESV_GET_SNA,
    ESV_INF,
    ESV_INF_REQ,
    ESV_INF_SNA,
    ESV_INFC,
    ESV_INFC_RES,
    ESV_SET_RES,
    ESV_SETC,
    ESV_SETC_SNA,
    MAX_TID,
    NODE_PROFILE,
    Eoj,
    Frame,
    Property,
    decode_frame,
    encode_frame,
    esv_name,
)

_LOGGER = logging.getLogger(__name__)

ECHONET_PORT: Final = 3610
MULTICAST_GROUP: Final = "224.0.23.0"
CONTROLLER_CLASS: Final = 0x05FF

type AnnouncementHandler = Callable[[Frame], None]
"""Called, in the event loop, with each announcement (INF or INFC) of a subscribed object."""

# The requests this stack sends, and the replies (success, "not possible") each expects.
# SetI is left out: it has no reply on success, so it cannot be retried on a timeout.
EXPECTED_REPLIES: Final[dict[int, frozenset[int]]] = {
    ESV_SETC: frozenset({ESV_SET_RES, ESV_SETC_SNA}),
    ESV_GET: frozenset({ESV_GET_RES, ESV_GET_SNA}),
    ESV_INF_REQ: frozenset({ESV_INF, ESV_INF_SNA}),
}


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
        return frame.esv in self.expected and _from_object(frame, self.deoj)


def _from_object(frame: Frame, eoj: Eoj) -> bool:
    """Whether ``frame`` comes from ``eoj`` (instance 0x00 stands for every instance)."""
    if frame.seoj.class_id != eoj.class_id:
        return False
    return eoj.instance in (0, frame.seoj.instance)


@dataclass(frozen=True, slots=True, eq=False)
class _Subscription:
    """Who wants the announcements of one object of one host."""

    host: str
    port: int
    eoj: Eoj
    handler: AnnouncementHandler

    def wants(self, frame: Frame, host: str, port: int) -> bool:
        return (host, port) == (self.host, self.port) and _from_object(frame, self.eoj)


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
        self._subscriptions: list[_Subscription] = []
        self.announcements_received = 0
        """Announcements (INF, INFC) received, from subscribed sources or not."""
        self.multicast_joined = False
        """Whether the socket joined the ECHONET Lite group (else only unicast INF arrive)."""
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
        endpoint.multicast_joined = _join_group(sock, local_host)
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
        address = (await resolve_host(host), port)
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
        address = (await resolve_host(host), port)
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

    def subscribe(
        self, host: str, port: int, eoj: Eoj, handler: AnnouncementHandler
    ) -> Callable[[], None]:
        """Hand ``handler`` every announcement of ``eoj`` (instance 0: any) from a node.

        ``host`` is the node's IPv4 address and ``port`` the one it sends from: a node
        sends from its ECHONET Lite port (3610), so two nodes on one machine (a
        simulator) are told apart by it. Returns the function
        that ends the subscription. A handler that raises is logged; the others still
        run. Nothing guarantees an announcement arrives (UDP): keep polling.
        """
        subscription = _Subscription(host, port, eoj, handler)
        self._subscriptions.append(subscription)

        def unsubscribe() -> None:
            if subscription in self._subscriptions:
                self._subscriptions.remove(subscription)

        return unsubscribe

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
            if frame.esv in (ESV_INF, ESV_INFC):
                self._announced(frame, host, port)
                return
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

    def _announced(self, frame: Frame, host: str, port: int) -> None:
        """An announcement: confirm an INFC addressed to us, then hand it on."""
        self.announcements_received += 1
        if frame.esv == ESV_INFC and frame.deoj.class_id in (
            CONTROLLER_CLASS,
            NODE_PROFILE.class_id,
        ):
            # INFC_Res: the addressed object answers with each EPC and no data.
            deoj = frame.deoj
            seoj = deoj if deoj.instance else Eoj(deoj.class_group, deoj.class_code, 1)
            answer = Frame(
                frame.tid,
                seoj,
                frame.seoj,
                ESV_INFC_RES,
                tuple(Property(p.epc) for p in frame.properties),
            )
            with contextlib.suppress(DeviceConnectionError):
                self._send(encode_frame(answer), (host, port))
        for subscription in list(self._subscriptions):
            if not subscription.wants(frame, host, port):
                continue
            try:
                subscription.handler(frame)
            except Exception:
                _LOGGER.exception("Handling an announcement from %s failed", host)

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


def _join_group(sock: socket.socket, local_host: str) -> bool:
    """Join 224.0.23.0 on the default interface and on loopback; whether either worked.

    Announcements mostly go to the group: without it only those sent to this host
    arrive. Loopback hears devices (or a simulator) on this machine. A socket bound to
    one unicast address hears no group traffic, so it does not join.
    """
    if local_host not in ("0.0.0.0", ""):  # noqa: S104 - the wildcard address
        return False
    joined = False
    for interface in ("0.0.0.0", "127.0.0.1"):  # noqa: S104 - the kernel's default interface
        request = socket.inet_aton(MULTICAST_GROUP) + socket.inet_aton(interface)
        try:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, request)
        except OSError as err:
            _LOGGER.debug("Cannot join %s on %s: %s", MULTICAST_GROUP, interface, err)
            continue
        joined = True
    if not joined:
        _LOGGER.warning(
            "Cannot join the ECHONET Lite group %s: announcements sent to the group are "
            "not received, changes arrive with the next poll",
            MULTICAST_GROUP,
        )
    return joined


async def resolve_host(host: str) -> str:
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
