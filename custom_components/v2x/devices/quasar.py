"""Wallbox Quasar 1 (CHAdeMO bidirectional DC charger) over Modbus TCP.

Register map: ``shared/reference/protocols.md`` section 1. Holding registers only,
function 0x03 to read and 0x06 to write, unit id 1, signed values in two's
complement. Rows marked [V] there are verified in several independent sources;
the few [C] (community) registers we read are optional: if a device does not
implement them the value is simply ``None``.

Polling cost: a status poll is one request (526..542), a full poll three
(81..88, 256..260, 512..542). Identity (1..3) is read at setup and after reconnects.
"""

from __future__ import annotations

from typing import Final

from .errors import ValueOutOfRangeError, WriteNotVerifiedError
from .family import Connection, DeviceFamily
from .modbus import (
    BlockCharger,
    ModbusBus,
    ModbusTransport,
    RegisterBlock,
    RegisterImage,
    from_signed16,
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

DEFAULT_PORT: Final = 502
DEFAULT_UNIT_ID: Final = 1
MAX_POWER_W: Final = 7400
MIN_POWER_W: Final = 1380
"""The Quasar does not run below 6 A (6 A x 230 V), charging or discharging."""

# [V] registers
REG_FIRMWARE: Final = 1
REG_SERIAL_HIGH: Final = 2
REG_SERIAL_LOW: Final = 3
REG_CONTROL: Final = 81  # 0 user (app), 1 remote (Modbus)
REG_AUTOSTART: Final = 82  # 1 start when the gun is connected; must be 0 under remote control
REG_SETPOINT_TYPE: Final = 83  # 0 current, 1 power
REG_WATCHDOG: Final = 88  # Modbus idle timeout, seconds; 0 disabled
REG_LOCK: Final = 256
REG_ACTION: Final = 257  # 1 start, 2 stop, 3 restart, 4 update firmware
REG_CURRENT_SETPOINT: Final = 258  # int16 A (used when 83 = 0)
REG_POWER_SETPOINT: Final = 260  # int16 W, + charge, - discharge (used when 83 = 1)
REG_MAX_POWER: Final = 514
REG_ACTUAL_POWER: Final = 526  # int16 W, + charging, - discharging
REG_STATE: Final = 537
REG_SOC: Final = 538
REG_ERROR_UNRECOVERABLE: Final = 539  # 539 high word, 540 low word
REG_ERROR_RECOVERABLE: Final = 541  # 541 high word, 542 low word
# [C] registers: community sources only, read when the device has them
REG_MAX_CURRENT: Final = 512
REG_AC_CURRENT: Final = 519
REG_AC_VOLTAGE: Final = 522

ACTION_START: Final = 1
ACTION_STOP: Final = 2

STATE_CODES: Final[dict[int, ChargerState]] = {
    0: ChargerState.NO_CAR,
    1: ChargerState.CHARGING,
    2: ChargerState.WAITING_FOR_CAR_DEMAND,
    3: ChargerState.CONTROLLED_BY_APP,
    4: ChargerState.PAUSED,
    5: ChargerState.END_OF_SCHEDULE,
    6: ChargerState.LOCKED,
    7: ChargerState.ERROR,
    8: ChargerState.QUEUED_POWER_SHARING,
    9: ChargerState.POWER_SHARING_UNCONFIGURED,
    10: ChargerState.QUEUED_POWER_BOOST,
    11: ChargerState.DISCHARGING,
}

_STATUS_ADDRESSES = (REG_ACTUAL_POWER, *range(REG_STATE, REG_ERROR_RECOVERABLE + 2))
IDENTITY_BLOCK: Final = RegisterBlock.spanning(
    "identity", (REG_FIRMWARE, REG_SERIAL_HIGH, REG_SERIAL_LOW)
)
CONTROL_BLOCK: Final = RegisterBlock.spanning(
    "control", (REG_CONTROL, REG_AUTOSTART, REG_SETPOINT_TYPE, REG_WATCHDOG)
)
SETPOINT_BLOCK: Final = RegisterBlock.spanning(
    "setpoints", (REG_LOCK, REG_ACTION, REG_CURRENT_SETPOINT, REG_POWER_SETPOINT)
)
STATUS_BLOCK: Final = RegisterBlock.spanning("status", _STATUS_ADDRESSES)
MEASUREMENT_BLOCK: Final = RegisterBlock(
    "measurements",
    REG_MAX_CURRENT,
    REG_ERROR_RECOVERABLE + 2 - REG_MAX_CURRENT,
    frozenset((REG_MAX_POWER, *_STATUS_ADDRESSES)),
)
FULL_POLL_BLOCKS: Final = (CONTROL_BLOCK, SETPOINT_BLOCK, MEASUREMENT_BLOCK)

CAPABILITIES: Final = ChargerCapabilities(
    bidirectional=True,
    watchdog=True,
    reports_grid=False,
    ac_measurements=True,
    max_power_w=MAX_POWER_W,
    states=tuple(STATE_CODES.values()),
    min_power_w=MIN_POWER_W,
)


def _checked(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueOutOfRangeError(name, value, f"{low}..{high}")
    return value


def _flag(name: str, value: int) -> bool:
    return bool(_checked(name, value, 0, 1))


def _optional(image: RegisterImage, address: int) -> int | None:
    return image.u16(address) if address in image else None


def firmware_text(raw: int) -> str:
    """Register 1 as Wallbox writes the version.

    5130 is 5.13.0 (major, two-digit minor, patch digit), 3400 is 3.40.0. A value below
    1000 is shown as read.
    """
    if raw < 1000:
        return str(raw)
    return f"{raw // 1000}.{raw // 10 % 100}.{raw % 10}"


def decode_identity(image: RegisterImage) -> DeviceIdentity:
    """Decode registers 1..3."""
    serial = image.u32(REG_SERIAL_HIGH)
    return DeviceIdentity(
        manufacturer="Wallbox",
        model="Quasar 1",
        serial_number=str(serial),
        firmware_version=firmware_text(image.u16(REG_FIRMWARE)),
    )


def decode_state(code: int) -> ChargerState:
    """Map the charger state register (537) to the domain state."""
    try:
        return STATE_CODES[code]
    except KeyError:
        raise ValueOutOfRangeError("charger_state", code, "0..11") from None


def decode_control(image: RegisterImage) -> ChargerControl:
    """Decode registers 81..88."""
    return ChargerControl(
        remote=_flag("control", image.u16(REG_CONTROL)),
        autostart=_flag("autostart", image.u16(REG_AUTOSTART)),
        power_setpoint_mode=_flag("setpoint_type", image.u16(REG_SETPOINT_TYPE)),
        watchdog_s=image.u16(REG_WATCHDOG),
    )


class Quasar1(BlockCharger):
    """A Wallbox Quasar 1 on a :class:`ModbusTransport`.

    Identity: firmware and serial number (1..3); status: state, power, SoC and error
    words (526..542); full poll: control, setpoints and measurements (three requests).
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
        """Use ``transport`` for every request; arm the watchdog with ``watchdog_s``."""
        super().__init__(transport)
        self.watchdog_s = _checked("watchdog_s", watchdog_s, 1, 0xFFFF)
        self._soc_filter = soc_filter or SocFilter()
        self._max_power_w = MAX_POWER_W

    @property
    def capabilities(self) -> ChargerCapabilities:
        """What a Quasar 1 supports."""
        return CAPABILITIES

    async def async_take_control(self) -> None:
        """Remote control, no autostart, power setpoints, watchdog armed."""
        async with self.transport.exclusive() as bus:
            await self._take_control(bus)

    async def async_release_control(self) -> None:
        """Setpoint 0, then control back to the user (app)."""
        async with self.transport.exclusive() as bus:
            await bus.write(REG_POWER_SETPOINT, 0)
            await bus.write(REG_CONTROL, 0)
            image = await bus.read_block(CONTROL_BLOCK)
            _verify("control", 0, image.u16(REG_CONTROL))

    async def async_set_power(self, power_w: int) -> int:
        """Start (dis)charging at ``power_w`` (0 stops); return the clamped setpoint.

        Takes remote control first when the charger is not (or no longer) under it,
        e.g. after a reboot or a watchdog expiry reset it.
        """
        async with self.transport.exclusive() as bus:
            control = decode_control(await bus.read_block(CONTROL_BLOCK))
            if control != self._wanted_control():
                await self._take_control(bus)
            max_power = self._max_power_w = _checked(
                "max_available_power",
                (await bus.read(REG_MAX_POWER, 1))[0],
                0,
                MAX_POWER_W,
            )
            setpoint = max(-max_power, min(max_power, power_w))
            action = ACTION_START if setpoint else ACTION_STOP
            await bus.write(REG_ACTION, action)
            await bus.write(REG_POWER_SETPOINT, from_signed16(setpoint))
            await self._verify_setpoints(bus, action, setpoint)
        return setpoint

    async def async_stop(self) -> None:
        """Stop (dis)charging: action 2, setpoint 0; remote control is kept."""
        async with self.transport.exclusive() as bus:
            await bus.write(REG_ACTION, ACTION_STOP)
            await bus.write(REG_POWER_SETPOINT, 0)
            await self._verify_setpoints(bus, ACTION_STOP, 0)

    def _wanted_control(self) -> ChargerControl:
        return ChargerControl(
            remote=True, autostart=False, power_setpoint_mode=True, watchdog_s=self.watchdog_s
        )

    async def _take_control(self, bus: ModbusBus) -> None:
        wanted = {
            REG_CONTROL: 1,
            REG_AUTOSTART: 0,
            REG_SETPOINT_TYPE: 1,
            REG_WATCHDOG: self.watchdog_s,
        }
        for address, value in wanted.items():
            await bus.write(address, value)
        image = await bus.read_block(CONTROL_BLOCK)
        for address, value in wanted.items():
            _verify(f"register {address}", value, image.u16(address))

    async def _verify_setpoints(self, bus: ModbusBus, action: int, setpoint: int) -> None:
        image = await bus.read_block(SETPOINT_BLOCK)
        _verify("action", action, image.u16(REG_ACTION))
        _verify("power_setpoint", setpoint, image.s16(REG_POWER_SETPOINT))

    def _decode_identity(self, image: RegisterImage) -> DeviceIdentity:
        return decode_identity(image)

    def _decode_status(self, image: RegisterImage) -> ChargerStatus:
        state_code = image.u16(REG_STATE)
        state = decode_state(state_code)
        power = _checked("actual_power", image.s16(REG_ACTUAL_POWER), -MAX_POWER_W, MAX_POWER_W)
        raw_soc = _checked("soc", image.u16(REG_SOC), 0, 100)
        return ChargerStatus(
            state=state,
            state_code=state_code,
            power_w=power,
            soc=self._soc_filter.update(
                raw_soc, vehicle_connected=state.vehicle_connected, context=state
            ),
            errors=ChargerErrors(
                unrecoverable=image.u32(REG_ERROR_UNRECOVERABLE),
                recoverable=image.u32(REG_ERROR_RECOVERABLE),
            ),
        )

    def _decode_snapshot(self, image: RegisterImage) -> ChargerSnapshot:
        max_power = _checked("max_available_power", image.u16(REG_MAX_POWER), 0, MAX_POWER_W)
        self._max_power_w = max_power
        current_setpoint = image.s16(REG_CURRENT_SETPOINT)
        return ChargerSnapshot(
            status=self._decode_status(image),
            control=decode_control(image),
            locked=_flag("lock", image.u16(REG_LOCK)),
            power_setpoint_w=_checked(
                "power_setpoint", image.s16(REG_POWER_SETPOINT), -MAX_POWER_W, MAX_POWER_W
            ),
            max_available_power_w=max_power,
            current_setpoint_a=_checked("current_setpoint", current_setpoint, -32, 32),
            max_available_current_a=_optional(image, REG_MAX_CURRENT),
            ac_current_a=(image.s16(REG_AC_CURRENT) if REG_AC_CURRENT in image else None),
            ac_voltage_v=_optional(image, REG_AC_VOLTAGE),
        )


def _verify(name: str, written: int, read_back: int) -> None:
    if written != read_back:
        raise WriteNotVerifiedError(name, written, read_back)


def _build(connection: Connection) -> Quasar1:
    return Quasar1(connection.modbus_transport(), watchdog_s=connection.watchdog_s)


FAMILY: Final = DeviceFamily(
    key="quasar1",
    title="Wallbox Quasar 1",
    products=("Wallbox Quasar 1 (CHAdeMO, 7.4 kW)",),
    default_port=DEFAULT_PORT,
    unit_id=DEFAULT_UNIT_ID,
    build_charger=_build,
)
