"""SunSpec bidirectional DC chargers and storage inverters over Modbus TCP.

* :mod:`.codec`: point types, big-endian words, "not implemented" values, scale factors;
* :mod:`.scan`: the "SunS" marker and the model chain (:func:`scan`);
* :mod:`.registers`: model ids, point offsets, typed points, merged reads;
* :mod:`.charger`: the DER profile, :class:`SunSpecCharger`.
"""

from .charger import DEFAULT_PORT, DEFAULT_UNIT_ID, SunSpecCharger, decode_state
from .codec import PointType, decode_point, decode_string, encode_int32, encode_uint32, scale
from .registers import ModelPoints, plan_blocks
from .scan import ModelLocation, SunSpecLayout, scan

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
