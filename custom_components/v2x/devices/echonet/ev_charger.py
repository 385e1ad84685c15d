"""ECHONET Lite EV charger/discharger (class 0x027E), e.g. a Nichicon "LEAF to Home".

Reference: ``shared/reference/protocols.md`` section 4.2 (MRA Release R, rows [V]);
the few [C] facts used are marked where they are used. Multi-byte numbers are
big-endian; 0xD3 and 0xE0 are signed 32-bit.

Polling cost (requests per poll, no retries):

* status: one Get (0xC7, actual mode 0xE1 or set mode 0xDA, 0xD3, 0xE4, 0x88, 0x89,
  0xDB: those in the device's Get property map), preceded by a SetC of 0xCD
  ("vehicle connection confirmation") on DC type AA (CHAdeMO) units and on any unit
  whose Set map has 0xCD: **1 or 2 requests**;
* full poll: the same sequence, the snapshot EPCs (0xDA, 0xE0, 0xEB, 0xEC, 0xC5,
  0xC6, 0xD6, 0xD8, 0xC0, 0xE2, 0xDC, 0xDD) merged into the one Get: **1 or 2**;
* identity: one Get to the node profile, one to the 0x027E object: **2**. It is
  read once (lazily if a poll comes first) and again after the device stopped
  answering, since a reboot may have changed firmware and property maps.

ECHONET Lite has no remote/local control switch and no watchdog: taking control is
a liveness check and ``watchdog_s`` stays 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import logging
from typing import Final

from ..errors import DeviceProtocolError, ResponseImpossibleError, ValueOutOfRangeError
from ..model import (
    ChargerCapabilities,
    ChargerSnapshot,
    ChargerState,
    ChargerStatus,
    DeviceIdentity,
    SocReading,
)
from .client import EchonetClient
from .frame import EV_CHARGER_CLASS, Eoj
from .object_profile import (
    EchonetObjectProfile,
    echonet_family,
    initial_capabilities,
)
from .values import Values, decode_coded, decode_model, decode_number, kwh

_LOGGER = logging.getLogger(__name__)

EV_CHARGER_EOJ: Final = Eoj(0x02, 0x7E, 0x01)

# 0x027E properties (protocols.md 4.2) and super-class properties (4.1)
EPC_FAULT_STATUS: Final = 0x88  # 0x41 fault, 0x42 no fault
EPC_FAULT_DESCRIPTION: Final = 0x89  # uint16
EPC_PRODUCT_CODE: Final = 0x8C  # 12 B ASCII
EPC_VEHICLE_CAPACITY: Final = 0xC0  # uint32 Wh
EPC_RATED_CHARGE: Final = 0xC5  # uint32 W
EPC_RATED_DISCHARGE: Final = 0xC6  # uint32 W
EPC_CONNECTION: Final = 0xC7  # vehicle connection & chargeable/dischargeable status
EPC_EQUIPMENT_TYPE: Final = 0xCC
EPC_CONNECTION_CONFIRMATION: Final = 0xCD  # set 0x10 before getting 0xC7
EPC_POWER: Final = 0xD3  # int32 W
EPC_DISCHARGED_ENERGY: Final = 0xD6  # uint32 x 0.001 kWh
EPC_CHARGED_ENERGY: Final = 0xD8  # uint32 x 0.001 kWh
EPC_OPERATION_MODE: Final = 0xDA  # the set mode
EPC_INTERCONNECTION: Final = 0xDB  # system interconnected type
EPC_CHARGING_METHOD: Final = 0xDC
EPC_DISCHARGING_METHOD: Final = 0xDD
EPC_POWER_SETTING: Final = 0xE0  # int32 W, + charge, - discharge; acts in V2G method only
EPC_ACTUAL_MODE: Final = 0xE1
EPC_VEHICLE_ENERGY: Final = 0xE2  # uint32 Wh
EPC_SOC: Final = 0xE4  # uint8 %
EPC_CHARGE_POWER_SETTING: Final = 0xEB  # uint32 W
EPC_DISCHARGE_POWER_SETTING: Final = 0xEC  # uint32 W

CONFIRM_CONNECTION: Final = 0x10
METHOD_V2G: Final = 0x06

MODE_OTHER: Final = 0x40
MODE_RAPID_CHARGE: Final = 0x41  # Releases D-F only
MODE_CHARGE: Final = 0x42
MODE_DISCHARGE: Final = 0x43
MODE_STANDBY: Final = 0x44
MODE_TEST: Final = 0x45  # Releases D-F only
MODE_CHARGE_DISCHARGE: Final = 0x46  # Release N on
MODE_IDLE: Final = 0x47
MODE_PREPARATION: Final = 0x48
MODE_AUTOMATIC: Final = 0x49  # Release P on

MODE_STATES: Final[dict[int, ChargerState]] = {
    MODE_OTHER: ChargerState.OTHER,
    MODE_RAPID_CHARGE: ChargerState.CHARGING,
    MODE_CHARGE: ChargerState.CHARGING,
    MODE_DISCHARGE: ChargerState.DISCHARGING,
    MODE_STANDBY: ChargerState.STANDBY,
    MODE_TEST: ChargerState.OTHER,
    MODE_IDLE: ChargerState.IDLE,
    MODE_PREPARATION: ChargerState.STARTING,
}
# Modes that say "charging or discharging" without the direction: 0xD3 tells.
MODES_BY_POWER_SIGN: Final = frozenset({MODE_CHARGE_DISCHARGE, MODE_AUTOMATIC})

# 0xC7 -> (connected, dischargeable)
CONNECTION_CODES: Final[dict[int, tuple[bool | None, bool | None]]] = {
    0x30: (False, None),
    0x40: (True, False),
    0x41: (True, False),
    0x42: (True, True),
    0x43: (True, True),
    0x44: (None, None),
    0xFF: (None, None),
}
# 0xCC: DC type AA units need 0xCD before 0xC7 (AA = CHAdeMO connector [C]).
DC_AA_TYPES: Final = frozenset({0x21, 0x22, 0x23})
# Types that move energy in one direction only (AC_CPLT, AC_HLC charge, DC_AA charge,
# DC_AA discharge); the other families' direction is not spelled out in the reference.
ONE_WAY_TYPES: Final = frozenset({0x11, 0x12, 0x21, 0x23})

DEFAULT_MODEL: Final = "EV charger/discharger"

STATES: Final = (
    ChargerState.NO_CAR,
    ChargerState.CHARGING,
    ChargerState.DISCHARGING,
    ChargerState.STANDBY,
    ChargerState.IDLE,
    ChargerState.STARTING,
    ChargerState.OTHER,
    ChargerState.ERROR,
)
INITIAL_CAPABILITIES: Final = initial_capabilities(STATES, stationary=False)

_IDENTITY_EPCS: Final = (
    EPC_RATED_CHARGE,
    EPC_RATED_DISCHARGE,
    EPC_EQUIPMENT_TYPE,
)
_SNAPSHOT_EPCS: Final = (
    EPC_OPERATION_MODE,
    EPC_POWER_SETTING,
    EPC_CHARGE_POWER_SETTING,
    EPC_DISCHARGE_POWER_SETTING,
    EPC_RATED_CHARGE,
    EPC_RATED_DISCHARGE,
    EPC_DISCHARGED_ENERGY,
    EPC_CHARGED_ENERGY,
    EPC_VEHICLE_CAPACITY,
    EPC_VEHICLE_ENERGY,
    EPC_CHARGING_METHOD,
    EPC_DISCHARGING_METHOD,
)
_EPC_NAMES: Final[dict[int, str]] = {
    EPC_OPERATION_MODE: "operation_mode (0xDA)",
    EPC_POWER_SETTING: "charging_discharging_power (0xE0)",
    EPC_CHARGE_POWER_SETTING: "charging_power (0xEB)",
    EPC_DISCHARGE_POWER_SETTING: "discharging_power (0xEC)",
    EPC_CHARGING_METHOD: "charging_method (0xDC)",
    EPC_DISCHARGING_METHOD: "discharging_method (0xDD)",
}
_SIGNED: Final = frozenset({EPC_POWER, EPC_POWER_SETTING})


@dataclass(frozen=True, slots=True)
class EvChargerInfo:
    """What identity tells about a unit: its property maps, ratings and type."""

    get_map: frozenset[int]
    set_map: frozenset[int]
    rated_charge_w: int
    rated_discharge_w: int
    equipment_type: int | None

    @property
    def mode_epc(self) -> int:
        """Actual operation mode (0xE1) where readable, else the set mode (0xDA)."""
        return EPC_ACTUAL_MODE if EPC_ACTUAL_MODE in self.get_map else EPC_OPERATION_MODE

    @property
    def needs_confirmation(self) -> bool:
        """Whether 0xCD must be set before 0xC7 is read (DC type AA, or 0xCD settable)."""
        return self.equipment_type in DC_AA_TYPES or EPC_CONNECTION_CONFIRMATION in self.set_map

    def power_epc(self, direction: int) -> int | None:
        """The EPC that sets the power of ``direction`` (> 0 charge, < 0 discharge).

        0xEB/0xEC where settable, else 0xE0 where settable, else None (the unit
        then runs at the power of its own charging/discharging method).
        """
        split = EPC_CHARGE_POWER_SETTING if direction > 0 else EPC_DISCHARGE_POWER_SETTING
        if split in self.set_map:
            return split
        if EPC_POWER_SETTING in self.set_map:
            return EPC_POWER_SETTING
        return None

    def capabilities(self) -> ChargerCapabilities:
        """The final capabilities of this unit."""
        return ChargerCapabilities(
            bidirectional=(
                self.rated_charge_w > 0
                and self.rated_discharge_w > 0
                and self.equipment_type not in ONE_WAY_TYPES
            ),
            watchdog=False,
            reports_grid=EPC_INTERCONNECTION in self.get_map,
            ac_measurements=False,
            max_power_w=max(self.rated_charge_w, self.rated_discharge_w),
            remote_control=False,
            reports_vehicle=True,
            energy_counters=(
                EPC_DISCHARGED_ENERGY in self.get_map and EPC_CHARGED_ENERGY in self.get_map
            ),
            vehicle_energy=(
                EPC_VEHICLE_CAPACITY in self.get_map and EPC_VEHICLE_ENERGY in self.get_map
            ),
            states=STATES,
        )

    def status_epcs(self) -> list[int]:
        """The EPCs of a status Get, in order."""
        epcs = [EPC_CONNECTION, self.mode_epc, EPC_POWER, EPC_SOC]
        epcs += [EPC_FAULT_STATUS, EPC_FAULT_DESCRIPTION, EPC_INTERCONNECTION]
        return [epc for epc in epcs if epc in self.get_map or epc == self.mode_epc]

    def snapshot_epcs(self) -> list[int]:
        """The EPCs of a full-poll Get: the status ones plus the snapshot ones."""
        epcs = self.status_epcs()
        epcs += [epc for epc in _SNAPSHOT_EPCS if epc in self.get_map and epc not in epcs]
        return epcs


def _number(values: Values, epc: int, size: int) -> int | None:
    """Decode a big-endian number of ``size`` bytes; None when not reported."""
    return decode_number(values, epc, size, signed=epc in _SIGNED)


def _encode(epc: int, value: int, size: int) -> bytes:
    return value.to_bytes(size, "big", signed=epc in _SIGNED)


_coded = decode_coded


def decode_connection(code: int) -> tuple[bool | None, bool | None]:
    """0xC7 -> (vehicle connected, vehicle dischargeable); None where it does not tell."""
    return _coded("vehicle_connection (0xC7)", code, CONNECTION_CODES)


def decode_state(mode: int, power_w: int | None) -> ChargerState:
    """Map an operation mode (0xE1 or 0xDA) to the domain state.

    0x46 ("charging/discharging") and 0x49 ("automatic") do not say the direction:
    the sign of the measured power (0xD3) does; no power means standby.
    """
    if mode in MODES_BY_POWER_SIGN:
        if power_w is None or power_w == 0:
            return ChargerState.STANDBY
        return ChargerState.CHARGING if power_w > 0 else ChargerState.DISCHARGING
    try:
        return MODE_STATES[mode]
    except KeyError:
        allowed = ", ".join(
            f"0x{code:02X}" for code in sorted({*MODE_STATES, *MODES_BY_POWER_SIGN})
        )
        raise ValueOutOfRangeError("operation_mode", mode, allowed) from None


def decode_product_code(edt: bytes | None) -> str:
    """Product code (0x8C): 12 ASCII bytes, padded; a generic name when absent."""
    return decode_model(edt, DEFAULT_MODEL)


class EchonetEvCharger(EchonetObjectProfile[EvChargerInfo]):
    """An EV charger/discharger object (0x027E) behind an :class:`EchonetClient`."""

    IDENTITY_EPCS = _IDENTITY_EPCS
    SETTING_NAMES = _EPC_NAMES
    SIGNED_EPCS = _SIGNED
    SOC_EPCS = frozenset({EPC_SOC})
    MODE_NAME = "operation mode"

    def __init__(self, client: EchonetClient, *, eoj: Eoj = EV_CHARGER_EOJ) -> None:
        """Use ``client`` for every request, addressing object ``eoj``."""
        super().__init__(client, eoj=eoj, capabilities=INITIAL_CAPABILITIES)

    async def async_read_identity(self) -> DeviceIdentity:
        """Read identification, manufacturer, model, version, maps and ratings (2 requests)."""
        return await super().async_read_identity()

    async def async_read_status(self) -> ChargerStatus:
        """Read connection, mode, power, SoC, fault and grid (1 or 2 requests)."""
        return await super().async_read_status()

    async def async_read_snapshot(self) -> ChargerSnapshot:
        """Read the status and the setpoints, ratings and counters (1 or 2 requests)."""
        return await super().async_read_snapshot()

    async def async_release_control(self) -> None:
        """Standby: the unit's own logic has nothing to get back."""
        await super().async_release_control()

    async def async_set_power(self, power_w: int) -> int:
        """Charge (> 0) or discharge (< 0) at ``power_w``, clamped to the ratings.

        Charge: 0xEB then 0xDA = 0x42; discharge: 0xEC then 0xDA = 0x43; 0: standby
        (0xDA = 0x44). Where 0xEB/0xEC are not settable but 0xE0 is, the charging
        and discharging methods (0xDC/0xDD, where settable) go to V2G first, since
        0xE0 acts in the V2G method only. Each step is read back before the next
        one (:class:`WriteNotVerifiedError`); a refused write (SetC_SNA, e.g. a
        discharge with no vehicle) raises :class:`ResponseImpossibleError`.
        """
        return await super().async_set_power(power_w)

    async def async_listen(self, on_status: Callable[[ChargerStatus], None]) -> Callable[[], None]:
        """Hand ``on_status`` the status each announcement (INF) of the unit makes.

        An announcement changes what it names (grid 0xDB, fault 0x88, connection
        0xC7, mode, and power or SoC where the unit announces them) in the last
        status read; before the first read, or when it does not decode, it is
        ignored (the poll goes on and tells). The SoC keeps its glitch filter: an
        announced SoC waits for the next poll. Returns the function that stops it.
        """
        return await super().async_listen(on_status)

    # -- what 0x027E decides ------------------------------------------------------------------

    def _make_info(
        self, values: Values, get_map: frozenset[int], set_map: frozenset[int]
    ) -> EvChargerInfo:
        rated_charge = _number(values, EPC_RATED_CHARGE, 4)
        rated_discharge = _number(values, EPC_RATED_DISCHARGE, 4)
        if rated_charge is None or rated_discharge is None:
            raise DeviceProtocolError(f"{self.eoj} reports no rated power (0xC5/0xC6)")
        return EvChargerInfo(
            get_map=get_map,
            set_map=set_map,
            rated_charge_w=rated_charge,
            rated_discharge_w=rated_discharge,
            equipment_type=_number(values, EPC_EQUIPMENT_TYPE, 1),
        )

    def _model(self, product_code: bytes | None) -> str:
        return decode_product_code(product_code)

    async def _prepare_read(self, info: EvChargerInfo) -> None:
        """Confirm the vehicle connection where needed (DC type AA, or 0xCD settable)."""
        if not info.needs_confirmation:
            return
        try:
            await self.client.async_set(
                self.eoj, {EPC_CONNECTION_CONFIRMATION: bytes((CONFIRM_CONNECTION,))}
            )
        except ResponseImpossibleError as err:
            # Expected with no vehicle; 0xC7 then says "not connected".
            _LOGGER.debug("Connection confirmation refused by %s: %s", self.eoj, err)

    def _connection(self, values: Values) -> tuple[bool | None, bool | None]:
        connection = _number(values, EPC_CONNECTION, 1)
        return (None, None) if connection is None else decode_connection(connection)

    def _state(self, mode: int, power_w: int | None) -> ChargerState:
        return decode_state(mode, power_w)

    def _read_soc(self, info: EvChargerInfo, values: Values) -> SocReading:
        """SoC (0xE4) through the glitch filter; the last good value while none is read."""
        connected = self._connection(values)[0]
        raw = _number(values, EPC_SOC, 1)
        if connected is False:
            self._soc_filter.reset()
            return SocReading(None)
        if raw is None:
            return self._soc_filter.missing()
        if not 0 <= raw <= 100:
            raise ValueOutOfRangeError("soc (0xE4)", raw, "0..100")
        # 0xC7 (connected, chargeable, dischargeable) changes when another car plugs in.
        return self._soc_filter.update(
            raw, vehicle_connected=connected, context=values.get(EPC_CONNECTION)
        )

    def _clamp(self, info: EvChargerInfo, power_w: int) -> int:
        if power_w > 0:
            return min(power_w, info.rated_charge_w)
        return max(power_w, -info.rated_discharge_w)

    def _power_writes(self, info: EvChargerInfo, setpoint: int) -> list[tuple[int, bytes]]:
        epc = info.power_epc(setpoint)
        if epc is None:
            return []
        if epc != EPC_POWER_SETTING:
            return [(epc, _encode(epc, abs(setpoint), 4))]
        writes: list[tuple[int, bytes]] = [
            (method, bytes((METHOD_V2G,)))
            for method in (EPC_CHARGING_METHOD, EPC_DISCHARGING_METHOD)
            if method in info.set_map
        ]
        writes.append((epc, _encode(epc, setpoint, 4)))
        return writes

    def _decode_snapshot(self, info: EvChargerInfo, values: Values) -> ChargerSnapshot:
        status = self._decode_status(info, values)
        rated_charge = _number(values, EPC_RATED_CHARGE, 4)
        rated_discharge = _number(values, EPC_RATED_DISCHARGE, 4)
        if rated_charge is None:
            rated_charge = info.rated_charge_w
        if rated_discharge is None:
            rated_discharge = info.rated_discharge_w
        return ChargerSnapshot(
            status=status,
            control=None,
            locked=None,
            power_setpoint_w=_setpoint(info, values),
            max_available_power_w=max(rated_charge, rated_discharge),
            max_charge_power_w=rated_charge,
            max_discharge_power_w=rated_discharge,
            charged_energy_kwh=_scaled(_number(values, EPC_CHARGED_ENERGY, 4)),
            discharged_energy_kwh=_scaled(_number(values, EPC_DISCHARGED_ENERGY, 4)),
            vehicle_capacity_kwh=_scaled(_number(values, EPC_VEHICLE_CAPACITY, 4)),
            vehicle_energy_kwh=_scaled(_number(values, EPC_VEHICLE_ENERGY, 4)),
        )


_scaled = kwh


def _setpoint(info: EvChargerInfo, values: Values) -> int:
    """The signed power the unit is told to run at (0 unless charging/discharging).

    Read from the EPC :meth:`EvChargerInfo.power_epc` writes (falling back to the
    readable ones); 0xE0 counts only while a V2G method (0xDC/0xDD = 0x06) is set,
    when those are reported, since the unit ignores it otherwise.
    """
    mode = _number(values, EPC_OPERATION_MODE, 1)
    if mode not in (MODE_CHARGE, MODE_DISCHARGE):
        return 0
    direction = 1 if mode == MODE_CHARGE else -1
    split = EPC_CHARGE_POWER_SETTING if direction > 0 else EPC_DISCHARGE_POWER_SETTING
    epc = info.power_epc(direction)
    if epc is None:
        epc = split if split in info.get_map else EPC_POWER_SETTING
    if epc != EPC_POWER_SETTING:
        value = _number(values, epc, 4)
        return 0 if value is None else direction * value
    combined = _number(values, EPC_POWER_SETTING, 4)
    if combined is None or combined * direction <= 0:
        return 0
    methods = (
        _number(values, EPC_CHARGING_METHOD, 1),
        _number(values, EPC_DISCHARGING_METHOD, 1),
    )
    if methods != (None, None) and METHOD_V2G not in methods:
        return 0
    return combined


FAMILY: Final = echonet_family(
    EchonetEvCharger,
    key="echonet_lite",
    title="ECHONET Lite EV charger/discharger",
    products=("Nichicon EV Power Station (LEAF to Home)", "ECHONET Lite class 0x027E"),
    scan_class=EV_CHARGER_CLASS,
)
