"""Simulated SunSpec bidirectional DC charger, from protocols.md section 3.

Written independently of the integration (no imports from ``custom_components``):
it is a second reading of the SunSpec model definitions summarised in section 3.

Register image (0-based PDU addresses, ``B`` = ``base_address``, 40000 by default):

* ``B``: the marker "SunS" (0x5375 0x6E53), then the models 1 (L = 66), 701 (L = 153),
  702 (L = 50), 703 (L = 17), 704 (L = 65) and 713 (L = 7) back to back, each
  starting with its ID and L, then the end marker 0xFFFF, 0 (section 3.1): 374
  registers in all, the example contiguous layout of section 3.1. Reads outside the
  image answer exception 2; reads may span models.
* Every point sits at its documented offset with its documented type: big-endian,
  high word first for 32/64-bit points, strings 2 ASCII characters per register
  padded with NUL. Points this charger does not model (power factor, reactive power
  controls, temperatures, phases L2/L3, model 703, ...) answer the "not implemented"
  value of their type (section 3.1).
* Writes (0x06 and 0x10): only the RW points of the section 3 tables are writable
  (1 DA; 702 WMax, WChaRteMax, WDisChaRteMax; 704 WMaxLimPct group, WSet group,
  WRmp, WRmpRef, AntiIslEna); any other register answers exception 2. An enum or a
  value out of range answers exception 3, and so does a write covering only part of
  a 32-bit point. A multi-register write is validated whole before anything changes.

Behaviour (choices where the documents leave room, see also the class docstring):

* 704 WSetMod 1 (WATTS): the target is WSet x 10^WSet_SF in SunSpec sign (negative =
  charging); WSetMod 0 (W_MAX_PCT): WSetPct x 10^WSetPct_SF percent of 702 WMax.
  WSetMod defaults to 0, the first value of the enum, so a client that forgets to
  select WATTS sees nothing happen.
* Reversion (the watchdog): writing WSet, WSetPct, WSetEna or WSetRvrtTms (re)starts
  the timer; when WSetRvrtTms > 0 and that many simulated seconds pass while
  WSetEna = 1, WSetEna := WSetEnaRvrt, WSet := WSetRvrt and WSetPct := WSetPctRvrt.
  The timer then stops until the next such write. WSetRvrtRem counts down (rounded
  up to whole seconds) while the timer runs and reads 0 otherwise. The WMaxLimPct
  group has its own timer with the same rules.
* Limits: charging is clamped to 702 WChaRteMax, discharging to WDisChaRteMax, to
  702 WMax and, while 704 WMaxLimPctEna = 1, to WMaxLimPct percent of WMax (WMax and
  the percentage limit act on injection only: they limit "active power output").
* Physics as the Quasar twin: ramp at ``ramp_w_per_s``, the battery's own limits,
  charging needs the grid (drops to 0 at once when it goes), discharging does not.
  For 1 s after WSetEna goes from 0 to 1 the inverter is STARTING and delivers 0 W.
* 701 W, VA and A carry the SunSpec sign (positive = injection/discharge); our own
  ``actual_power_w`` is positive when charging.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
import math
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

# 701 InvSt and St values (section 3.3)
INV_OFF = 0
INV_STARTING = 2
INV_RUNNING = 3
INV_FAULT = 6
INV_STANDBY = 7
ALARM_MANUFACTURER = 1 << 16

_STARTING_S = 1.0
_RUNNING_EPSILON_W = 1.0
_EPSILON_S = 1e-9

# (name, type, registers) in the order of each model definition, after ID and L.
_Point = tuple[str, str, int]


def _phase(n: int) -> tuple[_Point, ...]:
    """The per-phase block of model 701 (offsets 41, 64 and 87)."""
    return (
        (f"WL{n}", "int16", 1),
        (f"VAL{n}", "int16", 1),
        (f"VarL{n}", "int16", 1),
        (f"PFL{n}", "int16", 1),
        (f"AL{n}", "int16", 1),
        (f"VL{n}L{n % 3 + 1}", "uint16", 1),
        (f"VL{n}", "uint16", 1),
        (f"TotWhInjL{n}", "uint64", 4),
        (f"TotWhAbsL{n}", "uint64", 4),
        (f"TotVarhInjL{n}", "uint64", 4),
        (f"TotVarhAbsL{n}", "uint64", 4),
    )


def _enable_group(prefix: str) -> tuple[_Point, ...]:
    """An enable / reversion-enable / reversion-time / time-remaining group of 704."""
    return (
        (f"{prefix}Ena", "enum16", 1),
        (f"{prefix}EnaRvrt", "enum16", 1),
        (f"{prefix}RvrtTms", "uint32", 2),
        (f"{prefix}RvrtRem", "uint32", 2),
    )


_MODELS: tuple[tuple[int, tuple[_Point, ...]], ...] = (
    (
        1,
        (
            ("Mn", "string", 16),
            ("Md", "string", 16),
            ("Opt", "string", 8),
            ("Vr", "string", 8),
            ("SN", "string", 16),
            ("DA", "uint16", 1),
            ("Pad", "pad", 1),
        ),
    ),
    (
        701,
        (
            ("ACType", "enum16", 1),
            ("St", "enum16", 1),
            ("InvSt", "enum16", 1),
            ("ConnSt", "enum16", 1),
            ("Alrm", "bitfield32", 2),
            ("DERMode", "bitfield32", 2),
            ("W", "int16", 1),
            ("VA", "int16", 1),
            ("Var", "int16", 1),
            ("PF", "int16", 1),
            ("A", "int16", 1),
            ("LLV", "uint16", 1),
            ("LNV", "uint16", 1),
            ("Hz", "uint32", 2),
            ("TotWhInj", "uint64", 4),
            ("TotWhAbs", "uint64", 4),
            ("TotVarhInj", "uint64", 4),
            ("TotVarhAbs", "uint64", 4),
            *((name, "int16", 1) for name in ("TmpAmb", "TmpCab", "TmpSnk", "TmpTrns")),
            ("TmpSw", "int16", 1),
            ("TmpOt", "int16", 1),
            *_phase(1),
            *_phase(2),
            *_phase(3),
            ("ThrotPct", "uint16", 1),
            ("ThrotSrc", "bitfield32", 2),
            *((f"{name}_SF", "sunssf", 1) for name in ("A", "V", "Hz", "W", "PF")),
            *((f"{name}_SF", "sunssf", 1) for name in ("VA", "Var", "TotWh", "TotVarh", "Tmp")),
            ("MnAlrmInfo", "string", 32),
        ),
    ),
    (
        702,
        (
            ("WMaxRtg", "uint16", 1),
            ("WOvrExtRtg", "uint16", 1),
            ("WOvrExtRtgPF", "uint16", 1),
            ("WUndExtRtg", "uint16", 1),
            ("WUndExtRtgPF", "uint16", 1),
            ("VAMaxRtg", "uint16", 1),
            ("VarMaxInjRtg", "uint16", 1),
            ("VarMaxAbsRtg", "uint16", 1),
            ("WChaRteMaxRtg", "uint16", 1),
            ("WDisChaRteMaxRtg", "uint16", 1),
            ("VAChaRteMaxRtg", "uint16", 1),
            ("VADisChaRteMaxRtg", "uint16", 1),
            ("VNomRtg", "uint16", 1),
            ("VMaxRtg", "uint16", 1),
            ("VMinRtg", "uint16", 1),
            ("AMaxRtg", "uint16", 1),
            ("PFOvrExtRtg", "uint16", 1),
            ("PFUndExtRtg", "uint16", 1),
            ("ReactSusceptRtg", "uint16", 1),
            ("NorOpCatRtg", "enum16", 1),
            ("AbnOpCatRtg", "enum16", 1),
            ("CtrlModes", "bitfield32", 2),
            ("IntIslandCatRtg", "bitfield16", 1),
            ("WMax", "uint16", 1),
            ("WMaxOvrExt", "uint16", 1),
            ("WOvrExtPF", "uint16", 1),
            ("WMaxUndExt", "uint16", 1),
            ("WUndExtPF", "uint16", 1),
            ("VAMax", "uint16", 1),
            ("VarMaxInj", "uint16", 1),
            ("VarMaxAbs", "uint16", 1),
            ("WChaRteMax", "uint16", 1),
            ("WDisChaRteMax", "uint16", 1),
            ("VAChaRteMax", "uint16", 1),
            ("VADisChaRteMax", "uint16", 1),
            ("VNom", "uint16", 1),
            ("VMax", "uint16", 1),
            ("VMin", "uint16", 1),
            ("AMax", "uint16", 1),
            ("PFOvrExt", "uint16", 1),
            ("PFUndExt", "uint16", 1),
            ("IntIslandCat", "bitfield16", 1),
            *((f"{name}_SF", "sunssf", 1) for name in ("W", "PF", "VA", "Var", "V", "A", "S")),
        ),
    ),
    (
        703,
        (
            ("ES", "enum16", 1),
            ("ESVHi", "uint16", 1),
            ("ESVLo", "uint16", 1),
            ("ESHzHi", "uint32", 2),
            ("ESHzLo", "uint32", 2),
            ("ESDlyTms", "uint32", 2),
            ("ESRndTms", "uint32", 2),
            ("ESRmpTms", "uint32", 2),
            ("ESDlyRemTms", "uint32", 2),
            ("V_SF", "sunssf", 1),
            ("Hz_SF", "sunssf", 1),
        ),
    ),
    (
        704,
        (
            *_enable_group("PFWInj"),
            *_enable_group("PFWAbs"),
            ("WMaxLimPctEna", "enum16", 1),
            ("WMaxLimPct", "uint16", 1),
            ("WMaxLimPctRvrt", "uint16", 1),
            ("WMaxLimPctEnaRvrt", "enum16", 1),
            ("WMaxLimPctRvrtTms", "uint32", 2),
            ("WMaxLimPctRvrtRem", "uint32", 2),
            ("WSetEna", "enum16", 1),
            ("WSetMod", "enum16", 1),
            ("WSet", "int32", 2),
            ("WSetRvrt", "int32", 2),
            ("WSetPct", "int16", 1),
            ("WSetPctRvrt", "int16", 1),
            ("WSetEnaRvrt", "enum16", 1),
            ("WSetRvrtTms", "uint32", 2),
            ("WSetRvrtRem", "uint32", 2),
            ("VarSetEna", "enum16", 1),
            ("VarSetMod", "enum16", 1),
            ("VarSetPri", "enum16", 1),
            ("VarSet", "int32", 2),
            ("VarSetRvrt", "int32", 2),
            ("VarSetPct", "int16", 1),
            ("VarSetPctRvrt", "int16", 1),
            ("VarSetEnaRvrt", "enum16", 1),
            ("VarSetRvrtTms", "uint32", 2),
            ("VarSetRvrtRem", "uint32", 2),
            ("WRmp", "uint16", 1),
            ("WRmpRef", "enum16", 1),
            ("VarRmp", "uint16", 1),
            ("AntiIslEna", "enum16", 1),
            *((f"{name}_SF", "sunssf", 1) for name in ("PF", "WMaxLimPct", "WSet")),
            *((f"{name}_SF", "sunssf", 1) for name in ("WSetPct", "VarSet", "VarSetPct")),
            *(
                (f"{group}.{name}", kind, 1)
                for group in ("PFWInj", "PFWInjRvrt", "PFWAbs", "PFWAbsRvrt")
                for name, kind in (("PF", "uint16"), ("Ext", "enum16"))
            ),
        ),
    ),
    (
        713,
        (
            ("WHRtg", "uint16", 1),
            ("WHAvail", "uint16", 1),
            ("SoC", "uint16", 1),
            ("SoH", "uint16", 1),
            ("Sta", "enum16", 1),
            ("WH_SF", "sunssf", 1),
            ("Pct_SF", "sunssf", 1),
        ),
    ),
)

# Section 3.1: the value a point of each type reads when it is not implemented.
NOT_IMPLEMENTED: dict[str, int] = {
    "int16": 0x8000,
    "uint16": 0xFFFF,
    "acc16": 0,
    "enum16": 0xFFFF,
    "bitfield16": 0xFFFF,
    "sunssf": 0x8000,
    "pad": 0,
    "int32": 0x8000_0000,
    "uint32": 0xFFFF_FFFF,
    "acc32": 0,
    "enum32": 0xFFFF_FFFF,
    "bitfield32": 0xFFFF_FFFF,
    "int64": 0x8000_0000_0000_0000,
    "uint64": 0xFFFF_FFFF_FFFF_FFFF,
    "string": 0,
}
_SIGNED = frozenset(("int16", "sunssf", "int32", "int64"))


@dataclass(frozen=True, slots=True)
class Slot:
    """One point of the image: ``key`` is "<model>.<point>", ``start`` is base-relative."""

    key: str
    kind: str
    start: int
    size: int


def _build_layout() -> tuple[tuple[Slot, ...], dict[str, int | str]]:
    slots = [Slot("SunS", "string", 0, 2)]
    fixed: dict[str, int | str] = {"SunS": "SunS", "end.ID": 0xFFFF, "end.L": 0}
    offset = 2
    for model_id, points in _MODELS:
        length = sum(size for _, _, size in points)
        fixed[f"{model_id}.ID"] = model_id
        fixed[f"{model_id}.L"] = length
        slots.append(Slot(f"{model_id}.ID", "uint16", offset, 1))
        slots.append(Slot(f"{model_id}.L", "uint16", offset + 1, 1))
        offset += 2
        for name, kind, size in points:
            slots.append(Slot(f"{model_id}.{name}", kind, offset, size))
            offset += size
    slots.append(Slot("end.ID", "uint16", offset, 1))
    slots.append(Slot("end.L", "uint16", offset + 1, 1))
    return tuple(slots), fixed


SLOTS, _FIXED = _build_layout()
SLOT_BY_KEY: dict[str, Slot] = {slot.key: slot for slot in SLOTS}
IMAGE_SIZE = SLOTS[-1].start + 1
_SLOT_AT: tuple[Slot, ...] = tuple(slot for slot in SLOTS for _ in range(slot.size))


def encode(slot: Slot, value: int | str | None) -> list[int]:
    """The registers of one point: big-endian, high word first; None = not implemented."""
    if isinstance(value, str):
        raw = value.encode("ascii")
        if len(raw) > 2 * slot.size:
            raise ValueError(f"{slot.key}: {value!r} is longer than {2 * slot.size} characters")
        raw = raw.ljust(2 * slot.size, b"\0")
        return [int.from_bytes(raw[i : i + 2], "big") for i in range(0, len(raw), 2)]
    bits = 16 * slot.size
    if value is None:
        number = NOT_IMPLEMENTED[slot.kind]
    else:
        signed = slot.kind in _SIGNED
        low = -(1 << (bits - 1)) if signed else 0
        high = (1 << (bits - 1 if signed else bits)) - 1
        if not low <= value <= high:
            raise ValueError(f"{slot.key}: {value} does not fit {slot.kind}")
        number = value & ((1 << bits) - 1)
    return [(number >> (16 * (slot.size - 1 - i))) & 0xFFFF for i in range(slot.size)]


def decode(slot: Slot, words: list[int]) -> int:
    """The integer a write of ``words`` to ``slot`` carries (two's complement if signed)."""
    number = 0
    for word in words:
        number = (number << 16) | word
    bits = 16 * slot.size
    if slot.kind in _SIGNED and number >= 1 << (bits - 1):
        number -= 1 << bits
    return number


def _raw(value: float, sf: int) -> int:
    """A physical value as the raw integer of a point with scale factor ``sf``."""
    return round(value / 10.0**sf)


@dataclass(slots=True)
class SunSpecConfig:
    """Static parameters of one simulated SunSpec charger and its car."""

    name: str = "sunspec"
    port: int = 5022
    unit_id: int = 1
    base_address: int = 40000
    manufacturer: str = "V2X Simulated"
    model: str = "BiDi DC 11"
    options: str = "V2H"
    version: str = "1.4.2"
    serial: str = "SS11-000123"
    rated_charge_w: int = 11000
    rated_discharge_w: int = 11000
    nominal_v: float = 230.0
    frequency_hz: float = 50.0
    # Scale factors (exponents), none of them 0 so that scaling mistakes show.
    w_sf: int = 1  # 701 W_SF (raw in tens of W)
    va_sf: int = 1  # 701/702 VA_SF
    var_sf: int = 1  # 701 Var_SF
    v_sf: int = -1  # 701/702 V_SF
    a_sf: int = -2  # 701/702 A_SF
    hz_sf: int = -2  # 701 Hz_SF
    totwh_sf: int = 1  # 701 TotWh_SF (raw in tens of Wh)
    rtg_w_sf: int = 1  # 702 W_SF
    wset_sf: int = 1  # 704 WSet_SF
    wsetpct_sf: int = -1  # 704 WSetPct_SF
    wmaxlimpct_sf: int = -1  # 704 WMaxLimPct_SF
    wh_sf: int = 1  # 713 WH_SF
    pct_sf: int = -1  # 713 Pct_SF
    ramp_w_per_s: float = 3000.0
    reboot_boot_s: float = 5.0
    car: Battery = field(default_factory=lambda: Battery(capacity_kwh=60.0, soc_pct=60.0))
    plugged: bool = True

    def __post_init__(self) -> None:
        """Validate what would otherwise produce an image that does not fit its types."""
        if not 0 <= self.base_address <= 0x10000 - IMAGE_SIZE:
            raise ValueError("base_address leaves no room for the SunSpec image")
        if not 1 <= self.unit_id <= 247:
            raise ValueError("unit_id must be in 1..247")
        if min(self.rated_charge_w, self.rated_discharge_w) <= 0 or self.nominal_v <= 0:
            raise ValueError("ratings and nominal voltage must be positive")
        if self.ramp_w_per_s <= 0 or self.reboot_boot_s < 0:
            raise ValueError("ramp_w_per_s must be > 0 and reboot_boot_s >= 0")
        for key, text in (
            ("1.Mn", self.manufacturer),
            ("1.Md", self.model),
            ("1.Opt", self.options),
            ("1.Vr", self.version),
            ("1.SN", self.serial),
        ):
            encode(SLOT_BY_KEY[key], text)
        rating = max(self.rated_charge_w, self.rated_discharge_w)
        encode(SLOT_BY_KEY["702.WMaxRtg"], _raw(rating, self.rtg_w_sf))
        encode(SLOT_BY_KEY["701.W"], _raw(rating, self.w_sf))
        encode(SLOT_BY_KEY["701.A"], _raw(rating / self.nominal_v, self.a_sf))
        encode(SLOT_BY_KEY["702.VMaxRtg"], _raw(self.nominal_v * 1.1, self.v_sf))
        encode(SLOT_BY_KEY["713.WHRtg"], _raw(self.car.capacity_kwh * 1000, self.wh_sf))
        encode(SLOT_BY_KEY["713.SoH"], _raw(100, self.pct_sf))
        encode(SLOT_BY_KEY["704.WMaxLimPct"], _raw(100, self.wmaxlimpct_sf))
        encode(SLOT_BY_KEY["704.WSetPct"], _raw(-100, self.wsetpct_sf))
        encode(SLOT_BY_KEY["704.WSet"], _raw(-rating, self.wset_sf))


@dataclass(slots=True)
class _Reversion:
    """One reversion timer of model 704 (a deadline in simulated seconds, or none)."""

    deadline: float | None = None

    def restart(self, now: float, seconds: int) -> None:
        self.deadline = now + seconds if seconds > 0 else None

    def remaining(self, now: float, enabled: bool) -> int:
        if self.deadline is None or not enabled:
            return 0
        return max(0, math.ceil(self.deadline - now - _EPSILON_S))


class SunSpecTwin(ModbusTwin[SunSpecConfig], ChargerTwin[SunSpecConfig]):
    """The SunSpec register image and physics of one bidirectional charger with its car.

    ``actual_power_w`` uses our sign (positive = charging); 701 reports the opposite.
    Faults: the network ones through :class:`NetworkFaultState`; ``garbage`` makes
    reads return random values; ``reboot`` drops connections, refuses them for
    ``reboot_boot_s`` and resets model 704 to its defaults (702 settings and DA are
    kept, as non-volatile settings); ``soc_glitch`` makes 713 SoC read 0 for
    ``count`` reads; ``error`` stops the power at once and reports St OFF, InvSt
    FAULT, Alrm bit 16 (MANUFACTURER_ALRM) and "ERROR <code>" in MnAlrmInfo until
    the faults are cleared.
    """

    label = "SunSpec charger"

    @property
    def rated_discharge_w(self) -> float:
        """The charger's rated discharge power (702 WDisChaRteMaxRtg)."""
        return float(self.config.rated_discharge_w)

    def __init__(self, config: SunSpecConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """Create the charger idle (WSetEna 0) with its factory settings.

        Without a ``grid`` the supply is always there.
        """
        super().__init__(config, clock, grid)
        self.injected_wh = 0.0
        self.absorbed_wh = 0.0
        self.reversions = 0
        self.limit_reversions = 0
        self.error_code = 0
        self._boot_until = -math.inf
        self._starting_until = -math.inf
        self._wset_timer = _Reversion()
        self._limit_timer = _Reversion()
        cfg = config
        pct_100 = _raw(100, cfg.wsetpct_sf)
        lim_100 = _raw(100, cfg.wmaxlimpct_sf)
        cha = _raw(cfg.rated_charge_w, cfg.rtg_w_sf)
        dis = _raw(cfg.rated_discharge_w, cfg.rtg_w_sf)
        wset_cha = _raw(cfg.rated_charge_w, cfg.wset_sf)
        wset_dis = _raw(cfg.rated_discharge_w, cfg.wset_sf)
        rating_w = max(cfg.rated_charge_w, cfg.rated_discharge_w)
        self._limits: dict[str, tuple[int, int]] = {
            "1.DA": (1, 247),
            "702.WMax": (0, max(cha, dis)),
            "702.WChaRteMax": (0, cha),
            "702.WDisChaRteMax": (0, dis),
            "704.WMaxLimPctEna": (0, 1),
            "704.WMaxLimPct": (0, lim_100),
            "704.WMaxLimPctRvrt": (0, lim_100),
            "704.WMaxLimPctEnaRvrt": (0, 1),
            "704.WMaxLimPctRvrtTms": (0, 0xFFFF_FFFF),
            "704.WSetEna": (0, 1),
            "704.WSetMod": (0, 1),
            "704.WSet": (-wset_cha, wset_dis),
            "704.WSetRvrt": (-wset_cha, wset_dis),
            "704.WSetPct": (-pct_100, pct_100),
            "704.WSetPctRvrt": (-pct_100, pct_100),
            "704.WSetEnaRvrt": (0, 1),
            "704.WSetRvrtTms": (0, 0xFFFF_FFFF),
            "704.WRmp": (0, 0xFFFE),
            "704.WRmpRef": (0, 1),
            "704.AntiIslEna": (0, 1),
        }
        self._control_defaults: dict[str, int] = {
            "704.WMaxLimPctEna": 0,
            "704.WMaxLimPct": lim_100,
            "704.WMaxLimPctRvrt": lim_100,
            "704.WMaxLimPctEnaRvrt": 0,
            "704.WMaxLimPctRvrtTms": 0,
            "704.WSetEna": 0,
            "704.WSetMod": 0,
            "704.WSet": 0,
            "704.WSetRvrt": 0,
            "704.WSetPct": 0,
            "704.WSetPctRvrt": 0,
            "704.WSetEnaRvrt": 0,
            "704.WSetRvrtTms": 0,
            # WRmp is stored and read back; the physics ramp at ramp_w_per_s.
            "704.WRmp": min(0xFFFE, round(100 * cfg.ramp_w_per_s / rating_w)),
            "704.WRmpRef": 1,  # W_MAX
            "704.AntiIslEna": 1,
        }
        self.points: dict[str, int] = {
            "1.DA": cfg.unit_id,
            "702.WMax": max(cha, dis),
            "702.WChaRteMax": cha,
            "702.WDisChaRteMax": dis,
            **self._control_defaults,
        }

    # -- the world --------------------------------------------------------------------

    @property
    def booting(self) -> bool:
        """Whether the charger is restarting (no network, no power)."""
        return self.clock.now() < self._boot_until

    def advance(self) -> None:
        """Bring physics and reversion timers up to the current simulation time.

        A step ends at each reversion deadline and at the end of the start-up phase.
        """
        self._check_timers()
        super().advance()

    def _step_events(self) -> Iterable[float]:
        events = (self._wset_timer.deadline, self._limit_timer.deadline, self._starting_until)
        return (event for event in events if event is not None)

    def _stepped(self) -> None:
        self._check_timers()

    def _check_timers(self) -> None:
        t = self._time + _EPSILON_S
        if self._wset_timer.deadline is not None and self._wset_timer.deadline <= t:
            self._wset_timer.deadline = None
            if self.points["704.WSetEna"] == 1:
                self.points["704.WSetEna"] = self.points["704.WSetEnaRvrt"]
                self.points["704.WSet"] = self.points["704.WSetRvrt"]
                self.points["704.WSetPct"] = self.points["704.WSetPctRvrt"]
                self.reversions += 1
        if self._limit_timer.deadline is not None and self._limit_timer.deadline <= t:
            self._limit_timer.deadline = None
            if self.points["704.WMaxLimPctEna"] == 1:
                self.points["704.WMaxLimPctEna"] = self.points["704.WMaxLimPctEnaRvrt"]
                self.points["704.WMaxLimPct"] = self.points["704.WMaxLimPctRvrt"]
                self.limit_reversions += 1

    def _step(self, dt: float) -> None:
        target = self.target_power_w()
        if not self.grid_available:
            target = min(target, 0.0)
            self.actual_power_w = min(self.actual_power_w, 0.0)  # the supply is gone
        ramp = self.config.ramp_w_per_s * dt
        previous = self.actual_power_w
        self.actual_power_w += max(-ramp, min(ramp, target - previous))
        average = (previous + self.actual_power_w) / 2
        self.battery.step(average, dt)
        if average > 0:
            self.absorbed_wh += average * dt / 3600
        else:
            self.injected_wh -= average * dt / 3600

    def _scaled(self, key: str, sf: int) -> float:
        return self.points[key] * 10.0**sf

    def target_power_w(self) -> float:
        """The power (our sign) the charger is heading for at the current time step."""
        cfg = self.config
        if (
            not self.plugged
            or self.booting
            or self.error_code
            or not self.points["704.WSetEna"]
            or self._time < self._starting_until
        ):
            return 0.0
        wmax_w = self._scaled("702.WMax", cfg.rtg_w_sf)
        if self.points["704.WSetMod"] == 1:
            sunspec_w = self._scaled("704.WSet", cfg.wset_sf)
        else:
            sunspec_w = self._scaled("704.WSetPct", cfg.wsetpct_sf) / 100 * wmax_w
        inject_max = min(wmax_w, self._scaled("702.WDisChaRteMax", cfg.rtg_w_sf))
        if self.points["704.WMaxLimPctEna"]:
            limit_pct = self._scaled("704.WMaxLimPct", cfg.wmaxlimpct_sf)
            inject_max = min(inject_max, wmax_w * limit_pct / 100)
        absorb_max = self._scaled("702.WChaRteMax", cfg.rtg_w_sf)
        wanted = max(-inject_max, min(absorb_max, -sunspec_w))
        return self.battery.power_limit_w(wanted)

    def inverter_state(self) -> int:
        """701 InvSt as the charger would report it now."""
        if self.error_code:
            return INV_FAULT
        if self.booting:
            return INV_OFF
        if self.plugged and self.clock.now() < self._starting_until:
            return INV_STARTING
        if abs(self.actual_power_w) >= _RUNNING_EPSILON_W:
            return INV_RUNNING
        return INV_STANDBY

    # -- lifecycle, faults and world events ---------------------------------------------

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        if self.apply_common_fault(fault):
            return
        if fault.kind is FaultKind.SOC_GLITCH:
            self.soc_glitch_reads = fault.count
        else:  # FaultKind.ERROR
            self.error_code = fault.code
            self.actual_power_w = 0.0

    def clear_faults(self) -> None:
        """Remove every injected fault (a reboot in progress completes normally)."""
        self.advance()
        self.network.clear()
        self.garbage_until = 0.0
        self.soc_glitch_reads = 0
        self.error_code = 0

    def reboot(self) -> None:
        """Restart: no power, offline for ``reboot_boot_s``, model 704 back to defaults."""
        self.advance()
        self._boot_until = self.clock.now() + self.config.reboot_boot_s
        self._starting_until = -math.inf
        self.actual_power_w = 0.0
        self.points.update(self._control_defaults)
        self._wset_timer.deadline = None
        self._limit_timer.deadline = None

    def update_state(self, payload: dict[str, Any]) -> None:
        """Control API: ``plugged`` (bool) and ``soc_pct`` (0..100); all or nothing."""
        unknown = set(payload) - {"plugged", "soc_pct"}
        if unknown:
            raise ValueError(f"unknown keys {sorted(unknown)}: expected plugged, soc_pct")
        plugged = payload.get("plugged", self.plugged)
        if not isinstance(plugged, bool):
            raise ValueError("plugged must be true or false")  # noqa: TRY004 - API contract
        soc = payload.get("soc_pct", self.battery.soc_pct)
        if (
            isinstance(soc, bool)
            or not isinstance(soc, int | float)
            or not math.isfinite(soc)
            or not 0 <= soc <= 100
        ):
            raise ValueError("soc_pct must be a number in 0..100")
        self.advance()
        self.battery.soc_pct = float(soc)
        self.plugged = plugged
        if not plugged:
            self.actual_power_w = 0.0  # the cable is out: the current stops at once

    # -- the register image ------------------------------------------------------------

    def values(self) -> dict[str, int | str]:
        """Every implemented point as its raw value (points left out are not implemented)."""
        cfg = self.config
        now = self.clock.now()
        grid_up = self.grid_available
        sunspec_w = -self.actual_power_w
        amps = sunspec_w / cfg.nominal_v
        rating = max(cfg.rated_charge_w, cfg.rated_discharge_w)
        energy_inj = math.floor(self.injected_wh / 10.0**cfg.totwh_sf)
        energy_abs = math.floor(self.absorbed_wh / 10.0**cfg.totwh_sf)
        volts = _raw(cfg.nominal_v, cfg.v_sf) if grid_up else 0
        values: dict[str, int | str] = {
            **_FIXED,
            **self.points,
            "1.Mn": cfg.manufacturer,
            "1.Md": cfg.model,
            "1.Opt": cfg.options,
            "1.Vr": cfg.version,
            "1.SN": cfg.serial,
            "701.ACType": 0,  # SINGLE_PHASE
            "701.St": 0 if self.error_code or self.booting else 1,
            "701.InvSt": self.inverter_state(),
            "701.ConnSt": int(grid_up),
            "701.Alrm": ALARM_MANUFACTURER if self.error_code else 0,
            "701.W": _raw(sunspec_w, cfg.w_sf),
            "701.VA": _raw(sunspec_w, cfg.va_sf),
            "701.Var": 0,
            "701.A": _raw(amps, cfg.a_sf),
            "701.LNV": volts,
            "701.Hz": _raw(cfg.frequency_hz, cfg.hz_sf) if grid_up else 0,
            "701.TotWhInj": energy_inj,
            "701.TotWhAbs": energy_abs,
            "701.WL1": _raw(sunspec_w, cfg.w_sf),
            "701.VAL1": _raw(sunspec_w, cfg.va_sf),
            "701.VarL1": 0,
            "701.AL1": _raw(amps, cfg.a_sf),
            "701.VL1": volts,
            "701.TotWhInjL1": energy_inj,
            "701.TotWhAbsL1": energy_abs,
            "701.A_SF": cfg.a_sf,
            "701.V_SF": cfg.v_sf,
            "701.Hz_SF": cfg.hz_sf,
            "701.W_SF": cfg.w_sf,
            "701.VA_SF": cfg.va_sf,
            "701.Var_SF": cfg.var_sf,
            "701.TotWh_SF": cfg.totwh_sf,
            "701.MnAlrmInfo": f"ERROR {self.error_code}" if self.error_code else "",
            "702.WMaxRtg": _raw(rating, cfg.rtg_w_sf),
            "702.VAMaxRtg": _raw(rating, cfg.va_sf),
            "702.WChaRteMaxRtg": _raw(cfg.rated_charge_w, cfg.rtg_w_sf),
            "702.WDisChaRteMaxRtg": _raw(cfg.rated_discharge_w, cfg.rtg_w_sf),
            "702.VNomRtg": _raw(cfg.nominal_v, cfg.v_sf),
            "702.VMaxRtg": _raw(cfg.nominal_v * 1.1, cfg.v_sf),
            "702.VMinRtg": _raw(cfg.nominal_v * 0.9, cfg.v_sf),
            "702.AMaxRtg": _raw(rating / cfg.nominal_v, cfg.a_sf),
            "702.CtrlModes": 0b11,  # MAX_W, FIXED_W
            "702.W_SF": cfg.rtg_w_sf,
            "702.VA_SF": cfg.va_sf,
            "702.V_SF": cfg.v_sf,
            "702.A_SF": cfg.a_sf,
            "704.WMaxLimPctRvrtRem": self._limit_timer.remaining(
                now, self.points["704.WMaxLimPctEna"] == 1
            ),
            "704.WSetRvrtRem": self._wset_timer.remaining(now, self.points["704.WSetEna"] == 1),
            "704.WMaxLimPct_SF": cfg.wmaxlimpct_sf,
            "704.WSet_SF": cfg.wset_sf,
            "704.WSetPct_SF": cfg.wsetpct_sf,
            "713.Sta": 0,  # OK
            "713.WH_SF": cfg.wh_sf,
            "713.Pct_SF": cfg.pct_sf,
        }
        if self.plugged:
            rated_wh = self.battery.capacity_kwh * 1000
            soc = self.battery.soc_pct
            values["713.WHRtg"] = _raw(rated_wh, cfg.wh_sf)
            values["713.WHAvail"] = _raw(rated_wh * soc / 100, cfg.wh_sf)  # SoH is 100 %
            values["713.SoC"] = 0 if self.soc_glitch_reads else _raw(soc, cfg.pct_sf)
            values["713.SoH"] = _raw(100, cfg.pct_sf)
        return values

    def image(self) -> list[int]:
        """The whole register image (base-relative), as it reads now."""
        values = self.values()
        words: list[int] = []
        for slot in SLOTS:
            words.extend(encode(slot, values.get(slot.key)))
        return words

    def is_readable(self, address: int) -> bool:
        """Whether ``address`` lies in the image (a read covering it is answered)."""
        return 0 <= address - self.config.base_address < IMAGE_SIZE

    def register(self, address: int) -> int:
        """The raw value of one register now (no side effects; ValueError outside)."""
        if not self.is_readable(address):
            raise ValueError(f"address {address} is outside the SunSpec image")
        return self.image()[address - self.config.base_address]

    # -- Modbus ----------------------------------------------------------------------------

    def accepts_unit(self, unit_id: int) -> bool:
        """Only the unit id in 1 DA is answered (other ids get no reply)."""
        return unit_id == self.points["1.DA"]

    def on_request(self) -> None:
        """Bring the physics up to date (SunSpec has no idle watchdog: see 704 reversion)."""
        self.advance()

    def read_holding(self, address: int, count: int) -> list[int]:
        """Function 0x03: any span inside the image; exception 2 outside."""
        self.advance()
        start = address - self.config.base_address
        if start < 0 or start + count > IMAGE_SIZE:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        if self.clock.wall() < self.garbage_until:
            return self.garbage(count)
        words = self.image()[start : start + count]
        soc = SLOT_BY_KEY["713.SoC"].start
        if self.soc_glitch_reads and self.plugged and start <= soc < start + count:
            self.soc_glitch_reads -= 1
        return words

    def write_single(self, address: int, value: int) -> int:
        """Function 0x06; the echo is the written address."""
        self.write_multiple(address, [value])
        return address

    def write_multiple(self, address: int, values: list[int]) -> None:
        """Function 0x10: every point covered must be writable, whole and in range."""
        self.advance()
        start = address - self.config.base_address
        if start < 0 or start + len(values) > IMAGE_SIZE:
            raise ModbusError(ILLEGAL_DATA_ADDRESS)
        changes: list[tuple[Slot, int]] = []
        index = 0
        while index < len(values):
            slot = _SLOT_AT[start + index]
            if slot.key not in self._limits:
                raise ModbusError(ILLEGAL_DATA_ADDRESS)
            if slot.start != start + index or index + slot.size > len(values):
                raise ModbusError(ILLEGAL_DATA_VALUE)  # only part of a 32-bit point
            value = decode(slot, values[index : index + slot.size])
            low, high = self._limits[slot.key]
            if not low <= value <= high:
                raise ModbusError(ILLEGAL_DATA_VALUE)
            changes.append((slot, value))
            index += slot.size
        for slot, value in changes:
            self._apply(slot, value)

    def _apply(self, slot: Slot, value: int) -> None:
        now = self.clock.now()
        key = slot.key
        if key == "704.WSetEna" and value == 1 and self.points[key] == 0:
            self._starting_until = now + _STARTING_S
        self.points[key] = value
        if key in ("704.WSet", "704.WSetPct", "704.WSetEna", "704.WSetRvrtTms"):
            self._wset_timer.restart(now, self.points["704.WSetRvrtTms"])
        elif key in ("704.WMaxLimPct", "704.WMaxLimPctEna", "704.WMaxLimPctRvrtTms"):
            self._limit_timer.restart(now, self.points["704.WMaxLimPctRvrtTms"])
        self.writes.append(
            WriteRecord(self.config.base_address + slot.start, value, now, self.clock.wall(), True)
        )

    # -- inspection --------------------------------------------------------------------

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary for the control API."""
        self.advance()
        cfg = self.config
        now = self.clock.now()
        return {
            "kind": "sunspec",
            "port": self.server.port,
            "listening": self.server.listening,
            "base_address": cfg.base_address,
            "unit_id": self.points["1.DA"],
            "plugged": self.plugged,
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.battery.capacity_kwh,
            "actual_power_w": round(self.actual_power_w, 1),
            "wset_w": self._scaled("704.WSet", cfg.wset_sf),
            "wset_pct": self._scaled("704.WSetPct", cfg.wsetpct_sf),
            "wset_ena": self.points["704.WSetEna"],
            "wset_mod": self.points["704.WSetMod"],
            "rvrt_tms": self.points["704.WSetRvrtTms"],
            "rvrt_rem_s": self._wset_timer.remaining(now, self.points["704.WSetEna"] == 1),
            "reversions": self.reversions,
            "limit_reversions": self.limit_reversions,
            "wcha_rte_max_w": self._scaled("702.WChaRteMax", cfg.rtg_w_sf),
            "wdischa_rte_max_w": self._scaled("702.WDisChaRteMax", cfg.rtg_w_sf),
            "conn_st": int(self.grid_available),
            "inv_st": self.inverter_state(),
            "energy_injected_wh": round(self.injected_wh, 3),
            "energy_absorbed_wh": round(self.absorbed_wh, 3),
            "faults": {
                "error": self.error_code,
                "garbage": self.clock.wall() < self.garbage_until,
                "soc_glitch_reads": self.soc_glitch_reads,
                "rebooting": self.booting,
            },
            "modbus_requests": self.server.requests,
            "writes": len(self.writes),
        }


KIND = register(
    TwinKind(
        "sunspec",
        "sunspecs",
        SunSpecConfig,
        SunSpecTwin,
        parse=lambda entry: SunSpecConfig(**with_car(entry)),
    )
)
