"""The simulator's loopback control API, over real HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from simulator.world import Simulation


async def _call(sim: Simulation, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{sim.control_port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json(content_type=None)


async def test_state(sim: Simulation) -> None:
    """The whole world as JSON."""
    status, body = await _call(sim, "GET", "/state")
    assert status == 200
    assert body["grid"]["available"] is True
    assert body["devices"]["quasar"]["kind"] == "quasar1"
    assert body["devices"]["quasar"]["plugged"] is True


async def test_car_and_soc(sim: Simulation) -> None:
    """Plug, unplug and set the state of charge."""
    status, body = await _call(sim, "POST", "/devices/quasar/car", json={"soc_pct": 42.5})
    assert status == 200
    assert body["soc_pct"] == 42.5
    status, body = await _call(sim, "POST", "/devices/quasar/car", json={"plugged": False})
    assert body["plugged"] is False
    assert sim.quasars["quasar"].state_code() == 0


@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/devices/quasar/car", {"soc_pct": 120}),
        ("/devices/quasar/car", {"plugged": "yes"}),
        ("/grid", {"available": "no"}),
        ("/grid", {"house_load_w": -5}),
        ("/grid", {"house_load_w": "lots"}),
        ("/clock", {"speed": 0}),
        ("/clock", {"advance_s": -1}),
        ("/devices/quasar/fault", {"kind": "meteor"}),
        ("/devices/quasar/fault", {"kind": "stall", "duration_s": 0}),
        ("/devices/quasar/fault", {"kind": "exception", "code": 300}),
        ("/devices/quasar/fault", [1, 2]),
    ],
)
async def test_bad_requests_change_nothing(sim: Simulation, path: str, payload: Any) -> None:
    """Invalid input answers 400 with a message; the world is unchanged."""
    before = sim.describe()["devices"]["quasar"]
    status, body = await _call(sim, "POST", path, json=payload)
    assert status == 400
    assert "error" in body
    after = sim.describe()["devices"]["quasar"]
    assert before["soc_pct"] == after["soc_pct"]
    assert before["plugged"] == after["plugged"]
    assert sim.grid.available
    assert sim.clock.speed == 1.0


async def test_non_json_body(sim: Simulation) -> None:
    """A body that is not JSON is refused."""
    status, body = await _call(sim, "POST", "/grid", data=b"not json")
    assert status == 400
    assert body["error"] == "body must be a JSON object"


async def test_unknown_device(sim: Simulation) -> None:
    """Unknown names answer 404."""
    for method, path in (
        ("POST", "/devices/nope/car"),
        ("POST", "/devices/nope/fault"),
        ("DELETE", "/devices/nope/fault"),
        ("GET", "/devices/nope/registers"),
    ):
        status, _ = await _call(sim, method, path, json={"kind": "drop"})
        assert status == 404


async def test_grid_and_clock(sim: Simulation) -> None:
    """Cut and restore the grid; change speed and jump in time."""
    status, body = await _call(
        sim, "POST", "/grid", json={"available": False, "house_load_w": 1500}
    )
    assert status == 200
    assert body == {"available": False, "house_load_w": 1500.0, "outages": 1}
    await _call(sim, "POST", "/grid", json={"available": True})
    assert sim.grid.available
    before = sim.clock.now()
    status, body = await _call(sim, "POST", "/clock", json={"speed": 10, "advance_s": 3600})
    assert status == 200
    assert body["speed"] == 10
    assert body["sim_time_s"] >= before + 3600


async def test_faults_and_registers(sim: Simulation) -> None:
    """Inject and clear a fault; read raw registers and the write log."""
    status, body = await _call(
        sim, "POST", "/devices/quasar/fault", json={"kind": "exception", "code": 6}
    )
    assert status == 200
    assert body["applied"]["code"] == 6
    assert sim.quasars["quasar"].server.faults.exception_code == 6
    status, _ = await _call(sim, "DELETE", "/devices/quasar/fault")
    assert status == 200
    assert sim.quasars["quasar"].server.faults.exception_code == 0
    status, body = await _call(sim, "GET", "/devices/quasar/registers?start=1&count=3")
    assert body == {"start": 1, "values": [5130, 308, 55029]}
    status, body = await _call(sim, "GET", "/devices/quasar/registers?start=10&count=1")
    assert body["values"] == [None]
    status, _ = await _call(sim, "GET", "/devices/quasar/registers?start=x")
    assert status == 400
    status, _ = await _call(sim, "GET", "/devices/quasar/registers?start=1&count=200")
    assert status == 400
    sim.quasars["quasar"].write_single(81, 1)
    status, body = await _call(sim, "GET", "/devices/quasar/writes")
    assert [(w["address"], w["value"], w["applied"]) for w in body] == [(81, 1, True)]
