"""The shared vocabulary of the device library.

Sign convention everywhere in our own model: power is positive when the vehicle or
battery is charging (absorbing energy) and negative when it is discharging
(supplying the home). Profiles convert at their edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Protocol, runtime_checkable


class ChargerState(StrEnum):
    """What a bidirectional charger is doing, in the domain's words.

    The first twelve are the Wallbox Quasar's states; the next five are the
    generic states of ECHONET Lite (actual operation mode 0xE1) and SunSpec
    (701 ``InvSt``) chargers; the last two are the EVTEC BiDiPro's connector states
    10 and 11 that none of those names. Each profile lists the ones it can report in
    :attr:`ChargerCapabilities.states`.
    """

    NO_CAR = "no_car"
    CHARGING = "charging"
    WAITING_FOR_CAR_DEMAND = "waiting_for_car_demand"
    CONTROLLED_BY_APP = "controlled_by_app"
    PAUSED = "paused"
    END_OF_SCHEDULE = "end_of_schedule"
    LOCKED = "locked"
    ERROR = "error"
    QUEUED_POWER_SHARING = "queued_power_sharing"
    POWER_SHARING_UNCONFIGURED = "power_sharing_unconfigured"
    QUEUED_POWER_BOOST = "queued_power_boost"
    DISCHARGING = "discharging"
    STANDBY = "standby"
    IDLE = "idle"
    STARTING = "starting"
    OFF = "off"
    OTHER = "other"
    WAITING_FOR_GRID = "waiting_for_grid"
    CHARGE_COMPLETE = "charge_complete"

    @property
    def vehicle_connected(self) -> bool | None:
        """Whether a vehicle is plugged in; ``None`` when the state does not tell."""
        if self in (ChargerState.NO_CAR, ChargerState.LOCKED):
            return False
        if self in _STATES_SILENT_ON_VEHICLE:
            return None
        return True

    @property
    def is_error(self) -> bool:
        """Whether the charger reports an error state."""
        return self in (ChargerState.ERROR, ChargerState.POWER_SHARING_UNCONFIGURED)


_STATES_SILENT_ON_VEHICLE: frozenset[ChargerState] = frozenset(
    {
        ChargerState.ERROR,
        ChargerState.POWER_SHARING_UNCONFIGURED,
        ChargerState.STANDBY,
        ChargerState.IDLE,
        ChargerState.STARTING,
        ChargerState.OFF,
        ChargerState.OTHER,
    }
)


class OperatingMode(StrEnum):
    """What the integration asks a charger to do."""

    IDLE = "idle"
    CHARGE = "charge"
    DISCHARGE = "discharge"
    BACKUP = "backup"


@dataclass(frozen=True, slots=True)
class SocReading:
    """A vehicle state of charge as the integration trusts it.

    ``stale`` is true when the value is the last good reading kept because the
    device currently reports none (or a glitch).
    """

    value_pct: float | None
    stale: bool = False

    @property
    def known(self) -> bool:
        """Whether any trusted value exists."""
        return self.value_pct is not None


@dataclass(frozen=True, slots=True)
class ChargerCapabilities:
    """What a charger can do, so entities exist only for real features.

    A profile may refine its capabilities once it has read the device (ratings,
    optional properties): they are final after ``async_read_identity``.
    """

    bidirectional: bool = True
    watchdog: bool = False
    """The device stops by itself when the controller goes silent."""
    reports_grid: bool = False
    """``ChargerStatus.grid_available`` is reported (grid-connected vs independent)."""
    ac_measurements: bool = False
    max_power_w: int = 0
    """The largest charge or discharge power the device is rated for (W)."""
    min_power_w: int = 0
    """The least non-zero charge or discharge power the device runs at (W): a planned
    setpoint is 0 or at least this."""
    remote_control: bool = True
    """Control can be taken from and handed back to the device's own logic."""
    reports_vehicle: bool = True
    """Whether a vehicle is connected is known (else ``vehicle_connected`` is None)."""
    energy_counters: bool = False
    """The device reports cumulative charged/discharged energy itself."""
    vehicle_energy: bool = False
    """The device reports the vehicle battery's capacity and stored energy."""
    stationary: bool = False
    """The battery is the device's own (an ECHONET Lite storage battery), not a car's: it
    never leaves, so it has no departure, and its entities name a battery, not a vehicle."""
    states: tuple[ChargerState, ...] = tuple(ChargerState)
    """The states this device can report."""


@dataclass(frozen=True, slots=True)
class ChargerErrors:
    """Vendor error codes (0 = none)."""

    unrecoverable: int = 0
    recoverable: int = 0

    @property
    def active(self) -> bool:
        """Whether any error code is set."""
        return bool(self.unrecoverable or self.recoverable)


IDLE_BAND_W: Final = 50
"""Measured power within this band of 0 W counts as idle (meters are never exactly 0)."""


@dataclass(frozen=True, slots=True)
class ChargerStatus:
    """The fast-changing part of a charger: read every second."""

    state: ChargerState
    state_code: int
    power_w: int
    soc: SocReading
    errors: ChargerErrors = field(default_factory=ChargerErrors)
    grid_available: bool | None = None
    """True while the device is grid-connected, False when it runs independently."""
    connected: bool | None = None
    """Vehicle connection as the device reports it; None: derived from ``state``."""
    dischargeable: bool | None = None
    """Whether the connected vehicle can be discharged now (ECHONET 0xC7)."""

    @property
    def vehicle_connected(self) -> bool | None:
        """Whether a vehicle is plugged in (reported, else implied by the state)."""
        if self.connected is not None:
            return self.connected
        return self.state.vehicle_connected

    @property
    def charging(self) -> bool:
        """Whether energy currently flows into the vehicle."""
        return self.state is ChargerState.CHARGING

    @property
    def discharging(self) -> bool:
        """Whether energy currently flows out of the vehicle."""
        return self.state is ChargerState.DISCHARGING

    @property
    def supplying(self) -> bool:
        """Discharging by its state, or by a measured power beyond the idle band."""
        return self.discharging or self.power_w <= -IDLE_BAND_W

    @property
    def running(self) -> bool:
        """Moving energy either way (a stop is confirmed once this is False)."""
        return self.supplying or self.charging or self.power_w >= IDLE_BAND_W

    @property
    def in_error(self) -> bool:
        """Whether the charger reports an error state or an error code."""
        return self.state.is_error or self.errors.active


@dataclass(frozen=True, slots=True)
class BatteryState:
    """Any energy source seen the same way: vehicle behind a charger or portable battery.

    ``power_w`` is the battery's own power, positive when it charges. ``None`` means
    the device does not report that quantity.
    """

    soc: SocReading
    power_w: int
    capacity_kwh: float | None = None
    min_soc_pct: float | None = None
    max_soc_pct: float | None = None
    output_enabled: bool | None = None
    output_power_w: int | None = None
    input_power_w: int | None = None
    grid_available: bool | None = None
    remaining_minutes: float | None = None
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class BatteryCapabilities:
    """Which controls a portable battery family offers."""

    output_limit: bool = False
    input_limit: bool = False
    soc_limits_writable: bool = False
    dc_output_switch: bool = False
    grid_charge_switch: bool = False
    reports_errors: bool = False
    max_output_w: int = 0
    max_input_w: int = 0


@dataclass(frozen=True, slots=True)
class BatteryPack:
    """One pack of a multi-pack battery."""

    serial_number: str
    soc_pct: int
    temperature_c: float | None = None


@dataclass(frozen=True, slots=True)
class BatteryReading:
    """One poll of a portable battery: the shared state plus what the device adds.

    ``None`` means the device family does not report the quantity (no entity).
    """

    state: BatteryState
    grid_input_w: int | None = None
    solar_input_w: int | None = None
    home_output_w: int | None = None
    off_grid_output_w: int | None = None
    output_limit_w: int | None = None
    input_limit_w: int | None = None
    dc_output_on: bool | None = None
    grid_charge_on: bool | None = None
    battery_voltage_v: float | None = None
    battery_current_a: float | None = None
    pack_count: int | None = None
    packs: tuple[BatteryPack, ...] = ()
    error: bool = False
    max_output_w: int | None = None
    """What the device says it can deliver now (e.g. Zendure inverseMaxPower)."""


class PortableBattery(Protocol):
    """What every portable or plug-in battery profile offers the layers above.

    Operations a family does not support raise CommandRefusedError("not_supported").
    """

    capacity_kwh: float | None
    """Usable capacity configured by the user (None: the family's estimate)."""

    @property
    def capabilities(self) -> BatteryCapabilities:
        """Which controls exist."""
        ...

    @property
    def requests_sent(self) -> int:
        """How many requests went to the device so far."""
        ...

    async def async_read_identity(self) -> DeviceIdentity:
        """Manufacturer, model, serial (and firmware where reported)."""
        ...

    async def async_read(self) -> BatteryReading:
        """Poll the device."""
        ...

    async def async_read_grid(self) -> bool | None:
        """Whether the device sees the grid, with the cheapest request it offers."""
        ...

    async def async_set_output(self, *, enabled: bool, limit_w: int | None = None) -> None:
        """Switch the output (and set its limit where supported); verified."""
        ...

    async def async_set_input_limit(self, limit_w: int) -> None:
        """Limit charging from the grid; verified."""
        ...

    async def async_set_soc_limits(
        self, *, min_pct: float | None = None, max_pct: float | None = None
    ) -> None:
        """Set the discharge floor and/or charge ceiling; verified."""
        ...

    async def async_set_dc_output(self, on: bool) -> None:
        """Switch the DC outlets; verified."""
        ...

    async def async_set_grid_charge(self, on: bool) -> None:
        """Allow or forbid charging from the grid; verified."""
        ...

    async def async_close(self) -> None:
        """Release the connection."""
        ...


@dataclass(frozen=True, slots=True)
class DeviceIdentity:
    """Who a device is: read at setup (and, for chargers, after reconnects)."""

    manufacturer: str
    model: str
    serial_number: str
    firmware_version: str | None = None


@dataclass(frozen=True, slots=True)
class ChargerControl:
    """How the charger is currently controlled."""

    remote: bool
    autostart: bool
    power_setpoint_mode: bool
    watchdog_s: int


@dataclass(frozen=True, slots=True)
class ChargerSnapshot:
    """Everything a full poll reads."""

    status: ChargerStatus
    control: ChargerControl | None
    """None for devices without a remote/local control switch (ECHONET Lite)."""
    locked: bool | None
    power_setpoint_w: int
    max_available_power_w: int
    """What the device allows now, both directions (W)."""
    current_setpoint_a: int | None = None
    max_available_current_a: int | None = None
    ac_current_a: int | None = None
    ac_voltage_v: float | None = None
    max_charge_power_w: int | None = None
    """Rated or current charge limit when it differs from ``max_available_power_w``."""
    max_discharge_power_w: int | None = None
    """Rated or current discharge limit when it differs from ``max_available_power_w``."""
    charged_energy_kwh: float | None = None
    """The device's own cumulative charged energy (Energy dashboard), if reported."""
    discharged_energy_kwh: float | None = None
    """The device's own cumulative discharged energy, if reported."""
    vehicle_capacity_kwh: float | None = None
    """Usable capacity of the vehicle or storage battery, if reported."""
    vehicle_energy_kwh: float | None = None
    """Energy stored in the vehicle or storage battery now, if reported."""
    state_of_health_pct: float | None = None
    grid_frequency_hz: float | None = None


class Charger(Protocol):
    """What every bidirectional charger profile offers the layers above."""

    watchdog_s: int
    """Seconds without traffic after which the device stops by itself (when supported)."""

    @property
    def capabilities(self) -> ChargerCapabilities:
        """What this device family supports."""
        ...

    @property
    def requests_sent(self) -> int:
        """How many requests went to the device so far."""
        ...

    @property
    def connects(self) -> int:
        """How many times a connection was (re)established."""
        ...

    async def async_read_identity(self) -> DeviceIdentity:
        """Read manufacturer, model, serial and firmware."""
        ...

    async def async_read_status(self) -> ChargerStatus:
        """Read the fast-changing status (one request where the device allows)."""
        ...

    async def async_read_snapshot(self) -> ChargerSnapshot:
        """Read everything."""
        ...

    async def async_take_control(self) -> None:
        """Take remote control and arm the device's own watchdog, where it has one."""
        ...

    async def async_release_control(self) -> None:
        """Stop and give control back to the device's own logic."""
        ...

    async def async_set_power(self, power_w: int) -> int:
        """Charge (> 0) or discharge (< 0) at ``power_w``; return the clamped setpoint."""
        ...

    async def async_stop(self) -> None:
        """Stop charging or discharging, keeping remote control."""
        ...

    async def async_close(self) -> None:
        """Release the connection."""
        ...


@runtime_checkable
class AnnouncingCharger(Charger, Protocol):
    """A charger that also tells of a change by itself (ECHONET Lite INF).

    Announcements come on top of the status poll, never instead of it: one may be
    lost, and the poll still runs at its interval.
    """

    async def async_listen(self, on_status: Callable[[ChargerStatus], None]) -> Callable[[], None]:
        """Call ``on_status`` with each status an announcement makes; return the unsubscribe."""
        ...
