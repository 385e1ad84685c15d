"""The simulated site: transfer switch, loads, and the events benchmarks read."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from simulator.quasar import QuasarConfig
from simulator.world import Simulation, parse_scenario
from tests.conftest import start_simulation


async def _call(sim: Simulation, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{sim.control_port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json(content_type=None)


async def test_transfer_switch_and_loads(allow_loopback: None) -> None:
    """The relay follows at once, the contacts after the delay; bad input is refused."""
    sim = await start_simulation(QuasarConfig(port=0, ramp_w_per_s=1e9))
    try:
        status, body = await _call(sim, "GET", "/site")
        assert body["transfer_switch"] == "grid"
        assert body["protected_load_w"] == 1450 + 200 + 2000 + 3700
        status, body = await _call(sim, "POST", "/site/transfer_switch", json={"on": True})
        assert body == {"on": True, "position": "grid"}  # the contactor is still moving
        await asyncio.sleep(0.25)
        await sim.tick()
        _, body = await _call(sim, "GET", "/site/transfer_switch")
        assert body == {"on": True, "position": "vehicle"}
        status, body = await _call(sim, "POST", "/site/loads/heater", json={"on": False})
        assert body == {"on": False}
        _, body = await _call(sim, "GET", "/site/loads/heater")
        assert body == {"on": False, "power_w": 2000.0}
        for path, payload in (("/site/transfer_switch", {"on": "yes"}), ("/site/loads/heater", {})):
            status, _ = await _call(sim, "POST", path, json=payload)
            assert status == 400
        status, _ = await _call(sim, "GET", "/site/loads/sauna")
        assert status == 404
        _, body = await _call(sim, "GET", "/grid")
        assert body["available"] is True
        _, events = await _call(sim, "GET", "/site/events")
        assert [e["kind"] for e in events] == ["switch_command", "switch_moved", "load_off"]
    finally:
        await sim.stop()


async def test_discharge_after_a_cut_is_recorded(allow_loopback: None) -> None:
    """After a grid cut the first vehicle discharge is time-stamped once."""
    sim = await start_simulation(QuasarConfig(port=0, ramp_w_per_s=1e9))
    try:
        twin = sim.quasars["quasar"]
        sim.set_grid(False)
        twin.write_single(81, 1)
        twin.write_single(83, 1)
        twin.write_single(260, (-2000) & 0xFFFF)
        twin.write_single(257, 1)
        await asyncio.sleep(0.05)
        await sim.tick()
        await sim.tick()
        kinds = [event.kind for event in sim.site.events]
        assert kinds == ["grid_cut", "discharge_started"]
        sim.set_grid(True)
        assert sim.site.events[-1].kind == "grid_restored"
    finally:
        await sim.stop()


def test_site_scenario() -> None:
    """Loads and the switch delay come from the scenario; unknown keys are refused."""
    config = parse_scenario(
        {
            "site": {
                "switch_delay_s": 0.5,
                "loads": [{"name": "pump", "power_w": 300, "critical": True}],
            }
        }
    )
    assert config.site.switch_delay_s == 0.5
    assert [load.name for load in config.site.loads] == ["pump"]
    with pytest.raises(ValueError, match="unknown site keys"):
        parse_scenario({"site": {"colour": "red"}})
