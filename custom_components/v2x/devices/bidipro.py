"""EVTEC BiDiPro 10 (bidirectional CCS DC charger, 10 kW) over Modbus TCP.

Register map: ``shared/reference/protocols.md`` section 1.6 ([V], "provided by EV2Grid
as is", ECP4 / Modbus 2.0). Holding registers, unit id 1, big-endian with the high
word first; every value this profile writes is 32 bits wide and goes out with
function 0x10. Charge-point registers are 0..99, the plug's at ``plug * 100 +
offset`` (plug 1: 100..199; the BiDiPro 10 has one plug).

Polling cost on a gap-free map (a device that rejects gaps gets the documented runs
only, a few more requests, remembered):

* status: **one** request, 100..157 (state, power, SoC, error bitfield);
* full poll: **two**, 42..43 (the idle timeout) and 100..189 (everything of the plug);
* identity: one, 0..35 (version, also the signature check, serial, model).

The communication idle timeout (42, at most 600 s) is the watchdog: any Modbus request
restarts it, so the status poll keeps it fed; when Home Assistant falls silent the
charger stops by itself. Taking control arms it with ``watchdog_s`` (capped at 600 s);
handing back stops the session and writes back the timeout found before we armed it.
The BiDiPro has no register that switches between its own logic (its OCPP backend)
and remote control; it runs what the last start (188 = 1) and setpoint (186) say. This
profile counts it as under remote control while the idle timeout is the one V2X armed:
taking control arms it, handing back stops the session and puts the installer's value
back (remembered from when V2X first armed it, for as long as this profile lives).

Not in the map, so not offered: a discharge limit of its own (the 10 kW rating is
used), a minimum power, the car's identity beyond register 176.
"""

from __future__ import annotations

import math
from typing import Final

from .errors import DeviceProtocolError, ValueOutOfRangeError, WriteNotVerifiedError
from .family import Connection, DeviceFamily
from .modbus import (
    BlockCharger,
    ModbusBus,
    ModbusTransport,
    RegisterBlock,
    RegisterImage,
    encode_s32,
)
from .model import (
    ChargerCapabilities,
    ChargerControl,
    ChargerErrors,
    ChargerSnapshot,
    ChargerState,
    ChargerStatus,
    DeviceIdentity,
)
from .soc import SocFilter

DEFAULT_PORT: Final = 5020
DEFAULT_UNIT_ID: Final = 1
MAX_POWER_W: Final = 10000
"""The BiDiPro 10's rating, both ways."""
POWER_RANGE_W: Final = 20000
"""What register 110 may read (section 1.6: +/-20000)."""
MAX_IDLE_TIMEOUT_S: Final = 600
PLUG: Final = 1
_PLUG_BASE: Final = PLUG * 100

REG_VERSION: Final = 0  # string, 16 registers
REG_SERIAL: Final = 16  # string, 10
REG_MODEL: Final = 26  # string, 10
REG_IDLE_TIMEOUT: Final = 42  # int32 s
REG_STATE: Final = _PLUG_BASE + 0  # int32
REG_POWER: Final = _PLUG_BASE + 10  # float32 W, + charging, - feeding the grid/house
REG_SOC: Final = _PLUG_BASE + 12  # int32 per mille
REG_CONNECTOR: Final = _PLUG_BASE + 14  # int32
REG_MAX_CHARGE: Final = _PLUG_BASE + 30  # float32 W
REG_ERRORS: Final = _PLUG_BASE + 54  # int64 bitfield
REG_CAPACITY: Final = _PLUG_BASE + 58  # float32 Wh
REG_MIN_CAPACITY: Final = _PLUG_BASE + 62  # float32 Wh
REG_CAR_ID: Final = _PLUG_BASE + 76  # string, 10
REG_SETPOINT: Final = _PLUG_BASE + 86  # int32 W, negative = discharge
REG_ACTION: Final = _PLUG_BASE + 88  # int32: 1 start, 0 stop

ACTION_START: Final = 1
ACTION_STOP: Final = 0

# Connector state (register 100) -> domain state, and whether a car is plugged in.
STATE_CODES: Final[dict[int, tuple[ChargerState, bool | None]]] = {
    0: (ChargerState.STARTING, None),  # boot
    1: (ChargerState.NO_CAR, False),  # ready, no car
    2: (ChargerState.OFF, None),  # unavailable
    3: (ChargerState.OTHER, False),  # reserved (OCPP)
    4: (ChargerState.STARTING, True),  # contract authorisation
    5: (ChargerState.STANDBY, True),  # plugged in
    6: (ChargerState.STARTING, True),  # initialise connection
    7: (ChargerState.CHARGING, True),  # current demand
    8: (ChargerState.DISCHARGING, True),  # grid feed-in
    9: (ChargerState.PAUSED, True),  # session stop
    10: (ChargerState.WAITING_FOR_GRID, True),  # wait for grid
    11: (ChargerState.CHARGE_COMPLETE, True),  # charging end
    12: (ChargerState.ERROR, None),  # error
}
CONNECTOR_TYPES: Final = {0: "Type 2", 1: "CCS", 2: "CHAdeMO", 3: "GB/T"}


def _documented(*spans: tuple[int, int]) -> frozenset[int]:
    return frozenset(a for start, count in spans for a in range(start, start + count))


IDENTITY_BLOCK: Final = RegisterBlock(
    "identity", REG_VERSION, 36, _documented((REG_VERSION, 16), (REG_SERIAL, 10), (REG_MODEL, 10))
)
TIMEOUT_BLOCK: Final = RegisterBlock.spanning("idle timeout", (REG_IDLE_TIMEOUT, 43))
_STATUS_SPANS: Final = ((REG_STATE, 2), (REG_POWER, 2), (REG_SOC, 2), (REG_ERRORS, 4))
STATUS_BLOCK: Final = RegisterBlock(
    "status", REG_STATE, REG_ERRORS + 4 - REG_STATE, _documented(*_STATUS_SPANS)
)
PLUG_BLOCK: Final = RegisterBlock(
    "plug",
    REG_STATE,
    REG_ACTION + 2 - REG_STATE,
    _documented(
        *_STATUS_SPANS,
        (REG_CONNECTOR, 2),
        (REG_MAX_CHARGE, 2),
        (REG_CAPACITY, 2),
        (REG_MIN_CAPACITY, 2),
        (REG_CAR_ID, 10),
        (REG_SETPOINT, 4),
    ),
)
SETPOINT_BLOCK: Final = RegisterBlock.spanning("setpoint", range(REG_SETPOINT, REG_ACTION + 2))
FULL_POLL_BLOCKS: Final = (TIMEOUT_BLOCK, PLUG_BLOCK)

CAPABILITIES: Final = ChargerCapabilities(
    bidirectional=True,
    watchdog=True,
    reports_grid=False,
    ac_measurements=False,
    max_power_w=MAX_POWER_W,
    remote_control=True,
    reports_vehicle=True,
    vehicle_energy=True,
    states=tuple(dict.fromkeys(state for state, _ in STATE_CODES.values())),
)


def _checked(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueOutOfRangeError(name, value, f"{low}..{high}")
    return value


def _watts(name: str, value: float, limit: int) -> int:
    """A float32 power register as whole watts; NaN, infinity or beyond ``limit`` refused."""
    if not math.isfinite(value) or abs(value) > limit:
        raise ValueOutOfRangeError(name, round(value) if math.isfinite(value) else -1, f"±{limit}")
    return round(value)


def _kwh(name: str, value: float) -> float | None:
    """A float32 energy register (Wh) in kWh; 0 (no car) is None."""
    if not math.isfinite(value) or not 0 <= value <= 1_000_000:
        raise ValueOutOfRangeError(name, -1 if not math.isfinite(value) else round(value), "0..1e6")
    return round(value / 1000, 3) if value else None


def decode_state(code: int) -> tuple[ChargerState, bool | None]:
    """Register 100 as the domain state and whether a car is plugged in."""
    try:
        return STATE_CODES[code]
    except KeyError:
        raise ValueOutOfRangeError("connector_state", code, "0..12") from None


def decode_identity(image: RegisterImage) -> DeviceIdentity:
    """Registers 0..35; a device without a version string is not a BiDiPro."""
    version = image.text(REG_VERSION, 16)
    if version is None or not version.isprintable():
        raise DeviceProtocolError("no EVTEC version string at register 0: not a BiDiPro")
    return DeviceIdentity(
        manufacturer="EVTEC",
        model=image.text(REG_MODEL, 10) or "BiDiPro 10",
        serial_number=image.text(REG_SERIAL, 10) or "",
        firmware_version=version,
    )


class BiDiPro(BlockCharger):
    """An EVTEC BiDiPro 10 on a :class:`ModbusTransport`.

    Identity: version, serial and model (0..35); status: state, power, SoC and the
    error bitfield (100..157); full poll: the idle timeout and every plug register.
    """

    identity_block = IDENTITY_BLOCK
    status_block = STATUS_BLOCK
    full_poll_blocks = FULL_POLL_BLOCKS

    def __init__(
        self,
        transport: ModbusTransport,
        *,
        watchdog_s: int = 60,
        soc_filter: SocFilter | None = None,
    ) -> None:
        """Use ``transport`` for every request; arm the idle timeout with ``watchdog_s``."""
        super().__init__(transport)
        self.watchdog_s = _checked("watchdog_s", watchdog_s, 1, 0xFFFF)
        self._soc_filter = soc_filter or SocFilter()
        self._max_charge_w = MAX_POWER_W
        self._timeout_before: int | None = None
        """The idle timeout the charger had before we first armed ours (put back on release)."""

    @property
    def capabilities(self) -> ChargerCapabilities:
        """What a BiDiPro 10 supports."""
        return CAPABILITIES

    @property
    def armed_timeout_s(self) -> int:
        """The idle timeout written: ``watchdog_s``, at most the charger's 600 s."""
        return min(self.watchdog_s, MAX_IDLE_TIMEOUT_S)

    async def async_take_control(self) -> None:
        """Arm the idle timeout (our watchdog), verified; the session is left as it is."""
        async with self.transport.exclusive() as bus:
            await self._arm(bus)

    async def async_release_control(self) -> None:
        """Stop, then write back the idle timeout the charger had before we armed it."""
        async with self.transport.exclusive() as bus:
            await self._write_setpoint(bus, 0)
            before = self._timeout_before
            if before is not None:
                await self._write_timeout(bus, before)
                self._timeout_before = None

    async def async_set_power(self, power_w: int) -> int:
        """Start (dis)charging at ``power_w`` (0 stops); return the clamped setpoint.

        The idle timeout is armed again first when it is not ours (after a reboot reset
        it). Setpoint and action go out in one write, then are read back.
        """
        async with self.transport.exclusive() as bus:
            await self._arm(bus)
            setpoint = max(-MAX_POWER_W, min(self._max_charge_w, power_w))
            await self._write_setpoint(bus, setpoint)
        return setpoint

    async def async_stop(self) -> None:
        """Stop: setpoint 0, action stop, verified; the idle timeout stays armed."""
        async with self.transport.exclusive() as bus:
            await self._write_setpoint(bus, 0)

    async def _arm(self, bus: ModbusBus) -> None:
        current = (await bus.read_block(TIMEOUT_BLOCK)).s32(REG_IDLE_TIMEOUT)
        wanted = self.armed_timeout_s
        if current == wanted:
            return
        if self._timeout_before is None:
            self._timeout_before = current
        await self._write_timeout(bus, wanted)

    async def _write_timeout(self, bus: ModbusBus, seconds: int) -> None:
        await bus.write_many(REG_IDLE_TIMEOUT, encode_s32(seconds))
        _verify(
            "idle_timeout", seconds, (await bus.read_block(TIMEOUT_BLOCK)).s32(REG_IDLE_TIMEOUT)
        )

    async def _write_setpoint(self, bus: ModbusBus, setpoint: int) -> None:
        action = ACTION_START if setpoint else ACTION_STOP
        await bus.write_many(REG_SETPOINT, [*encode_s32(setpoint), *encode_s32(action)])
        image = await bus.read_block(SETPOINT_BLOCK)
        _verify("power_setpoint", setpoint, image.s32(REG_SETPOINT))
        _verify("action", action, image.s32(REG_ACTION))

    def _decode_identity(self, image: RegisterImage) -> DeviceIdentity:
        return decode_identity(image)

    def _decode_status(self, image: RegisterImage) -> ChargerStatus:
        code = image.s32(REG_STATE)
        state, connected = decode_state(code)
        raw_soc = _checked("soc", image.s32(REG_SOC), 0, 1000)
        return ChargerStatus(
            state=state,
            state_code=code,
            power_w=_watts("actual_power", image.f32(REG_POWER), POWER_RANGE_W),
            soc=self._soc_filter.update(raw_soc / 10, vehicle_connected=connected, context=state),
            errors=ChargerErrors(unrecoverable=image.u64(REG_ERRORS)),
            connected=connected,
        )

    def _decode_snapshot(self, image: RegisterImage) -> ChargerSnapshot:
        status = self._decode_status(image)
        max_charge = _watts("max_charge_power", image.f32(REG_MAX_CHARGE), POWER_RANGE_W)
        self._max_charge_w = max(0, min(MAX_POWER_W, max_charge))
        capacity = _kwh("ev_capacity", image.f32(REG_CAPACITY))
        soc = status.soc.value_pct
        timeout = image.s32(REG_IDLE_TIMEOUT)
        return ChargerSnapshot(
            status=status,
            control=ChargerControl(
                remote=timeout == self.armed_timeout_s,
                autostart=False,
                power_setpoint_mode=True,
                watchdog_s=timeout,
            ),
            locked=None,
            power_setpoint_w=_checked(
                "power_setpoint", image.s32(REG_SETPOINT), -POWER_RANGE_W, POWER_RANGE_W
            ),
            max_available_power_w=MAX_POWER_W,
            max_charge_power_w=self._max_charge_w,
            max_discharge_power_w=MAX_POWER_W,
            vehicle_capacity_kwh=capacity,
            vehicle_energy_kwh=(
                None if capacity is None or soc is None else round(capacity * soc / 100, 3)
            ),
        )


def _verify(name: str, written: int, read_back: int) -> None:
    if written != read_back:
        raise WriteNotVerifiedError(name, written, read_back)


def _build(connection: Connection) -> BiDiPro:
    return BiDiPro(connection.modbus_transport(), watchdog_s=connection.watchdog_s)


FAMILY: Final = DeviceFamily(
    key="bidipro",
    title="EVTEC BiDiPro 10",
    products=("EVTEC BiDiPro 10 (CCS, 10 kW)",),
    default_port=DEFAULT_PORT,
    unit_id=DEFAULT_UNIT_ID,
    watchdog_max_s=MAX_IDLE_TIMEOUT_S,
    build_charger=_build,
)
