"""ECHONET Lite: a small asyncio stack and the device classes built on it.

* :mod:`.frame`: Format 1 frames, objects (EOJ), property maps, node-profile EDTs;
* :mod:`.endpoint`: the one UDP socket of a process, requests matched to replies;
* :mod:`.client`: one node reached through the endpoint (Get, SetC);
* :mod:`.discovery`: nodes and their EV chargers (and storage batteries), by multicast
  or unicast;
* :mod:`.values`: the number and code decoders the device classes share;
* :mod:`.ev_charger`: the EV charger/discharger class 0x027E, :class:`EchonetEvCharger`;
* :mod:`.storage_battery`: the storage battery class 0x027D, :class:`EchonetStorageBattery`.
"""

from .client import EchonetClient
from .discovery import DiscoveredNode, async_discover
from .endpoint import ECHONET_PORT, MULTICAST_GROUP, EchonetEndpoint, Received
from .frame import (
    CONTROLLER,
    ESV_GET,
    ESV_GET_RES,
    ESV_GET_SNA,
    ESV_NAMES,
    ESV_SET_RES,
    ESV_SETC,
    ESV_SETC_SNA,
    ESV_SETI,
    NODE_PROFILE,
    SNA_CODES,
    Eoj,
    Frame,
    Property,
    decode_frame,
    decode_identification,
    decode_instance_list,
    decode_manufacturer_code,
    decode_property_map,
    encode_frame,
    encode_property_map,
    esv_name,
)

__all__ = [
    "CONTROLLER",
    "ECHONET_PORT",
    "ESV_GET",
    "ESV_GET_RES",
    "ESV_GET_SNA",
    "ESV_NAMES",
    "ESV_SETC",
    "ESV_SETC_SNA",
    "ESV_SETI",
    "ESV_SET_RES",
    "MULTICAST_GROUP",
    "NODE_PROFILE",
    "SNA_CODES",
    "DiscoveredNode",
    "EchonetClient",
    "EchonetEndpoint",
    "Eoj",
    "Frame",
    "Property",
    "Received",
    "async_discover",
    "decode_frame",
    "decode_identification",
    "decode_instance_list",
    "decode_manufacturer_code",
    "decode_property_map",
    "encode_frame",
    "encode_property_map",
    "esv_name",
]
