"""Loopback HTTP control API of the simulator (aiohttp).

GET    /state                          the whole world
POST   /clock            {"speed": 60} or {"advance_s": 3600}
GET    /grid             the grid
POST   /grid             {"available": false, "house_load_w": 1200}
GET    /site             transfer switch, loads, protected load (see simulator/site.py)
GET    /site/transfer_switch (relay state and contact position); POST {"on": true}
GET    /site/loads/{name};    POST {"on": false}
GET    /site/events      time-stamped events
GET    /sites/{site}, /sites/{site}/transfer_switch, /sites/{site}/loads/{name},
       /sites/{site}/events  the same for a named site of the scenario ([sites.<name>])
POST   /devices/{name}/state   device world: {"plugged": true, "soc_pct": 55} (charger),
                               {"soc_pct": 40, "ac_load_w": 500} (battery)
POST   /devices/{name}/car     alias of /state (vehicle chargers)
POST   /devices/{name}/fault   {"kind": "stall", "delay_s": 5, "duration_s": 30}
DELETE /devices/{name}/fault
GET    /devices/{name}/writes
and each device family's own endpoints (``DeviceEndpoint`` in its twin class), e.g.
GET    /devices/{name}/registers?start=526&count=17   (Modbus devices)

No device family is named here: the families come from the twin registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
import json
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .faults import Fault
from .registry import twin_kinds
from .twin import DeviceEndpoint, DeviceRequest

if TYPE_CHECKING:
    from .site import SiteTwin
    from .world import SimDevice, Simulation

SIMULATION_KEY: web.AppKey[Simulation] = web.AppKey("simulation")


def _bad_request(message: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=json.dumps({"error": message}), content_type="application/json")


async def _json(request: web.Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError:
        raise _bad_request("body must be a JSON object") from None
    if not isinstance(payload, dict):
        raise _bad_request("body must be a JSON object")
    return payload


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(text=json.dumps({"error": message}), content_type="application/json")


def _device(request: web.Request) -> SimDevice:
    sim = request.app[SIMULATION_KEY]
    name = request.match_info["name"]
    if name not in sim.devices:
        raise _not_found(f"no device named {name!r}")
    return sim.devices[name]


async def get_state(request: web.Request) -> web.Response:
    """Return the whole world."""
    return web.json_response(request.app[SIMULATION_KEY].describe())


async def post_clock(request: web.Request) -> web.Response:
    """Change the clock speed or jump forward."""
    sim = request.app[SIMULATION_KEY]
    payload = await _json(request)
    try:
        if "speed" in payload:
            sim.clock.set_speed(float(payload["speed"]))
        if "advance_s" in payload:
            sim.clock.advance(float(payload["advance_s"]))
    except (TypeError, ValueError) as err:
        raise _bad_request(str(err)) from None
    await sim.tick()
    return web.json_response(sim.describe()["clock"])


async def post_grid(request: web.Request) -> web.Response:
    """Cut or restore the grid, or change the house load."""
    sim = request.app[SIMULATION_KEY]
    payload = await _json(request)
    if "available" in payload:
        if not isinstance(payload["available"], bool):
            raise _bad_request("available must be true or false")
        sim.set_grid(payload["available"])
    if "house_load_w" in payload:
        try:
            load = float(payload["house_load_w"])
        except (TypeError, ValueError):
            raise _bad_request("house_load_w must be a number") from None
        if load < 0:
            raise _bad_request("house_load_w must be >= 0")
        sim.grid.house_load_w = load
    return web.json_response(sim.describe()["grid"])


async def post_state(request: web.Request) -> web.Response:
    """Change a device's world: plug the car, set SoC or loads."""
    device = _device(request)
    payload = await _json(request)
    try:
        device.update_state(payload)
    except (TypeError, ValueError) as err:
        raise _bad_request(str(err)) from None
    return web.json_response(device.describe())


async def post_fault(request: web.Request) -> web.Response:
    """Inject a fault."""
    sim = request.app[SIMULATION_KEY]
    device = _device(request)
    try:
        fault = Fault.from_json(await _json(request))
        device.apply_fault(fault)
    except (TypeError, ValueError) as err:
        raise _bad_request(str(err)) from None
    await sim.tick()
    return web.json_response({"applied": asdict(fault) | {"kind": fault.kind.value}})


async def delete_fault(request: web.Request) -> web.Response:
    """Clear every fault of a device."""
    sim = request.app[SIMULATION_KEY]
    device = _device(request)
    device.clear_faults()
    await sim.tick()
    return web.json_response({"cleared": device.name})


async def get_writes(request: web.Request) -> web.Response:
    """Every write the device accepted (registers or HTTP properties), in order."""
    device = _device(request)
    return web.json_response([asdict(record) for record in device.writes])


def _family_endpoint(
    method: str, path: str, refusal: str
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """The handler of ``method /devices/{name}/<path>``, an endpoint of some families."""

    async def handle(request: web.Request) -> web.Response:
        device = _device(request)
        endpoint = next((e for e in device.endpoints if (e.method, e.path) == (method, path)), None)
        if endpoint is None:
            raise _not_found(f"{device.name!r} {refusal}")
        body = await _json(request) if method == "POST" else {}
        try:
            answer = endpoint.handle(device, DeviceRequest(request.query, body))
        except (TypeError, ValueError) as err:
            raise _bad_request(str(err)) from None
        return web.json_response(answer)

    return handle


def _family_endpoints() -> dict[tuple[str, str], DeviceEndpoint[Any]]:
    """Every registered family's own endpoints by (method, path).

    The first family to list a path wins; its refusal answers the devices without it.
    """
    endpoints: dict[tuple[str, str], DeviceEndpoint[Any]] = {}
    for kind in twin_kinds():
        for endpoint in kind.endpoints:
            endpoints.setdefault((endpoint.method, endpoint.path), endpoint)
    return endpoints


async def get_grid(request: web.Request) -> web.Response:
    """The grid (REST sensors read it)."""
    return web.json_response(request.app[SIMULATION_KEY].describe()["grid"])


def _site(request: web.Request) -> SiteTwin:
    """The site of a request: ``/site/...`` the default one, ``/sites/{site}/...`` a named one."""
    sim = request.app[SIMULATION_KEY]
    name = request.match_info.get("site")
    if name is None:
        return sim.site
    if name not in sim.sites:
        raise _not_found(f"no site named {name!r}")
    return sim.sites[name]


async def get_site(request: web.Request) -> web.Response:
    """The simulated site: grid, transfer switch, loads."""
    site = _site(request)
    return web.json_response(site.describe(request.app[SIMULATION_KEY].grid.available))


def _on(payload: dict[str, Any]) -> bool:
    value = payload.get("on")
    if not isinstance(value, bool):
        raise _bad_request("on must be true or false")
    return value


def _transfer_switch(site: SiteTwin) -> dict[str, Any]:
    return {"on": site.relay_on, "position": "vehicle" if site.on_vehicle else "grid"}


async def get_transfer_switch(request: web.Request) -> web.Response:
    """The transfer switch: relay state (on = commanded to vehicle) and contact position."""
    return web.json_response(_transfer_switch(_site(request)))


async def post_transfer_switch(request: web.Request) -> web.Response:
    """Command the transfer switch."""
    site = _site(request)
    site.command_switch(_on(await _json(request)))
    return web.json_response(_transfer_switch(site))


def _load(request: web.Request) -> tuple[SiteTwin, str]:
    site = _site(request)
    name = request.match_info["name"]
    if name not in site.loads:
        raise _not_found(f"no load named {name!r}")
    return site, name


async def get_load(request: web.Request) -> web.Response:
    """One load of the protected circuit."""
    site, name = _load(request)
    load = site.loads[name]
    return web.json_response({"on": load.on, "power_w": load.power_w})


async def post_load(request: web.Request) -> web.Response:
    """Switch a load."""
    site, name = _load(request)
    site.set_load(name, _on(await _json(request)))
    return web.json_response({"on": site.loads[name].on})


async def get_site_events(request: web.Request) -> web.Response:
    """Time-stamped site events (monotonic clock)."""
    return web.json_response([asdict(event) for event in _site(request).events])


def build_app(sim: Simulation) -> web.Application:
    """Create the control API application."""
    app = web.Application()
    app[SIMULATION_KEY] = sim
    app.router.add_get("/state", get_state)
    app.router.add_post("/clock", post_clock)
    app.router.add_get("/grid", get_grid)
    app.router.add_post("/grid", post_grid)
    for prefix in ("/site", "/sites/{site}"):
        app.router.add_get(prefix, get_site)
        app.router.add_get(f"{prefix}/transfer_switch", get_transfer_switch)
        app.router.add_post(f"{prefix}/transfer_switch", post_transfer_switch)
        app.router.add_get(f"{prefix}/loads/{{name}}", get_load)
        app.router.add_post(f"{prefix}/loads/{{name}}", post_load)
        app.router.add_get(f"{prefix}/events", get_site_events)
    app.router.add_post("/devices/{name}/state", post_state)
    app.router.add_post("/devices/{name}/car", post_state)
    app.router.add_post("/devices/{name}/fault", post_fault)
    app.router.add_delete("/devices/{name}/fault", delete_fault)
    app.router.add_get("/devices/{name}/writes", get_writes)
    for (method, path), endpoint in _family_endpoints().items():
        handler = _family_endpoint(method, path, endpoint.refusal)
        if method == "GET":
            app.router.add_get(f"/devices/{{name}}/{path}", handler)  # HEAD too, as above
        else:
            app.router.add_route(method, f"/devices/{{name}}/{path}", handler)
    return app


async def start_control_api(sim: Simulation, port: int) -> tuple[web.AppRunner, int]:
    """Serve the control API on 127.0.0.1:``port`` (0 = any free port)."""
    runner = web.AppRunner(build_app(sim), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    bound = runner.addresses[0][1]
    return runner, int(bound)
