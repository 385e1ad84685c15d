"""ECHONET Lite in Home Assistant: one shared UDP endpoint and background discovery.

ECHONET Lite devices answer to UDP port 3610 of the controller, so every ECHONET
Lite charger of this Home Assistant shares one endpoint bound to that port. It is
opened by the first user (a charger entry, the config flow or the discovery scan)
and closed when the last one lets go.

Discovery multicasts a request for the node profile's instance list and offers
every object of a network-scanned family (the EV charger/discharger 0x027E, the
storage battery 0x027D: a tribrid node offers both, as two devices) for
confirmation, like zeroconf does for other integrations; a known device that moved
gets its new address. Nothing listens unless asked: the periodic scan (every
:data:`SCAN_INTERVAL`, the first shortly after the first ECHONET entry is set up)
runs only while an ECHONET Lite charger entry is loaded, to follow its address; the
config flow scans once on demand. The last entry unloaded, or Home Assistant
stopping, cancels the timers and any scan in flight.

Everything lives in one :class:`EchonetShared` per Home Assistant (:func:`shared`),
including where the endpoint binds and where discovery looks, so a test (or a
future option) sets those on the object instead of patching module globals.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import CONF_HOST, CONF_PORT, EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import discovery_flow
from homeassistant.helpers.event import async_call_later, async_track_time_interval
from homeassistant.util.hass_dict import HassKey

from .const import CONF_FAMILY, CONF_KIND, DOMAIN, LOGGER
from .devices.echonet import ECHONET_PORT, DiscoveredNode, EchonetEndpoint, async_discover
from .devices.errors import DeviceError
from .devices.family import DeviceFamily
from .devices.registry import network_scanned

SCAN_INTERVAL: Final = timedelta(minutes=30)
FIRST_SCAN_DELAY_S: Final = 30.0
SCAN_WAIT_S: Final = 3.0
CONF_IDENTIFICATION: Final = "identification"
# The families whose devices this scan finds, by their ECHONET Lite class.
_SCANNED: Final[dict[int, DeviceFamily]] = {
    each.scan_class: each for each in network_scanned() if each.scan_class is not None
}


@dataclass
class EchonetShared:
    """The ECHONET Lite state of one Home Assistant: its endpoint, users and scans."""

    local_host: str = "0.0.0.0"  # noqa: S104 - devices answer from anywhere on the LAN
    """The address the shared endpoint binds (tests use loopback)."""
    local_port: int = ECHONET_PORT
    """The port the shared endpoint binds (tests use 0: any free port)."""
    discovery_targets: list[tuple[str, int]] | None = None
    """Where discovery looks: None = multicast to 224.0.23.0:3610, else by unicast."""
    scan_wait_s: float = SCAN_WAIT_S
    """How long a scan listens for replies."""
    endpoint: EchonetEndpoint | None = None
    users: set[str] = field(default_factory=set)
    cancel_scan: list[CALLBACK_TYPE] = field(default_factory=list)
    cancel_stop: CALLBACK_TYPE | None = None
    discovery_owners: set[str] = field(default_factory=set)
    scan_task: asyncio.Task[None] | None = None

    @property
    def discovery_running(self) -> bool:
        """Whether periodic scans are scheduled (or one is in flight)."""
        return bool(self.cancel_scan) or (self.scan_task is not None and not self.scan_task.done())


_KEY: HassKey[EchonetShared] = HassKey(f"{DOMAIN}_echonet")


def shared(hass: HomeAssistant) -> EchonetShared:
    """This Home Assistant's ECHONET Lite state, created on first use."""
    return hass.data.setdefault(_KEY, EchonetShared())


async def async_acquire_endpoint(hass: HomeAssistant, user: str) -> EchonetEndpoint:
    """The shared endpoint, opened on first use; ``user`` must release it later."""
    state = shared(hass)
    if state.endpoint is None or state.endpoint.closed:
        state.endpoint = await EchonetEndpoint.async_open(state.local_host, state.local_port)
        LOGGER.debug("ECHONET Lite endpoint on %s", state.endpoint.local_address)
    state.users.add(user)
    return state.endpoint


@callback
def async_release_endpoint(hass: HomeAssistant, user: str) -> None:
    """Let go of the endpoint; the last user closes it."""
    state = shared(hass)
    state.users.discard(user)
    if not state.users and state.endpoint is not None:
        state.endpoint.close()
        state.endpoint = None


async def async_scan(hass: HomeAssistant) -> list[DiscoveredNode]:
    """Look for nodes with a scanned family's object on the network once; never raises."""
    state = shared(hass)
    try:
        endpoint = await async_acquire_endpoint(hass, "discovery")
    except DeviceError as err:
        LOGGER.debug("ECHONET Lite discovery not possible: %s", err)
        return []
    try:
        nodes = await async_discover(
            endpoint,
            targets=state.discovery_targets,
            wait_s=state.scan_wait_s,
            classes=tuple(_SCANNED),
        )
    except (DeviceError, OSError) as err:
        LOGGER.debug("ECHONET Lite discovery failed: %s", err)
        return []
    finally:
        async_release_endpoint(hass, "discovery")
    return [node for node in nodes if node.identification and offered(node)]


def offered(node: DiscoveredNode) -> list[DeviceFamily]:
    """The families of the objects a node holds, once each, in the node's order.

    One entry per family and node: the profiles speak to instance 1 of their class.
    """
    found = [_SCANNED[eoj.class_id] for eoj in node.instances if eoj.class_id in _SCANNED]
    return list(dict.fromkeys(found))


async def async_scan_and_offer(hass: HomeAssistant) -> None:
    """Scan once and start a discovery flow for every device found (one per object)."""
    for node in await async_scan(hass):
        for family in offered(node):
            discovery_flow.async_create_flow(
                hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data=discovery_data(node, family),
            )


def discovery_data(node: DiscoveredNode, family: DeviceFamily) -> dict[str, Any]:
    """What a discovery flow needs to know about one of a node's devices."""
    if node.identification is None:
        raise ValueError(f"node {node.host}:{node.port} was not identified")
    return {
        CONF_KIND: family.kind.value,
        CONF_FAMILY: family.key,
        CONF_HOST: node.host,
        CONF_PORT: node.port,
        CONF_IDENTIFICATION: family.scan_unique_id(node.identification),
    }


@callback
def async_start_discovery(hass: HomeAssistant, owner: str) -> None:
    """While ``owner`` (a loaded ECHONET entry) holds it, scan now and then.

    The first scan follows after :data:`FIRST_SCAN_DELAY_S`, then every
    :data:`SCAN_INTERVAL`; further owners share the same timers.
    """
    state = shared(hass)
    state.discovery_owners.add(owner)
    if state.cancel_scan:
        return

    @callback
    def _scan(_now: Any) -> None:
        async_request_scan(hass)

    @callback
    def _stop(_event: Event) -> None:
        state.cancel_stop = None  # fired: nothing to unsubscribe
        _cancel(state)

    state.cancel_scan = [
        async_call_later(hass, FIRST_SCAN_DELAY_S, _scan),
        async_track_time_interval(hass, _scan, SCAN_INTERVAL),
    ]
    state.cancel_stop = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _stop)


@callback
def async_request_scan(hass: HomeAssistant) -> None:
    """Scan once in the background (e.g. while a person adds an ECHONET Lite unit).

    Units found are offered as discovered flows; one scan at a time.
    """
    state = shared(hass)
    if state.scan_task is not None and not state.scan_task.done():
        return  # the previous scan is still listening
    state.scan_task = hass.async_create_background_task(
        async_scan_and_offer(hass), f"{DOMAIN} ECHONET Lite discovery"
    )


def _cancel(state: EchonetShared) -> asyncio.Task[None] | None:
    """Cancel the timers and the scan in flight; return that scan (to await it)."""
    for cancel in state.cancel_scan:
        cancel()
    state.cancel_scan = []
    if state.cancel_stop is not None:
        state.cancel_stop()
        state.cancel_stop = None
    state.discovery_owners.clear()
    task, state.scan_task = state.scan_task, None
    if task is not None and not task.done():
        task.cancel()
        return task
    return None


async def async_stop_discovery(hass: HomeAssistant, owner: str) -> None:
    """``owner`` lets go; the last one cancels the timers and awaits a running scan."""
    state = shared(hass)
    state.discovery_owners.discard(owner)
    if state.discovery_owners:
        return
    if (task := _cancel(state)) is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await task
