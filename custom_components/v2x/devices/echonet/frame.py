"""ECHONET Lite frame codec: Format 1 frames, objects, property maps, node-profile EDTs.

Reference: ``shared/reference/protocols.md`` section 4.1 (rows tagged [V]).

* Frames are Format 1 only: EHD1 0x10, EHD2 0x81, TID (2 B), SEOJ (3 B), DEOJ (3 B),
  ESV (1 B), OPC (1 B), then OPC times {EPC (1 B), PDC (1 B), EDT (PDC bytes)}.
  SetGet frames (ESV 0x6E/0x7E/0x5E) carry two property lists whose layout the
  reference does not give, so they are neither sent nor decoded here.
* Property maps (0x9D/0x9E/0x9F): a count byte, then either the EPCs (count < 16)
  or a 16-byte bitmap in which byte i, bit j set means EPC (j + 8) * 0x10 + i.
* Multi-byte numbers are big-endian.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from ..errors import DeviceProtocolError

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
