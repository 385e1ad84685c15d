"""The simulated site: transfer switch, loads, and the events benchmarks read."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from simulator.quasar import QuasarConfig
from simulator.site import LoadConfig, SiteConfig, SiteTwin
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


def test_an_elevator_starting_beyond_the_cars_overloads_the_island() -> None:
    """Peaks come on time; on vehicle power a load above the supplying ratings is logged."""
    elevator = LoadConfig(
        "elevator", 1450.0, critical=True, peak_w=9000.0, peak_s=2.0, trip_every_s=8.0
    )
    assert [elevator.power_at(t) for t in (0.0, 1.9, 2.0, 7.9, 8.5)] == [
        9000.0,
        9000.0,
        1450.0,
        1450.0,
        9000.0,
    ]
    site = SiteTwin(SiteConfig(switch_delay_s=0.0, loads=[elevator]))
    site.grid_changed(False)
    site.command_switch(True)
    # The switchover (no car supplying yet) is not an overload: island_supplied marks its end.
    site.housekeeping(vehicle_power_w=0.0, grid_available=False, capacity_w=0.0)
    kinds = [event.kind for event in site.events]
    assert kinds == ["grid_cut", "switch_command", "switch_moved", "load_peak"]
    assert site.protected_load_w == 9000.0  # the test runs within the first peak
    site.housekeeping(vehicle_power_w=-1450.0, grid_available=False, capacity_w=14800.0)
    # Two cars carry the peak.
    assert [e.kind for e in site.events][-2:] == ["discharge_started", "island_supplied"]
    site.housekeeping(vehicle_power_w=-1450.0, grid_available=False, capacity_w=7400.0)
    assert (site.events[-1].kind, site.events[-1].detail) == ("overload", "9000 W > 7400 W")
    site.housekeeping(vehicle_power_w=-1450.0, grid_available=True, capacity_w=7400.0)
    assert site.events[-1].kind == "overload_end"  # the grid is back: no longer an island
    assert float(site.events[-1].detail.removesuffix(" s")) >= 0


async def test_the_world_counts_the_ratings_of_the_chargers_supplying(
    allow_loopback: None,
) -> None:
    """Only a charger that discharges supplies the island: with one of two Quasars, 7.4 kW."""
    sim = await start_simulation(
        QuasarConfig(name="a", port=0, ramp_w_per_s=1e9),
        QuasarConfig(name="b", port=0, serial=20240118, ramp_w_per_s=1e9),
    )
    try:
        sim.site.loads = {
            "elevator": LoadConfig("elevator", 9000.0, critical=True),
        }
        sim.set_grid(False)
        sim.site.command_switch(True)
        await asyncio.sleep(0.25)
        twin = sim.quasars["a"]
        for address, value in ((81, 1), (83, 1), (260, (-2000) & 0xFFFF), (257, 1)):
            twin.write_single(address, value)
        await asyncio.sleep(0.05)
        await sim.tick()
        await sim.tick()
        assert [e.kind for e in sim.site.events][-3:] == [
            "discharge_started",
            "island_supplied",
            "overload",
        ]
        assert sim.site.events[-1].detail == "9000 W > 7400 W"
    finally:
        await sim.stop()
