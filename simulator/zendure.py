"""Simulated Zendure device with the local HTTP API ("zenSDK").

From protocols.md section 8 (Zendure/zenSDK README, docs/openapi.yaml,
docs/en_properties.md).

Written independently of the integration.

* ``GET /properties/report``: ``timestamp``, ``messageId``, ``sn``, ``version``,
  ``product``, ``properties`` (integers) and ``packData`` (per-pack objects with
  ``sn``, ``packType``, ``socLevel``, ``state``, ``power``, ``maxTemp`` in 0.1 K,
  ``totalVol``, ``batcur`` as a 16-bit two's complement in 0.1 A, ``maxVol``/``minVol``
  in 0.01 V, ``softVersion``, ``heatState``).
* ``POST /properties/write``: ``{"sn", "properties"}``; 400 for a wrong ``sn``, an
  unknown or read-only property, a value out of its documented range, a body that is
  not JSON or longer than 512 bytes. Writes are applied all at once or not at all.
* ``socSet``/``minSoc`` use whole percent (current document) or tenths of a percent
  (older document) depending on ``soc_in_tenths``. ``outputLimit``/``inputLimit``
  above the inverter's power are stored clamped to it (an assumption: the documents
  do not say), so a client that verifies its writes notices.
* Faults: refuse (nothing listens), stall (replies delayed by ``delay_s``), exception
  (HTTP ``code``, default 500), short (the JSON body cut in half), garbage (a body
  that is not JSON), drop (``count`` connections close without a reply), reboot (refused
  for ``reboot_s``), error (``is_error`` = 1, ``faultLevel`` = code).

Physics: ``acMode`` 2 (output) feeds the home up to ``outputLimit`` while the grid is
up, down to ``minSoc``; with the grid down the grid-tied output stops and the
off-grid socket carries its load (unless ``gridOffMode`` is 2, closed). ``acMode`` 1
(input) charges from the grid at ``inputLimit`` up to ``socSet``. Solar always charges.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .battery import Battery, apply_state
from .clock import SimClock
from .faults import Fault, FaultKind
from .records import WriteRecord
from .registry import TwinKind, register
from .twin import Twin

if TYPE_CHECKING:
    from .world import Grid

MAX_BODY_BYTES = 512
KELVIN_TENTHS_AT_0C = 2731
# Documented writable properties with ranges in whole percent / W.
_WRITABLE = {
    "acMode": (1, 2),
    "inputLimit": (0, 2400),
    "outputLimit": (0, 2400),
    "socSet": (70, 100),
    "minSoc": (0, 50),
    "gridReverse": (0, 2),
    "inverseMaxPower": (0, 2400),
    "smartMode": (0, 1),
    "gridOffMode": (0, 2),
}
_PERCENT = ("socSet", "minSoc")


@dataclass(slots=True)
class ZendureConfig:
    """Static parameters of one simulated device."""

    name: str = "zendure"
    port: int = 8080
    serial: str = "HOA1NAH4N123456"
    product: str = "SolarFlow 800 Pro"
    packs: int = 2
    pack_kwh: float = 1.92
    soc_pct: float = 70.0
    soc_in_tenths: bool = False
    max_power_w: int = 800
    off_grid_max_w: int = 800
    home_load_w: float = 400.0
    off_grid_load_w: float = 150.0
    solar_w: float = 0.0
    efficiency: float = 0.92
    reboot_s: float = 5.0
    battery: Battery = field(init=False)

    def __post_init__(self) -> None:
        """Build the battery from the pack count."""
        self.battery = Battery(
            capacity_kwh=self.packs * self.pack_kwh,
            soc_pct=self.soc_pct,
            efficiency=self.efficiency,
            charge_cap_pct=100.0,
            discharge_floor_pct=0.0,
        )


class ZendureTwin(Twin[ZendureConfig]):
    """One Zendure device on an aiohttp server."""

    label = "Zendure zenSDK device"

    def __init__(self, config: ZendureConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """Create the device: output mode, 200 W limit, settings in RAM off.

        Without a ``grid`` the supply is always there.
        """
        super().__init__(config, clock, grid)
        self.battery = config.battery
        self.port = config.port
        self.settings: dict[str, int] = {
            "acMode": 2,
            "inputLimit": 800,
            "outputLimit": 200,
            "socSet": 1000 if config.soc_in_tenths else 100,
            "minSoc": 100 if config.soc_in_tenths else 10,
            "gridReverse": 0,
            "inverseMaxPower": config.max_power_w,
            "smartMode": 0,
            "gridOffMode": 0,
        }
        # smartMode 0 persists every write to flash; 1 keeps it in RAM only, and a
        # restart brings back the flash values (en_properties.md, smartMode).
        self.flash = dict(self.settings)
        self.home_output_w = 0.0
        self.off_grid_output_w = 0.0
        self.grid_input_w = 0.0
        self.requests = 0
        self.error_code = 0
        self.message_id = 0
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._refuse_until = 0.0
        self._stall_until = 0.0
        self._stall_s = 0.0
        self._status_until = 0.0
        self._status_code = 500
        self._short_until = 0.0
        self._garbage_until = 0.0
        self._drop_count = 0
        self._update_flows()

    # -- physics ---------------------------------------------------------------------

    def _percent(self, key: str) -> float:
        value = self.settings[key]
        return value / 10.0 if self.config.soc_in_tenths else float(value)

    def advance(self) -> None:
        """Bring the battery up to the current simulation time."""
        super().advance()
        self._update_flows()

    def _step(self, dt: float) -> None:
        self._update_flows()
        self.battery.step(self.battery_power_w, dt)

    @property
    def battery_power_w(self) -> float:
        """AC-side power into the battery (+ charging)."""
        return self.config.solar_w + self.grid_input_w - self.home_output_w - self.off_grid_output_w

    def _update_flows(self) -> None:
        soc = self.battery.soc_pct
        output_mode = self.settings["acMode"] == 2
        can_discharge = soc > self._percent("minSoc")
        grid = self.grid_available
        limit = min(self.settings["outputLimit"], self.settings["inverseMaxPower"])
        self.home_output_w = (
            min(limit, self.config.home_load_w) if grid and output_mode and can_discharge else 0.0
        )
        off_grid_open = self.settings["gridOffMode"] != 2
        self.off_grid_output_w = (
            min(self.config.off_grid_load_w, self.config.off_grid_max_w)
            if not grid and off_grid_open and can_discharge
            else 0.0
        )
        charging = grid and not output_mode and soc < self._percent("socSet")
        self.grid_input_w = float(self.settings["inputLimit"]) if charging else 0.0

    # -- the report ------------------------------------------------------------------

    def report(self) -> dict[str, Any]:
        """The exact ``/properties/report`` shape."""
        self.advance()
        self.message_id += 1
        battery_w = self.battery_power_w
        charge = max(0.0, battery_w)
        discharge = max(0.0, -battery_w)
        soc = self.battery.soc_pct
        pack_state = 1 if charge > 0 else 2 if discharge > 0 else 0
        energy_left = max(0.0, soc - self._percent("minSoc")) / 100 * self.battery.capacity_kwh
        remain = round(energy_left * 1000 / discharge * 60) if discharge > 0 else 59940
        soc_limit = (
            1 if soc >= self._percent("socSet") else 2 if not soc > self._percent("minSoc") else 0
        )
        properties: dict[str, int] = {
            "heatState": 0,
            "packInputPower": round(discharge),
            "outputPackPower": round(charge),
            "outputHomePower": round(self.home_output_w),
            "remainOutTime": remain,
            "packState": pack_state,
            "packNum": self.config.packs,
            "electricLevel": round(soc),
            "gridInputPower": round(self.grid_input_w),
            "solarInputPower": round(self.config.solar_w),
            "solarPower1": round(self.config.solar_w),
            "solarPower2": 0,
            "pass": 0,
            "reverseState": 0,
            "socStatus": 0,
            "hyperTmp": KELVIN_TENTHS_AT_0C + 285,  # 28.5 degC
            "dcStatus": 2 if discharge > 0 else 1 if charge > 0 else 0,
            "pvStatus": int(self.config.solar_w > 0),
            "acStatus": 1 if self.home_output_w > 0 else 2 if self.grid_input_w > 0 else 0,
            "dataReady": 1,
            "gridState": int(self.grid_available),
            "gridOffPower": round(self.off_grid_output_w),
            "BatVolt": 4820,
            "socLimit": soc_limit,
            "writeRsp": 0,
            "chargeMaxLimit": self.config.max_power_w,
            "is_error": int(bool(self.error_code)),
            "faultLevel": self.error_code,
            "rssi": -58,
            **self.settings,
        }
        return {
            "timestamp": int(self.clock.now()) + 1_767_225_600,
            "messageId": self.message_id,
            "sn": self.config.serial,
            "version": 2,
            "product": self.config.product,
            "properties": properties,
            "packData": [self._pack(index, soc, battery_w) for index in range(self.config.packs)],
        }

    def _pack(self, index: int, soc: float, battery_w: float) -> dict[str, Any]:
        packs = self.config.packs
        power = battery_w / packs
        current_tenths = round(power / 48.2 * 10)
        return {
            "sn": f"{self.config.serial[:-2]}P{index}",
            "packType": 0,
            "socLevel": max(0, min(100, round(soc) - index)),
            "state": 1 if power > 0 else 2 if power < 0 else 0,
            "power": round(abs(power)),
            "maxTemp": KELVIN_TENTHS_AT_0C + 250 + 5 * index,
            "totalVol": 4820,
            "batcur": current_tenths & 0xFFFF,
            "maxVol": 335,
            "minVol": 331,
            "softVersion": 4119,
            "heatState": 0,
        }

    # -- HTTP ------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        wall = self.clock.wall()
        if self._drop_count:
            self._drop_count -= 1
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=200)  # never reaches the client
        if wall < self._stall_until:
            await asyncio.sleep(self._stall_s)
        if wall < self._status_until:
            return web.Response(status=self._status_code, text="device error")
        if wall < self._garbage_until:
            return web.Response(text="<html><body>Internal error</body></html>")
        if request.method == "GET":
            body = json.dumps(self.report())
            if wall < self._short_until:
                body = body[: len(body) // 2]
            return web.Response(text=body, content_type="application/json")
        return await self._write(request)

    async def _write(self, request: web.Request) -> web.Response:
        raw = await request.read()
        if len(raw) > MAX_BODY_BYTES:
            return web.Response(status=400, text="request too long")
        try:
            payload = json.loads(raw)
        except ValueError:
            return web.Response(status=400, text="body is not JSON")
        if not isinstance(payload, dict) or payload.get("sn") != self.config.serial:
            return web.Response(status=400, text="wrong or missing sn")
        properties = payload.get("properties")
        if not isinstance(properties, dict) or not properties:
            return web.Response(status=400, text="missing properties")
        for key, value in properties.items():
            if key not in _WRITABLE or type(value) is not int:
                return web.Response(status=400, text=f"{key} cannot be written")
            low, high = _WRITABLE[key]
            if key in _PERCENT and self.config.soc_in_tenths:
                low, high = low * 10, high * 10
            if not low <= value <= high:
                return web.Response(status=400, text=f"{key} out of range")
        self.advance()
        for key, value in properties.items():
            stored = value
            if key in ("outputLimit", "inputLimit"):
                # Assumption: the device keeps limits within what its inverter can do.
                stored = min(value, self.config.max_power_w)
            self.settings[key] = stored
            if key == "smartMode" or not self.settings["smartMode"]:
                self.flash[key] = stored
            self.writes.append(WriteRecord(key, value, self.clock.now(), self.clock.wall(), True))
        self._update_flows()
        return web.Response(status=200)

    def _build_app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/properties/report", self._handle)
        app.router.add_post("/properties/write", self._handle)
        return app

    # -- lifecycle and faults ----------------------------------------------------------

    @property
    def address(self) -> tuple[str, int]:
        """Host and (bound) port of the HTTP server."""
        return "127.0.0.1", self.port

    @property
    def listening(self) -> bool:
        """Whether the HTTP server accepts connections."""
        return self._site is not None

    async def start(self) -> None:
        """Start the HTTP server; port 0 picks a free port, kept across restarts."""
        if self._runner is None:
            self._runner = web.AppRunner(self._build_app(), access_log=None)
            await self._runner.setup()
        if self._site is None:
            self._site = web.TCPSite(self._runner, "127.0.0.1", self.port)
            await self._site.start()
            self.port = int(self._runner.addresses[-1][1])

    async def stop(self) -> None:
        """Stop serving, close every connection and release the server."""
        self._site = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def housekeeping(self) -> None:
        """Advance physics; refuse connections while a refuse or reboot fault lasts."""
        self.advance()
        refusing = self.clock.wall() < self._refuse_until
        if refusing and self.listening:
            await self.stop()  # also closes open (keep-alive) connections
        elif not refusing and not self.listening:
            await self.start()

    def apply_fault(self, fault: Fault) -> None:
        """Inject a fault."""
        until = self.clock.wall() + fault.duration_s
        if fault.kind is FaultKind.REFUSE:
            self._refuse_until = until
        elif fault.kind is FaultKind.REBOOT:
            self._refuse_until = self.clock.wall() + self.config.reboot_s
            self.settings = dict(self.flash)
        elif fault.kind is FaultKind.STALL:
            self._stall_until, self._stall_s = until, fault.delay_s
        elif fault.kind is FaultKind.EXCEPTION:
            self._status_until = until
            self._status_code = fault.code if 400 <= fault.code <= 599 else 500
        elif fault.kind is FaultKind.SHORT:
            self._short_until = until
        elif fault.kind is FaultKind.GARBAGE:
            self._garbage_until = until
        elif fault.kind is FaultKind.DROP:
            self._drop_count = fault.count
        elif fault.kind is FaultKind.ERROR:
            self.error_code = fault.code
        else:
            raise ValueError(f"a Zendure device has no {fault.kind.value} fault")

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._refuse_until = self._stall_until = self._status_until = 0.0
        self._short_until = self._garbage_until = 0.0
        self._drop_count = 0
        self.error_code = 0

    def update_state(self, payload: dict[str, Any]) -> None:
        """Control API: loads, solar, state of charge."""
        self.advance()
        apply_state(
            self.config, self.battery, payload, ("home_load_w", "off_grid_load_w", "solar_w")
        )
        self._update_flows()

    def describe(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        self.advance()
        return {
            "kind": "zendure",
            "port": self.port,
            "listening": self.listening,
            "soc_pct": round(self.battery.soc_pct, 3),
            "capacity_kwh": self.battery.capacity_kwh,
            "settings": dict(self.settings),
            "home_output_w": self.home_output_w,
            "off_grid_output_w": self.off_grid_output_w,
            "grid_input_w": self.grid_input_w,
            "http_requests": self.requests,
            "writes": len(self.writes),
        }


KIND = register(TwinKind("zendure", "zendures", ZendureConfig, ZendureTwin))
