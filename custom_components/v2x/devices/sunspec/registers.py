"""The SunSpec register map used here: model ids, point offsets, enum values, reads.

Offsets are from each model's ID register (``shared/reference/protocols.md``
sections 3.2-3.6, [V] rows). :class:`ModelPoints` reads typed points of one model
out of a register image; :func:`plan_blocks` merges the ranges a poll needs into
as few reads as fit in 125 registers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..errors import ValueOutOfRangeError
from ..modbus import MAX_REGISTERS_PER_READ, ModbusBus, RegisterBlock, RegisterImage
from .codec import (
    MAX_SCALE_EXPONENT,
    PointType,
    combine_words,
    decode_point,
    decode_string,
    point_size,
    to_signed,
)
from .scan import ModelLocation, SunSpecLayout

# --- Model ids -------------------------------------------------------------------------
MODEL_COMMON: Final = 1
MODEL_DER_MEASURE_AC: Final = 701
MODEL_DER_CAPACITY: Final = 702
MODEL_DER_CTL_AC: Final = 704
MODEL_DER_STORAGE: Final = 713
REQUIRED_MODELS: Final = (MODEL_COMMON, MODEL_DER_MEASURE_AC)

# --- Point offsets from each model's ID register ---------------------------------------
# Model 1 Common (3.2)
C_MN: Final = 2  # string[16]
C_MD: Final = 18  # string[16]
C_VR: Final = 42  # string[8]
C_SN: Final = 50  # string[16]
# Model 701 DER AC Measurement (3.3)
M_INV_ST: Final = 4  # enum16
M_CONN_ST: Final = 5  # enum16
M_ALRM: Final = 6  # bitfield32
M_W: Final = 10  # int16, W_SF; positive = injection
M_A: Final = 14  # int16, A_SF
M_LLV: Final = 15  # uint16, V_SF
M_LNV: Final = 16  # uint16, V_SF
M_HZ: Final = 17  # uint32, Hz_SF
M_TOT_WH_INJ: Final = 19  # uint64, TotWh_SF
M_TOT_WH_ABS: Final = 23  # uint64, TotWh_SF
M_A_SF: Final = 113
M_V_SF: Final = 114
M_HZ_SF: Final = 115
M_W_SF: Final = 116
M_TOT_WH_SF: Final = 120
# Model 702 DER Capacity (3.4)
CAP_W_MAX_RTG: Final = 2  # uint16, W_SF
CAP_W_CHA_RTE_MAX_RTG: Final = 10  # uint16, W_SF
CAP_W_DIS_CHA_RTE_MAX_RTG: Final = 11  # uint16, W_SF
CAP_W_CHA_RTE_MAX: Final = 34  # uint16, W_SF, RW
CAP_W_DIS_CHA_RTE_MAX: Final = 35  # uint16, W_SF, RW
CAP_W_SF: Final = 45
# Model 704 DER AC Controls (3.5)
CTL_W_SET_ENA: Final = 22  # enum16 RW: 0 disabled, 1 enabled
CTL_W_SET_MOD: Final = 23  # enum16 RW: 0 W_MAX_PCT, 1 WATTS
CTL_W_SET: Final = 24  # int32 RW, WSet_SF; positive = injection
CTL_W_SET_RVRT: Final = 26  # int32 RW, WSet_SF
CTL_W_SET_ENA_RVRT: Final = 30  # enum16 RW
CTL_W_SET_RVRT_TMS: Final = 31  # uint32 RW, seconds
CTL_W_SET_SF: Final = 55
# Model 713 DER Storage Capacity (3.6)
ST_WH_RTG: Final = 2  # uint16, WH_SF
ST_WH_AVAIL: Final = 3  # uint16, WH_SF
ST_SOC: Final = 4  # uint16, Pct_SF
ST_SOH: Final = 5  # uint16, Pct_SF
ST_WH_SF: Final = 7
ST_PCT_SF: Final = 8

WSET_MOD_WATTS: Final = 1
ENABLED: Final = 1
DISABLED: Final = 0
CONN_ST_CONNECTED: Final = 1

# Offset ranges (first, last inclusive) read for each purpose.
COMMON_RANGE: Final = (C_MN, C_SN + 15)
STATUS_RANGES: Final = {
    MODEL_DER_MEASURE_AC: (M_INV_ST, M_W),
    MODEL_DER_STORAGE: (ST_SOC, ST_PCT_SF),
}
FULL_RANGES: Final = {
    MODEL_DER_MEASURE_AC: (2, M_TOT_WH_SF + 2),  # ACType .. Tmp_SF
    MODEL_DER_CAPACITY: (CAP_W_MAX_RTG, 51),  # WMaxRtg .. S_SF
    MODEL_DER_CTL_AC: (CTL_W_SET_ENA, CTL_W_SET_SF),
    MODEL_DER_STORAGE: (ST_WH_RTG, ST_PCT_SF),
}

# 701 InvSt (3.3)
INV_ST_OFF: Final = 0
INV_ST_SLEEPING: Final = 1
INV_ST_STARTING: Final = 2
INV_ST_RUNNING: Final = 3
INV_ST_THROTTLED: Final = 4
INV_ST_SHUTTING_DOWN: Final = 5
INV_ST_FAULT: Final = 6
INV_ST_STANDBY: Final = 7


class ModelPoints:
    """Typed, "not implemented"-aware access to one model's points in a register image.

    A point beyond the model's length (an older, shorter revision) or a model the
    device lacks reads as ``None``; a point inside the model that was not read is a
    programming error (``DeviceProtocolError`` from the image).
    """

    __slots__ = ("_image", "_model")

    def __init__(self, image: RegisterImage, model: ModelLocation | None) -> None:
        """View ``model``'s points in ``image``."""
        self._image = image
        self._model = model

    def words(self, offset: int, size: int) -> list[int] | None:
        """The raw registers of a point, or ``None`` if the model does not have it."""
        model = self._model
        if model is None or not model.has(offset, size):
            return None
        return [self._image.u16(model.address + offset + i) for i in range(size)]

    def value(self, point_type: PointType, offset: int) -> int | None:
        """A decoded numeric point (``None``: absent or not implemented)."""
        words = self.words(offset, point_size(point_type))
        return None if words is None else decode_point(point_type, words)

    def raw_signed(self, offset: int, size: int) -> int | None:
        """A signed point as stored, "not implemented" value included (for verification)."""
        words = self.words(offset, size)
        return None if words is None else to_signed(combine_words(words), 16 * size)

    def raw_unsigned(self, offset: int, size: int) -> int | None:
        """An unsigned point as stored (for verification)."""
        words = self.words(offset, size)
        return None if words is None else combine_words(words)

    def sunssf(self, offset: int) -> int | None:
        """A scale factor exponent; out-of-range garbage is a typed error."""
        value = self.value(PointType.SUNSSF, offset)
        if value is not None and abs(value) > MAX_SCALE_EXPONENT:
            raise ValueOutOfRangeError("sunssf", value, f"-{MAX_SCALE_EXPONENT}..10")
        return value

    def string(self, offset: int, size: int) -> str | None:
        """A NUL-padded string point."""
        words = self.words(offset, size)
        return None if words is None else decode_string(words)


def plan_blocks(name: str, ranges: Sequence[tuple[int, int]]) -> tuple[RegisterBlock, ...]:
    """Merge (start, count) ranges into as few reads of at most 125 registers as possible.

    Each block documents only the requested ranges as implemented, so a device that
    rejects a merged read is read range by range instead.
    """
    blocks: list[RegisterBlock] = []
    group: list[tuple[int, int]] = []

    def flush() -> None:
        if group:
            addresses = [a for start, count in group for a in range(start, start + count)]
            blocks.append(RegisterBlock.spanning(f"{name}{len(blocks)}", addresses))

    for start, count in sorted(ranges):
        if group and start + count - group[0][0] <= MAX_REGISTERS_PER_READ:
            group.append((start, count))
            continue
        flush()
        group = [(start, count)]
    flush()
    return tuple(blocks)


def model_ranges(
    layout: SunSpecLayout, wanted: dict[int, tuple[int, int]]
) -> list[tuple[int, int]]:
    """Absolute (start, count) of the wanted offset ranges of the models the device has."""
    ranges = []
    for model_id, (first, last) in wanted.items():
        model = layout.find(model_id)
        span = model.span(first, last) if model is not None else None
        if span is not None:
            ranges.append(span)
    return ranges


async def read_span(bus: ModbusBus, model: ModelLocation, offsets: tuple[int, int]) -> ModelPoints:
    """Read offsets first..last of one model (one request; none if the model is shorter)."""
    image = RegisterImage()
    span = model.span(*offsets)
    if span is not None:
        image.update(span[0], await bus.read(*span))
    return ModelPoints(image, model)
