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
