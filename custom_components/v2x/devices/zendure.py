"""Zendure local HTTP API ("zenSDK") on an injected aiohttp session.

Reference: protocols.md section 8 (Zendure/zenSDK README, docs/openapi.yaml,
docs/en_properties.md). ``GET /properties/report`` returns the device properties and
``packData``; ``POST /properties/write`` takes ``{"sn": ..., "properties": {...}}``
(at most 512 bytes per request). Every write is verified by the next report.

Unit conversions documented by Zendure:

* ``maxTemp`` (per pack) and ``hyperTmp`` are tenths of a kelvin: degC = (v - 2731) / 10;
* ``batcur`` is a signed 16-bit two's complement value in tenths of an ampere;
* ``maxVol``/``minVol`` are hundredths of a volt, ``BatVolt`` too;
* ``socSet`` (70..100 %) and ``minSoc`` (0..50 %) are whole percent in the current
  document and tenths of a percent (700..1000, 0..500) in the older one: a value
  above 100 is read as tenths, and we write back in the unit the device reports.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
import json
from typing import Any, Final

import aiohttp

from .errors import (
    CommandRefusedError,
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from .model import (
    BatteryCapabilities,
    BatteryPack,
    BatteryReading,
    BatteryState,
    DeviceIdentity,
    SocReading,
)

DEFAULT_PORT: Final = 80
DEFAULT_POLL_INTERVAL_S: Final = 10
PACK_CAPACITY_KWH: Final = 1.92  # AB2000 pack, [C] product data; used until configured
DEFAULT_OUTPUT_LIMIT_W: Final = 200  # used to switch the output on when no limit was ever set
REMAIN_TIME_NOT_DISCHARGING: Final = 59940  # minutes (999 h): not a real estimate
CAPABILITIES: Final = BatteryCapabilities(
    output_limit=True,
    input_limit=True,
    soc_limits_writable=True,
    reports_errors=True,
    max_output_w=2400,
    max_input_w=2400,
)
MAX_REQUEST_BYTES: Final = 512
KELVIN_TENTHS_AT_0C: Final = 2731

AC_MODE_INPUT: Final = 1
AC_MODE_OUTPUT: Final = 2

# Writable properties and their documented ranges (socSet/minSoc in whole percent;
# the tenths form is converted before checking).
WRITABLE: Final[dict[str, tuple[int, int]]] = {
    "acMode": (1, 2),
    "inputLimit": (0, 10_000),
    "outputLimit": (0, 10_000),
    "socSet": (70, 100),
    "minSoc": (0, 50),
    "gridReverse": (0, 2),
    "inverseMaxPower": (0, 10_000),
    "smartMode": (0, 1),
    "gridOffMode": (0, 2),
}
_PERCENT_TENTHS: Final = frozenset({"socSet", "minSoc"})


class ZendureAuthError(DeviceProtocolError):
    """The device answered 401: its local API is not enabled."""


@dataclass(frozen=True, slots=True)
class ZendurePack:
    """One battery pack of ``packData``."""

    serial_number: str
    soc_pct: int
    state: int
    power_w: int
    max_temperature_c: float | None
    current_a: float | None
    max_cell_v: float | None
    min_cell_v: float | None
    software_version: int | None


@dataclass(frozen=True, slots=True)
class ZendureReport:
    """A validated ``/properties/report``."""

    serial_number: str
    product: str
    soc_pct: int
    pack_state: int
    charge_power_w: int
    discharge_power_w: int
    home_output_w: int
    grid_input_w: int
    solar_input_w: int
    off_grid_power_w: int | None
    remaining_minutes: int | None
    pack_count: int
    grid_connected: bool | None
    ac_mode: int | None
    input_limit_w: int | None
    output_limit_w: int | None
    max_soc_pct: float | None
    min_soc_pct: float | None
    soc_in_tenths: bool
    smart_mode: int | None
    temperature_c: float | None
    battery_voltage_v: float | None
    inverter_max_power_w: int | None
    error: bool
    packs: tuple[ZendurePack, ...]
    properties: dict[str, int]

    @property
    def battery_power_w(self) -> int:
        """Battery power, positive when charging (our sign convention)."""
        return self.charge_power_w - self.discharge_power_w

    @property
    def output_enabled(self) -> bool | None:
        """Whether the AC side is set to output (discharge) with a non-zero limit."""
        if self.ac_mode is None:
            return None
        return self.ac_mode == AC_MODE_OUTPUT and (self.output_limit_w or 0) > 0

    def battery_state(self, capacity_kwh: float | None) -> BatteryState:
        """The shared view of this battery."""
        remaining = self.remaining_minutes
        if remaining is not None and (
            remaining >= REMAIN_TIME_NOT_DISCHARGING or self.discharge_power_w == 0
        ):
            remaining = None
        return BatteryState(
            soc=SocReading(float(self.soc_pct)),
            power_w=self.battery_power_w,
            capacity_kwh=capacity_kwh,
            min_soc_pct=self.min_soc_pct,
            max_soc_pct=self.max_soc_pct,
            output_enabled=self.output_enabled,
            output_power_w=self.home_output_w + (self.off_grid_power_w or 0),
            input_power_w=self.grid_input_w + self.solar_input_w,
            grid_available=self.grid_connected,
            remaining_minutes=remaining,
            temperature_c=self.temperature_c,
        )

    def reading(self, capacity_kwh: float | None) -> BatteryReading:
        """This report in the shared battery vocabulary."""
        return BatteryReading(
            state=self.battery_state(capacity_kwh),
            grid_input_w=self.grid_input_w,
            solar_input_w=self.solar_input_w,
            home_output_w=self.home_output_w,
            off_grid_output_w=self.off_grid_power_w,
            output_limit_w=self.output_limit_w,
            input_limit_w=self.input_limit_w,
            battery_voltage_v=self.battery_voltage_v,
            pack_count=self.pack_count,
            packs=tuple(
                BatteryPack(pack.serial_number, pack.soc_pct, pack.max_temperature_c)
                for pack in self.packs
            ),
            error=self.error,
            max_output_w=self.inverter_max_power_w,
        )


def _kelvin_tenths(value: int | None) -> float | None:
    return None if value is None else (value - KELVIN_TENTHS_AT_0C) / 10.0


def _signed16(value: int) -> int:
    return value - 0x10000 if value >= 0x8000 else value


def _int(container: dict[str, Any], key: str) -> int | None:
    value = container.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise DeviceProtocolError(f"{key!r} must be an integer, got {value!r}")
    return value


def _ranged(container: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = _int(container, key)
    if value is not None and not low <= value <= high:
        raise ValueOutOfRangeError(key, value, f"{low}..{high}")
    return value


def percent_from_device(key: str, value: int | None, *, tenths: bool) -> float | None:
    """SocSet/minSoc in percent, from whole percent or tenths of a percent."""
    if value is None:
        return None
    percent = value / 10.0 if tenths else float(value)
    low, high = WRITABLE[key]
    if not low <= percent <= high:
        raise ValueOutOfRangeError(key, value, f"{low}..{high} % (or tenths)")
    return percent


def _pack(raw: Any) -> ZendurePack:
    if not isinstance(raw, dict):
        raise DeviceProtocolError("packData entries must be objects")
    serial = raw.get("sn")
    if not isinstance(serial, str):
        raise DeviceProtocolError("pack without a serial number")
    current = _int(raw, "batcur")
    max_vol = _int(raw, "maxVol")
    min_vol = _int(raw, "minVol")
    return ZendurePack(
        serial_number=serial,
        soc_pct=_ranged(raw, "socLevel", 0, 100) or 0,
        state=_ranged(raw, "state", 0, 2) or 0,
        power_w=_int(raw, "power") or 0,
        max_temperature_c=_kelvin_tenths(_int(raw, "maxTemp")),
        current_a=None if current is None else _signed16(current & 0xFFFF) / 10.0,
        max_cell_v=None if max_vol is None else max_vol / 100.0,
        min_cell_v=None if min_vol is None else min_vol / 100.0,
        software_version=_int(raw, "softVersion"),
    )


def parse_report(payload: Any) -> ZendureReport:
    """Validate a report body; raise DeviceProtocolError on any schema violation."""
    if not isinstance(payload, dict):
        raise DeviceProtocolError("report must be a JSON object")
    serial = payload.get("sn")
    properties = payload.get("properties")
    packs = payload.get("packData", [])
    if not isinstance(serial, str) or not serial:
        raise DeviceProtocolError("report has no serial number")
    if not isinstance(properties, dict):
        raise DeviceProtocolError("report has no properties object")
    if not isinstance(packs, list):
        raise DeviceProtocolError("packData must be a list")
    ints = {key: value for key, value in properties.items() if type(value) is int}
    soc = _ranged(properties, "electricLevel", 0, 100)
    if soc is None:
        raise DeviceProtocolError("report has no 'electricLevel'")
    soc_set = _int(properties, "socSet")
    min_soc = _int(properties, "minSoc")
    # socSet spans 70..100 % or 700..1000 tenths: it tells the unit unambiguously.
    # Without it, only a minSoc above 50 can be told apart.
    tenths = soc_set > 100 if soc_set is not None else (min_soc or 0) > 50
    grid_state = _ranged(properties, "gridState", 0, 1)
    bat_volt = _int(properties, "BatVolt")
    parsed_packs = tuple(_pack(pack) for pack in packs)
    product = payload.get("product")
    return ZendureReport(
        serial_number=serial,
        product=product if isinstance(product, str) and product else "Zendure",
        soc_pct=soc,
        pack_state=_ranged(properties, "packState", 0, 2) or 0,
        charge_power_w=_ranged(properties, "outputPackPower", 0, 100_000) or 0,
        discharge_power_w=_ranged(properties, "packInputPower", 0, 100_000) or 0,
        home_output_w=_ranged(properties, "outputHomePower", 0, 100_000) or 0,
        grid_input_w=_ranged(properties, "gridInputPower", 0, 100_000) or 0,
        solar_input_w=_ranged(properties, "solarInputPower", 0, 100_000) or 0,
        off_grid_power_w=_ranged(properties, "gridOffPower", 0, 100_000),
        remaining_minutes=_ranged(properties, "remainOutTime", 0, 1_000_000),
        pack_count=_ranged(properties, "packNum", 0, 64) or len(parsed_packs),
        grid_connected=None if grid_state is None else bool(grid_state),
        ac_mode=_ranged(properties, "acMode", 0, 2),
        input_limit_w=_ranged(properties, "inputLimit", 0, 100_000),
        output_limit_w=_ranged(properties, "outputLimit", 0, 100_000),
        max_soc_pct=percent_from_device("socSet", soc_set, tenths=tenths),
        min_soc_pct=percent_from_device("minSoc", min_soc, tenths=tenths),
        soc_in_tenths=tenths,
        smart_mode=_ranged(properties, "smartMode", 0, 1),
        temperature_c=_kelvin_tenths(_int(properties, "hyperTmp")),
        battery_voltage_v=None if bat_volt is None else bat_volt / 100.0,
        inverter_max_power_w=_ranged(properties, "inverseMaxPower", 0, 100_000),
        error=bool(_int(properties, "is_error")),
        packs=parsed_packs,
        properties=ints,
    )


def chunk_writes(serial: str, properties: dict[str, int]) -> list[bytes]:
    """Request bodies for ``properties``, each at most 512 bytes."""
    bodies: list[bytes] = []
    current: dict[str, int] = {}
    for key, value in properties.items():
        candidate = {**current, key: value}
        if len(_body(serial, candidate)) > MAX_REQUEST_BYTES and current:
            bodies.append(_body(serial, current))
            candidate = {key: value}
        if len(_body(serial, candidate)) > MAX_REQUEST_BYTES:
            raise ValueOutOfRangeError("request", len(_body(serial, candidate)), "<= 512 bytes")
        current = candidate
    if current:
        bodies.append(_body(serial, current))
    return bodies


def _body(serial: str, properties: dict[str, int]) -> bytes:
    return json.dumps({"sn": serial, "properties": properties}, separators=(",", ":")).encode()


class ZendureClient:
    """One Zendure device reached through its local HTTP API."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        timeout_s: float = 5.0,
    ) -> None:
        """Use the injected ``session`` (Home Assistant's shared one)."""
        self._session = session
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.serial_number: str | None = None
        self.capacity_kwh: float | None = None
        self.last_output_limit_w = DEFAULT_OUTPUT_LIMIT_W
        self.requests_sent = 0
        self._lock = asyncio.Lock()

    @property
    def capabilities(self) -> BatteryCapabilities:
        """What the zenSDK API lets us control."""
        return CAPABILITIES

    async def async_close(self) -> None:
        """Nothing to close: the session belongs to Home Assistant."""

    async def async_read_grid(self) -> bool | None:
        """GridState from a report (one request)."""
        return (await self.async_read_report()).grid_connected

    async def async_read(self) -> BatteryReading:
        """Poll the report, in the shared vocabulary."""
        report = await self.async_read_report()
        capacity = self.capacity_kwh
        if capacity is None and report.pack_count:
            capacity = round(report.pack_count * PACK_CAPACITY_KWH, 3)
        return report.reading(capacity)

    @property
    def base_url(self) -> str:
        """The device's HTTP base address."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def async_read_report(self) -> ZendureReport:
        """GET /properties/report."""
        async with self._lock:
            return await self._read()

    async def async_read_identity(self) -> DeviceIdentity:
        """Serial number and product name from a report."""
        report = await self.async_read_report()
        return DeviceIdentity(
            manufacturer="Zendure", model=report.product, serial_number=report.serial_number
        )

    async def async_write(self, properties: dict[str, int]) -> ZendureReport:
        """Write properties (checked against the documented ranges) and verify them.

        ``socSet``/``minSoc`` are given in whole percent and sent in the unit the
        device itself reports. ``smartMode=1`` is added once, so frequent writes do
        not wear the device's flash.
        """
        for key, value in properties.items():
            if key not in WRITABLE:
                raise CommandRefusedError("not_writable", f"{key} cannot be written")
            low, high = WRITABLE[key]
            if not low <= value <= high:
                raise ValueOutOfRangeError(key, value, f"{low}..{high}")
        async with self._lock:
            before = await self._read()
            wire = {
                key: value * 10 if key in _PERCENT_TENTHS and before.soc_in_tenths else value
                for key, value in properties.items()
            }
            if before.smart_mode is not None and before.smart_mode != 1:
                wire = {"smartMode": 1, **wire}
            for body in chunk_writes(before.serial_number, wire):
                await self._post(body)
            after = await self._read()
        for key, value in wire.items():
            reported = after.properties.get(key)
            if reported != value:
                raise WriteNotVerifiedError(key, value, -1 if reported is None else reported)
        return after

    async def async_set_output(self, *, enabled: bool, limit_w: int | None = None) -> None:
        """Discharge to the home (acMode 2) up to ``limit_w``, or stop the output."""
        if not enabled:
            await self.async_write({"outputLimit": 0})
            return
        limit = limit_w if limit_w is not None else self.last_output_limit_w
        await self.async_write({"acMode": AC_MODE_OUTPUT, "outputLimit": limit})

    async def async_set_input_limit(self, limit_w: int) -> None:
        """Charge from the grid (acMode 1) at up to ``limit_w``; 0 stops charging."""
        if limit_w == 0:
            await self.async_write({"inputLimit": 0})
            return
        await self.async_write({"acMode": AC_MODE_INPUT, "inputLimit": limit_w})

    async def async_set_soc_limits(
        self, *, min_pct: float | None = None, max_pct: float | None = None
    ) -> None:
        """Set the floor (minSoc, 0..50 %) and the ceiling (socSet, 70..100 %) in percent."""
        properties = {}
        if min_pct is not None:
            properties["minSoc"] = round(min_pct)
        if max_pct is not None:
            properties["socSet"] = round(max_pct)
        if properties:
            await self.async_write(properties)

    async def async_set_dc_output(self, on: bool) -> None:
        """Not offered by the zenSDK API."""
        raise CommandRefusedError("not_supported", "Zendure devices have no DC output switch")

    async def async_set_grid_charge(self, on: bool) -> None:
        """Grid charging is the input mode: on = acMode 1, off = input limit 0."""
        raise CommandRefusedError(
            "not_supported", "use the input limit to control charging from the grid"
        )

    async def _read(self) -> ZendureReport:
        payload = await self._request("GET", "/properties/report", None)
        report = parse_report(payload)
        if report.output_limit_w:
            self.last_output_limit_w = report.output_limit_w
        if self.serial_number is None:
            self.serial_number = report.serial_number
        elif report.serial_number != self.serial_number:
            raise DeviceProtocolError(
                f"a different device answers at {self.host} ({report.serial_number})"
            )
        return report

    async def _post(self, body: bytes) -> None:
        await self._request("POST", "/properties/write", body)

    async def _request(self, method: str, path: str, body: bytes | None) -> Any:
        self.requests_sent += 1
        url = f"{self.base_url}{path}"
        headers = {"Content-Type": "application/json"} if body is not None else None
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._session.request(
                    method, url, data=body, headers=headers
                ) as response:
                    text = await response.text()
                    status = response.status
        except TimeoutError as err:
            raise DeviceTimeoutError(
                f"no reply from {self.host} within {self.timeout_s} s"
            ) from err
        except aiohttp.ClientConnectionError as err:
            raise DeviceConnectionError(f"cannot reach {self.host}: {err}") from err
        except aiohttp.ClientError as err:
            raise DeviceProtocolError(f"invalid HTTP reply from {self.host}: {err}") from err
        if status == 401:
            raise ZendureAuthError("the local API is disabled (enable a HEMS in the Zendure app)")
        if status == 400:
            raise CommandRefusedError(
                "device_rejected", f"{self.host} rejected the request: {text[:120]}"
            )
        if status != 200:
            raise DeviceProtocolError(f"{self.host} answered HTTP {status}")
        if method == "POST":
            return None
        try:
            return json.loads(text)
        except ValueError as err:
            raise DeviceProtocolError(f"{self.host} sent a body that is not JSON") from err
