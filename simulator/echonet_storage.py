"""The storage battery (ECHONET Lite class 0x027D) of a simulated ECHONET Lite node.

Written from protocols.md section 4.4 (class 0x027D, MRA Release R) and 4.1
(super-class properties, frame), independently of the integration. The node itself
(UDP socket, node profile, Get/SetC/SetI/INF_REQ, SNA layouts, announcements, faults)
is :class:`simulator.echonet.EchonetTwin`: a node holds the EV charger/discharger
0x027E01, this storage battery 0x027D01, or both (a "tribrid"). This module is the
object's state, properties and physics; the node serves it.

Scenario (a nested table of an ``[[echonet]]`` entry)::

    [[echonet]]
    name = "tribrid"
    port = 0
    storage = { capacity_kwh = 9.8, soc_pct = 50, rated_discharge_w = 3000 }
    # ev_charger = false      -> a storage battery alone (no 0x027E01)

Properties of 0x027D01 (Get unless said; "interpretation" marks what 4.4 names
without defining it exactly):

* super class: 0x80 = 0x30, 0x81 installation location (settable, as 0x027E),
  0x82 = 00 00 <release> 01, 0x83 identification, 0x88 fault (0x41/0x42), 0x8A maker,
  0x97 current time (2 B: hour, minute) and 0x98 current date (4 B: uint16 year,
  month, day) from ``clock_start`` plus the simulated time (mandatory for 0x027D),
  0x9D/0x9E/0x9F maps;
* 0xA0 / 0xA1 AC effective capacity charging / discharging (interpretation): the AC
  energy that fills the window between the discharge lower limit (0xA7) and the
  charge upper limit (0xA6), ``window / efficiency``, and that the window gives back,
  ``window x efficiency``; 0xA2 / 0xA3 AC chargeable / dischargeable capacity: the same
  from the SoC now (up to 0xA6, down to 0xA7); 0xA4 / 0xA5 AC chargeable /
  dischargeable electric energy: 0xA2 / 0xA3, at most what remains of the amount
  settings 0xAA / 0xAB in the current run where they are set (non-zero);
* 0xA6 / 0xA7 charge upper / discharge lower limit (uint8 %, settable; the upper
  above the lower, 0..100, else refused): the battery stops charging at the upper
  limit and never discharges below the lower one;
* 0xA8 / 0xA9 AC cumulative charged / discharged energy (0.001 kWh = Wh, AC side);
  0xD8 / 0xD6 cumulative charge / discharge energy (interpretation: the cell side,
  AC x efficiency when charging, AC / efficiency when discharging);
* 0xAA / 0xAB AC charge / discharge amount setting (uint32 Wh, settable, 0 = not set):
  a charge (discharge) run stops once that much AC energy went in (out) since the
  setting was written or the mode changed to charging (discharging);
* 0xC1 / 0xC2 charging / discharging method (settable 0x00-0x04): 0x01 maximum ->
  the rating, 0x02 surplus (charging: no PV is simulated, so 0 W) / load following
  (discharging: the house load less what the node's car gives), anything else
  (0x00 other, 0x03 designated power, 0x04 designated current) -> 0xEB / 0xEC;
* 0xC7 AC rated electric energy = the nameplate capacity (Wh), so that 0xE2 / 0xC7
  is the SoC; 0xC8 / 0xC9 min/max charging / discharging power: uint32 min then
  uint32 max (W);
* 0xCF working operation status (actual): 0x42 charging, 0x43 discharging, 0x44
  standby, 0x46 auto, 0x40 other while an error fault is active. 0x027D has no
  "preparation" code: for ``preparation_s`` simulated seconds after the mode changes
  to charging or discharging 0xCF still reads standby (and no power flows); it reads
  standby too while charging is impossible (grid down, at the upper limit, amount
  reached) or discharging is (at the lower limit, amount reached);
* 0xD3 instantaneous power, int32 W (+ charging, - discharging);
* 0xDA operation mode setting: 0x42 charging, 0x43 discharging, 0x44 standby, 0x46
  auto are accepted (every other code is refused); Get returns the set value;
* 0xDB system-interconnected type: 0x00 while the grid is up, 0x01 (independent)
  while it is down, as the 0x027E part;
* 0xE2 remaining stored electricity 1 (Wh, capacity x SoC), 0xE3 2 (0.1 Ah at
  ``nominal_voltage_v``), 0xE4 3 (%): which of them exist is ``remaining`` (4.4: "one
  of them M"); 0xE5 state of health (%), 0xE6 battery type (0x04 Li-ion default);
* 0xEB / 0xEC charging / discharging power setting (uint32 W, settable): 0 or from
  the minimum to the maximum of 0xC8 / 0xC9, else refused.

``omit`` drops optional properties (0xA6, 0xA7, 0xC7, 0xD3, 0xD6, 0xD8, 0xE5, 0xEB,
0xEC) from the maps, so that a unit without them can be served.

Auto mode (0x46): while the grid is down the battery discharges to follow the house
load (less what the node's car already gives), down to the lower limit and up to its
rating; while the grid is up it holds its charge (0 W). 0xCF reads 0x46 throughout.

Physics: power ramps towards the target at ``ramp_w_per_s``; the cells follow
:class:`simulator.battery.Battery` (its own battery, not the car's) with the 0xA6 /
0xA7 limits as its charge cap and discharge floor. Without the grid nothing charges
(the charging power drops to 0 at once); discharging goes on and feeds the house.

Faults (the node's; each acts on the whole node, so on this object as on 0x027E01):
refuse (the socket closes), stall (replies ``delay_s`` late), drop (the next ``count``
requests ignored), exception (every request answered with the SNA of its ESV,
nothing applied), short (replies one byte short), garbage (random bytes instead of
frames), reboot (no replies for ``reboot_s``; then standby, 0xEB / 0xEC / 0xAA /
0xAB = 0; the limits, methods and counters are kept), soc_glitch (0xE4 reads 0 for
``count`` reads of this object), error (0x88 = 0x41, 0xCF = 0x40, power 0 until
cleared).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar

from .battery import Battery

STORAGE_EOJ = b"\x02\x7d\x01"

MODE_OTHER = 0x40
MODE_CHARGE = 0x42
MODE_DISCHARGE = 0x43
MODE_STANDBY = 0x44
MODE_AUTO = 0x46
SETTABLE_MODES = frozenset((MODE_CHARGE, MODE_DISCHARGE, MODE_STANDBY, MODE_AUTO))

METHOD_MAX_POWER = 0x01
METHOD_SURPLUS_OR_LOAD = 0x02
METHOD_DESIGNATED_POWER = 0x03
METHOD_LAST = 0x04

REMAINING_EPCS = frozenset((0xE2, 0xE3, 0xE4))
OPTIONAL_EPCS = frozenset((0xA6, 0xA7, 0xC7, 0xD3, 0xD6, 0xD8, 0xE5, 0xEB, 0xEC))
BATTERY_TYPES = range(0x07)

STORAGE_GET = (
    0x80, 0x81, 0x82, 0x83, 0x88, 0x8A, 0x97, 0x98, 0x9D, 0x9E, 0x9F,
    0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9, 0xAA, 0xAB,
    0xC1, 0xC2, 0xC7, 0xC8, 0xC9, 0xCF, 0xD3, 0xD6, 0xD8, 0xDA, 0xDB,
    0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xEB, 0xEC,
)  # fmt: skip
STORAGE_SET = (0x81, 0xA6, 0xA7, 0xAA, 0xAB, 0xC1, 0xC2, 0xDA, 0xEB, 0xEC)
# Anno M in 4.4 (0xAA, 0xAB, 0xC1, 0xC2, 0xCF, 0xDA), the super class's (0x80, 0x81,
# 0x88) and 0xDB "where supported".
STORAGE_ANNO = (0x80, 0x81, 0x88, 0xAA, 0xAB, 0xC1, 0xC2, 0xCF, 0xDA, 0xDB)

Reader = Callable[[], bytes | None]
Writer = Callable[[bytes], bool]


def _u8(value: int) -> bytes:
    return (value & 0xFF).to_bytes(1, "big")


def _u16(value: int) -> bytes:
    return (value & 0xFFFF).to_bytes(2, "big")


def _u32(value: float) -> bytes:
    return (max(0, min(0xFFFFFFFF, int(value)))).to_bytes(4, "big")


def _s32(value: float) -> bytes:
    return max(-0x80000000, min(0x7FFFFFFF, round(value))).to_bytes(4, "big", signed=True)


def ramp_battery(
    battery: Battery,
    power_w: float,
    wanted_w: float,
    *,
    grid_up: bool,
    ramp_w_per_s: float,
    dt: float,
) -> tuple[float, float]:
    """One physics step of an object's power and battery: (the new power, its mean).

    The power ramps towards ``wanted_w`` (as far as the battery takes it; nothing
    charges without the grid) at ``ramp_w_per_s``; the battery moves the mean power.
    """
    target = battery.power_limit_w(wanted_w)
    if not grid_up:
        target = min(target, 0.0)
    ramp = ramp_w_per_s * dt
    power = power_w + max(-ramp, min(ramp, target - power_w))
    mean_w = (power_w + power) / 2
    battery.step(mean_w, dt)
    return power, mean_w


class ObjectSettings:
    """The settings the node's 0x027E01 and 0x027D01 take alike, and their SoC (0xE4).

    0x81 installation location: 1 byte, or 17 starting with 0x01; the charging and
    discharging methods (0xDC / 0xDD, 0xC1 / 0xC2): one byte, 0x00 up to
    ``LAST_METHOD``; the charging and discharging power settings 0xEB / 0xEC:
    uint32 W, 0 or from the minimum up to the rating (:meth:`_power_range`); every
    other EDT is refused. 0xE4 reads 0 while a soc_glitch lasts.
    """

    LAST_METHOD: ClassVar[int]
    battery: Battery
    soc_glitch_reads: int
    installation_location: bytes
    operation_mode: int
    charging_method: int
    discharging_method: int
    charge_setpoint_w: int
    discharge_setpoint_w: int

    def _init_settings(self) -> None:
        """At start: location 0x00, standby, designated-power methods, power settings 0."""
        self.installation_location = b"\x00"
        self.operation_mode = MODE_STANDBY
        self.charging_method = METHOD_DESIGNATED_POWER
        self.discharging_method = METHOD_DESIGNATED_POWER
        self.charge_setpoint_w = 0
        self.discharge_setpoint_w = 0

    def _power_range(self, *, charge: bool) -> tuple[int, int]:
        """The least (but 0) and the most a charging (discharging) power setting takes."""
        raise NotImplementedError

    def _soc_reading(self) -> bytes:
        if self.soc_glitch_reads > 0:
            self.soc_glitch_reads -= 1
            return b"\x00"
        return _u8(round(self.battery.soc_pct))

    def _set_location(self, edt: bytes) -> bool:
        if len(edt) == 1 or (len(edt) == 17 and edt[0] == 0x01):
            self.installation_location = edt
            return True
        return False

    def _method(self, edt: bytes) -> int | None:
        return edt[0] if len(edt) == 1 and edt[0] <= self.LAST_METHOD else None

    def _set_charging_method(self, edt: bytes) -> bool:
        method = self._method(edt)
        if method is not None:
            self.charging_method = method
        return method is not None

    def _set_discharging_method(self, edt: bytes) -> bool:
        method = self._method(edt)
        if method is not None:
            self.discharging_method = method
        return method is not None

    def _power_setting(self, edt: bytes, *, charge: bool) -> int | None:
        value = int.from_bytes(edt, "big")
        low, high = self._power_range(charge=charge)
        return value if len(edt) == 4 and (value == 0 or low <= value <= high) else None

    def _set_charge_setpoint(self, edt: bytes) -> bool:
        value = self._power_setting(edt, charge=True)
        if value is not None:
            self.charge_setpoint_w = value
        return value is not None

    def _set_discharge_setpoint(self, edt: bytes) -> bool:
        value = self._power_setting(edt, charge=False)
        if value is not None:
            self.discharge_setpoint_w = value
        return value is not None


@dataclass(slots=True)
class StorageConfig:
    """Static parameters of the storage battery part of a node (``storage = {...}``).

    Powers in W, energies in kWh, times in simulated seconds.
    """

    capacity_kwh: float = 9.8
    soc_pct: float = 50.0
    efficiency: float = 0.95
    rated_charge_w: int = 3000
    rated_discharge_w: int = 3000
    min_charge_w: int = 100
    min_discharge_w: int = 100
    charge_upper_limit_pct: int = 100
    discharge_lower_limit_pct: int = 10
    soh_pct: int = 96
    battery_type: int = 0x04
    remaining: tuple[int, ...] = (0xE2, 0xE4)
    """Which of 0xE2 (Wh), 0xE3 (0.1 Ah) and 0xE4 (%) the unit has (at least one)."""
    nominal_voltage_v: int = 200
    ramp_w_per_s: float = 2000.0
    preparation_s: float = 1.0
    omit: tuple[int, ...] = ()
    """Optional properties the unit does not have."""
    clock_start: str = "2026-04-01T09:00:00"
    """0x97/0x98 at simulated time 0 (ISO 8601)."""
    start: datetime = field(init=False, repr=False)

    def __post_init__(self) -> None:
        """Validate the parameters."""
        self.remaining = tuple(int(epc) for epc in self.remaining)
        self.omit = tuple(int(epc) for epc in self.omit)
        if self.capacity_kwh <= 0 or not 0 < self.efficiency <= 1:
            raise ValueError("storage capacity must be positive, efficiency in (0, 1]")
        if not 0 <= self.soc_pct <= 100:
            raise ValueError("storage soc_pct must be in 0..100")
        for rating in (self.rated_charge_w, self.rated_discharge_w):
            if not 0 < rating <= 0xFFFFFFFF:
                raise ValueError("storage ratings must be positive and fit in 4 bytes")
        if not 0 <= self.min_charge_w <= self.rated_charge_w:
            raise ValueError("storage min_charge_w must be in 0..rated_charge_w")
        if not 0 <= self.min_discharge_w <= self.rated_discharge_w:
            raise ValueError("storage min_discharge_w must be in 0..rated_discharge_w")
        if not 0 <= self.discharge_lower_limit_pct < self.charge_upper_limit_pct <= 100:
            raise ValueError("storage limits: 0 <= discharge lower < charge upper <= 100")
        if not 0 <= self.soh_pct <= 100 or self.battery_type not in BATTERY_TYPES:
            raise ValueError("storage soh_pct must be in 0..100, battery_type in 0x00..0x06")
        if not self.remaining or not set(self.remaining) <= REMAINING_EPCS:
            raise ValueError("storage remaining must name some of 0xE2, 0xE3, 0xE4")
        if not set(self.omit) <= OPTIONAL_EPCS:
            raise ValueError("storage omit may only name optional EPCs")
        if self.nominal_voltage_v <= 0 or self.ramp_w_per_s <= 0 or self.preparation_s < 0:
            raise ValueError("storage voltage and ramp must be positive, preparation >= 0")
        self.start = datetime.fromisoformat(self.clock_start)


def storage_config(raw: Any) -> StorageConfig:
    """A scenario's ``storage`` table (lists become tuples); a config passes through."""
    if isinstance(raw, StorageConfig):
        return raw
    if not isinstance(raw, dict):
        raise TypeError("storage must be a table of storage battery settings")
    entry = dict(raw)
    for key in ("remaining", "omit"):
        if key in entry:
            entry[key] = tuple(entry[key])
    return StorageConfig(**entry)


class StorageBattery(ObjectSettings):
    """The 0x027D01 object's state, properties and physics.

    The node hands it its world: ``now`` (simulated time), ``grid_up``, ``load_w``
    (what the house needs from it in load following) and ``faulty`` (an error fault).
    """

    LAST_METHOD = METHOD_LAST

    def __init__(
        self,
        config: StorageConfig,
        *,
        now: Callable[[], float],
        grid_up: Callable[[], bool],
        load_w: Callable[[], float],
        faulty: Callable[[], bool],
    ) -> None:
        """Standby, setpoints 0, the SoC and limits of the config."""
        self.config = config
        self._now = now
        self._grid_up = grid_up
        self._load_w = load_w
        self._faulty = faulty
        self.battery = Battery(
            capacity_kwh=config.capacity_kwh,
            soc_pct=config.soc_pct,
            efficiency=config.efficiency,
            charge_cap_pct=float(config.charge_upper_limit_pct),
            discharge_floor_pct=float(config.discharge_lower_limit_pct),
        )
        self._init_settings()
        self.charge_amount_wh = 0
        self.discharge_amount_wh = 0
        self.run_charged_wh = 0.0
        self.run_discharged_wh = 0.0
        self.power_w = 0.0
        self.ac_charged_wh = 0.0
        self.ac_discharged_wh = 0.0
        self.cell_charged_wh = 0.0
        self.cell_discharged_wh = 0.0
        self.soc_glitch_reads = 0
        self.preparation_until = -1.0

    # -- the maps --------------------------------------------------------------------------

    @property
    def get_epcs(self) -> frozenset[int]:
        """The Get map (0x9F)."""
        omitted = set(self.config.omit) | (REMAINING_EPCS - set(self.config.remaining))
        return frozenset(epc for epc in STORAGE_GET if epc not in omitted)

    @property
    def set_epcs(self) -> frozenset[int]:
        """The Set map (0x9E)."""
        return frozenset(epc for epc in STORAGE_SET if epc not in self.config.omit)

    @property
    def anno_epcs(self) -> frozenset[int]:
        """The announcement map (0x9D)."""
        return frozenset(STORAGE_ANNO)

    # -- properties --------------------------------------------------------------------------

    def readers(self) -> dict[int, Reader]:
        """The readers of the class's own properties (0x80-0x8A and maps: the node's)."""
        config = self.config
        return {
            0x81: lambda: self.installation_location,
            0x97: lambda: bytes((self.current_time().hour, self.current_time().minute)),
            0x98: self._date,
            0xA0: lambda: _u32(round(self._window_wh() / config.efficiency)),
            0xA1: lambda: _u32(round(self._window_wh() * config.efficiency)),
            0xA2: lambda: _u32(round(self.chargeable_wh())),
            0xA3: lambda: _u32(round(self.dischargeable_wh())),
            0xA4: lambda: _u32(round(self._amount_left(self.chargeable_wh(), charge=True))),
            0xA5: lambda: _u32(round(self._amount_left(self.dischargeable_wh(), charge=False))),
            0xA6: lambda: _u8(round(self.battery.charge_cap_pct)),
            0xA7: lambda: _u8(round(self.battery.discharge_floor_pct)),
            0xA8: lambda: _u32(self.ac_charged_wh),
            0xA9: lambda: _u32(self.ac_discharged_wh),
            0xAA: lambda: _u32(self.charge_amount_wh),
            0xAB: lambda: _u32(self.discharge_amount_wh),
            0xC1: lambda: _u8(self.charging_method),
            0xC2: lambda: _u8(self.discharging_method),
            0xC7: lambda: _u32(round(config.capacity_kwh * 1000)),
            0xC8: lambda: _u32(config.min_charge_w) + _u32(config.rated_charge_w),
            0xC9: lambda: _u32(config.min_discharge_w) + _u32(config.rated_discharge_w),
            0xCF: lambda: _u8(self.working_status()),
            0xD3: lambda: _s32(self.power_w),
            0xD6: lambda: _u32(self.cell_discharged_wh),
            0xD8: lambda: _u32(self.cell_charged_wh),
            0xDA: lambda: _u8(self.operation_mode),
            0xDB: lambda: b"\x00" if self._grid_up() else b"\x01",
            0xE2: lambda: _u32(round(self.stored_wh())),
            0xE3: lambda: _u16(round(self.stored_wh() / config.nominal_voltage_v * 10)),
            0xE4: self._soc_reading,
            0xE5: lambda: _u8(config.soh_pct),
            0xE6: lambda: _u8(config.battery_type),
            0xEB: lambda: _u32(self.charge_setpoint_w),
            0xEC: lambda: _u32(self.discharge_setpoint_w),
        }

    def writers(self) -> dict[int, Writer]:
        """The setters of the Set map; each returns False to refuse."""
        every: dict[int, Writer] = {
            0x81: self._set_location,
            0xA6: self._set_upper_limit,
            0xA7: self._set_lower_limit,
            0xAA: self._set_charge_amount,
            0xAB: self._set_discharge_amount,
            0xC1: self._set_charging_method,
            0xC2: self._set_discharging_method,
            0xDA: self._set_operation_mode,
            0xEB: self._set_charge_setpoint,
            0xEC: self._set_discharge_setpoint,
        }
        return {epc: writer for epc, writer in every.items() if epc in self.set_epcs}

    def current_time(self) -> datetime:
        """0x97/0x98: ``clock_start`` plus the simulated time."""
        return self.config.start + timedelta(seconds=self._now())

    def _date(self) -> bytes:
        now = self.current_time()
        return _u16(now.year) + bytes((now.month, now.day))

    def stored_wh(self) -> float:
        """Energy in the cells now (Wh)."""
        return self.battery.energy_kwh * 1000

    def _window_wh(self) -> float:
        span = self.battery.charge_cap_pct - self.battery.discharge_floor_pct
        return self.config.capacity_kwh * 1000 * max(0.0, span) / 100

    def chargeable_wh(self) -> float:
        """AC energy that would take the battery up to the upper limit (0xA2)."""
        missing = max(0.0, self.battery.charge_cap_pct - self.battery.soc_pct)
        return self.config.capacity_kwh * 1000 * missing / 100 / self.config.efficiency

    def dischargeable_wh(self) -> float:
        """AC energy the battery gives down to the lower limit (0xA3)."""
        above = max(0.0, self.battery.soc_pct - self.battery.discharge_floor_pct)
        return self.config.capacity_kwh * 1000 * above / 100 * self.config.efficiency

    def _amount_left(self, capacity_wh: float, *, charge: bool) -> float:
        amount = self.charge_amount_wh if charge else self.discharge_amount_wh
        if amount == 0:
            return capacity_wh
        done = self.run_charged_wh if charge else self.run_discharged_wh
        return min(capacity_wh, max(0.0, amount - done))

    def working_status(self) -> int:
        """0xCF as the unit would report it now."""
        if self._faulty():
            return MODE_OTHER
        mode = self.operation_mode
        if mode == MODE_AUTO:
            return MODE_AUTO
        preparing = self._now() < self.preparation_until
        if mode in (MODE_CHARGE, MODE_DISCHARGE) and (preparing or not self._can_run(mode)):
            return MODE_STANDBY
        return mode

    def _can_run(self, mode: int) -> bool:
        if mode == MODE_CHARGE:
            return (
                self._grid_up()
                and self.battery.power_limit_w(1.0) > 0
                and self._amount_left(1.0, charge=True) > 0
            )
        return self.battery.power_limit_w(-1.0) < 0 and self._amount_left(1.0, charge=False) > 0

    # -- setters -------------------------------------------------------------------------------

    def _set_upper_limit(self, edt: bytes) -> bool:
        if len(edt) != 1 or not self.battery.discharge_floor_pct < edt[0] <= 100:
            return False
        self.battery.charge_cap_pct = float(edt[0])
        return True

    def _set_lower_limit(self, edt: bytes) -> bool:
        if len(edt) != 1 or not 0 <= edt[0] < self.battery.charge_cap_pct:
            return False
        self.battery.discharge_floor_pct = float(edt[0])
        return True

    def _set_charge_amount(self, edt: bytes) -> bool:
        if len(edt) != 4:
            return False
        self.charge_amount_wh = int.from_bytes(edt, "big")
        self.run_charged_wh = 0.0
        return True

    def _set_discharge_amount(self, edt: bytes) -> bool:
        if len(edt) != 4:
            return False
        self.discharge_amount_wh = int.from_bytes(edt, "big")
        self.run_discharged_wh = 0.0
        return True

    def _set_operation_mode(self, edt: bytes) -> bool:
        if len(edt) != 1 or edt[0] not in SETTABLE_MODES:
            return False
        mode = edt[0]
        if mode != self.operation_mode:
            if mode in (MODE_CHARGE, MODE_DISCHARGE):
                self.preparation_until = self._now() + self.config.preparation_s
            if mode == MODE_CHARGE:
                self.run_charged_wh = 0.0
            elif mode == MODE_DISCHARGE:
                self.run_discharged_wh = 0.0
        self.operation_mode = mode
        return True

    def _power_range(self, *, charge: bool) -> tuple[int, int]:
        config = self.config
        if charge:
            return config.min_charge_w, config.rated_charge_w
        return config.min_discharge_w, config.rated_discharge_w

    # -- physics -------------------------------------------------------------------------------

    def step_events(self) -> Iterable[float]:
        """The end of a preparation: a physics step must not run past it."""
        return (self.preparation_until,)

    def grid_lost(self) -> None:
        """Without the grid nothing charges: the charging power drops at once."""
        self.power_w = min(self.power_w, 0.0)

    def target_w(self, time_s: float) -> float:
        """The power the unit aims at, at simulated time ``time_s``."""
        if self._faulty():
            return 0.0
        config = self.config
        mode = self.operation_mode
        if mode == MODE_AUTO:
            return 0.0 if self._grid_up() else -min(self._load_w(), config.rated_discharge_w)
        if mode not in (MODE_CHARGE, MODE_DISCHARGE) or time_s < self.preparation_until:
            return 0.0
        if mode == MODE_CHARGE:
            if not self._grid_up() or self._amount_left(1.0, charge=True) <= 0:
                return 0.0
            if self.charging_method == METHOD_MAX_POWER:
                return float(config.rated_charge_w)
            if self.charging_method == METHOD_SURPLUS_OR_LOAD:
                return 0.0  # no PV surplus is simulated
            return float(min(self.charge_setpoint_w, config.rated_charge_w))
        if self._amount_left(1.0, charge=False) <= 0:
            return 0.0
        if self.discharging_method == METHOD_MAX_POWER:
            wanted = float(config.rated_discharge_w)
        elif self.discharging_method == METHOD_SURPLUS_OR_LOAD:
            wanted = self._load_w()
        else:
            wanted = float(self.discharge_setpoint_w)
        return -min(wanted, config.rated_discharge_w)

    def step(self, dt: float, time_s: float) -> None:
        """Advance ``dt`` simulated seconds from ``time_s``."""
        self.power_w, mean_w = ramp_battery(
            self.battery,
            self.power_w,
            self.target_w(time_s),
            grid_up=self._grid_up(),
            ramp_w_per_s=self.config.ramp_w_per_s,
            dt=dt,
        )
        energy_wh = abs(mean_w) * dt / 3600
        if mean_w > 0:
            self.ac_charged_wh += energy_wh
            self.cell_charged_wh += energy_wh * self.config.efficiency
            self.run_charged_wh += energy_wh
        elif mean_w < 0:
            self.ac_discharged_wh += energy_wh
            self.cell_discharged_wh += energy_wh / self.config.efficiency
            self.run_discharged_wh += energy_wh

    def reboot(self) -> None:
        """After a restart: standby, power and amount settings 0."""
        self.operation_mode = MODE_STANDBY
        self.preparation_until = -1.0
        self.charge_setpoint_w = self.discharge_setpoint_w = 0
        self.charge_amount_wh = self.discharge_amount_wh = 0
        self.power_w = 0.0

    def error(self) -> None:
        """An error fault: the power stops at once."""
        self.power_w = 0.0

    def describe(self) -> dict[str, Any]:
        """The storage part of the node's ``GET /state`` entry."""
        return {
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.config.capacity_kwh,
            "power_w": round(self.power_w, 1),
            "operation_mode": self.operation_mode,
            "working_status": self.working_status(),
            "charging_method": self.charging_method,
            "discharging_method": self.discharging_method,
            "charge_setpoint_w": self.charge_setpoint_w,
            "discharge_setpoint_w": self.discharge_setpoint_w,
            "charge_upper_limit_pct": self.battery.charge_cap_pct,
            "discharge_lower_limit_pct": self.battery.discharge_floor_pct,
            "charged_energy_wh": round(self.ac_charged_wh, 3),
            "discharged_energy_wh": round(self.ac_discharged_wh, 3),
        }
