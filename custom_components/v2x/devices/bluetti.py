"""Bluetti portable power stations (AC500 family) over Modbus TCP.

Reference: protocols.md section 5.1 and the community register list it cites
(bluetti-community/bluetti-registers ``modbus-tcp/ac500.json`` and ``fields.py``),
which relays Bluetti's official list corrected against real hardware.

What the hardware reports teach, and this profile follows:

* unit id 1 only (another id froze an AC500's Modbus stack until a power cycle);
* few simultaneous connections and a weak stack: poll gently (default 30 s), one
  request at a time, and never read across an undocumented address: an AC500 times
  out (or drops the connection) instead of answering exception 2, so every block
  here covers documented registers only;
* the three power totals are single registers on the AC500 family;
* the model string (50200, 6 registers) has its two bytes swapped in each register;
  the serial number (50206) is 4 registers, low word first; versions (50210,
  50212) are 2 registers, low word first, major*100 + minor;
* write responses echo an internal address instead of the Modbus one, so writes are
  verified by reading the register back, never by the echo;
* the SoC thresholds (57016/57017) refuse writes; the AC500's grid-charging switch
  (57009) is stuck at 1: both are read-only here. On the EP500Pro a write to 57009 is
  accepted and the state follows, so there it is a switch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from .errors import CommandRefusedError, ValueOutOfRangeError, WriteNotVerifiedError
from .family import Connection, DeviceFamily, PollLimits
from .modbus import ModbusProfile, ModbusTransport, RegisterBlock, RegisterImage, to_signed16
from .model import (
    BatteryCapabilities,
    BatteryReading,
    BatteryState,
    DeviceIdentity,
    SocReading,
)

DEFAULT_PORT: Final = 502
UNIT_ID: Final = 1
DEFAULT_POLL_INTERVAL_S: Final = 30

REG_AC_OUTPUT_POWER: Final = 50002  # uint16 W
REG_PV_INPUT_POWER: Final = 50004  # uint16 W
REG_GRID_INPUT_POWER: Final = 50006  # int16 W, signed
REG_AC_OUTPUT_ENERGY: Final = 50012  # uint32, 0.1 kWh
REG_GRID_EXPORT_ENERGY: Final = 50018  # uint32, 0.1 kWh
REG_MODEL: Final = 50200  # 6 registers, bytes swapped
REG_SERIAL: Final = 50206  # 4 registers, low word first
REG_VERSION_ARM: Final = 50210  # 2 registers, low word first
REG_VERSION_DSP: Final = 50212
REG_GRID_FREQUENCY: Final = 50214  # 0.01 Hz on the AC500 family
REG_PACK_COUNT: Final = 51001
REG_BATTERY_VOLTAGE: Final = 51002  # 0.1 V (0.01 V on the AC200L)
REG_BATTERY_CURRENT: Final = 51003  # 0.1 A magnitude (sign not confirmed)
REG_SOC: Final = 51004
REG_AC_OUTPUT_SWITCH: Final = 57001
REG_DC_OUTPUT_SWITCH: Final = 57005
REG_GRID_CHARGE_SWITCH: Final = 57009
REG_SOC_LOW: Final = 57016
REG_SOC_HIGH: Final = 57017

GRID_PRESENT_HZ: Final = 40.0

IDENTITY_BLOCK: Final = RegisterBlock("identity", REG_MODEL, 14)
POLL_BLOCKS: Final = (
    RegisterBlock("ac_output_power", REG_AC_OUTPUT_POWER, 1),
    RegisterBlock("pv_input_power", REG_PV_INPUT_POWER, 1),
    RegisterBlock("grid_input_power", REG_GRID_INPUT_POWER, 1),
    RegisterBlock("ac_output_energy", REG_AC_OUTPUT_ENERGY, 2),
    RegisterBlock("grid_export_energy", REG_GRID_EXPORT_ENERGY, 2),
    RegisterBlock("grid_frequency", REG_GRID_FREQUENCY, 1),
    RegisterBlock("battery", REG_PACK_COUNT, 4),
    RegisterBlock("ac_output_switch", REG_AC_OUTPUT_SWITCH, 1),
    RegisterBlock("dc_output_switch", REG_DC_OUTPUT_SWITCH, 1),
    RegisterBlock("grid_charge_switch", REG_GRID_CHARGE_SWITCH, 1),
    RegisterBlock("soc_limits", REG_SOC_LOW, 2),
)


@dataclass(frozen=True, slots=True)
class BluettiModel:
    """Per-model differences within the AC500 register family."""

    name: str
    battery_voltage_scale: float = 0.1
    battery_current_scale: float = 0.1
    grid_charge_writable: bool = False
    pack_capacity_kwh: float | None = None
    max_output_w: int = 2000

    def default_capacity_kwh(self, pack_count: int) -> float | None:
        """An estimate of the usable capacity, until the user configures one."""
        if self.pack_capacity_kwh is None or pack_count <= 0:
            return None
        return round(self.pack_capacity_kwh * pack_count, 3)


MODELS: Final = {
    # Capacities and output ratings are [C] (product data sheets): defaults until configured.
    "AC500": BluettiModel("AC500", pack_capacity_kwh=3.072, max_output_w=5000),  # per B300
    # EP500Pro: a write to 57009 is accepted and the state follows (field report).
    "EP500P": BluettiModel(
        "EP500P", grid_charge_writable=True, pack_capacity_kwh=5.1, max_output_w=2000
    ),
    "AC200L": BluettiModel(
        "AC200L",
        battery_voltage_scale=0.01,
        battery_current_scale=0.01,
        pack_capacity_kwh=2.048,
        max_output_w=2400,
    ),
}
UNKNOWN_MODEL: Final = BluettiModel("unknown")


@dataclass(frozen=True, slots=True)
class BluettiStatus:
    """One poll of a Bluetti station."""

    soc_pct: int
    pack_count: int
    battery_voltage_v: float
    battery_current_a: float
    ac_output_power_w: int
    pv_input_power_w: int
    grid_input_power_w: int
    ac_output_energy_kwh: float
    grid_export_energy_kwh: float
    grid_frequency_hz: float
    ac_output_on: bool
    dc_output_on: bool
    grid_charge_on: bool
    soc_low_pct: int
    soc_high_pct: int

    @property
    def grid_available(self) -> bool:
        """Grid present when the station measures a grid frequency."""
        return self.grid_frequency_hz >= GRID_PRESENT_HZ

    @property
    def battery_power_w(self) -> int:
        """Estimated battery power (+ charging): inputs minus the AC output.

        The AC500 map has no battery power register; DC output and conversion losses
        are not included.
        """
        return self.grid_input_power_w + self.pv_input_power_w - self.ac_output_power_w

    def reading(self, capacity_kwh: float | None) -> BatteryReading:
        """This poll in the shared battery vocabulary."""
        return BatteryReading(
            state=self.battery_state(capacity_kwh),
            grid_input_w=self.grid_input_power_w,
            solar_input_w=self.pv_input_power_w,
            home_output_w=self.ac_output_power_w,
            dc_output_on=self.dc_output_on,
            grid_charge_on=self.grid_charge_on,
            battery_voltage_v=round(self.battery_voltage_v, 2),
            battery_current_a=round(self.battery_current_a, 2),
            pack_count=self.pack_count,
        )

    def battery_state(self, capacity_kwh: float | None) -> BatteryState:
        """The shared view of this battery."""
        remaining = None
        discharge = -self.battery_power_w
        if capacity_kwh is not None and discharge > 0:
            energy = max(0.0, (self.soc_pct - self.soc_low_pct) / 100.0 * capacity_kwh)
            remaining = energy * 1000.0 / discharge * 60.0
        return BatteryState(
            soc=SocReading(float(self.soc_pct)),
            power_w=self.battery_power_w,
            capacity_kwh=capacity_kwh,
            min_soc_pct=float(self.soc_low_pct),
            max_soc_pct=float(self.soc_high_pct),
            output_enabled=self.ac_output_on,
            output_power_w=self.ac_output_power_w,
            input_power_w=max(0, self.grid_input_power_w) + self.pv_input_power_w,
            grid_available=self.grid_available,
            remaining_minutes=remaining,
        )


def decode_swapped_string(registers: list[int]) -> str:
    """ASCII with the first character of each register in the low byte."""
    raw = bytes(b for value in registers for b in (value & 0xFF, value >> 8))
    return raw.split(b"\0", 1)[0].decode("ascii", errors="replace").strip()


def decode_serial(registers: list[int]) -> str:
    """Four registers, low word first."""
    return str(sum(value << (16 * index) for index, value in enumerate(registers)))


def decode_version(low: int, high: int) -> str:
    """Two registers, low word first: major * 100 + minor."""
    value = low + (high << 16)
    return f"{value // 100}.{value % 100:02d}"


def _range(name: str, value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise ValueOutOfRangeError(name, value, f"{low}..{high}")
    return value


def _bool(name: str, value: int) -> bool:
    return bool(_range(name, value, 0, 1))


class BluettiStation(ModbusProfile):
    """A Bluetti AC500-family power station on a :class:`ModbusTransport`."""

    def __init__(self, transport: ModbusTransport) -> None:
        """Use ``transport`` (unit id 1) for every request."""
        if transport.unit_id != UNIT_ID:
            raise ValueOutOfRangeError("unit_id", transport.unit_id, "1 (Bluetti answers 1 only)")
        super().__init__(transport)
        self.model = UNKNOWN_MODEL
        self.capacity_kwh: float | None = None

    @property
    def capabilities(self) -> BatteryCapabilities:
        """AC and DC switches; grid charging where the model allows; no limits."""
        return BatteryCapabilities(
            dc_output_switch=True,
            grid_charge_switch=self.model.grid_charge_writable,
            max_output_w=self.model.max_output_w,
        )

    async def async_read_grid(self) -> bool | None:
        """Grid present when the station measures a frequency (one register)."""
        async with self.transport.exclusive() as bus:
            raw = (await bus.read(REG_GRID_FREQUENCY, 1))[0]
        return _range("grid_frequency", raw, 0, 7000) / 100.0 >= GRID_PRESENT_HZ

    async def async_read(self) -> BatteryReading:
        """Poll, in the shared vocabulary."""
        status = await self.async_read_status()
        capacity = self.capacity_kwh
        if capacity is None:
            capacity = self.model.default_capacity_kwh(status.pack_count)
        return status.reading(capacity)

    async def async_set_output(self, *, enabled: bool, limit_w: int | None = None) -> None:
        """Switch the AC outlets; the AC500 map has no output limit."""
        if limit_w is not None:
            raise CommandRefusedError("not_supported", "Bluetti stations have no output limit")
        await self.async_set_ac_output(enabled)

    async def async_set_input_limit(self, limit_w: int) -> None:
        """Not in the AC500 register map."""
        raise CommandRefusedError("not_supported", "Bluetti stations have no input limit")

    async def async_set_soc_limits(
        self, *, min_pct: float | None = None, max_pct: float | None = None
    ) -> None:
        """The thresholds refuse writes on the AC500 family (read-only)."""
        raise CommandRefusedError(
            "not_supported", "the SoC thresholds are read-only on this station"
        )

    async def async_read_identity(self) -> DeviceIdentity:
        """Model, serial and firmware (one request over 50200..50213)."""
        async with self.transport.exclusive() as bus:
            registers = await bus.read(IDENTITY_BLOCK.start, IDENTITY_BLOCK.count)
        model = decode_swapped_string(registers[0:6])
        self.model = MODELS.get(model, UNKNOWN_MODEL)
        arm = decode_version(registers[10], registers[11])
        dsp = decode_version(registers[12], registers[13])
        return DeviceIdentity(
            manufacturer="Bluetti",
            model=model or "AC500 family",
            serial_number=decode_serial(registers[6:10]),
            firmware_version=f"ARM {arm} / DSP {dsp}",
        )

    async def async_read_status(self) -> BluettiStatus:
        """Read every documented register, one block at a time."""
        image = RegisterImage()
        async with self.transport.exclusive() as bus:
            for block in POLL_BLOCKS:
                await bus.read_block(block, image)
        model = self.model
        return BluettiStatus(
            soc_pct=_range("soc", image.u16(REG_SOC), 0, 100),
            pack_count=_range("pack_count", image.u16(REG_PACK_COUNT), 0, 16),
            battery_voltage_v=image.u16(REG_BATTERY_VOLTAGE) * model.battery_voltage_scale,
            battery_current_a=image.u16(REG_BATTERY_CURRENT) * model.battery_current_scale,
            ac_output_power_w=_range("ac_output_power", image.u16(REG_AC_OUTPUT_POWER), 0, 20_000),
            pv_input_power_w=_range("pv_input_power", image.u16(REG_PV_INPUT_POWER), 0, 20_000),
            grid_input_power_w=_range(
                "grid_input_power", to_signed16(image.u16(REG_GRID_INPUT_POWER)), -20_000, 20_000
            ),
            ac_output_energy_kwh=image.u32(REG_AC_OUTPUT_ENERGY) / 10.0,
            grid_export_energy_kwh=image.u32(REG_GRID_EXPORT_ENERGY) / 10.0,
            grid_frequency_hz=_range("grid_frequency", image.u16(REG_GRID_FREQUENCY), 0, 7000)
            / 100.0,
            ac_output_on=_bool("ac_output_switch", image.u16(REG_AC_OUTPUT_SWITCH)),
            dc_output_on=_bool("dc_output_switch", image.u16(REG_DC_OUTPUT_SWITCH)),
            grid_charge_on=_bool("grid_charge_switch", image.u16(REG_GRID_CHARGE_SWITCH)),
            soc_low_pct=_range("soc_low", image.u16(REG_SOC_LOW), 0, 100),
            soc_high_pct=_range("soc_high", image.u16(REG_SOC_HIGH), 0, 100),
        )

    async def async_set_ac_output(self, on: bool) -> None:
        """Switch the AC outlets (57001) and verify."""
        await self._write_switch("ac_output_switch", REG_AC_OUTPUT_SWITCH, on)

    async def async_set_dc_output(self, on: bool) -> None:
        """Switch the DC outlets (57005) and verify."""
        await self._write_switch("dc_output_switch", REG_DC_OUTPUT_SWITCH, on)

    async def async_set_grid_charge(self, on: bool) -> None:
        """Allow charging from the grid (57009), on models where it is writable."""
        if not self.model.grid_charge_writable:
            raise CommandRefusedError(
                "not_supported", f"grid charging cannot be switched on a {self.model.name}"
            )
        await self._write_switch("grid_charge_switch", REG_GRID_CHARGE_SWITCH, on)

    async def _write_switch(self, name: str, address: int, on: bool) -> None:
        async with self.transport.exclusive() as bus:
            await bus.write(address, int(on))
            read_back = (await bus.read(address, 1))[0]
        if read_back != int(on):
            raise WriteNotVerifiedError(name, int(on), read_back)


def _build(connection: Connection) -> BluettiStation:
    return BluettiStation(connection.modbus_transport(UNIT_ID))


# A weak Modbus stack: 30 s polls by default, never faster than 15 s.
FAMILY: Final = DeviceFamily(
    key="bluetti",
    title="Bluetti power station",
    products=("AC500", "EP500Pro", "AC200L"),
    default_port=DEFAULT_PORT,
    timeout_s=5.0,
    poll=PollLimits(default_s=DEFAULT_POLL_INTERVAL_S, min_s=15),
    build_battery=_build,
)
