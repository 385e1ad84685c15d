"""Simulated ECHONET Lite EV charger/discharger (a Nichicon "LEAF to Home" unit).

A node may also hold a storage battery 0x027D01 (``storage``, see
:mod:`simulator.echonet_storage`), alone (``ev_charger = false``) or next to the EV
charger/discharger (a "tribrid"); everything below about the node, the services, the
announcements and the faults applies to it as to 0x027E01.

Written from protocols.md section 4 (frame 4.1, super-class and class 0x027E
properties 4.2, MRA Release R) and section 6 (Nichicon: 6 kW both ways),
independently of the integration (no imports from ``custom_components``).

Transport: one UDP socket on ``host:port``; every reply goes to the request's source
address. No multicast group is joined (the twin needs no request sent to the group).

Announcements (Release R: a property with "Anno M" is announced when its value
changes): the twin checks its announcement map (0x9D) after every request and at every
housekeeping pass, and sends one INF 0x73 per object (SEOJ 0x027E01 or 0x027D01, DEOJ
the node profile 0x0EF001, its own TID) with every property whose value changed since the last
announcement, to ``announce_host:announce_port`` (the group 224.0.23.0:3610 unless
set; multicast leaves by the interface of ``host``). The map holds the mandatory ones
this twin has (0x80, 0x81, 0x88, 0xC7, 0xDA, 0xDC, 0xDD, 0xE1) and the optional 0xDB
(grid-connected or independent) "where supported". 0xC7 of a DC_AA unit not yet
confirmed (0xCD) is not announced: it cannot be read either. At start and at the end
of a reboot the node profile announces its instance list (0xD5), as a node that
joins the network does; the changes a reboot made (standby) are announced after it.
Announcements suffer the garbage and short faults as replies do; a rebooting or
refusing unit announces nothing.

Frame (Format 1): EHD 0x10 0x81, TID (echoed), SEOJ, DEOJ (swapped in the reply: the
reply's SEOJ is the addressed object, its DEOJ the requester), ESV, OPC, then OPC x
{EPC, PDC, EDT}. Multi-byte numbers are big-endian. Frames that do not parse (wrong
EHD, OPC 0, truncated or trailing bytes) are ignored and logged at debug level.

Services:

* Get 0x62 -> Get_Res 0x72; if any property cannot be answered, Get_SNA 0x52 with
  PDC 0 for those and the data for the others. A Get property carrying data (PDC > 0)
  is not a valid Get and cannot be answered.
* SetC 0x61 -> Set_Res 0x71 (PDC 0 for every property) or SetC_SNA 0x51 (accepted
  properties PDC 0, refused ones echoed with their EDT). Accepted properties of a
  partly refused request are applied.
* SetI 0x60 -> no reply on success, SetI_SNA 0x50 (same layout as 0x51) on failure.
* INF_REQ 0x63 -> INF 0x73 (to the requester) or INF_SNA 0x53. INF_REQ may ask for
  any property in the Get map or the announcement map (so 0xD5 of the node profile,
  which is announcement-only, can be requested this way).
* SetGet 0x6E is not supported: SetGet_SNA 0x5E, the set part echoed with its EDT and
  the get part with PDC 0 (layout OPCSet ... OPCGet ..., from the ECHONET Lite
  specification; section 4.1 only lists the ESV codes).
* A request to an object this node does not have gets the SNA of its ESV (every
  property refused); ESVs without an SNA (responses, INF, INFC) get nothing.

Objects: the node profile 0x0EF001, the EV charger/discharger 0x027E01 (unless
``ev_charger`` is false) and the storage battery 0x027D01 (with ``storage``). Instance
code 0x00 ("all instances of the class", ECHONET Lite specification) also reaches
them; the reply's SEOJ carries the real instance 0x01.

Node profile: 0x80 = 0x30, 0x82 = 0x01 0x0D 0x01 0x00 (version 1.13, specified
message format supported, arbitrary format not), 0x83 identification, 0x8A
manufacturer, 0x9D/0x9E/0x9F maps, 0xD3 = 1 instance (3 bytes), 0xD4 = 2 classes
(2 bytes, the node profile counted), 0xD6 = 01 027E01, 0xD7 = 01 027E; a tribrid has
0xD3 = 2, 0xD4 = 3, 0xD6 = 02 027E01 027D01, 0xD7 = 02 027E 027D. 0xD5 (same
layout as 0xD6) is announcement-only in the node profile, hence in the
announcement map and answered to INF_REQ, but not to Get.

0x027E01: see ``_DEVICE_GET``/``_DEVICE_SET``. Vehicle properties (0xC0, 0xC2, 0xC4,
0xCE, 0xCF, 0xD0, 0xE2, 0xE4) cannot be answered without a car; 0xC7 reads 0x30 then.
For a DC_AA unit (0xCC 0x21-0x23) 0xC7 cannot be answered until 0xCD = 0x10 has been
set since the last plug or unplug. Battery-derived values (an interpretation; 4.2
names the properties but not their exact definition):

* 0xD0 used capacity = the battery's capacity (Wh);
* 0xC0 dischargeable capacity = capacity between the car's discharge floor and its
  charge cap; 0xC2 = stored energy above the floor; 0xC4 = 0xC2 / 0xC0 in %;
* 0xCE chargeable capacity = capacity up to the charge cap; 0xCF = what is missing
  to the cap; 0xE2 = stored energy (Wh); 0xE4 = SoC (%).

Operation (0xDA): 0x42 charge, 0x43 discharge, 0x44 standby, 0x47 idle; anything else
is refused, as is charge or discharge without a car or in a direction the unit type
(0xCC) cannot do. Unplugging the car returns the unit to standby. The target power
follows the method (0xDC charging, 0xDD discharging): 0x01 max power -> the rating,
0x02 -> nothing to charge from (no PV is simulated) / the house load while
discharging (load following), 0x06 V2G -> 0xE0, every other method -> 0xEB / 0xEC.
0xE0 writes act only while 0xDC or 0xDD is 0x06 (> 0 charge, < 0 discharge, 0
standby); otherwise they are acknowledged and ignored (0xE0 keeps its old value).

Actual mode (0xE1): 0x48 (preparation) for ``preparation_s`` simulated seconds after
the mode changes to charge or discharge, then 0x42/0x43; 0x44/0x47 when stopped;
0x44 while charging is impossible because the grid is down; 0x40 (other) while an
error fault is active.

Physics: power ramps towards the target at ``ramp_w_per_s``, limited by the ratings
and by what the car accepts. Without the grid the car cannot be charged (charging
power drops to 0 at once); discharging continues and the unit runs independent
(0xDB = 0x01). Energy counters (0xD6/0xD8, 0.001 kWh = Wh) integrate the AC power.

Faults (network faults in real seconds, device behaviour in simulated seconds):
refuse (socket closed, the client sees ICMP port unreachable), stall (answers after
``delay_s`` real seconds), drop (the next ``count`` requests ignored), exception
(every request answered with the SNA of its ESV, nothing applied), short (replies
one byte short), garbage (random bytes instead of a frame), reboot (no replies for
``reboot_s`` simulated seconds; standby, setpoints 0, confirmation forgotten), soc_glitch
(0xE4 reads 0 for ``count`` reads), error (0x88 = 0x41, 0x89 = code & 0xFFFF, power 0).
On a node with a storage battery each fault reaches it too (the socket is the node's;
soc_glitch counts ``count`` reads of each object's 0xE4; reboot and error stop it):
see :mod:`simulator.echonet_storage`.

Power for the sites: ``actual_power_w`` is the node's AC power, the car's
(``car_power_w``) plus the storage battery's, so that a tribrid's battery counts for a
backup site as its car does; ``rated_discharge_w`` is the rating of the parts that
discharge (both when neither does).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass, field
import ipaddress
import logging
import random
import socket
from typing import TYPE_CHECKING, Any

from .battery import Battery
from .clock import SimClock
from .echonet_storage import (
    METHOD_MAX_POWER,
    METHOD_SURPLUS_OR_LOAD,
    MODE_CHARGE,
    MODE_DISCHARGE,
    MODE_OTHER,
    MODE_STANDBY,
    STORAGE_EOJ,
    ObjectSettings,
    Reader,
    StorageBattery,
    StorageConfig,
    Writer,
    ramp_battery,
    storage_config,
)
from .faults import Fault, FaultKind
from .records import WriteRecord
from .registry import TwinKind, register
from .twin import ChargerTwin, with_car

if TYPE_CHECKING:
    from .world import Grid

_LOGGER = logging.getLogger(__name__)

EHD = b"\x10\x81"
MULTICAST_GROUP = "224.0.23.0"
NODE_PROFILE_EOJ = b"\x0e\xf0\x01"
DEVICE_EOJ = b"\x02\x7e\x01"
CONTROLLER_EOJ = b"\x05\xff\x01"

ESV_SETI = 0x60
ESV_SETC = 0x61
ESV_GET = 0x62
ESV_INF_REQ = 0x63
ESV_SETGET = 0x6E
ESV_SET_RES = 0x71
ESV_GET_RES = 0x72
ESV_INF = 0x73
ESV_SETI_SNA = 0x50
ESV_SETC_SNA = 0x51
ESV_GET_SNA = 0x52
ESV_INF_SNA = 0x53
ESV_SETGET_SNA = 0x5E
# The "not possible" answer of every request ESV (section 4.1).
_SNA = {
    ESV_SETI: ESV_SETI_SNA,
    ESV_SETC: ESV_SETC_SNA,
    ESV_GET: ESV_GET_SNA,
    ESV_INF_REQ: ESV_INF_SNA,
    ESV_SETGET: ESV_SETGET_SNA,
}

# The modes (0x40 other, 0x42 charge, 0x43 discharge, 0x44 standby) and methods (0x01
# maximum, 0x02 surplus / load following, 0x03 designated power) 0x027E shares with
# 0x027D come from .echonet_storage; these are 0x027E's own.
MODE_IDLE = 0x47
MODE_PREPARATION = 0x48
_SETTABLE_MODES = frozenset((MODE_CHARGE, MODE_DISCHARGE, MODE_STANDBY, MODE_IDLE))

METHOD_V2G = 0x06

STATUS_NOT_CONNECTED = 0x30
STATUS_CONNECTED = 0x40
STATUS_CHARGEABLE = 0x41
STATUS_DISCHARGEABLE = 0x42
STATUS_BOTH = 0x43

CONFIRM = 0x10
E0_LIMIT_W = 999_999_999
# 0xCC unit types: which directions each can do (section 4.2).
_AA_TYPES = frozenset((0x21, 0x22, 0x23))
_CHARGE_TYPES = frozenset((0x11, 0x12, 0x13, 0x21, 0x22, 0x31, 0x32, 0x41, 0x42, 0x51, 0x52))
_DISCHARGE_TYPES = frozenset((0x13, 0x22, 0x23, 0x32, 0x33, 0x42, 0x43, 0x52, 0x53))

_DEVICE_GET = (
    0x80, 0x81, 0x82, 0x83, 0x88, 0x89, 0x8A, 0x8C, 0x9D, 0x9E, 0x9F,
    0xC0, 0xC2, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCE, 0xCF,
    0xD0, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD8, 0xDA, 0xDB, 0xDC, 0xDD,
    0xE0, 0xE1, 0xE2, 0xE4, 0xE6, 0xEB, 0xEC,
)  # fmt: skip
_DEVICE_SET = (0x81, 0xCD, 0xD7, 0xD9, 0xDA, 0xDC, 0xDD, 0xE0, 0xEB, 0xEC)
# Announcement-mandatory properties (Anno M in 4.1/4.2) this twin supports.
_DEVICE_ANNO = (0x80, 0x81, 0x88, 0xC7, 0xDA, 0xDB, 0xDC, 0xDD, 0xE1)
_VEHICLE_EPCS = frozenset((0xC0, 0xC2, 0xC4, 0xCE, 0xCF, 0xD0, 0xE2, 0xE4, 0xE6))
_NODE_GET = (0x80, 0x82, 0x83, 0x8A, 0x9D, 0x9E, 0x9F, 0xD3, 0xD4, 0xD6, 0xD7)
_NODE_ANNO = (0x80, 0xD5)
NODE_VERSION = b"\x01\x0d\x01\x00"

_DEFAULT_UNIQUE_ID = b"EVPS-SIM-0001"  # 13 bytes


def property_map(epcs: Iterable[int]) -> bytes:
    """Encode a property map (0x9D/0x9E/0x9F) as section 4.1 describes.

    Fewer than 16 EPCs: count then the EPCs; otherwise count then a 16-byte bitmap in
    which bit j of byte i stands for EPC (j + 8) * 0x10 + i.
    """
    codes = sorted(set(epcs))
    if len(codes) < 16:
        return bytes((len(codes), *codes))
    bitmap = bytearray(16)
    for epc in codes:
        bitmap[epc & 0x0F] |= 1 << ((epc >> 4) - 8)
    return bytes((len(codes),)) + bytes(bitmap)


def _u8(value: int) -> bytes:
    return (value & 0xFF).to_bytes(1, "big")


def _u16(value: int) -> bytes:
    return (value & 0xFFFF).to_bytes(2, "big")


def _u32(value: int) -> bytes:
    return (value & 0xFFFFFFFF).to_bytes(4, "big")


def _s16(value: int) -> bytes:
    return max(-0x8000, min(0x7FFF, value)).to_bytes(2, "big", signed=True)


def _s32(value: int) -> bytes:
    return max(-0x80000000, min(0x7FFFFFFF, value)).to_bytes(4, "big", signed=True)


@dataclass(slots=True)
class EchonetConfig:
    """Static parameters of one simulated ECHONET Lite charger/discharger.

    ``identification`` left empty becomes 0xFE + the manufacturer code + 13 bytes
    ``EVPS-SIM-0001``. Times are simulated seconds; ``port`` 0 picks a free port.
    """

    name: str = "nichicon"
    host: str = "127.0.0.1"
    port: int = 3610
    manufacturer_code: int = 0x00006C
    identification: bytes = b""
    product_code: str = "EVPS-SIM"
    release: str = "R"
    rated_charge_w: int = 6000
    rated_discharge_w: int = 6000
    rated_voltage_v: int = 200
    equipment_type: int = 0x22
    vehicle_id: str = "JN1FAAZE0U0000001"
    """0xE6: the plugged-in vehicle's id (a VIN here; at most 24 bytes)."""
    ramp_w_per_s: float = 3000.0
    preparation_s: float = 2.0
    reboot_s: float = 5.0
    car: Battery = field(default_factory=lambda: Battery(capacity_kwh=40.0, soc_pct=60.0))
    plugged: bool = True
    announce_host: str = MULTICAST_GROUP
    """Where announcements (INF) go: the ECHONET Lite group, or one controller."""
    announce_port: int = 3610
    ev_charger: bool = True
    """Whether the node holds the EV charger/discharger 0x027E01."""
    storage: StorageConfig | None = None
    """The storage battery 0x027D01 the node holds, if any (:mod:`.echonet_storage`)."""

    def __post_init__(self) -> None:
        """Validate the parameters and derive the identification number."""
        if not 0 <= self.manufacturer_code <= 0xFFFFFF:
            raise ValueError("manufacturer_code must fit in 3 bytes")
        if not self.vehicle_id.isascii() or not 1 <= len(self.vehicle_id) <= 24:
            raise ValueError("vehicle_id must be 1 to 24 ASCII characters (0xE6)")
        if not self.identification:
            self.identification = (
                b"\xfe" + self.manufacturer_code.to_bytes(3, "big") + _DEFAULT_UNIQUE_ID
            )
        if len(self.identification) != 17 or self.identification[0] != 0xFE:
            raise ValueError("identification must be 17 bytes starting with 0xFE")
        if not self.product_code.isascii() or len(self.product_code) > 12:
            raise ValueError("product_code must be at most 12 ASCII characters")
        if len(self.release) != 1 or not self.release.isascii():
            raise ValueError("release must be one ASCII letter")
        for rating in (self.rated_charge_w, self.rated_discharge_w):
            if not 0 < rating <= 0xFFFFFFFF:
                raise ValueError("ratings must be positive and fit in 4 bytes")
        if self.equipment_type not in _CHARGE_TYPES | _DISCHARGE_TYPES:
            raise ValueError("equipment_type must be one of the 0xCC codes of section 4.2")
        if self.ramp_w_per_s <= 0 or self.preparation_s < 0 or self.reboot_s < 0:
            raise ValueError("ramp must be positive, preparation and reboot times >= 0")
        if not 0 <= self.port <= 65535 or not 0 < self.announce_port <= 65535:
            raise ValueError("port must be in 0..65535, announce_port in 1..65535")
        if not self.ev_charger and self.storage is None:
            raise ValueError("a node holds an EV charger, a storage battery or both")


@dataclass(frozen=True, slots=True)
class EchonetRequest:
    """One well-formed frame the twin received."""

    esv: int
    deoj: int
    epcs: tuple[int, ...]
    sim_time: float
    wall_time: float


@dataclass(frozen=True, slots=True)
class Frame:
    """A parsed ECHONET Lite Format 1 frame."""

    tid: bytes
    seoj: bytes
    deoj: bytes
    esv: int
    properties: tuple[tuple[int, bytes], ...]
    get_properties: tuple[tuple[int, bytes], ...] = ()


def _parse_properties(data: bytes, pos: int) -> tuple[list[tuple[int, bytes]], int] | None:
    if pos >= len(data):
        return None
    count = data[pos]
    pos += 1
    properties = []
    for _ in range(count):
        if pos + 2 > len(data):
            return None
        epc, pdc = data[pos], data[pos + 1]
        pos += 2
        if pos + pdc > len(data):
            return None
        properties.append((epc, bytes(data[pos : pos + pdc])))
        pos += pdc
    return properties, pos


def parse_frame(data: bytes) -> Frame | None:
    """Parse a Format 1 frame; None when it is malformed."""
    if len(data) < 12 or data[:2] != EHD or data[11] == 0:
        return None
    esv = data[10]
    parsed = _parse_properties(data, 11)
    if parsed is None:
        return None
    properties, pos = parsed
    get_properties: list[tuple[int, bytes]] = []
    if esv == ESV_SETGET:
        second = _parse_properties(data, pos)
        if second is None:
            return None
        get_properties, pos = second
    if pos != len(data):
        return None
    return Frame(
        bytes(data[2:4]),
        bytes(data[4:7]),
        bytes(data[7:10]),
        esv,
        tuple(properties),
        tuple(get_properties),
    )


def encode_frame(
    tid: bytes,
    seoj: bytes,
    deoj: bytes,
    esv: int,
    properties: Iterable[tuple[int, bytes]],
    *,
    get_properties: Iterable[tuple[int, bytes]] | None = None,
) -> bytes:
    """Build a Format 1 frame (a SetGet layout when ``get_properties`` is given)."""
    out = bytearray(EHD + tid + seoj + deoj + bytes((esv,)))
    for block in (properties, get_properties):
        if block is None:
            continue
        items = list(block)
        out.append(len(items))
        for epc, edt in items:
            out += bytes((epc, len(edt))) + edt
    return bytes(out)


@dataclass(slots=True)
class _EchonetObject:
    """One object of the node: its readers, writers and property maps."""

    eoj: bytes
    readers: dict[int, Reader]
    writers: dict[int, Writer]
    get_epcs: frozenset[int]
    anno_epcs: frozenset[int]

    def read(self, epc: int, *, announce: bool = False) -> bytes | None:
        allowed = epc in self.get_epcs or (announce and epc in self.anno_epcs)
        reader = self.readers.get(epc)
        return reader() if allowed and reader is not None else None

    def write(self, epc: int, edt: bytes) -> bool:
        writer = self.writers.get(epc)
        return writer is not None and bool(edt) and writer(edt)


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, twin: EchonetTwin) -> None:
        self.twin = twin
        self.closed = asyncio.Event()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.twin.datagram_received(data, addr)

    def error_received(self, exc: Exception) -> None:
        _LOGGER.debug("ECHONET Lite socket error: %s", exc)


class EchonetTwin(ChargerTwin[EchonetConfig], ObjectSettings):
    """The ECHONET Lite node (node profile, EV charger/discharger and/or storage battery).

    ``actual_power_w`` is what the node's AC side moves: the car's power
    (``car_power_w``) plus the storage battery's (``storage.power_w``), so that a
    tribrid counts whole for its site; setting it sets the car's power.
    """

    label = "ECHONET Lite node"
    LAST_METHOD = METHOD_V2G

    @property
    def actual_power_w(self) -> float:
        """The car's power plus the storage battery's (+ charging, - discharging)."""
        storage = 0.0 if self.storage is None else self.storage.power_w
        return self.car_power_w + storage

    @actual_power_w.setter
    def actual_power_w(self, value: float) -> None:
        self.car_power_w = value

    @property
    def rated_discharge_w(self) -> float:
        """The rated discharge power of the parts that discharge now (0xC6, 0xC9 max).

        A node with one part (or none of whose parts discharges): that part's rating,
        or the sum of both.
        """
        car = float(self.config.rated_discharge_w) if self.config.ev_charger else 0.0
        if self.storage is None:
            return car
        storage = float(self.storage.config.rated_discharge_w)
        car_supplies, storage_supplies = self.car_power_w < 0, self.storage.power_w < 0
        if car_supplies != storage_supplies:
            return car if car_supplies else storage
        return car + storage

    def __init__(self, config: EchonetConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """Create the unit in standby; nothing listens before :meth:`start`.

        Without a ``grid`` the supply is always there.
        """
        self.car_power_w = 0.0
        """The EV charger/discharger's power (0x027E01 0xD3)."""
        self.storage: StorageBattery | None = None
        super().__init__(config, clock, grid)
        self.port = config.port
        self._init_settings()
        self.power_setting_w = 0
        self.confirmed = False
        self.charged_wh = 0.0
        self.discharged_wh = 0.0
        self.error_code: int | None = None
        self.requests: list[EchonetRequest] = []
        self._preparation_until = -1.0
        self._boot_until = -1.0
        self._transport: asyncio.DatagramTransport | None = None
        self._protocol: _Protocol | None = None
        self._closing: _Protocol | None = None
        self._started = False
        self._pending: set[asyncio.Task[None]] = set()
        self._rng = random.Random(config.identification)
        self._refuse_until = 0.0
        self._stall_until = 0.0
        self._stall_s = 0.0
        self._exception_until = 0.0
        self._short_until = 0.0
        self._garbage_until = 0.0
        self._drop_count = 0
        if config.storage is not None:
            self.storage = StorageBattery(
                config.storage,
                now=clock.now,
                grid_up=self._grid_up,
                load_w=self._storage_load_w,
                faulty=lambda: self.error_code is not None,
            )
        self._objects = self._build_objects()
        self.announcements: list[EchonetRequest] = []
        """Every INF the twin sent (its ESV, SEOJ as ``deoj``, EPCs and times)."""
        self._announced: dict[bytes, dict[int, bytes | None]] = {}
        self._announce_tid = 0
        self._was_booting = False

    # -- objects and properties ----------------------------------------------------------

    def _build_objects(self) -> dict[bytes, _EchonetObject]:
        config = self.config
        ident = config.identification
        maker = config.manufacturer_code.to_bytes(3, "big")
        eojs = ([DEVICE_EOJ] if config.ev_charger else []) + (
            [] if self.storage is None else [STORAGE_EOJ]
        )
        instances = bytes((len(eojs),)) + b"".join(eojs)
        classes = bytes((len(eojs),)) + b"".join(eoj[:2] for eoj in eojs)
        node_anno = frozenset(_NODE_ANNO)
        node_get = frozenset(_NODE_GET)
        node = _EchonetObject(
            NODE_PROFILE_EOJ,
            {
                0x80: lambda: b"\x30",
                0x82: lambda: NODE_VERSION,
                0x83: lambda: ident,
                0x8A: lambda: maker,
                0x9D: lambda: property_map(node_anno),
                0x9E: lambda: property_map(()),
                0x9F: lambda: property_map(node_get),
                0xD3: lambda: len(eojs).to_bytes(3, "big"),
                0xD4: lambda: (1 + len(eojs)).to_bytes(2, "big"),
                0xD5: lambda: instances,
                0xD6: lambda: instances,
                0xD7: lambda: classes,
            },
            {},
            node_get,
            node_anno,
        )
        device_get = frozenset(_DEVICE_GET)
        device_set = frozenset(
            epc for epc in _DEVICE_SET if epc != 0xCD or config.equipment_type in _AA_TYPES
        )
        device_anno = frozenset(_DEVICE_ANNO)
        version = b"\x00\x00" + config.release.encode("ascii") + b"\x01"
        product = config.product_code.encode("ascii").ljust(12, b"\x00")
        vehicle_id = config.vehicle_id.encode("ascii")
        device = _EchonetObject(
            DEVICE_EOJ,
            {
                0x80: lambda: b"\x30",
                0x81: lambda: self.installation_location,
                0x82: lambda: version,
                0x83: lambda: ident,
                0x88: lambda: b"\x42" if self.error_code is None else b"\x41",
                0x89: lambda: _u16(self.error_code or 0),
                0x8A: lambda: maker,
                0x8C: lambda: product,
                0x9D: lambda: property_map(device_anno),
                0x9E: lambda: property_map(device_set),
                0x9F: lambda: property_map(device_get),
                0xC0: lambda: _u32(round(self._window_wh())),
                0xC2: lambda: _u32(round(self._dischargeable_wh())),
                0xC4: self._dischargeable_pct,
                0xC5: lambda: _u32(config.rated_charge_w),
                0xC6: lambda: _u32(config.rated_discharge_w),
                0xC7: self._connection_status,
                0xC8: lambda: _u32(0) + _u32(config.rated_charge_w),
                0xC9: lambda: _u32(0) + _u32(config.rated_discharge_w),
                0xCA: lambda: _u16(0) + _u16(self._rated_current_da(config.rated_charge_w)),
                0xCB: lambda: _u16(0) + _u16(self._rated_current_da(config.rated_discharge_w)),
                0xCC: lambda: _u8(config.equipment_type),
                0xCE: lambda: _u32(round(self._capacity_wh() * self.battery.charge_cap_pct / 100)),
                0xCF: lambda: _u32(round(self._chargeable_wh())),
                0xD0: lambda: _u32(round(self._capacity_wh())),
                0xD2: lambda: _u16(config.rated_voltage_v),
                0xD3: lambda: _s32(round(self.car_power_w)),
                0xD4: lambda: _s16(round(self.car_power_w / config.rated_voltage_v * 10)),
                0xD5: lambda: _s16(config.rated_voltage_v),
                0xD6: lambda: _u32(int(self.discharged_wh)),
                0xD8: lambda: _u32(int(self.charged_wh)),
                0xDA: lambda: _u8(self.operation_mode),
                0xDB: lambda: b"\x00" if self._grid_up() else b"\x01",
                0xDC: lambda: _u8(self.charging_method),
                0xDD: lambda: _u8(self.discharging_method),
                0xE0: lambda: _s32(self.power_setting_w),
                0xE1: lambda: _u8(self.actual_mode()),
                0xE2: lambda: _u32(round(self._capacity_wh() * self.battery.soc_pct / 100)),
                0xE4: self._soc_reading,
                0xE6: lambda: bytes([len(vehicle_id)]) + vehicle_id,
                0xEB: lambda: _u32(self.charge_setpoint_w),
                0xEC: lambda: _u32(self.discharge_setpoint_w),
            },
            {
                0x81: self._set_location,
                0xCD: self._set_confirmation,
                0xD7: self._reset_discharged,
                0xD9: self._reset_charged,
                0xDA: self._set_operation_mode,
                0xDC: self._set_charging_method,
                0xDD: self._set_discharging_method,
                0xE0: self._set_power_setting,
                0xEB: self._set_charge_setpoint,
                0xEC: self._set_discharge_setpoint,
            },
            device_get,
            device_anno,
        )
        device.writers = {epc: w for epc, w in device.writers.items() if epc in device_set}
        for epc in _VEHICLE_EPCS:
            device.readers[epc] = self._vehicle_only(device.readers[epc])
        objects = {NODE_PROFILE_EOJ: node}
        if config.ev_charger:
            objects[DEVICE_EOJ] = device
        if self.storage is not None:
            objects[STORAGE_EOJ] = self._storage_object(self.storage, version, ident, maker)
        return objects

    def _storage_object(
        self, storage: StorageBattery, version: bytes, ident: bytes, maker: bytes
    ) -> _EchonetObject:
        """The storage battery 0x027D01: its own properties and the super class's."""
        get_epcs, set_epcs, anno_epcs = storage.get_epcs, storage.set_epcs, storage.anno_epcs
        readers: dict[int, Reader] = {
            0x80: lambda: b"\x30",
            0x82: lambda: version,
            0x83: lambda: ident,
            0x88: lambda: b"\x42" if self.error_code is None else b"\x41",
            0x8A: lambda: maker,
            0x9D: lambda: property_map(anno_epcs),
            0x9E: lambda: property_map(set_epcs),
            0x9F: lambda: property_map(get_epcs),
        }
        readers.update(storage.readers())
        return _EchonetObject(STORAGE_EOJ, readers, storage.writers(), get_epcs, anno_epcs)

    def _rated_current_da(self, power_w: int) -> int:
        """A rated power as the current at the rated voltage, in 0.1 A (0xCA, 0xCB)."""
        return round(power_w / self.config.rated_voltage_v * 10)

    def _vehicle_only(self, reader: Reader) -> Reader:
        """Vehicle properties: "response impossible" without a car (section 4.2)."""
        return lambda: reader() if self.plugged else None

    def _capacity_wh(self) -> float:
        return self.battery.capacity_kwh * 1000.0

    def _window_wh(self) -> float:
        span = self.battery.charge_cap_pct - self.battery.discharge_floor_pct
        return self._capacity_wh() * max(0.0, span) / 100

    def _dischargeable_wh(self) -> float:
        above = self.battery.soc_pct - self.battery.discharge_floor_pct
        return self._capacity_wh() * max(0.0, above) / 100

    def _chargeable_wh(self) -> float:
        missing = self.battery.charge_cap_pct - self.battery.soc_pct
        return self._capacity_wh() * max(0.0, missing) / 100

    def _dischargeable_pct(self) -> bytes:
        window = self._window_wh()
        pct = 100 * self._dischargeable_wh() / window if window > 0 else 0.0
        return _u8(round(min(100.0, pct)))

    def _connection_status(self) -> bytes | None:
        if not self.plugged:
            return _u8(STATUS_NOT_CONNECTED)
        if self.config.equipment_type in _AA_TYPES and not self.confirmed:
            return None
        chargeable = (
            self.config.equipment_type in _CHARGE_TYPES
            and self.battery.soc_pct < self.battery.charge_cap_pct
        )
        dischargeable = (
            self.config.equipment_type in _DISCHARGE_TYPES
            and self.battery.soc_pct > self.battery.discharge_floor_pct
        )
        if chargeable and dischargeable:
            return _u8(STATUS_BOTH)
        if chargeable:
            return _u8(STATUS_CHARGEABLE)
        if dischargeable:
            return _u8(STATUS_DISCHARGEABLE)
        return _u8(STATUS_CONNECTED)

    def actual_mode(self) -> int:
        """0xE1 as the unit would report it now."""
        if self.error_code is not None:
            return MODE_OTHER
        mode = self.operation_mode
        if mode in (MODE_CHARGE, MODE_DISCHARGE):
            if self.clock.now() < self._preparation_until:
                return MODE_PREPARATION
            if mode == MODE_CHARGE and not self._grid_up():
                return MODE_STANDBY
        return mode

    def _grid_up(self) -> bool:
        return self.grid_available

    # -- setters: return False to refuse ----------------------------------------------

    def _set_confirmation(self, edt: bytes) -> bool:
        if edt != bytes((CONFIRM,)):
            return False
        self.confirmed = True
        return True

    def _reset_discharged(self, edt: bytes) -> bool:
        if edt != b"\x00":
            return False
        self.discharged_wh = 0.0
        return True

    def _reset_charged(self, edt: bytes) -> bool:
        if edt != b"\x00":
            return False
        self.charged_wh = 0.0
        return True

    def _set_operation_mode(self, edt: bytes) -> bool:
        return len(edt) == 1 and self._change_mode(edt[0])

    def _change_mode(self, mode: int) -> bool:
        if mode not in _SETTABLE_MODES:
            return False
        if mode in (MODE_CHARGE, MODE_DISCHARGE):
            if not self.plugged:
                return False
            types = _CHARGE_TYPES if mode == MODE_CHARGE else _DISCHARGE_TYPES
            if self.config.equipment_type not in types:
                return False
            if mode != self.operation_mode:
                self._preparation_until = self.clock.now() + self.config.preparation_s
        self.operation_mode = mode
        return True

    def _set_power_setting(self, edt: bytes) -> bool:
        if len(edt) != 4:
            return False
        value = int.from_bytes(edt, "big", signed=True)
        if abs(value) > E0_LIMIT_W:
            return False
        if METHOD_V2G not in (self.charging_method, self.discharging_method):
            return True  # acknowledged and ignored (section 4.2)
        mode = MODE_CHARGE if value > 0 else MODE_DISCHARGE if value < 0 else MODE_STANDBY
        if not self._change_mode(mode):
            return False
        self.power_setting_w = value
        return True

    def _power_range(self, *, charge: bool) -> tuple[int, int]:
        return 0, self.config.rated_charge_w if charge else self.config.rated_discharge_w

    # -- physics -------------------------------------------------------------------------

    def advance(self) -> None:
        """Bring physics up to the current simulation time (a step ends with preparation)."""
        if not self._grid_up():
            self.car_power_w = min(self.car_power_w, 0.0)  # nothing to charge from
            if self.storage is not None:
                self.storage.grid_lost()
        super().advance()

    def _step_events(self) -> Iterable[float]:
        if self.storage is None:
            return (self._preparation_until,)
        return (self._preparation_until, *self.storage.step_events())

    def _step(self, dt: float) -> None:
        self.car_power_w, mean_w = ramp_battery(
            self.battery,
            self.car_power_w,
            self._target_power(),
            grid_up=self._grid_up(),
            ramp_w_per_s=self.config.ramp_w_per_s,
            dt=dt,
        )
        if mean_w > 0:
            self.charged_wh += mean_w * dt / 3600
        else:
            self.discharged_wh -= mean_w * dt / 3600
        if self.storage is not None:
            self.storage.step(dt, self._time)

    def _storage_load_w(self) -> float:
        """What the house needs from the storage battery: its load less the car's part."""
        load = self.grid.house_load_w if self.grid is not None else 0.0
        return max(0.0, load + min(0.0, self.car_power_w))

    def _target_power(self) -> float:
        if not self.plugged or self.error_code is not None:
            return 0.0
        if self._time < self._preparation_until:
            return 0.0
        config = self.config
        if self.operation_mode == MODE_CHARGE:
            method = self.charging_method
            if method == METHOD_MAX_POWER:
                wanted = float(config.rated_charge_w)
            elif method == METHOD_SURPLUS_OR_LOAD:
                wanted = 0.0  # no PV surplus is simulated
            elif method == METHOD_V2G:
                wanted = float(max(0, self.power_setting_w))
            else:
                wanted = float(self.charge_setpoint_w)
            return min(wanted, config.rated_charge_w)
        if self.operation_mode == MODE_DISCHARGE:
            method = self.discharging_method
            if method == METHOD_MAX_POWER:
                wanted = float(config.rated_discharge_w)
            elif method == METHOD_SURPLUS_OR_LOAD:
                wanted = self.grid.house_load_w if self.grid is not None else 0.0
            elif method == METHOD_V2G:
                wanted = float(max(0, -self.power_setting_w))
            else:
                wanted = float(self.discharge_setpoint_w)
            return -min(wanted, config.rated_discharge_w)
        return 0.0

    @property
    def booting(self) -> bool:
        """Whether the unit is restarting (it answers nothing meanwhile)."""
        return self.clock.now() < self._boot_until

    # -- UDP -------------------------------------------------------------------------------

    @property
    def listening(self) -> bool:
        """Whether the UDP socket is open."""
        return self._transport is not None

    async def _open(self) -> None:
        await self._closed()
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), local_addr=(self.config.host, self.port)
        )
        self._transport, self._protocol = transport, protocol
        self.port = int(transport.get_extra_info("sockname")[1])
        if ipaddress.IPv4Address(self.config.announce_host).is_multicast:
            # Announcements to the group leave by the interface the twin serves on.
            transport.get_extra_info("socket").setsockopt(
                socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(self.config.host)
            )

    def _close(self) -> None:
        """Close the socket now; the port is free once :meth:`_closed` returns."""
        if self._transport is not None:
            self._transport.close()
            self._transport = None
            self._closing = self._protocol

    async def _closed(self) -> None:
        if self._closing is not None:
            await self._closing.closed.wait()
            self._closing = None

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Handle one datagram (called by the protocol)."""
        frame = parse_frame(data)
        if frame is None:
            _LOGGER.debug("Ignoring a malformed ECHONET Lite frame from %s: %s", addr, data.hex())
            return
        epcs = tuple(epc for epc, _ in (*frame.properties, *frame.get_properties))
        self.requests.append(
            EchonetRequest(
                frame.esv,
                int.from_bytes(frame.deoj, "big"),
                epcs,
                self.clock.now(),
                self.clock.wall(),
            )
        )
        if self.booting:
            return
        if self._drop_count:
            self._drop_count -= 1
            return
        wall = self.clock.wall()
        if wall < self._stall_until:
            task = asyncio.get_running_loop().create_task(self._answer_later(frame, addr))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)
            return
        self._answer(frame, addr)

    async def _answer_later(self, frame: Frame, addr: tuple[str | Any, int]) -> None:
        await asyncio.sleep(self._stall_s)
        self._answer(frame, addr)

    def _answer(self, frame: Frame, addr: tuple[str | Any, int]) -> None:
        reply = self.respond(frame)
        if reply is not None:
            self._send(reply, addr)
        self._announce_changes()

    def _send(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        """Send a frame, as the garbage and short faults spoil it."""
        if self._transport is None:
            return
        wall = self.clock.wall()
        if wall < self._garbage_until:
            length = self._rng.randrange(4, 32)
            data = bytes((self._rng.randrange(0x11, 0x100),)) + self._rng.randbytes(length)
        elif wall < self._short_until:
            data = data[:-1]
        try:
            self._transport.sendto(data, addr)
        except OSError as err:  # pragma: no cover - a local send does not fail
            _LOGGER.debug("Cannot send to %s: %s", addr, err)

    # -- announcements ---------------------------------------------------------------

    def _announce_values(self) -> dict[bytes, dict[int, bytes | None]]:
        """The announced properties' values, by device object (the node profile aside)."""
        return {
            eoj: {epc: obj.read(epc, announce=True) for epc in sorted(obj.anno_epcs)}
            for eoj, obj in self._objects.items()
            if eoj != NODE_PROFILE_EOJ
        }

    def _announce_changes(self) -> None:
        """INF of every announced property whose value changed since the last one."""
        if self._transport is None or self.booting:
            return
        values = self._announce_values()
        announced, self._announced = self._announced, values
        for eoj, now in values.items():
            before = announced.get(eoj, {})
            changed = [
                (epc, edt) for epc, edt in now.items() if edt is not None and before.get(epc) != edt
            ]
            if changed:
                self._announce(eoj, changed)

    def _announce(self, seoj: bytes, properties: list[tuple[int, bytes]]) -> None:
        self._announce_tid = (self._announce_tid + 1) & 0xFFFF
        frame = encode_frame(
            self._announce_tid.to_bytes(2, "big"), seoj, NODE_PROFILE_EOJ, ESV_INF, properties
        )
        self.announcements.append(
            EchonetRequest(
                ESV_INF,
                int.from_bytes(seoj, "big"),
                tuple(epc for epc, _ in properties),
                self.clock.now(),
                self.clock.wall(),
            )
        )
        self._send(frame, (self.config.announce_host, self.config.announce_port))

    def _announce_start(self) -> None:
        """A node that starts (or restarts) announces its instance list (0xD5)."""
        self._announced = self._announce_values()
        instances = self._objects[NODE_PROFILE_EOJ].read(0xD5, announce=True)
        if instances is not None:
            self._announce(NODE_PROFILE_EOJ, [(0xD5, instances)])

    def respond(self, frame: Frame) -> bytes | None:
        """The reply to one request frame, or None when nothing is sent."""
        self.advance()
        obj = self._find_object(frame.deoj)
        if obj is None or self.clock.wall() < self._exception_until:
            return self._refuse_all(frame, None if obj is None else obj.eoj)
        esv = frame.esv
        if esv in (ESV_GET, ESV_INF_REQ):
            announce = esv == ESV_INF_REQ
            results = [
                (epc, None if edt else obj.read(epc, announce=announce))
                for epc, edt in frame.properties
            ]
            ok = all(value is not None for _, value in results)
            answered = [(epc, b"" if value is None else value) for epc, value in results]
            reply_esv = (ESV_GET_RES if esv == ESV_GET else ESV_INF) if ok else _SNA[esv]
            return encode_frame(frame.tid, obj.eoj, frame.seoj, reply_esv, answered)
        if esv in (ESV_SETC, ESV_SETI):
            results_set = [(epc, edt, self._write(obj, epc, edt)) for epc, edt in frame.properties]
            if all(ok for _, _, ok in results_set):
                if esv == ESV_SETI:
                    return None
                return encode_frame(
                    frame.tid,
                    obj.eoj,
                    frame.seoj,
                    ESV_SET_RES,
                    [(e, b"") for e, _, _ in results_set],
                )
            echoed = [(epc, b"" if ok else edt) for epc, edt, ok in results_set]
            return encode_frame(frame.tid, obj.eoj, frame.seoj, _SNA[esv], echoed)
        return self._refuse_all(frame, obj.eoj)

    def _find_object(self, deoj: bytes) -> _EchonetObject | None:
        if deoj[2] == 0x00:
            deoj = deoj[:2] + b"\x01"
        return self._objects.get(deoj)

    def _refuse_all(self, frame: Frame, seoj: bytes | None = None) -> bytes | None:
        sna = _SNA.get(frame.esv)
        if sna is None:
            return None
        source = frame.deoj if seoj is None else seoj
        if frame.esv in (ESV_GET, ESV_INF_REQ):
            return encode_frame(
                frame.tid, source, frame.seoj, sna, [(epc, b"") for epc, _ in frame.properties]
            )
        get_part = None
        if frame.esv == ESV_SETGET:
            get_part = [(epc, b"") for epc, _ in frame.get_properties]
        return encode_frame(
            frame.tid, source, frame.seoj, sna, frame.properties, get_properties=get_part
        )

    def _write(self, obj: _EchonetObject, epc: int, edt: bytes) -> bool:
        ok = obj.write(epc, edt)
        if ok:
            applied = epc != 0xE0 or METHOD_V2G in (self.charging_method, self.discharging_method)
            self.writes.append(
                WriteRecord(
                    epc, int.from_bytes(edt, "big"), self.clock.now(), self.clock.wall(), applied
                )
            )
        return ok

    # -- lifecycle, faults and world events --------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """Host and (bound) UDP port."""
        return self.config.host, self.port

    async def start(self) -> None:
        """Start serving UDP; port 0 picks a free port, kept across restarts."""
        self._started = True
        if self._transport is None and self.clock.wall() >= self._refuse_until:
            await self._open()
            self._announce_start()

    async def stop(self) -> None:
        """Close the socket and forget delayed replies."""
        self._started = False
        for task in list(self._pending):
            task.cancel()
        self._pending.clear()
        self._close()
        await self._closed()

    async def housekeeping(self) -> None:
        """Advance physics; reopen the socket once a refuse fault is over; announce."""
        self.advance()
        refusing = self.clock.wall() < self._refuse_until
        if refusing:
            self._close()
            await self._closed()
        elif self._started and self._transport is None:
            try:
                await self._open()
            except OSError as err:
                _LOGGER.warning("Cannot reopen ECHONET Lite port %s: %s", self.port, err)
        booting = self.booting
        if self._was_booting and not booting:
            instances = self._objects[NODE_PROFILE_EOJ].read(0xD5, announce=True)
            if instances is not None:
                self._announce(NODE_PROFILE_EOJ, [(0xD5, instances)])
        self._was_booting = booting
        self._announce_changes()

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        wall = self.clock.wall()
        until = wall + fault.duration_s
        kind = fault.kind
        if kind is FaultKind.REFUSE:
            self._refuse_until = until
            self._close()
        elif kind is FaultKind.STALL:
            self._stall_until, self._stall_s = until, fault.delay_s
        elif kind is FaultKind.DROP:
            self._drop_count = fault.count
        elif kind is FaultKind.EXCEPTION:
            self._exception_until = until
        elif kind is FaultKind.SHORT:
            self._short_until = until
        elif kind is FaultKind.GARBAGE:
            self._garbage_until = until
        elif kind is FaultKind.REBOOT:
            self.reboot()
        elif kind is FaultKind.SOC_GLITCH:
            self.soc_glitch_reads = fault.count if self.config.ev_charger else 0
            if self.storage is not None:
                self.storage.soc_glitch_reads = fault.count
        else:  # FaultKind.ERROR
            self.advance()
            self.error_code = fault.code & 0xFFFF
            self.car_power_w = 0.0
            if self.storage is not None:
                self.storage.error()

    def clear_faults(self) -> None:
        """Remove every injected fault (a reboot in progress completes normally)."""
        self._refuse_until = self._stall_until = self._exception_until = 0.0
        self._short_until = self._garbage_until = 0.0
        self._drop_count = 0
        self.soc_glitch_reads = 0
        if self.storage is not None:
            self.storage.soc_glitch_reads = 0
        self.error_code = None

    def reboot(self) -> None:
        """Restart: no replies for ``reboot_s``, then standby with setpoints 0."""
        self.advance()
        self._boot_until = self.clock.now() + self.config.reboot_s
        self.operation_mode = MODE_STANDBY
        self._preparation_until = -1.0
        self.charge_setpoint_w = self.discharge_setpoint_w = self.power_setting_w = 0
        self.confirmed = False
        self.car_power_w = 0.0
        if self.storage is not None:
            self.storage.reboot()

    def plug(self, plugged: bool) -> None:
        """Connect or disconnect the car (either forgets the 0xCD confirmation)."""
        self.advance()
        if plugged == self.plugged:
            return
        self.plugged = plugged
        self.confirmed = False
        if not plugged:
            self.car_power_w = 0.0
            if self.operation_mode in (MODE_CHARGE, MODE_DISCHARGE):
                self.operation_mode = MODE_STANDBY

    def update_state(self, payload: dict[str, Any]) -> None:
        """Control API: ``plugged``, ``soc_pct`` (car) and ``storage_soc_pct``; all or nothing.

        ``plugged`` is a bool, the states of charge are numbers in 0..100;
        ``storage_soc_pct`` exists only on a node with a storage battery.
        """
        keys = {"plugged", "soc_pct"} | ({"storage_soc_pct"} if self.storage else set())
        unknown = set(payload) - keys
        if unknown:
            raise ValueError(f"unknown keys: {sorted(unknown)}; expected {', '.join(sorted(keys))}")
        plugged = payload.get("plugged")
        if plugged is not None and not isinstance(plugged, bool):
            raise ValueError("plugged must be true or false")
        soc = _soc_value(payload, "soc_pct")
        storage_soc = _soc_value(payload, "storage_soc_pct")
        self.advance()
        if soc is not None:
            self.battery.soc_pct = soc
        if storage_soc is not None and self.storage is not None:
            self.storage.battery.soc_pct = storage_soc
        if plugged is not None:
            self.plug(plugged)

    def active_faults(self) -> list[str]:
        """The faults in force now."""
        wall = self.clock.wall()
        active = {
            FaultKind.REFUSE: wall < self._refuse_until,
            FaultKind.STALL: wall < self._stall_until,
            FaultKind.DROP: self._drop_count > 0,
            FaultKind.EXCEPTION: wall < self._exception_until,
            FaultKind.SHORT: wall < self._short_until,
            FaultKind.GARBAGE: wall < self._garbage_until,
            FaultKind.REBOOT: self.booting,
            FaultKind.SOC_GLITCH: self.soc_glitch_reads > 0
            or (self.storage is not None and self.storage.soc_glitch_reads > 0),
            FaultKind.ERROR: self.error_code is not None,
        }
        return [kind.value for kind, on in active.items() if on]

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for the control API."""
        self.advance()
        return {
            "kind": "echonet_lite",
            "port": self.port,
            "listening": self.listening,
            "plugged": self.plugged,
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.battery.capacity_kwh,
            "actual_power_w": round(self.actual_power_w, 1),
            "car_power_w": round(self.car_power_w, 1),
            "ev_charger": self.config.ev_charger,
            "storage": None if self.storage is None else self.storage.describe(),
            "operation_mode": self.operation_mode,
            "actual_mode": self.actual_mode(),
            "grid_connected_type": 0x00 if self._grid_up() else 0x01,
            "charging_method": self.charging_method,
            "discharging_method": self.discharging_method,
            "charge_setpoint_w": self.charge_setpoint_w,
            "discharge_setpoint_w": self.discharge_setpoint_w,
            "power_setting_w": self.power_setting_w,
            "connection_confirmed": self.confirmed,
            "charged_energy_wh": round(self.charged_wh, 3),
            "discharged_energy_wh": round(self.discharged_wh, 3),
            "fault_code": self.error_code or 0,
            "faults": self.active_faults(),
            "rebooting": self.booting,
            "requests": len(self.requests),
            "writes": len(self.writes),
            "announcements": len(self.announcements),
        }


def _soc_value(payload: dict[str, Any], key: str) -> float | None:
    """A state of charge of the control API (0..100), None when not given."""
    if key not in payload:
        return None
    raw = payload[key]
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{key} must be a number in 0..100")  # noqa: TRY004 - a 400
    soc = float(raw)
    if not 0 <= soc <= 100:
        raise ValueError(f"{key} must be in 0..100")
    return soc


def _config(entry: dict[str, Any]) -> EchonetConfig:
    """An ``[[echonet]]`` entry: its car, ``identification`` as hex, a ``storage`` table."""
    entry = with_car(entry)
    if "identification" in entry:
        entry["identification"] = bytes.fromhex(str(entry["identification"]))
    if entry.get("storage") is not None:
        entry["storage"] = storage_config(entry["storage"])
    return EchonetConfig(**entry)


KIND = register(TwinKind("echonet", "echonets", EchonetConfig, EchonetTwin, parse=_config))
