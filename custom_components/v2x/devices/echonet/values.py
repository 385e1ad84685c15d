"""Decoding helpers shared by the ECHONET Lite device classes (0x027E, 0x027D).

Multi-byte numbers are big-endian (protocols.md 4.1); a property a device did not
report (Get_SNA, PDC 0) is ``None`` throughout.
"""

from __future__ import annotations

from typing import Final

from ..errors import DeviceProtocolError, ValueOutOfRangeError

Values = dict[int, bytes | None]
"""EDTs by EPC, as :meth:`EchonetClient.async_get` returns them."""

FAULT: Final = 0x41
NO_FAULT: Final = 0x42
FAULT_CODES: Final[dict[int, bool]] = {FAULT: True, NO_FAULT: False}
"""0x88 fault status -> whether the device reports a fault."""
INTERCONNECTION_CODES: Final[dict[int, bool]] = {0x00: True, 0x01: False, 0x02: True}
"""0xDB system interconnected type -> whether the grid is there."""
MANUFACTURERS: Final[dict[int, str]] = {
    0x00006C: "Nichicon",
    0x0000EB: "Nichicon",  # Nichicon Kameoka
    0x00003C: "Denso",
    0x000005: "Sharp",
    0x00000B: "Panasonic",
    0x000064: "OMRON",
}


def decode_number(values: Values, epc: int, size: int, *, signed: bool = False) -> int | None:
    """Decode a big-endian number of ``size`` bytes; None when not reported.

    Raises :class:`DeviceProtocolError` when the EDT has another length.
    """
    edt = values.get(epc)
    if edt is None:
        return None
    if len(edt) != size:
        raise DeviceProtocolError(f"EPC 0x{epc:02X}: expected {size} bytes, got {len(edt)}")
    return int.from_bytes(edt, "big", signed=signed)


def decode_coded[T](name: str, value: int, table: dict[int, T]) -> T:
    """Look a code up in its table; :class:`ValueOutOfRangeError` when it is not there."""
    try:
        return table[value]
    except KeyError:
        allowed = ", ".join(f"0x{code:02X}" for code in table)
        raise ValueOutOfRangeError(name, value, allowed) from None


def kwh(value: int | None) -> float | None:
    """Wh (or 0.001 kWh) -> kWh."""
    return None if value is None else value / 1000


def decode_grid(code: int) -> bool:
    """0xDB -> True when grid-connected (0x00, 0x02), False when independent (0x01)."""
    return decode_coded("system_interconnected_type (0xDB)", code, INTERCONNECTION_CODES)


def decode_manufacturer(code: int) -> str:
    """A manufacturer name for a 0x8A code."""
    return MANUFACTURERS.get(code, f"ECHONET Lite 0x{code:06X}")


def decode_model(edt: bytes | None, default: str) -> str:
    """Product code (0x8C): 12 ASCII bytes, padded; ``default`` when absent or blank."""
    text = "" if edt is None else edt.decode("ascii", "replace").strip("\x00 ")
    return text or default


def decode_standard_version(edt: bytes | None) -> str | None:
    """Standard version (0x82): 0x00 0x00 release letter, revision -> ``"Release R"``."""
    if edt is None or len(edt) != 4 or not 0x41 <= edt[2] & 0xDF <= 0x5A:
        return None
    return f"Release {chr(edt[2] & 0xDF)}"
