"""ECHONET Lite storage battery (class 0x027D), e.g. the battery of a "tribrid" V2H unit.

Reference: ``shared/reference/protocols.md`` section 4.4 (MRA Release R) and 4.1
(super class, frame). Multi-byte numbers are big-endian; 0xD3 is signed 32-bit
(+ charging, - discharging, our own sign); 0xC8/0xC9 are two uint32, minimum then
maximum (the MRA order; pychonet labels the first one "max", section 4.3).

A storage battery is a charger whose vehicle never leaves: ``connected`` is always
True, the state comes from the working operation status 0xCF (the set mode 0xDA
where 0xCF is not readable): 0x42 / 0x41 charging, 0x43 discharging, 0x44 standby,
0x48 restart -> starting, 0x40 / 0x45 / 0x49 other, 0x46 auto -> the sign of the
measured power 0xD3 (standby at 0 W). The SoC is 0xE4 where readable, else
0xE2 / 0xC7 (stored energy over the rated energy read at identity), else unknown;
it goes through the glitch filter. The grid comes from 0xDB, faults from 0x88.

Polling cost (requests per poll, no retries):

* status: one Get (0xCF, 0xD3, 0xE4 or 0xE2, 0x88, 0x89, 0xDB: those in the Get map): **1**;
* full poll: one Get, the status EPCs and the snapshot ones (0xDA, 0xEB, 0xEC, 0xC7,
  0xE2, 0xA8/0xA9 or else 0xD8/0xD6, 0xE5): **1**;
* identity: one Get to the node profile, one to the 0x027D object: **2**, again after
  the unit stopped answering (a reboot may change its maps).

``async_set_power``: charge (> 0) writes 0xEB then 0xDA = 0x42, discharge (< 0) 0xEC
then 0xDA = 0x43, 0 writes 0xDA = 0x44; the power is clamped to the maxima of
0xC8/0xC9; each step is read back (:class:`WriteNotVerifiedError`). A power below the
unit's minimum is sent as asked (the unit may refuse it: ResponseImpossibleError):
raising a discharge above what was asked is not ours to decide.

0x027D has no watchdog and no remote/local switch: ``watchdog_s`` stays 0, taking
control is a liveness check, releasing it is standby.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from ..errors import DeviceProtocolError, ValueOutOfRangeError
from ..model import (
    ChargerCapabilities,
    ChargerSnapshot,
    ChargerState,
    ChargerStatus,
    DeviceIdentity,
    SocReading,
)
from .client import EchonetClient
from .discovery import STORAGE_BATTERY_CLASS
from .frame import Eoj
from .object_profile import (
    EchonetObjectProfile,
    echonet_family,
    initial_capabilities,
)
from .values import Values, decode_coded, decode_model, decode_number, kwh

STORAGE_BATTERY_EOJ: Final = Eoj(
    STORAGE_BATTERY_CLASS >> 8, STORAGE_BATTERY_CLASS & 0xFF, 0x01
)  # 0x027D01

# 0x027D properties (protocols.md 4.4) and super-class ones (4.1)
EPC_FAULT_STATUS: Final = 0x88
EPC_FAULT_DESCRIPTION: Final = 0x89  # uint16 (super class, optional)
EPC_PRODUCT_CODE: Final = 0x8C
EPC_AC_EFFECTIVE_CHARGE: Final = 0xA0  # uint32 Wh
EPC_CHARGE_UPPER_LIMIT: Final = 0xA6  # uint8 %
EPC_DISCHARGE_LOWER_LIMIT: Final = 0xA7  # uint8 %
EPC_AC_CHARGED_ENERGY: Final = 0xA8  # uint32 x 0.001 kWh
EPC_AC_DISCHARGED_ENERGY: Final = 0xA9  # uint32 x 0.001 kWh
EPC_RATED_ENERGY: Final = 0xC7  # AC rated electric energy, uint32 Wh
EPC_CHARGE_POWER_RANGE: Final = 0xC8  # uint32 min W, uint32 max W
EPC_DISCHARGE_POWER_RANGE: Final = 0xC9  # uint32 min W, uint32 max W
EPC_WORKING_STATUS: Final = 0xCF  # actual
EPC_POWER: Final = 0xD3  # int32 W
EPC_DISCHARGED_ENERGY: Final = 0xD6  # uint32 x 0.001 kWh
EPC_CHARGED_ENERGY: Final = 0xD8  # uint32 x 0.001 kWh
EPC_OPERATION_MODE: Final = 0xDA  # the set mode
EPC_INTERCONNECTION: Final = 0xDB
EPC_STORED_ENERGY: Final = 0xE2  # remaining stored electricity 1, uint32 Wh
EPC_SOC: Final = 0xE4  # remaining stored electricity 3, uint8 %
EPC_STATE_OF_HEALTH: Final = 0xE5  # uint8 %
EPC_BATTERY_TYPE: Final = 0xE6
EPC_CHARGE_POWER_SETTING: Final = 0xEB  # uint32 W
EPC_DISCHARGE_POWER_SETTING: Final = 0xEC  # uint32 W

MODE_OTHER: Final = 0x40
MODE_RAPID_CHARGE: Final = 0x41
MODE_CHARGE: Final = 0x42
MODE_DISCHARGE: Final = 0x43
MODE_STANDBY: Final = 0x44
MODE_TEST: Final = 0x45
MODE_AUTO: Final = 0x46
MODE_RESTART: Final = 0x48
MODE_RECALCULATION: Final = 0x49  # effective capacity recalculation

WORKING_STATES: Final[dict[int, ChargerState]] = {
    MODE_OTHER: ChargerState.OTHER,
    MODE_RAPID_CHARGE: ChargerState.CHARGING,
    MODE_CHARGE: ChargerState.CHARGING,
    MODE_DISCHARGE: ChargerState.DISCHARGING,
    MODE_STANDBY: ChargerState.STANDBY,
    MODE_TEST: ChargerState.OTHER,
    MODE_RESTART: ChargerState.STARTING,
    MODE_RECALCULATION: ChargerState.OTHER,
}
BATTERY_TYPES: Final[dict[int, str]] = {
    0x00: "unknown",
    0x01: "lead",
    0x02: "nickel_metal_hydride",
    0x03: "nickel_cadmium",
    0x04: "lithium_ion",
    0x05: "zinc",
    0x06: "alkaline",
}
DEFAULT_MODEL: Final = "Storage battery"

STATES: Final = (
    ChargerState.CHARGING,
    ChargerState.DISCHARGING,
    ChargerState.STANDBY,
    ChargerState.STARTING,
    ChargerState.OTHER,
    ChargerState.ERROR,
)
INITIAL_CAPABILITIES: Final = initial_capabilities(STATES, stationary=True)

_IDENTITY_EPCS: Final = (
    EPC_CHARGE_POWER_RANGE,
    EPC_DISCHARGE_POWER_RANGE,
    EPC_RATED_ENERGY,
    EPC_BATTERY_TYPE,
)
_EPC_NAMES: Final[dict[int, str]] = {
    EPC_OPERATION_MODE: "operation_mode (0xDA)",
    EPC_CHARGE_POWER_SETTING: "charging_power (0xEB)",
    EPC_DISCHARGE_POWER_SETTING: "discharging_power (0xEC)",
}


@dataclass(frozen=True, slots=True)
class PowerRange:
    """0xC8/0xC9: the least and the most power of one direction (W)."""

    min_w: int
    max_w: int


def decode_power_range(edt: bytes | None, name: str) -> PowerRange | None:
    """0xC8/0xC9: 8 bytes, uint32 minimum then uint32 maximum (MRA order); None absent."""
    if edt is None:
        return None
    if len(edt) != 8:
        raise DeviceProtocolError(f"{name}: expected 8 bytes, got {len(edt)}")
    low, high = int.from_bytes(edt[:4], "big"), int.from_bytes(edt[4:], "big")
    if low > high:
        raise ValueOutOfRangeError(name, low, f"0..{high} (the minimum comes first)")
    return PowerRange(low, high)


def decode_working_status(code: int, power_w: int | None) -> ChargerState:
    """0xCF (or 0xDA) -> the domain state; 0x46 (auto) by the sign of 0xD3."""
    if code == MODE_AUTO:
        if not power_w:
            return ChargerState.STANDBY
        return ChargerState.CHARGING if power_w > 0 else ChargerState.DISCHARGING
    return decode_coded(
        "working_operation_status (0xCF)", code, WORKING_STATES | {MODE_AUTO: ChargerState.OTHER}
    )


def decode_battery_type(code: int) -> str:
    """0xE6 -> the battery chemistry (``lithium_ion`` for 0x04)."""
    return decode_coded("battery_type (0xE6)", code, BATTERY_TYPES)


def decode_percent(values: Values, epc: int, name: str) -> int | None:
    """A uint8 % (0xE4, 0xE5, 0xA6, 0xA7): 0..100, None when not reported."""
    value = decode_number(values, epc, 1)
    if value is not None and value > 100:
        raise ValueOutOfRangeError(name, value, "0..100")
    return value


def decode_power(values: Values) -> int | None:
    """0xD3: int32 W, + charging, - discharging."""
    return decode_number(values, EPC_POWER, 4, signed=True)


def decode_storage_model(edt: bytes | None) -> str:
    """Product code (0x8C, 12 ASCII bytes, padded); a generic name when absent or blank."""
    return decode_model(edt, DEFAULT_MODEL)


@dataclass(frozen=True, slots=True)
class StorageBatteryInfo:
    """What identity tells about a unit: its property maps, power ranges and energy."""

    get_map: frozenset[int]
    set_map: frozenset[int]
    charge: PowerRange | None
    discharge: PowerRange | None
    rated_energy_wh: int | None
    battery_type: int | None = None

    @property
    def mode_epc(self) -> int:
        """Working operation status (0xCF) where readable, else the set mode (0xDA)."""
        return EPC_WORKING_STATUS if EPC_WORKING_STATUS in self.get_map else EPC_OPERATION_MODE

    @property
    def soc_epc(self) -> int | None:
        """Where the SoC comes from: 0xE4, else 0xE2 (with a rated energy 0xC7), else none."""
        if EPC_SOC in self.get_map:
            return EPC_SOC
        if EPC_STORED_ENERGY in self.get_map and self.rated_energy_wh:
            return EPC_STORED_ENERGY
        return None

    @property
    def counter_epcs(self) -> tuple[int, int] | None:
        """(charged, discharged) counters: AC 0xA8/0xA9 preferred, else 0xD8/0xD6."""
        for pair in (
            (EPC_AC_CHARGED_ENERGY, EPC_AC_DISCHARGED_ENERGY),
            (EPC_CHARGED_ENERGY, EPC_DISCHARGED_ENERGY),
        ):
            if set(pair) <= self.get_map:
                return pair
        return None

    def capabilities(self) -> ChargerCapabilities:
        """The final capabilities of this unit."""
        charge_max = None if self.charge is None else self.charge.max_w
        discharge_max = None if self.discharge is None else self.discharge.max_w
        return ChargerCapabilities(
            bidirectional=charge_max != 0 and discharge_max != 0,
            watchdog=False,
            reports_grid=EPC_INTERCONNECTION in self.get_map,
            ac_measurements=False,
            max_power_w=max(charge_max or 0, discharge_max or 0),
            min_power_w=max(
                0 if self.charge is None else self.charge.min_w,
                0 if self.discharge is None else self.discharge.min_w,
            ),
            remote_control=False,
            reports_vehicle=False,
            energy_counters=self.counter_epcs is not None,
            vehicle_energy=(EPC_STORED_ENERGY in self.get_map and self.rated_energy_wh is not None),
            stationary=True,
            states=STATES,
        )

    def status_epcs(self) -> list[int]:
        """The EPCs of a status Get, in order (the mode one always)."""
        epcs = [self.mode_epc, EPC_POWER]
        if self.soc_epc is not None:
            epcs.append(self.soc_epc)
        epcs += [EPC_FAULT_STATUS, EPC_FAULT_DESCRIPTION, EPC_INTERCONNECTION]
        return [epc for epc in epcs if epc in self.get_map or epc == self.mode_epc]

    def snapshot_epcs(self) -> list[int]:
        """The EPCs of a full-poll Get: the status ones plus the snapshot ones."""
        epcs = self.status_epcs()
        extra = [
            EPC_OPERATION_MODE,
            EPC_CHARGE_POWER_SETTING,
            EPC_DISCHARGE_POWER_SETTING,
            EPC_RATED_ENERGY,
            EPC_STORED_ENERGY,
            *(self.counter_epcs or ()),
            EPC_STATE_OF_HEALTH,
        ]
        return epcs + [epc for epc in extra if epc in self.get_map and epc not in epcs]


class EchonetStorageBattery(EchonetObjectProfile[StorageBatteryInfo]):
    """A storage battery object (0x027D) behind an :class:`EchonetClient`."""

    IDENTITY_EPCS = _IDENTITY_EPCS
    SETTING_NAMES = _EPC_NAMES
    SOC_EPCS = frozenset({EPC_SOC, EPC_STORED_ENERGY})
    MODE_NAME = "operation status"

    def __init__(self, client: EchonetClient, *, eoj: Eoj = STORAGE_BATTERY_EOJ) -> None:
        """Use ``client`` for every request, addressing object ``eoj``."""
        super().__init__(client, eoj=eoj, capabilities=INITIAL_CAPABILITIES)

    async def async_read_identity(self) -> DeviceIdentity:
        """Read identification, manufacturer, model, version, maps and ranges (2 requests)."""
        return await super().async_read_identity()

    async def async_read_status(self) -> ChargerStatus:
        """Read working status, power, SoC, fault and grid (1 request)."""
        return await super().async_read_status()

    async def async_read_snapshot(self) -> ChargerSnapshot:
        """Read the status, the settings, the energy and the counters (1 request)."""
        return await super().async_read_snapshot()

    async def async_release_control(self) -> None:
        """Standby (the unit's own automatic mode is not assumed to be allowed)."""
        await super().async_release_control()

    async def async_set_power(self, power_w: int) -> int:
        """Charge (> 0) or discharge (< 0) at ``power_w``, clamped to 0xC8/0xC9's maxima.

        0xEB (0xEC) then 0xDA = 0x42 (0x43), each read back; 0: 0xDA = 0x44. Where
        0xEB/0xEC are not settable the unit runs at its own charging/discharging
        method's power. Returns the setpoint sent.
        """
        return await super().async_set_power(power_w)

    async def async_listen(self, on_status: Callable[[ChargerStatus], None]) -> Callable[[], None]:
        """Hand ``on_status`` the status each announcement (INF) of the unit makes.

        An announcement changes what it names (working status 0xCF, grid 0xDB, fault
        0x88; the others 0x027D announces, 0xDA/0xC1/0xC2/0xAA/0xAB, are not status)
        in the last status read; before the first read, or when it does not decode,
        it is ignored. Returns the function that stops it.
        """
        return await super().async_listen(on_status)

    # -- what 0x027D decides ------------------------------------------------------------------

    def _make_info(
        self, values: Values, get_map: frozenset[int], set_map: frozenset[int]
    ) -> StorageBatteryInfo:
        return StorageBatteryInfo(
            get_map=get_map,
            set_map=set_map,
            charge=decode_power_range(values[EPC_CHARGE_POWER_RANGE], "charging_power (0xC8)"),
            discharge=decode_power_range(
                values[EPC_DISCHARGE_POWER_RANGE], "discharging_power (0xC9)"
            ),
            rated_energy_wh=decode_number(values, EPC_RATED_ENERGY, 4),
            battery_type=decode_number(values, EPC_BATTERY_TYPE, 1),
        )

    def _model(self, product_code: bytes | None) -> str:
        return decode_storage_model(product_code)

    def _unique_id(self, identification: str) -> str:
        # A tribrid node holds a charger too: this object's id is the node's and its own.
        return FAMILY.scan_unique_id(identification, self.eoj.instance)

    def _connection(self, values: Values) -> tuple[bool | None, bool | None]:
        return True, None  # the battery never leaves

    def _state(self, mode: int, power_w: int | None) -> ChargerState:
        return decode_working_status(mode, power_w)

    def _read_soc(self, info: StorageBatteryInfo, values: Values) -> SocReading:
        """SoC through the glitch filter: 0xE4, else 0xE2 / 0xC7; the last good one if none."""
        raw: float | None
        if info.soc_epc == EPC_SOC:
            raw = decode_percent(values, EPC_SOC, "soc (0xE4)")
        elif info.soc_epc == EPC_STORED_ENERGY and info.rated_energy_wh:
            stored = decode_number(values, EPC_STORED_ENERGY, 4)
            raw = None if stored is None else round(100 * stored / info.rated_energy_wh, 1)
            if raw is not None and raw > 100:
                raise ValueOutOfRangeError("stored_energy (0xE2)", stored or 0, "up to 0xC7")
        else:
            raw = None
        if raw is None:
            return self._soc_filter.missing()
        return self._soc_filter.update(raw, vehicle_connected=True)

    def _clamp(self, info: StorageBatteryInfo, power_w: int) -> int:
        if power_w > 0 and info.charge is not None:
            return min(power_w, info.charge.max_w)
        if power_w < 0 and info.discharge is not None:
            return max(power_w, -info.discharge.max_w)
        return power_w

    def _power_writes(self, info: StorageBatteryInfo, setpoint: int) -> list[tuple[int, bytes]]:
        epc = EPC_CHARGE_POWER_SETTING if setpoint > 0 else EPC_DISCHARGE_POWER_SETTING
        return [(epc, abs(setpoint).to_bytes(4, "big"))] if epc in info.set_map else []

    def _decode_snapshot(self, info: StorageBatteryInfo, values: Values) -> ChargerSnapshot:
        status = self._decode_status(info, values)
        charge_max = None if info.charge is None else info.charge.max_w
        discharge_max = None if info.discharge is None else info.discharge.max_w
        counters = info.counter_epcs
        charged = discharged = None
        if counters is not None:
            charged = kwh(decode_number(values, counters[0], 4))
            discharged = kwh(decode_number(values, counters[1], 4))
        rated = decode_number(values, EPC_RATED_ENERGY, 4)
        if rated is None:
            rated = info.rated_energy_wh
        soh = decode_percent(values, EPC_STATE_OF_HEALTH, "state_of_health (0xE5)")
        return ChargerSnapshot(
            status=status,
            control=None,
            locked=None,
            power_setpoint_w=_setpoint(values),
            max_available_power_w=max(charge_max or 0, discharge_max or 0),
            max_charge_power_w=charge_max,
            max_discharge_power_w=discharge_max,
            charged_energy_kwh=charged,
            discharged_energy_kwh=discharged,
            vehicle_capacity_kwh=kwh(rated),
            vehicle_energy_kwh=kwh(decode_number(values, EPC_STORED_ENERGY, 4)),
            state_of_health_pct=None if soh is None else float(soh),
        )


def _setpoint(values: Values) -> int:
    """The signed power the unit is told to run at: 0xEB/0xEC by the set mode 0xDA."""
    mode = decode_number(values, EPC_OPERATION_MODE, 1)
    if mode == MODE_CHARGE:
        return decode_number(values, EPC_CHARGE_POWER_SETTING, 4) or 0
    if mode == MODE_DISCHARGE:
        return -(decode_number(values, EPC_DISCHARGE_POWER_SETTING, 4) or 0)
    return 0


FAMILY: Final = echonet_family(
    EchonetStorageBattery,
    key="echonet_storage",
    title="ECHONET Lite storage battery",
    products=(
        "ECHONET Lite class 0x027D storage battery",
        "Storage battery of a tribrid V2H unit (e.g. Nichicon)",
    ),
    scan_class=STORAGE_BATTERY_CLASS,
    scan_per_object=True,
)
