"""ECHONET Lite discovery: which nodes are there, and which EV chargers they hold.

:attr:`DiscoveredNode.storage_batteries` names the storage batteries (0x027D) too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass, field
import logging
from typing import Final

from ..errors import DeviceConnectionError, DeviceProtocolError, DeviceTimeoutError
from .client import EchonetClient
from .endpoint import EchonetEndpoint, Received
from .frame import (
    CONTROLLER,
    EPC_IDENTIFICATION,
    EPC_MANUFACTURER,
    EPC_SELF_NODE_INSTANCES,
    ESV_GET,
    EV_CHARGER_CLASS,
    NODE_PROFILE,
    Eoj,
    Property,
    decode_identification,
    decode_instance_list,
    decode_manufacturer_code,
)

_LOGGER = logging.getLogger(__name__)

STORAGE_BATTERY_CLASS: Final = 0x027D
"""Class group 0x02, class 0x7D: storage battery (protocols.md 4.1)."""


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

    @property
    def storage_batteries(self) -> tuple[Eoj, ...]:
        """The storage battery (class 0x027D) instances of this node."""
        return tuple(eoj for eoj in self.instances if eoj.class_id == STORAGE_BATTERY_CLASS)


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
    classes: Collection[int] = (EV_CHARGER_CLASS,),
) -> list[DiscoveredNode]:
    """Find ECHONET Lite nodes and their objects.

    With ``targets=None`` the node profile's self-node instance list S (0xD6) is
    requested from the multicast group 224.0.23.0:3610 and every reply arriving
    within ``wait_s`` is kept; with ``targets`` the same Get goes to each
    ``(host, port)`` by unicast. Nodes with an object of one of ``classes`` (default:
    the EV charger/discharger 0x027E) are then asked for their identification number
    (0x83) and manufacturer code (0x8A).
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
    nodes = await asyncio.gather(
        *(_describe(endpoint, node, wait_s, classes) for node in found.values())
    )
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


async def _describe(
    endpoint: EchonetEndpoint, node: _Found, wait_s: float, classes: Collection[int]
) -> DiscoveredNode:
    identification: str | None = None
    manufacturer: int | None = None
    if any(eoj.class_id in classes for eoj in node.instances):
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
