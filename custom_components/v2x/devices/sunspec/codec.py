"""SunSpec point codec: big-endian words, "not implemented" values, scale factors.

Written from ``shared/reference/protocols.md`` section 3.1 ([V] rows): multi-register
points are big-endian (high word first); each numeric type has a documented
"not implemented" value, decoded here as ``None``; a value with a scale factor is
raw x 10^SF.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Final

from ..errors import ValueOutOfRangeError
from ..modbus import decode_text

MAX_SCALE_EXPONENT: Final = 10
"""Scale factors outside -10..10 are taken as garbage rather than physics."""


class PointType(StrEnum):
    """SunSpec point types whose "not implemented" value is documented (3.1)."""

    INT16 = "int16"
    UINT16 = "uint16"
    ACC16 = "acc16"
    ENUM16 = "enum16"
    BITFIELD16 = "bitfield16"
    SUNSSF = "sunssf"
    INT32 = "int32"
    UINT32 = "uint32"
    ACC32 = "acc32"
    ENUM32 = "enum32"
    BITFIELD32 = "bitfield32"
    INT64 = "int64"
    UINT64 = "uint64"


_POINT_SIZES: Final[dict[PointType, int]] = {
    PointType.INT16: 1,
    PointType.UINT16: 1,
    PointType.ACC16: 1,
    PointType.ENUM16: 1,
    PointType.BITFIELD16: 1,
    PointType.SUNSSF: 1,
    PointType.INT32: 2,
    PointType.UINT32: 2,
    PointType.ACC32: 2,
    PointType.ENUM32: 2,
    PointType.BITFIELD32: 2,
    PointType.INT64: 4,
    PointType.UINT64: 4,
}
_SIGNED: Final = frozenset({PointType.INT16, PointType.SUNSSF, PointType.INT32, PointType.INT64})
_ACCUMULATORS: Final = frozenset({PointType.ACC16, PointType.ACC32})


def point_size(point_type: PointType) -> int:
    """Number of registers a point of this type occupies."""
    return _POINT_SIZES[point_type]


def combine_words(words: Sequence[int]) -> int:
    """Unsigned value of big-endian registers, high word first."""
    value = 0
    for word in words:
        value = (value << 16) | word
    return value


def to_signed(value: int, bits: int) -> int:
    """Two's-complement decode of a ``bits``-wide unsigned value."""
    return value - (1 << bits) if value >> (bits - 1) else value


def decode_point(point_type: PointType, words: Sequence[int]) -> int | None:
    """Decode a numeric point; ``None`` when it holds the "not implemented" value."""
    size = point_size(point_type)
    if len(words) != size:
        raise ValueError(f"{point_type} needs {size} registers, got {len(words)}")
    bits = 16 * size
    raw = combine_words(words)
    if point_type in _SIGNED:
        return None if raw == 1 << (bits - 1) else to_signed(raw, bits)
    if point_type in _ACCUMULATORS:
        return None if raw == 0 else raw
    return None if raw == (1 << bits) - 1 else raw


def decode_string(words: Sequence[int]) -> str | None:
    """Two ASCII characters per register, NUL padded; ``None`` when empty."""
    return decode_text(words)


def encode_int32(value: int) -> list[int]:
    """Two registers, high word first; the "not implemented" value is refused."""
    if not -0x7FFFFFFF <= value <= 0x7FFFFFFF:
        raise ValueOutOfRangeError("int32", value, "-2147483647..2147483647")
    raw = value & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def encode_uint32(value: int) -> list[int]:
    """Two registers, high word first; the "not implemented" value is refused."""
    if not 0 <= value <= 0xFFFFFFFE:
        raise ValueOutOfRangeError("uint32", value, "0..4294967294")
    return [value >> 16, value & 0xFFFF]


def scale(raw: int, exponent: int) -> float:
    """``raw`` x 10^exponent, exact for the decimal digits the device sent."""
    if exponent >= 0:
        return float(raw * 10**exponent)
    divisor: int = 10**-exponent  # dividing by an exact power of ten keeps 2301 -> 230.1
    return raw / divisor
