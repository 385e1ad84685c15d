"""The Zendure and Bluetti twins: control API, physics, faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulator.faults import Fault, FaultKind
from simulator.world import Simulation, parse_scenario


@pytest.fixture
async def world(allow_loopback: None) -> AsyncIterator[Simulation]:
    """Both battery twins and the control API."""
    sim = Simulation(
        parse_scenario({"zendure": [{"port": 0}], "bluetti": [{"port": 0}]}), control_port=0
    )
    await sim.start()
    yield sim
    await sim.stop()


async def _call(sim: Simulation, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{sim.control_port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json(content_type=None)


async def test_state_endpoint_for_batteries(world: Simulation) -> None:
    """Loads, solar and SoC through /devices/{name}/state; bad values change nothing."""
    status, body = await _call(
        world, "POST", "/devices/zendure/state", json={"home_load_w": 150, "soc_pct": 40}
    )
    assert status == 200
    assert body["soc_pct"] == 40
    assert body["home_output_w"] == 150
    status, body = await _call(
        world, "POST", "/devices/bluetti/state", json={"ac_load_w": 700, "pv_w": 200}
    )
    assert status == 200
    assert body["ac_output_w"] == 700
    assert body["pv_input_w"] == 200
    for payload in ({"ac_load_w": -1}, {"soc_pct": 101}, {"pv_w": "sunny"}, {"ac_load_w": "nan"}):
        status, _ = await _call(world, "POST", "/devices/bluetti/state", json=payload)
        assert status == 400
    assert world.bluettis["bluetti"].config.ac_load_w == 700
    status, _ = await _call(world, "GET", "/devices/zendure/registers?start=1&count=1")
    assert status == 404
    status, body = await _call(world, "GET", "/devices/bluetti/registers?start=51004&count=1")
    assert body["values"] == [80]
    status, body = await _call(world, "POST", "/devices/zendure/fault", json={"kind": "soc_glitch"})
    assert status == 400


async def test_zendure_physics(world: Simulation) -> None:
    """Output mode feeds the home; an outage moves the load to the off-grid socket."""
    twin = world.zendures["zendure"]
    assert twin.home_output_w == 200
    world.set_grid(False)
    twin.advance()
    assert twin.home_output_w == 0
    assert twin.off_grid_output_w == 150
    twin.settings["gridOffMode"] = 2  # closed
    twin.advance()
    assert twin.off_grid_output_w == 0
    world.set_grid(True)
    twin.settings["acMode"] = 1
    twin.advance()
    assert twin.grid_input_w == 800
    twin.update_state({"soc_pct": 100})
    assert twin.grid_input_w == 0  # full: socSet reached
    report = twin.report()
    assert report["properties"]["socLimit"] == 1
    twin.update_state({"soc_pct": 5, "solar_w": 300})
    twin.settings["acMode"] = 2
    twin.advance()
    report = twin.report()
    assert report["properties"]["socLimit"] == 2  # at minSoc: no discharge
    assert report["properties"]["outputHomePower"] == 0
    assert report["properties"]["pvStatus"] == 1
    assert report["properties"]["packState"] == 1  # solar charges
    assert twin.describe()["kind"] == "zendure"


async def test_bluetti_outage_until_empty(world: Simulation) -> None:
    """Grid down and an empty battery: the outputs go dark."""
    twin = world.bluettis["bluetti"]
    world.set_grid(False)
    twin.update_state({"soc_pct": 0})
    assert twin.ac_output_w == 0
    assert twin.dc_output_w == 0
    twin.update_state({"pv_w": 100})
    assert twin.ac_output_w == 300  # the sun keeps it going
    assert twin.describe()["kind"] == "bluetti"


async def test_bluetti_faults_expire(world: Simulation) -> None:
    """Garbage expires by itself; function 0x10 is not offered."""
    twin = world.bluettis["bluetti"]
    twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=0.01))
    twin.garbage_until = twin.clock.wall() - 1
    await world.tick()
    assert twin.garbage_until == 0
    from simulator.modbus_server import ModbusError

    with pytest.raises(ModbusError):
        twin.write_multiple(57001, [1])
    with pytest.raises(ModbusError):
        twin.write_single(57001, 5)
    with pytest.raises(ModbusError):
        twin.write_single(50002, 1)


async def test_zendure_writes_listed(world: Simulation) -> None:
    """The write log of an HTTP device names properties."""
    twin = world.zendures["zendure"]
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{twin.port}/properties/write"
        body = {"sn": twin.config.serial, "properties": {"outputLimit": 300}}
        async with session.post(url, json=body) as response:
            assert response.status == 200
    _, body = await _call(world, "GET", "/devices/zendure/writes")
    assert [(w["address"], w["value"]) for w in body] == [("outputLimit", 300)]
