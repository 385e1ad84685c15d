"""Any SunSpec bidirectional DC charger or storage inverter over Modbus TCP.

Written from ``shared/reference/protocols.md`` section 3 (SunSpec information models,
[V] rows only). The package is split along the protocol's seams: :mod:`.codec`
(big-endian words, "not implemented" values, scale factors), :mod:`.scan` (the
"SunS" marker and the model chain), :mod:`.registers` (model ids, point offsets,
merged reads) and this module, the DER profile itself.

Nothing is read from a fixed absolute address: every device is scanned for the
marker (40000, then 0, then 50000) and its model chain walked; each point is then
addressed as *model start + documented offset*. The scan runs in
:meth:`SunSpecCharger.async_read_identity` and again after every reconnect.

Models used:

* 1 Common (identity) and 701 DER AC Measurement (state, power, grid, energy) are
  required; a device without them is rejected.
* 704 DER AC Controls (active-power setpoint ``WSet`` and its reversion timer, which
  is the watchdog) is required for control; without it the device is monitor-only
  and every command raises ``CommandRefusedError("not_supported")``.
* 702 DER Capacity (ratings, rate limits) and 713 DER Storage Capacity (SoC, SoH,
  stored energy) are optional.

Sign convention: SunSpec 701 ``W`` and 704 ``WSet`` are positive when the DER
*injects* (discharges); our model is positive when the battery *charges*, so both
are negated here and nowhere else.

Polling cost, with the example layout of protocols.md 3.1 (1, 701, 702, 703, 704,
713, end at 40000): a status poll is 2 requests (701 InvSt..W, 713 SoC..Pct_SF; 1
without 713), plus one write-multiple keep-alive every ``watchdog_s / 2`` while a
setpoint is held. A full poll is 3 requests (701 ACType..Tmp_SF; 702 and 704 in one
read because they lie within 125 registers; 713). Reads of nearby models are merged
into one request whenever they fit in 125 registers; a device that rejects such a
read is read model by model (the transport remembers it). Identity costs the scan
(one read per base address tried, one per model header and one for the end marker)
plus model 1 and one full poll: 12 requests for the example layout.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
import logging
import time
from typing import Final

from ..errors import (
    CommandRefusedError,
    DeviceProtocolError,
    ModbusExceptionError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from ..family import Connection, DeviceFamily
from ..modbus import ModbusBus, ModbusProfile, ModbusTransport, RegisterBlock, RegisterImage
from ..model import (
    ChargerCapabilities,
    ChargerControl,
    ChargerErrors,
    ChargerSnapshot,
    ChargerState,
    ChargerStatus,
    DeviceIdentity,
)
from ..soc import SocFilter
from .codec import PointType, encode_int32, encode_uint32, scale
from .registers import (
    C_MD,
    C_MN,
    C_SN,
    C_VR,
    CAP_W_CHA_RTE_MAX,
    CAP_W_CHA_RTE_MAX_RTG,
    CAP_W_DIS_CHA_RTE_MAX,
    CAP_W_DIS_CHA_RTE_MAX_RTG,
    CAP_W_MAX_RTG,
    CAP_W_SF,
    COMMON_RANGE,
    CONN_ST_CONNECTED,
    CTL_W_SET,
    CTL_W_SET_ENA,
    CTL_W_SET_ENA_RVRT,
    CTL_W_SET_MOD,
    CTL_W_SET_RVRT,
    CTL_W_SET_RVRT_TMS,
    CTL_W_SET_SF,
    DISABLED,
    ENABLED,
    FULL_RANGES,
    INV_ST_FAULT,
    INV_ST_OFF,
    INV_ST_RUNNING,
    INV_ST_SHUTTING_DOWN,
    INV_ST_SLEEPING,
    INV_ST_STANDBY,
    INV_ST_STARTING,
    INV_ST_THROTTLED,
    M_A,
    M_A_SF,
    M_ALRM,
    M_CONN_ST,
    M_HZ,
    M_HZ_SF,
    M_INV_ST,
    M_LLV,
    M_LNV,
    M_TOT_WH_ABS,
    M_TOT_WH_INJ,
    M_TOT_WH_SF,
    M_V_SF,
    M_W,
    M_W_SF,
    MODEL_COMMON,
    MODEL_DER_CAPACITY,
    MODEL_DER_CTL_AC,
    MODEL_DER_MEASURE_AC,
    MODEL_DER_STORAGE,
    REQUIRED_MODELS,
    ST_PCT_SF,
    ST_SOC,
    ST_SOH,
    ST_WH_AVAIL,
    ST_WH_RTG,
    ST_WH_SF,
    STATUS_RANGES,
    WSET_MOD_WATTS,
    ModelPoints,
    model_ranges,
    plan_blocks,
    read_span,
)
from .scan import ModelLocation, SunSpecLayout, scan

_LOGGER = logging.getLogger(__name__)

DEFAULT_PORT: Final = 502
DEFAULT_UNIT_ID: Final = 1
ACTIVE_POWER_THRESHOLD_W: Final = 50
"""|power| above which a running DER is said to be charging or discharging."""

STATES: Final = (
    ChargerState.ERROR,
    ChargerState.CHARGING,
    ChargerState.DISCHARGING,
    ChargerState.STANDBY,
    ChargerState.STARTING,
    ChargerState.OFF,
)


def _scaled(raw: int | None, exponent: int | None) -> float | None:
    if raw is None or exponent is None:
        return None
    return scale(raw, exponent)


def _whole_watts(raw: int | None, exponent: int | None) -> int | None:
    """A power limit in whole watts, rounded down (never above what the device says)."""
    value = _scaled(raw, exponent)
    return None if value is None else int(value)


def _kilo(raw: int | None, exponent: int | None) -> float | None:
    """Wh (x 10^exponent) to kWh."""
    return _scaled(raw, None if exponent is None else exponent - 3)


@dataclass(frozen=True, slots=True)
class _Ratings:
    """702 nameplate ratings in whole watts (``None``: not reported)."""

    charge_w: int | None = None
    discharge_w: int | None = None
    max_w: int | None = None


def decode_identity(points: ModelPoints) -> DeviceIdentity:
    """Model 1: Mn, Md, Vr, SN."""
    return DeviceIdentity(
        manufacturer=points.string(C_MN, 16) or "",
        model=points.string(C_MD, 16) or "",
        serial_number=points.string(C_SN, 16) or "",
        firmware_version=points.string(C_VR, 8),
    )


def decode_state(inv_st: int, power_w: int) -> ChargerState:
    """Map 701 ``InvSt`` (and, while running, the power direction) to our state."""
    if inv_st == INV_ST_FAULT:
        return ChargerState.ERROR
    if inv_st in (INV_ST_RUNNING, INV_ST_THROTTLED):
        if power_w > ACTIVE_POWER_THRESHOLD_W:
            return ChargerState.CHARGING
        if power_w < -ACTIVE_POWER_THRESHOLD_W:
            return ChargerState.DISCHARGING
        return ChargerState.STANDBY
    if inv_st == INV_ST_STARTING:
        return ChargerState.STARTING
    if inv_st == INV_ST_STANDBY:
        return ChargerState.STANDBY
    if inv_st in (INV_ST_OFF, INV_ST_SLEEPING, INV_ST_SHUTTING_DOWN):
        return ChargerState.OFF
    raise ValueOutOfRangeError("InvSt", inv_st, "0..7")


class SunSpecCharger(ModbusProfile):
    """A SunSpec DER (bidirectional DC charger, storage inverter) on a :class:`ModbusTransport`.

    Control goes through model 704: ``WSetMod`` = watts, ``WSet`` the setpoint and the
    reversion timer ``WSetRvrtTms`` as the watchdog (on expiry the device reverts to
    ``WSetRvrt`` = 0 W and ``WSetEnaRvrt`` = disabled, i.e. its own logic). While a
    setpoint is held, :meth:`async_read_status` re-writes ``WSet`` once more than half
    of ``watchdog_s`` has passed since the last write, so a live Home Assistant keeps
    the timer from expiring and a dead one does not.
    """

    def __init__(
        self,
        transport: ModbusTransport,
        *,
        watchdog_s: int = 60,
        max_power_w: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Use ``transport``; arm the reversion timer with ``watchdog_s``.

        ``max_power_w`` is only used when the device reports no 702 ratings.
        """
        if not 1 <= watchdog_s <= 0xFFFFFFFE:
            raise ValueOutOfRangeError("watchdog_s", watchdog_s, "1..4294967294")
        super().__init__(transport)
        self.watchdog_s = watchdog_s
        self._fallback_max_power_w = max_power_w
        self.clock = clock
        self._soc_filter = SocFilter()
        self._layout: SunSpecLayout | None = None
        self._layout_connects = -1
        self._status_blocks: tuple[RegisterBlock, ...] = ()
        self._full_blocks: tuple[RegisterBlock, ...] = ()
        self._w_sf: int | None = None
        self._ratings = _Ratings()
        self._capabilities = self._derive_capabilities(None, None)
        self._held_raw: int | None = None
        """The raw WSet we hold (enabled, under our timer); None when not holding."""
        self._last_write = 0.0
        self._keepalive_failing = False

    # --- Charger protocol: bookkeeping -------------------------------------------------

    @property
    def capabilities(self) -> ChargerCapabilities:
        """What this device supports; final after :meth:`async_read_identity`."""
        return self._capabilities

    @property
    def layout(self) -> SunSpecLayout | None:
        """The model chain found by the last scan."""
        return self._layout

    # --- Reading -------------------------------------------------------------------------

    async def async_read_identity(self) -> DeviceIdentity:
        """Read model 1; scan the chain first unless already scanned on this connection.

        The scan includes one full poll, so :attr:`capabilities` are final afterwards.
        """
        async with self.transport.exclusive() as bus:
            layout = await self._ensure_layout(bus)
            common = await read_span(bus, layout.require(MODEL_COMMON), COMMON_RANGE)
            return decode_identity(common)

    async def async_read_status(self) -> ChargerStatus:
        """Read 701 InvSt..W and 713 SoC..Pct_SF; keep a held setpoint alive."""
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            image = await self._read_blocks(bus, self._status_blocks)
            status = self._decode_status(image, self._w_sf)
            await self._keep_alive(bus)
        return status

    async def async_read_snapshot(self) -> ChargerSnapshot:
        """Read 701, 702, 704 and 713 (scale factors and ratings are refreshed)."""
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            image = await self._read_blocks(bus, self._full_blocks)
        self._absorb_full(image)
        return self._decode_snapshot(image)

    # --- Control -------------------------------------------------------------------------

    async def async_take_control(self) -> None:
        """Arm the 704 reversion timer (our watchdog) and hold 0 W unless already holding.

        Writes WSetMod = watts, WSetRvrt = 0 W, WSetEnaRvrt = disabled and
        WSetRvrtTms = ``watchdog_s``, verified. A setpoint that is already enabled is
        kept; otherwise WSet = 0 W is enabled so the device stops following its own
        logic (and so the timer has something to revert).
        """
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            controls = await self._take_settings(bus)
            current = controls.value(PointType.INT32, CTL_W_SET)
            enabled = controls.value(PointType.ENUM16, CTL_W_SET_ENA) == ENABLED
            # Re-writing the enabled setpoint restarts the reversion timer.
            await self._hold(bus, controls, current if enabled and current is not None else 0)

    async def async_release_control(self) -> None:
        """WSetEna = disabled, verified: the device follows its own logic again."""
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            self._require_controls()
            self._held_raw = None
            await bus.write(self._address(CTL_W_SET_ENA), DISABLED)
            controls = await self._read_controls(bus)
            _verify("WSetEna", DISABLED, controls.raw_unsigned(CTL_W_SET_ENA, 1))

    async def async_set_power(self, power_w: int) -> int:
        """Charge (> 0) or discharge (< 0) at ``power_w``; return the setpoint written.

        The request is clamped to the 702 ratings, charge and discharge separately
        (WChaRteMaxRtg / WDisChaRteMaxRtg, else WMaxRtg, else the ``max_power_w`` given
        at construction, else not at all), and quantised to WSet_SF without passing
        the rating. Control is taken again first when the 704 settings are
        not ours (after a reboot or a reversion).
        """
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            controls = await self._take_settings(bus)
            raw, setpoint = self._quantise(power_w, controls.sunssf(CTL_W_SET_SF))
            await self._hold(bus, controls, raw)
        return setpoint

    async def async_stop(self) -> None:
        """Hold 0 W (WSet = 0, WSetEna = enabled), keeping control; verified."""
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            controls = await self._take_settings(bus)
            await self._hold(bus, controls, 0)

    async def async_set_rate_limits(
        self, *, charge_w: int | None = None, discharge_w: int | None = None
    ) -> None:
        """Write the 702 settings WChaRteMax / WDisChaRteMax (W, clamped to ratings); verified."""
        if charge_w is None and discharge_w is None:
            return
        for name, value in (("charge_w", charge_w), ("discharge_w", discharge_w)):
            if value is not None and value < 0:
                raise ValueOutOfRangeError(name, value, ">= 0")
        async with self.transport.exclusive() as bus:
            await self._ensure_layout(bus)
            capacity = self._layout_or_raise().find(MODEL_DER_CAPACITY)
            if capacity is None:
                raise CommandRefusedError(
                    "not_supported", "this SunSpec device has no model 702 (DER Capacity)"
                )
            points = await read_span(bus, capacity, FULL_RANGES[MODEL_DER_CAPACITY])
            self._ratings = self._decode_ratings(points)
            w_sf = points.sunssf(CAP_W_SF)
            wanted: dict[int, int] = {}
            for name, offset, value, limit in (
                ("WChaRteMax", CAP_W_CHA_RTE_MAX, charge_w, self._charge_limit()),
                ("WDisChaRteMax", CAP_W_DIS_CHA_RTE_MAX, discharge_w, self._discharge_limit()),
            ):
                if value is None:
                    continue
                if w_sf is None or points.value(PointType.UINT16, offset) is None:
                    raise CommandRefusedError(
                        "not_supported", f"this SunSpec device does not implement 702 {name}"
                    )
                watts = value if limit is None else min(value, limit)
                raw = int(Fraction(watts) / Fraction(10) ** w_sf)
                if raw >= 0xFFFF:
                    raise ValueOutOfRangeError(name, watts, "below the 702 uint16 range")
                wanted[offset] = raw
            for offset, raw in wanted.items():
                await bus.write(capacity.address + offset, raw)
            points = await read_span(bus, capacity, FULL_RANGES[MODEL_DER_CAPACITY])
        for offset, raw in wanted.items():
            name = "WChaRteMax" if offset == CAP_W_CHA_RTE_MAX else "WDisChaRteMax"
            _verify(name, raw, points.raw_unsigned(offset, 1))

    # --- Internals: discovery -------------------------------------------------------------

    def _layout_or_raise(self) -> SunSpecLayout:
        if self._layout is None:  # pragma: no cover - _ensure_layout runs first
            raise DeviceProtocolError("SunSpec model chain not scanned")
        return self._layout

    async def _ensure_layout(self, bus: ModbusBus) -> SunSpecLayout:
        """Scan again when never scanned or when the connection was re-established."""
        if self._layout is None or self._layout_connects != self.transport.connects:
            return await self._discover(bus)
        return self._layout

    async def _discover(self, bus: ModbusBus) -> SunSpecLayout:
        layout = await scan(bus)
        missing = [m for m in REQUIRED_MODELS if layout.find(m) is None]
        if missing:
            raise DeviceProtocolError(
                "SunSpec device lacks required model(s) "
                f"{', '.join(map(str, missing))} (found {list(layout.model_ids)}): "
                "models 1 (Common) and 701 (DER AC Measurement) are needed to monitor it"
            )
        if layout.find(MODEL_DER_CTL_AC) is None:
            _LOGGER.warning(
                "SunSpec device at %s has no model 704 (DER AC Controls): monitor only",
                self.transport.host,
            )
        _LOGGER.debug("SunSpec models at base %s: %s", layout.base_address, layout.models)
        self._layout = layout
        self._layout_connects = self.transport.connects
        self._soc_filter.reset()  # after a reconnect it may be another device (or car)
        self._status_blocks = plan_blocks("status", model_ranges(layout, STATUS_RANGES))
        self._full_blocks = plan_blocks("full", model_ranges(layout, FULL_RANGES))
        image = await self._read_blocks(bus, self._full_blocks)
        self._absorb_full(image)
        measure = ModelPoints(image, layout.find(MODEL_DER_MEASURE_AC))
        storage = ModelPoints(image, layout.find(MODEL_DER_STORAGE))
        self._capabilities = self._derive_capabilities(measure, storage)
        return layout

    def _derive_capabilities(
        self, measure: ModelPoints | None, storage: ModelPoints | None
    ) -> ChargerCapabilities:
        layout = self._layout
        controllable = layout is None or layout.find(MODEL_DER_CTL_AC) is not None
        limits = [w for w in (self._charge_limit(), self._discharge_limit()) if w is not None]
        max_power = max(limits) if limits else 0
        return ChargerCapabilities(
            bidirectional=True,
            watchdog=controllable,
            reports_grid=(
                measure is not None and measure.value(PointType.ENUM16, M_CONN_ST) is not None
            ),
            ac_measurements=True,
            max_power_w=max_power,
            remote_control=controllable,
            reports_vehicle=False,
            energy_counters=(
                measure is not None
                and measure.value(PointType.UINT64, M_TOT_WH_INJ) is not None
                and measure.value(PointType.UINT64, M_TOT_WH_ABS) is not None
                and measure.sunssf(M_TOT_WH_SF) is not None
            ),
            vehicle_energy=(
                storage is not None
                and storage.value(PointType.UINT16, ST_WH_RTG) is not None
                and storage.value(PointType.UINT16, ST_WH_AVAIL) is not None
                and storage.sunssf(ST_WH_SF) is not None
            ),
            states=STATES,
        )

    async def _read_blocks(self, bus: ModbusBus, blocks: Sequence[RegisterBlock]) -> RegisterImage:
        image = RegisterImage()
        for block in blocks:
            await bus.read_block(block, image)
        return image

    def _absorb_full(self, image: RegisterImage) -> None:
        """Cache what status polls and commands need from a full read."""
        layout = self._layout_or_raise()
        self._w_sf = ModelPoints(image, layout.find(MODEL_DER_MEASURE_AC)).sunssf(M_W_SF)
        self._ratings = self._decode_ratings(ModelPoints(image, layout.find(MODEL_DER_CAPACITY)))
        controls = layout.find(MODEL_DER_CTL_AC)
        if controls is not None and self._held_raw is not None:
            points = ModelPoints(image, controls)
            if (
                points.value(PointType.ENUM16, CTL_W_SET_ENA) != ENABLED
                or points.raw_signed(CTL_W_SET, 2) != self._held_raw
                or not self._settings_ours(points)
            ):
                _LOGGER.info(
                    "%s no longer holds our setpoint (reverted or changed elsewhere)",
                    self.transport.host,
                )
                self._held_raw = None

    @staticmethod
    def _decode_ratings(points: ModelPoints) -> _Ratings:
        w_sf = points.sunssf(CAP_W_SF)
        return _Ratings(
            charge_w=_whole_watts(points.value(PointType.UINT16, CAP_W_CHA_RTE_MAX_RTG), w_sf),
            discharge_w=_whole_watts(
                points.value(PointType.UINT16, CAP_W_DIS_CHA_RTE_MAX_RTG), w_sf
            ),
            max_w=_whole_watts(points.value(PointType.UINT16, CAP_W_MAX_RTG), w_sf),
        )

    def _charge_limit(self) -> int | None:
        ratings = self._ratings
        if ratings.charge_w is not None:
            return ratings.charge_w
        return ratings.max_w if ratings.max_w is not None else self._fallback_max_power_w

    def _discharge_limit(self) -> int | None:
        ratings = self._ratings
        if ratings.discharge_w is not None:
            return ratings.discharge_w
        return ratings.max_w if ratings.max_w is not None else self._fallback_max_power_w

    # --- Internals: control ---------------------------------------------------------------

    def _require_controls(self) -> ModelLocation:
        model = self._layout_or_raise().find(MODEL_DER_CTL_AC)
        if model is None:
            raise CommandRefusedError(
                "not_supported",
                "this SunSpec device has no model 704 (DER AC Controls): "
                "it can be monitored but not controlled",
            )
        return model

    def _address(self, offset: int) -> int:
        """Absolute address of a model 704 point."""
        return self._require_controls().address + offset

    async def _read_controls(self, bus: ModbusBus) -> ModelPoints:
        """Read 704 WSetEna..WSet_SF (one request)."""
        return await read_span(bus, self._require_controls(), FULL_RANGES[MODEL_DER_CTL_AC])

    def _settings_ours(self, controls: ModelPoints) -> bool:
        return (
            controls.value(PointType.ENUM16, CTL_W_SET_MOD) == WSET_MOD_WATTS
            and controls.raw_signed(CTL_W_SET_RVRT, 2) == 0
            and controls.value(PointType.ENUM16, CTL_W_SET_ENA_RVRT) == DISABLED
            and controls.raw_unsigned(CTL_W_SET_RVRT_TMS, 2) == self.watchdog_s
        )

    async def _take_settings(self, bus: ModbusBus) -> ModelPoints:
        """Read 704; write our reversion settings unless they are already in place."""
        controls = await self._read_controls(bus)
        if self._settings_ours(controls):
            return controls
        return await self._configure(bus)

    async def _configure(self, bus: ModbusBus) -> ModelPoints:
        """Write the reversion settings, then watts mode; verify all four."""
        await bus.write_many(self._address(CTL_W_SET_RVRT), encode_int32(0))
        await bus.write(self._address(CTL_W_SET_ENA_RVRT), DISABLED)
        await bus.write_many(self._address(CTL_W_SET_RVRT_TMS), encode_uint32(self.watchdog_s))
        await bus.write(self._address(CTL_W_SET_MOD), WSET_MOD_WATTS)
        controls = await self._read_controls(bus)
        _verify("WSetRvrt", 0, controls.raw_signed(CTL_W_SET_RVRT, 2))
        _verify("WSetEnaRvrt", DISABLED, controls.raw_unsigned(CTL_W_SET_ENA_RVRT, 1))
        _verify("WSetRvrtTms", self.watchdog_s, controls.raw_unsigned(CTL_W_SET_RVRT_TMS, 2))
        _verify("WSetMod", WSET_MOD_WATTS, controls.raw_unsigned(CTL_W_SET_MOD, 1))
        return controls

    def _quantise(self, power_w: int, wset_sf: int | None) -> tuple[int, int]:
        """Clamp to the ratings; return (raw WSet, setpoint in our sign and whole watts)."""
        if wset_sf is None:
            raise DeviceProtocolError("704 WSet_SF is not implemented: cannot scale WSet")
        charge, discharge = self._charge_limit(), self._discharge_limit()
        clamped = power_w
        if charge is not None:
            clamped = min(clamped, charge)
        if discharge is not None:
            clamped = max(clamped, -discharge)
        step = Fraction(10) ** wset_sf
        raw = round(Fraction(-clamped) / step)
        # Rounding to the device's resolution must not carry us past a rating.
        limit = charge if raw < 0 else discharge
        if limit is not None and abs(raw * step) > limit:
            raw += 1 if raw < 0 else -1
        encode_int32(raw)  # range check before anything is written
        return raw, int(-raw * step)

    async def _hold(self, bus: ModbusBus, controls: ModelPoints, raw: int) -> None:
        """Write WSet (one write-multiple request), enable it, verify both."""
        self._held_raw = None
        await bus.write_many(self._address(CTL_W_SET), encode_int32(raw))
        self._last_write = self.clock()
        if controls.value(PointType.ENUM16, CTL_W_SET_ENA) != ENABLED:
            await bus.write(self._address(CTL_W_SET_ENA), ENABLED)
        check = await self._read_controls(bus)
        _verify("WSet", raw, check.raw_signed(CTL_W_SET, 2))
        _verify("WSetEna", ENABLED, check.raw_unsigned(CTL_W_SET_ENA, 1))
        self._held_raw = raw

    async def _keep_alive(self, bus: ModbusBus) -> None:
        """Re-write the held WSet once half the reversion time has passed."""
        raw = self._held_raw
        if raw is None or self.clock() - self._last_write <= self.watchdog_s / 2:
            return
        try:
            await bus.write_many(self._address(CTL_W_SET), encode_int32(raw))
        except ModbusExceptionError as err:
            if not self._keepalive_failing:
                _LOGGER.warning("Keep-alive write to %s refused: %s", self.transport.host, err)
                self._keepalive_failing = True
            return
        self._last_write = self.clock()
        self._keepalive_failing = False

    # --- Internals: decoding ---------------------------------------------------------------

    def _decode_status(self, image: RegisterImage, w_sf: int | None) -> ChargerStatus:
        layout = self._layout_or_raise()
        measure = ModelPoints(image, layout.find(MODEL_DER_MEASURE_AC))
        raw_w = measure.value(PointType.INT16, M_W)
        if raw_w is None or w_sf is None:
            raise DeviceProtocolError("701 W or W_SF (active power) is not implemented")
        power_w = -round(scale(raw_w, w_sf))
        inv_st = measure.value(PointType.ENUM16, M_INV_ST)
        state_code = 0xFFFF if inv_st is None else inv_st
        state = decode_state(state_code, power_w)
        conn_st = measure.value(PointType.ENUM16, M_CONN_ST)
        storage = ModelPoints(image, layout.find(MODEL_DER_STORAGE))
        soc = _scaled(storage.value(PointType.UINT16, ST_SOC), storage.sunssf(ST_PCT_SF))
        if soc is not None and not 0 <= soc <= 100:
            raise ValueOutOfRangeError("SoC", soc, "0..100")
        return ChargerStatus(
            state=state,
            state_code=state_code,
            power_w=power_w,
            soc=self._soc_filter.missing()
            if soc is None
            else self._soc_filter.update(soc, vehicle_connected=None, context=state),
            errors=ChargerErrors(unrecoverable=measure.value(PointType.BITFIELD32, M_ALRM) or 0),
            grid_available=None if conn_st is None else conn_st == CONN_ST_CONNECTED,
            connected=None,
        )

    def _decode_snapshot(self, image: RegisterImage) -> ChargerSnapshot:
        layout = self._layout_or_raise()
        measure = ModelPoints(image, layout.find(MODEL_DER_MEASURE_AC))
        capacity = ModelPoints(image, layout.find(MODEL_DER_CAPACITY))
        storage = ModelPoints(image, layout.find(MODEL_DER_STORAGE))
        control_model = layout.find(MODEL_DER_CTL_AC)
        controls = ModelPoints(image, control_model)

        control: ChargerControl | None = None
        setpoint_w = 0
        if control_model is not None:
            control = ChargerControl(
                remote=controls.value(PointType.ENUM16, CTL_W_SET_ENA) == ENABLED,
                autostart=False,
                power_setpoint_mode=controls.value(PointType.ENUM16, CTL_W_SET_MOD)
                == WSET_MOD_WATTS,
                watchdog_s=controls.value(PointType.UINT32, CTL_W_SET_RVRT_TMS) or 0,
            )
            wset = _scaled(
                controls.value(PointType.INT32, CTL_W_SET), controls.sunssf(CTL_W_SET_SF)
            )
            setpoint_w = 0 if wset is None else -round(wset)

        cap_sf = capacity.sunssf(CAP_W_SF)
        max_charge = _whole_watts(capacity.value(PointType.UINT16, CAP_W_CHA_RTE_MAX), cap_sf)
        max_discharge = _whole_watts(
            capacity.value(PointType.UINT16, CAP_W_DIS_CHA_RTE_MAX), cap_sf
        )
        settings = [w for w in (max_charge, max_discharge) if w is not None]
        if max_charge is None:
            max_charge = self._charge_limit()
        if max_discharge is None:
            max_discharge = self._discharge_limit()
        limits = [w for w in (max_charge, max_discharge) if w is not None]
        max_available = max(settings or limits or [self._capabilities.max_power_w])

        v_sf = measure.sunssf(M_V_SF)
        voltage = _scaled(measure.value(PointType.UINT16, M_LNV), v_sf)
        if voltage is None:
            voltage = _scaled(measure.value(PointType.UINT16, M_LLV), v_sf)
        current = _scaled(measure.value(PointType.INT16, M_A), measure.sunssf(M_A_SF))
        tot_wh_sf = measure.sunssf(M_TOT_WH_SF)
        wh_sf = storage.sunssf(ST_WH_SF)
        return ChargerSnapshot(
            status=self._decode_status(image, self._w_sf),
            control=control,
            locked=None,
            power_setpoint_w=setpoint_w,
            max_available_power_w=max_available,
            ac_current_a=None if current is None else round(current),
            ac_voltage_v=voltage,
            max_charge_power_w=max_charge,
            max_discharge_power_w=max_discharge,
            charged_energy_kwh=_kilo(measure.value(PointType.UINT64, M_TOT_WH_ABS), tot_wh_sf),
            discharged_energy_kwh=_kilo(measure.value(PointType.UINT64, M_TOT_WH_INJ), tot_wh_sf),
            vehicle_capacity_kwh=_kilo(storage.value(PointType.UINT16, ST_WH_RTG), wh_sf),
            vehicle_energy_kwh=_kilo(storage.value(PointType.UINT16, ST_WH_AVAIL), wh_sf),
            state_of_health_pct=_scaled(
                storage.value(PointType.UINT16, ST_SOH), storage.sunssf(ST_PCT_SF)
            ),
            grid_frequency_hz=_scaled(
                measure.value(PointType.UINT32, M_HZ), measure.sunssf(M_HZ_SF)
            ),
        )


def _verify(name: str, written: int, read_back: int | None) -> None:
    if read_back != written:
        raise WriteNotVerifiedError(name, written, -1 if read_back is None else read_back)


def _build(connection: Connection) -> SunSpecCharger:
    return SunSpecCharger(connection.modbus_transport(), watchdog_s=connection.watchdog_s)


FAMILY: Final = DeviceFamily(
    key="sunspec",
    title="SunSpec bidirectional charger",
    products=("DC chargers and storage inverters with SunSpec models 1, 701, 704",),
    default_port=DEFAULT_PORT,
    unit_id=1,
    build_charger=_build,
)
