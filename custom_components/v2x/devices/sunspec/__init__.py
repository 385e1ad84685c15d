"""SunSpec bidirectional DC chargers and storage inverters over Modbus TCP."""

from .charger import (
    DEFAULT_PORT,
    DEFAULT_UNIT_ID,
    ModelLocation,
    ModelPoints,
    PointType,
    SunSpecCharger,
    SunSpecLayout,
    decode_point,
    decode_state,
    decode_string,
    encode_int32,
    encode_uint32,
    plan_blocks,
    scale,
    scan,
)

__all__ = [
    "DEFAULT_PORT",
    "DEFAULT_UNIT_ID",
    "ModelLocation",
    "ModelPoints",
    "PointType",
    "SunSpecCharger",
    "SunSpecLayout",
    "decode_point",
    "decode_state",
    "decode_string",
    "encode_int32",
    "encode_uint32",
    "plan_blocks",
    "scale",
    "scan",
]
