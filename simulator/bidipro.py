"""Simulated EVTEC BiDiPro 10 (bidirectional CCS DC charger), from protocols.md section 1.6.

Written independently of the integration (no imports from ``custom_components``).

The map ("provided by EV2Grid as is", ECP4 / Modbus 2.0): holding registers, unit id
1, big-endian with the high word first. Charge-point registers are 0..99, the plug's
at ``plug * 100 + offset`` (this twin has one plug: 100..199).

* 0 version string (16 registers, also the signature), 16 serial (10), 26 model (10);
  strings carry two ASCII characters per register, high byte first, NUL padded;
* 42 int32 communication idle timeout, seconds, 0..600 (0: disabled);
* 100 int32 connector state (0 boot, 1 ready (no car), 2 unavailable, 3 reserved,
  4 contract authorisation, 5 plugged in, 6 initialise connection, 7 current demand
  (charging), 8 grid feed-in (discharging), 9 session stop, 10 wait for grid,
  11 charging end, 12 error); 110 float32 actual power W (+ charging, - feeding);
  112 int32 EV SoC in per mille; 114 int32 connector type (1 CCS); 130 float32 max
  charge power W; 154 int64 error bitfield; 158 / 162 float32 EV battery capacity /
  EV minimum battery capacity Wh; 176 car id string (10); 186 int32 power setpoint W
  (negative = discharge); 188 int32 action, 1 start, 0 stop.

What the section does not say, and this twin chooses:

* Reads of 0..199 are answered; inside them, addresses the map does not name read 0
  (protocols.md section 7), unless ``strict_gaps`` is set: then a read covering an
  undocumented address answers exception 2, as the Quasar's strict twin does.
* Every writable value is 32 bits wide and is written with function 0x10 covering
  whole values (42-43, 186-187, 188-189, or 186-189 at once); a write that splits a
  value, touches a read-only register or uses function 0x06 answers exception 2.
  Values out of range (timeout above 600 s, |setpoint| above 20000 W, an action other
  than 0 or 1) answer exception 3, and nothing of that request is applied.
* The idle timeout counts any Modbus request. When it runs out while a session runs
  (or a setpoint is set), the charger stops: action 0, setpoint 0.
* The charger runs only between a start (188 = 1) and a stop; it never starts by
  itself (no car charges before a controller starts it). A setpoint beyond the rating
  runs at the rating. Charging needs the grid (state 10 while it waits for it);
  feeding the house does not.
* A reboot drops the connections, refuses new ones for ``reboot_boot_s``, then
  reports state 0 (boot) for ``reboot_init_s``; it stops the session and resets the
  idle timeout to 0 (disabled), setpoint and action to 0.
* SoC reads 0 without a car (a CCS car reports its SoC over the plug once connected).

Faults: refuse, stall, drop, exception, short and garbage as every Modbus twin;
``reboot`` as above; ``soc_glitch`` makes register 112 read 10 (1 %) for ``count``
reads; ``error`` sets the error bitfield to ``code`` and state 12, and the charger
stops delivering power until the fault is cleared.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
import math
import struct
from typing import TYPE_CHECKING, Any

from .battery import Battery
from .clock import SimClock
from .faults import Fault, FaultKind
from .modbus_server import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, ModbusError
from .modbus_twin import ModbusTwin
from .records import WriteRecord
from .registry import TwinKind, register
from .twin import ChargerTwin, with_car

if TYPE_CHECKING:
    from .world import Grid

STATE_BOOT = 0
STATE_READY = 1
STATE_PLUGGED_IN = 5
STATE_CHARGING = 7
STATE_FEEDING = 8
STATE_WAIT_FOR_GRID = 10
STATE_CHARGING_END = 11
STATE_ERROR = 12

REG_VERSION = 0
REG_SERIAL = 16
REG_MODEL = 26
REG_IDLE_TIMEOUT = 42
REG_STATE = 100
REG_POWER = 110
REG_SOC = 112
REG_CONNECTOR = 114
REG_MAX_CHARGE = 130
REG_ERRORS = 154
REG_CAPACITY = 158
REG_MIN_CAPACITY = 162
REG_CAR_ID = 176
REG_SETPOINT = 186
REG_ACTION = 188

MAX_IDLE_TIMEOUT_S = 600
MAX_SETPOINT_W = 20000
CONNECTOR_CCS = 1
_STRINGS = {REG_VERSION: 16, REG_SERIAL: 10, REG_MODEL: 10, REG_CAR_ID: 10}
_READABLE = range(200)
_DOCUMENTED = frozenset(
    (
        *range(36),
        42,
        43,
        100,
        101,
        *range(110, 116),
        130,
        131,
        *range(154, 160),
        162,
        163,
        *range(176, 190),
    )
)
_WRITABLE_VALUES = (REG_IDLE_TIMEOUT, REG_SETPOINT, REG_ACTION)
_EPSILON_W = 1.0


def int32_words(value: int) -> list[int]:
    """Two registers of a two's-complement int32, high word first."""
    raw = value & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


def int64_words(value: int) -> list[int]:
    """Four registers of an int64, high word first."""
    raw = value & 0xFFFFFFFFFFFFFFFF
    return [(raw >> shift) & 0xFFFF for shift in (48, 32, 16, 0)]


def float32_words(value: float) -> list[int]:
    """Two registers of an IEEE 754 float32, high word first."""
    high, low = struct.unpack(">HH", struct.pack(">f", value))
    return [high, low]


def string_words(text: str, count: int) -> list[int]:
    """``count`` registers of ASCII text, two characters each, NUL padded."""
    raw = text.encode("ascii")[: 2 * count].ljust(2 * count, b"\0")
    return [(raw[i] << 8) | raw[i + 1] for i in range(0, 2 * count, 2)]


def _int32(words: list[int]) -> int:
    raw = (words[0] << 16) | words[1]
    return raw - 0x100000000 if raw & 0x80000000 else raw


@dataclass(slots=True)
class BiDiProConfig:
    """Static parameters of one simulated BiDiPro 10 with its car."""

    name: str = "bidipro"
    port: int = 5020
    unit_id: int = 1
    serial: str = "BDP10-000042"
    model: str = "BiDiPro 10"
    version: str = "ECP4 2.0.7"
    max_power_w: int = 10000
    ramp_w_per_s: float = 5000.0
    car_id: str = "WVWZZZE1Z0P000001"
    strict_gaps: bool = False
    reboot_boot_s: float = 5.0
    reboot_init_s: float = 20.0
    car: Battery = field(default_factory=lambda: Battery(capacity_kwh=58.0, soc_pct=60.0))
    plugged: bool = True

    def __post_init__(self) -> None:
        """Validate what the registers must be able to carry."""
        for key, count in (("version", 16), ("serial", 10), ("model", 10), ("car_id", 10)):
            text = getattr(self, key)
            if not isinstance(text, str) or not text.isascii() or len(text) > 2 * count:
                raise ValueError(f"{key} must be ASCII of at most {2 * count} characters")
        if not 0 < self.max_power_w <= MAX_SETPOINT_W:
            raise ValueError(f"max_power_w must be in 1..{MAX_SETPOINT_W}")
        if self.ramp_w_per_s <= 0 or self.reboot_boot_s < 0 or self.reboot_init_s < 0:
            raise ValueError("the ramp must be positive, the reboot times >= 0")


class BiDiProTwin(ModbusTwin[BiDiProConfig], ChargerTwin[BiDiProConfig]):
    """The register map and physics of one BiDiPro 10 with its car."""

    label = "EVTEC BiDiPro 10"

    @property
    def rated_discharge_w(self) -> float:
        """It feeds the house at up to its rating."""
        return float(self.config.max_power_w)

    def __init__(self, config: BiDiProConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """The charger as it comes up: stopped, idle timeout disabled."""
        super().__init__(config, clock, grid)
        self.idle_timeout_s = 0
        self.setpoint_w = 0
        self.action = 0
        self.error_bits = 0
        self.watchdog_expiries = 0
        self._last_request = self._time
        self._boot_until = -1.0
        self._init_until = -1.0
        self._values: dict[int, Callable[[], list[int]]] = {
            REG_IDLE_TIMEOUT: lambda: int32_words(self.idle_timeout_s),
            REG_STATE: lambda: int32_words(self.state_code()),
            REG_POWER: lambda: float32_words(self.actual_power_w),
            REG_SOC: lambda: int32_words(self.soc_register()),
            REG_CONNECTOR: lambda: int32_words(CONNECTOR_CCS),
            REG_MAX_CHARGE: lambda: float32_words(float(config.max_power_w)),
            REG_ERRORS: lambda: int64_words(self.error_bits),
            REG_CAPACITY: lambda: float32_words(self._capacity_wh()),
            REG_MIN_CAPACITY: lambda: float32_words(
                self._capacity_wh() * self.battery.discharge_floor_pct / 100
            ),
            REG_SETPOINT: lambda: int32_words(self.setpoint_w),
            REG_ACTION: lambda: int32_words(self.action),
        }

    # -- the world ----------------------------------------------------------------------

    def banner(self) -> str:
        """What the command line prints when the charger serves."""
        return f"{super().banner()} (unit {self.config.unit_id})"

    @property
    def running(self) -> bool:
        """Whether a session runs (started, not stopped)."""
        return self.action == 1

    @property
    def rebooting(self) -> bool:
        """Whether the charger is still in its boot phase after a restart."""
        return self.clock.now() < self._init_until

    @property
    def booting(self) -> bool:
        """Whether the charger is starting and has no network yet."""
        return self.clock.now() < self._boot_until

    def _capacity_wh(self) -> float:
        return self.battery.capacity_kwh * 1000 if self.plugged else 0.0

    def _step_events(self) -> list[float]:
        if self.idle_timeout_s and (self.running or self.setpoint_w):
            return [self._last_request + self.idle_timeout_s]
        return []

    def _step(self, dt: float) -> None:
        t = self._time + dt
        if (
            self.idle_timeout_s
            and (self.running or self.setpoint_w)
            and t - self._last_request >= self.idle_timeout_s
        ):
            self.action = 0
            self.setpoint_w = 0
            self.watchdog_expiries += 1
        target = self.battery.power_limit_w(self._target_power())
        if not self.grid_available:
            target = min(target, 0.0)
            self.actual_power_w = min(self.actual_power_w, 0.0)  # nothing to charge from
        ramp = self.config.ramp_w_per_s * dt
        previous = self.actual_power_w
        self.actual_power_w += max(-ramp, min(ramp, target - previous))
        self.battery.step((previous + self.actual_power_w) / 2, dt)

    def _target_power(self) -> float:
        if not self.plugged or self.rebooting or self.error_bits or not self.running:
            return 0.0
        limit = float(self.config.max_power_w)
        return max(-limit, min(limit, float(self.setpoint_w)))

    def state_code(self) -> int:
        """Register 100 as the charger would report it now."""
        if self.error_bits:
            return STATE_ERROR
        if self.rebooting:
            return STATE_BOOT
        if not self.plugged:
            return STATE_READY
        if self.actual_power_w >= _EPSILON_W:
            return STATE_CHARGING
        if self.actual_power_w <= -_EPSILON_W:
            return STATE_FEEDING
        if self.running and self.setpoint_w > 0:
            if not self.grid_available:
                return STATE_WAIT_FOR_GRID
            if self.battery.power_limit_w(1.0) == 0.0:
                return STATE_CHARGING_END
        return STATE_PLUGGED_IN

    def soc_register(self) -> int:
        """Register 112: the car's SoC in per mille (0 without a car)."""
        if not self.plugged:
            return 0
        if self.soc_glitch_reads > 0:
            self.soc_glitch_reads -= 1
            return 10
        return round(self.battery.soc_pct * 10)

    # -- lifecycle, faults and world events -----------------------------------------------

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        if self.apply_common_fault(fault):
            return
        self.advance()
        if fault.kind is FaultKind.SOC_GLITCH:
            self.soc_glitch_reads = fault.count
        else:  # FaultKind.ERROR
            self.error_bits = fault.code

    def clear_faults(self) -> None:
        """Remove every injected fault (a reboot in progress completes normally)."""
        self.network.clear()
        self.garbage_until = 0.0
        self.soc_glitch_reads = 0
        self.error_bits = 0

    def update_state(self, payload: dict[str, Any]) -> None:
        """Control API: plug or unplug the car, set its state of charge."""
        soc = payload.get("soc_pct")
        if soc is not None and not (isinstance(soc, int | float) and 0 <= soc <= 100):
            raise ValueError("soc_pct must be in 0..100")
        plugged = payload.get("plugged")
        if plugged is not None and not isinstance(plugged, bool):
            raise ValueError("plugged must be true or false")
        self.advance()
        if soc is not None:
            self.battery.soc_pct = float(soc)
        if plugged is not None:
            self.plug(plugged)

    def plug(self, plugged: bool) -> None:
        """Connect or disconnect the car; unplugging ends the session."""
        self.advance()
        self.plugged = plugged
        if not plugged:
            self.action = 0

    def reboot(self) -> None:
        """Restart: no network for a while, then state 0; the session and timeout reset."""
        self.advance()
        now = self.clock.now()
        self._boot_until = now + self.config.reboot_boot_s
        self._init_until = self._boot_until + self.config.reboot_init_s
        self.idle_timeout_s = 0
        self.setpoint_w = 0
        self.action = 0

    # -- Modbus ---------------------------------------------------------------------------

    def accepts_unit(self, unit_id: int) -> bool:
        """Only the configured unit id (1) is answered."""
        return unit_id == self.config.unit_id

    def on_request(self) -> None:
        """Any Modbus request restarts the idle timeout."""
        self.advance()
        self._last_request = self.clock.now()

    def is_readable(self, address: int) -> bool:
        """Whether a read covering ``address`` is answered (not exception 2)."""
        if self.config.strict_gaps:
            return address in _DOCUMENTED
        return address in _READABLE

    def register(self, address: int) -> int:
        """The raw value of one register now (0 where the map names nothing)."""
        for start, count in _STRINGS.items():
            if start <= address < start + count:
                return string_words(self._text(start), count)[address - start]
        for start, reader in self._values.items():
            if start <= address < start + 4:
                words = reader()
                if address - start < len(words):
                    return words[address - start]
        return 0

    def _text(self, start: int) -> str:
        config = self.config
        texts = {
            REG_VERSION: config.version,
            REG_SERIAL: config.serial,
            REG_MODEL: config.model,
            REG_CAR_ID: config.car_id if self.plugged else "",
        }
        return texts[start]

    def write_single(self, address: int, value: int) -> int:
        """Function 0x06: every writable value is 32 bits wide, so none is written this way."""
        raise ModbusError(ILLEGAL_DATA_ADDRESS)

    def write_multiple(self, address: int, values: list[int]) -> None:
        """Function 0x10 over whole int32 values; all checked before any is applied."""
        self.advance()
        if len(values) % 2 or not values:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        decoded = {address + i: _int32(values[i : i + 2]) for i in range(0, len(values), 2)}
        if not all(reg in _WRITABLE_VALUES for reg in decoded):
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        limits = {
            REG_IDLE_TIMEOUT: (0, MAX_IDLE_TIMEOUT_S),
            REG_SETPOINT: (-MAX_SETPOINT_W, MAX_SETPOINT_W),
            REG_ACTION: (0, 1),
        }
        for reg, value in decoded.items():
            low, high = limits[reg]
            if not low <= value <= high:
                raise ModbusError(ILLEGAL_DATA_VALUE)
        for reg, value in decoded.items():
            self.writes.append(WriteRecord(reg, value, self.clock.now(), self.clock.wall(), True))
            if reg == REG_IDLE_TIMEOUT:
                self.idle_timeout_s = value
            elif reg == REG_SETPOINT:
                self.setpoint_w = value
            else:
                self.action = value if self.plugged or not value else 0

    # -- inspection -------------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for the control API."""
        self.advance()
        power = self.actual_power_w
        return {
            "kind": "bidipro",
            "port": self.server.port,
            "listening": self.server.listening,
            "plugged": self.plugged,
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.battery.capacity_kwh,
            "actual_power_w": round(power, 1) if math.isfinite(power) else None,
            "state": self.state_code(),
            "running": self.running,
            "power_setpoint_w": self.setpoint_w,
            "idle_timeout_s": self.idle_timeout_s,
            "watchdog_expiries": self.watchdog_expiries,
            "rebooting": self.rebooting,
            "error_bits": self.error_bits,
            "modbus_requests": self.server.requests,
            "writes": len(self.writes),
        }


KIND = register(
    TwinKind(
        "bidipro",
        "bidipros",
        BiDiProConfig,
        BiDiProTwin,
        parse=lambda entry: BiDiProConfig(**with_car(entry)),
    )
)
