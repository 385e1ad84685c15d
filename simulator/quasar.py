"""Simulated Wallbox Quasar 1, from the register map in protocols.md section 1.

Written independently of the integration (no imports from ``custom_components``).

Register behaviour:

* Holding registers only. Readable areas: 1-9, 80-89, 256-260, 512-546; anything
  else answers exception 2 (illegal data address). Inside those areas, addresses
  the map calls reserved or undocumented read 0 (protocols.md section 7), unless
  ``strict_gaps`` is set: then only documented addresses exist, as one field
  report (V2G Liberty) says of the real charger.
* Signed registers (258, 260, 519, 526, 87, 85) are two's complement.
* Register 81 (control) must be 1 for other writes to take effect; writes while it
  is 0 are acknowledged but ignored. Writing 81 = 0 resets 82 -> 1, 83 -> 0, 88 -> 0.
* Register 88 > 0 arms the idle watchdog: no Modbus request for that many
  (simulated) seconds stops the charger (action stop, setpoint 0, state 4).
* 257: 1 start, 2 stop, 3 restart, 4 firmware update (simulated as a restart).
* SoC (538) reads 0 when no car is connected or no power flows, as field users
  report; the physics keep the true value.

Physics: power ramps towards the target at ``ramp_w_per_s``. Charging needs the
grid: while it is down the charger has nothing to charge from, so charging power
drops to 0 at once (discharging is unaffected: the car feeds the protected circuit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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

STATE_NO_CAR = 0
STATE_CHARGING = 1
STATE_WAITING = 2
STATE_PAUSED = 4
STATE_LOCKED = 6
STATE_ERROR = 7
STATE_DISCHARGING = 11

_READABLE = (range(1, 10), range(80, 90), range(256, 261), range(512, 547))
_DOCUMENTED = frozenset(
    (
        *range(1, 10),
        80,
        81,
        82,
        83,
        84,
        85,
        87,
        88,
        256,
        257,
        258,
        260,
        512,
        514,
        519,
        522,
        526,
        *range(537, 543),
    )
)
_WRITABLE = frozenset((81, 82, 83, 84, 85, 87, 88, 256, 257, 258, 260))
_SOC_EPSILON_W = 1.0


def _signed(value: int) -> int:
    return value - 0x10000 if value >= 0x8000 else value


def _unsigned(value: int) -> int:
    return value & 0xFFFF


@dataclass(slots=True)
class QuasarConfig:
    """Static parameters of one simulated charger."""

    name: str = "quasar"
    port: int = 5020
    unit_id: int = 1
    serial: int = 20240117
    firmware: int = 5130
    part_number: str = "QSX1EU"
    max_power_w: int = 7400
    voltage_v: int = 230
    ramp_w_per_s: float = 3000.0
    autostart: bool = True
    strict_gaps: bool = False
    reboot_boot_s: float = 5.0
    reboot_error_s: float = 60.0
    car: Battery = field(default_factory=Battery)
    plugged: bool = True


class QuasarTwin(ModbusTwin[QuasarConfig], ChargerTwin[QuasarConfig]):
    """The register map and physics of one Quasar 1 with its car."""

    label = "Quasar 1"

    @property
    def rated_discharge_w(self) -> float:
        """The Quasar 1 gives what it takes: 7.4 kW."""
        return float(self.config.max_power_w)

    def __init__(self, config: QuasarConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """Create the charger in its factory state (user control, autostart on).

        Without a ``grid`` the supply is always there.
        """
        super().__init__(config, clock, grid)
        self.remote = 0
        self.autostart = int(config.autostart)
        self.setpoint_type = 0
        self.apply_in_idle = 0
        self.idle_current_setpoint = 0
        self.idle_power_setpoint = 0
        self.watchdog_s = 0
        self.locked = 0
        self.last_action = 2
        self.running = False
        self.current_setpoint_a = 0
        self.power_setpoint_w = 0
        self.unrecoverable_error = 0
        self.recoverable_error = 0
        self.watchdog_expiries = 0
        self._last_request = self._time
        self._boot_until = -1.0
        self._error_until = -1.0
        config_port = config.port if 1024 <= config.port <= 65535 else 502
        voltage = config.voltage_v
        self._readers: dict[int, Callable[[], int]] = {
            1: lambda: config.firmware,
            2: lambda: (config.serial >> 16) & 0xFFFF,
            3: lambda: config.serial & 0xFFFF,
            80: lambda: config_port,
            81: lambda: self.remote,
            82: lambda: self.autostart,
            83: lambda: self.setpoint_type,
            84: lambda: self.apply_in_idle,
            85: lambda: _unsigned(self.idle_current_setpoint),
            87: lambda: _unsigned(self.idle_power_setpoint),
            88: lambda: self.watchdog_s,
            256: lambda: self.locked,
            257: lambda: self.last_action,
            258: lambda: _unsigned(self.current_setpoint_a),
            260: lambda: _unsigned(self.power_setpoint_w),
            512: lambda: config.max_power_w // voltage,
            514: lambda: config.max_power_w,
            519: lambda: _unsigned(round(self.actual_power_w / voltage)),
            522: lambda: voltage,
            526: lambda: _unsigned(round(self.actual_power_w)),
            537: self.state_code,
            538: self.soc_register,
            539: lambda: self.unrecoverable_error >> 16,
            540: lambda: self.unrecoverable_error & 0xFFFF,
            541: lambda: self.recoverable_error >> 16,
            542: lambda: self.recoverable_error & 0xFFFF,
        }

    # -- the world --------------------------------------------------------------------

    def banner(self) -> str:
        """What the command line prints when the charger serves."""
        return f"{super().banner()} (unit {self.config.unit_id})"

    def _step(self, dt: float) -> None:
        t = self._time + dt
        if (
            self.remote
            and self.watchdog_s
            and self.running
            and t - self._last_request >= self.watchdog_s
        ):
            self.running = False
            self.last_action = 2
            self.power_setpoint_w = 0
            self.watchdog_expiries += 1
        target = self.battery.power_limit_w(self._target_power())
        if not self.grid_available:
            target = min(target, 0.0)
            self.actual_power_w = min(self.actual_power_w, 0.0)  # the supply is gone
        ramp = self.config.ramp_w_per_s * dt
        delta = max(-ramp, min(ramp, target - self.actual_power_w))
        previous = self.actual_power_w
        self.actual_power_w += delta
        self.battery.step((previous + self.actual_power_w) / 2, dt)

    def _target_power(self) -> float:
        if not self.plugged or self.rebooting or self.unrecoverable_error:
            return 0.0
        max_power = float(self.config.max_power_w)
        if not self.remote:
            return max_power if self.autostart else 0.0
        if not self.running:
            return 0.0
        if self.setpoint_type == 1:
            wanted = float(self.power_setpoint_w)
        else:
            wanted = float(self.current_setpoint_a * self.config.voltage_v)
        return max(-max_power, min(max_power, wanted))

    @property
    def rebooting(self) -> bool:
        """Whether the charger is still in its post-restart error phase."""
        return self.clock.now() < self._error_until

    @property
    def booting(self) -> bool:
        """Whether the charger is still starting (no network yet)."""
        return self.clock.now() < self._boot_until

    def state_code(self) -> int:
        """Register 537 as the charger would report it now."""
        if self.rebooting or self.unrecoverable_error:
            return STATE_ERROR
        if not self.plugged:
            return STATE_LOCKED if self.locked else STATE_NO_CAR
        power = self.actual_power_w
        if power >= _SOC_EPSILON_W:
            return STATE_CHARGING
        if power <= -_SOC_EPSILON_W:
            return STATE_DISCHARGING
        if self.remote and not self.running:
            return STATE_PAUSED
        if not self.remote and not self.autostart:
            return STATE_PAUSED
        return STATE_WAITING

    def soc_register(self) -> int:
        """Register 538: 0 when no car or no power flows (documented field behaviour)."""
        if not self.plugged or abs(self.actual_power_w) < _SOC_EPSILON_W:
            return 0
        if self.soc_glitch_reads > 0:
            self.soc_glitch_reads -= 1
            return 1
        return round(self.battery.soc_pct)

    # -- lifecycle, faults and world events ---------------------------------------------

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        if self.apply_common_fault(fault):
            return
        if fault.kind is FaultKind.SOC_GLITCH:
            self.soc_glitch_reads = fault.count
        else:  # FaultKind.ERROR
            self.advance()
            self.unrecoverable_error = fault.code

    def clear_faults(self) -> None:
        """Remove every injected fault (a reboot in progress completes normally)."""
        self.network.clear()
        self.garbage_until = 0.0
        self.soc_glitch_reads = 0
        self.unrecoverable_error = 0

    def update_state(self, payload: dict[str, Any]) -> None:
        """Control API: plug or unplug the car, set its state of charge."""
        if "soc_pct" in payload:
            self.set_soc(float(payload["soc_pct"]))
        if "plugged" in payload:
            if not isinstance(payload["plugged"], bool):
                raise ValueError("plugged must be true or false")
            self.plug(payload["plugged"])

    def set_soc(self, soc_pct: float) -> None:
        """Set the car's true state of charge."""
        if not 0 <= soc_pct <= 100:
            raise ValueError("soc_pct must be in 0..100")
        self.advance()
        self.battery.soc_pct = soc_pct

    def plug(self, plugged: bool) -> None:
        """Connect or disconnect the car."""
        self.advance()
        self.plugged = plugged
        if not plugged:
            # Autostart is off under remote control, so a new car waits for a start.
            self.running = False
            self.last_action = 2

    def reboot(self) -> None:
        """Restart: connections drop, control returns to the app, state 7 for a while."""
        self.advance()
        now = self.clock.now()
        self._boot_until = now + self.config.reboot_boot_s
        self._error_until = now + self.config.reboot_boot_s + self.config.reboot_error_s
        self._reset_to_user()
        self.power_setpoint_w = 0
        self.current_setpoint_a = 0
        self.running = False
        self.last_action = 2

    def _reset_to_user(self) -> None:
        self.remote = 0
        self.autostart = 1
        self.setpoint_type = 0
        self.watchdog_s = 0

    # -- Modbus ----------------------------------------------------------------------------

    def accepts_unit(self, unit_id: int) -> bool:
        """The Quasar answers unit id 1 only (other ids get no reply)."""
        return unit_id == self.config.unit_id

    def on_request(self) -> None:
        """Any Modbus request feeds the idle watchdog."""
        self.advance()
        self._last_request = self.clock.now()

    def is_readable(self, address: int) -> bool:
        """Whether a read covering ``address`` is answered (not exception 2)."""
        if self.config.strict_gaps:
            return address in _DOCUMENTED
        return any(address in area for area in _READABLE)

    def register(self, address: int) -> int:
        """The raw value of one register as the charger reports it now."""
        if 4 <= address <= 9:
            text = self.config.part_number.ljust(12, "\0")[:12].encode("ascii")
            offset = 2 * (address - 4)
            return (text[offset] << 8) | text[offset + 1]
        reader = self._readers.get(address)
        return reader() if reader is not None else 0

    def write_single(self, address: int, value: int) -> int:
        """Function 0x06; the echo is the written address."""
        self._write(address, value)
        return address

    def write_multiple(self, address: int, values: list[int]) -> None:
        """Function 0x10 (the Quasar map only documents single writes; accepted anyway)."""
        for offset, value in enumerate(values):
            self._write(address + offset, value)

    def _write(self, address: int, value: int) -> None:  # noqa: PLR0912
        self.advance()
        if address not in _WRITABLE:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        self._validate(address, value)
        applied = address == 81 or bool(self.remote)
        self.writes.append(
            WriteRecord(address, value, self.clock.now(), self.clock.wall(), applied)
        )
        if not applied:
            return
        if address == 81:
            self.remote = value
            if not value:
                self._reset_to_user()
        elif address == 82:
            self.autostart = value
        elif address == 83:
            self.setpoint_type = value
        elif address == 84:
            self.apply_in_idle = value
        elif address == 85:
            self.idle_current_setpoint = _signed(value)
        elif address == 87:
            self.idle_power_setpoint = _signed(value)
        elif address == 88:
            self.watchdog_s = value
        elif address == 256:
            self.locked = value
        elif address == 257:
            self._action(value)
        elif address == 258:
            self.current_setpoint_a = _signed(value)
        else:  # 260
            self.power_setpoint_w = _signed(value)

    def _validate(self, address: int, value: int) -> None:
        limits = {
            81: (0, 1),
            82: (0, 1),
            83: (0, 1),
            84: (0, 1),
            256: (0, 1),
            257: (1, 4),
            85: (-32, 32),
            258: (-32, 32),
            87: (-7400, 7400),
            260: (-7400, 7400),
            88: (0, 0xFFFF),
        }
        low, high = limits[address]
        decoded = _signed(value) if low < 0 else value
        if not low <= decoded <= high:
            raise ModbusError(ILLEGAL_DATA_VALUE)

    def _action(self, value: int) -> None:
        if value in (3, 4):
            self.server.drop_connections()
            self.reboot()
            return
        self.last_action = value
        self.running = value == 1 and not self.rebooting

    # -- inspection --------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for the control API."""
        self.advance()
        return {
            "kind": "quasar1",
            "port": self.server.port,
            "listening": self.server.listening,
            "plugged": self.plugged,
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.battery.capacity_kwh,
            "actual_power_w": round(self.actual_power_w, 1),
            "state": self.state_code(),
            "remote": bool(self.remote),
            "running": self.running,
            "power_setpoint_w": self.power_setpoint_w,
            "watchdog_s": self.watchdog_s,
            "watchdog_expiries": self.watchdog_expiries,
            "rebooting": self.rebooting,
            "modbus_requests": self.server.requests,
            "writes": len(self.writes),
        }


KIND = register(
    TwinKind(
        "quasar",
        "quasars",
        QuasarConfig,
        QuasarTwin,
        parse=lambda entry: QuasarConfig(**with_car(entry)),
    )
)
