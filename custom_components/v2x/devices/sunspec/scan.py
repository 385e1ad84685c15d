"""SunSpec discovery: find the "SunS" marker and walk the model chain.

Nothing is read from a fixed absolute address: every device is scanned for the
marker (40000, then 0, then 50000) and its model chain walked
(``shared/reference/protocols.md`` section 3.1); each point is then addressed as
*model start + documented offset* (:class:`ModelLocation`).
"""

from __future__ import annotations

from dataclasses import dataclass
import logging
from typing import Final

from ..errors import DeviceProtocolError, ModbusExceptionError
from ..modbus import ModbusBus

_LOGGER = logging.getLogger(__name__)

BASE_ADDRESSES: Final = (40000, 0, 50000)
"""Where the "SunS" marker is searched, in this order (0-based PDU addresses)."""
SUNS_MARKER: Final = (0x5375, 0x6E53)
END_MODEL_ID: Final = 0xFFFF
MAX_MODELS: Final = 64
"""More models than this in one chain is taken as a malformed (runaway) chain."""
_ADDRESS_SPACE: Final = 0x10000


@dataclass(frozen=True, slots=True)
class ModelLocation:
    """Where one model instance sits in the device's register space."""

    model_id: int
    address: int
    """Absolute address of the model's ID register."""
    length: int
    """``L``: registers after ID and L."""

    def has(self, offset: int, size: int = 1) -> bool:
        """Whether a point at ``offset`` lies inside this model (older devices are shorter)."""
        return offset + size <= self.length + 2

    def span(self, first: int, last: int) -> tuple[int, int] | None:
        """Absolute (start, count) of offsets first..last clipped to the model, if any."""
        last = min(last, self.length + 1)
        if first > last:
            return None
        return self.address + first, last - first + 1


@dataclass(frozen=True, slots=True)
class SunSpecLayout:
    """The result of a scan: the base address and the model chain in device order."""

    base_address: int
    models: tuple[ModelLocation, ...]

    def find(self, model_id: int) -> ModelLocation | None:
        """The first instance of a model, if the device has it."""
        return next((m for m in self.models if m.model_id == model_id), None)

    def require(self, model_id: int) -> ModelLocation:
        """The first instance of a model; a protocol error if the device lacks it."""
        model = self.find(model_id)
        if model is None:
            raise DeviceProtocolError(f"SunSpec device has no model {model_id}")
        return model

    @property
    def model_ids(self) -> tuple[int, ...]:
        """Model ids in chain order."""
        return tuple(m.model_id for m in self.models)


async def scan(bus: ModbusBus) -> SunSpecLayout:
    """Find the "SunS" marker and walk the model chain to its end marker."""
    for base in BASE_ADDRESSES:
        try:
            marker = await bus.read(base, 2)
        except ModbusExceptionError as err:
            _LOGGER.debug("No SunSpec marker at %s: %s", base, err)
            continue
        if tuple(marker) == SUNS_MARKER:
            break
    else:
        raise DeviceProtocolError(
            f"not a SunSpec device: no 'SunS' marker at {', '.join(map(str, BASE_ADDRESSES))}"
        )
    models: list[ModelLocation] = []
    address = base + 2
    # Addresses strictly increase (each model is at least 2 registers long) and never
    # pass 65535, so no address can repeat: the chain cannot loop.
    while True:
        if address + 2 > _ADDRESS_SPACE:
            raise DeviceProtocolError(f"SunSpec chain at {base} runs past register 65535")
        try:
            model_id, length = await bus.read(address, 2)
        except ModbusExceptionError as err:
            if not models or err.exception_code != ModbusExceptionError.ILLEGAL_DATA_ADDRESS:
                raise
            # A device that omits the end marker: the chain ends where its map ends.
            _LOGGER.debug("SunSpec chain at %s ends at %s without an end marker", base, address)
            break
        if model_id == END_MODEL_ID:
            break
        if model_id == 0:
            raise DeviceProtocolError(f"SunSpec chain at {base}: model id 0 at {address}")
        if len(models) >= MAX_MODELS:
            raise DeviceProtocolError(f"SunSpec chain at {base}: more than {MAX_MODELS} models")
        following = address + 2 + length
        if following > _ADDRESS_SPACE:
            raise DeviceProtocolError(
                f"SunSpec model {model_id} at {address} (L={length}) runs past register 65535"
            )
        models.append(ModelLocation(model_id, address, length))
        address = following
    return SunSpecLayout(base, tuple(models))
