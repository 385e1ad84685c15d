"""Named sites (``[sites.<name>]``): a building next door on the same grid, over real HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from simulator.clock import SimClock
from simulator.world import Simulation, parse_scenario

APARTMENT = {
    "switch_delay_s": 0.2,
    "loads": [
        {"name": "elevator", "power_w": 1450.0, "critical": True},
        {"name": "stair_lights", "power_w": 150.0, "critical": True},
        {"name": "water_pump", "power_w": 750.0, "critical": True},
        {"name": "corridor_heater", "power_w": 1500.0},
    ],
}


async def _call(sim: Simulation, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{sim.control_port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json(content_type=None)


@pytest.fixture
async def sim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """The default site plus an apartment building, control API on a free port."""
    simulation = Simulation(parse_scenario({"sites": {"apartment": APARTMENT}}), control_port=0)
    await simulation.start()
    yield simulation
    await simulation.stop()


async def test_named_site_has_the_default_sites_answers(sim: Simulation) -> None:
    """``/sites/apartment`` answers like ``/site``, with its own loads; /state lists it."""
    status, body = await _call(sim, "GET", "/sites/apartment")
    assert status == 200
    assert body == {
        "grid": True,
        "transfer_switch": "grid",
        "protected_load_w": 1450 + 150 + 750 + 1500,
        "loads": {
            "elevator": {"on": True, "power_w": 1450.0, "critical": True},
            "stair_lights": {"on": True, "power_w": 150.0, "critical": True},
            "water_pump": {"on": True, "power_w": 750.0, "critical": True},
            "corridor_heater": {"on": True, "power_w": 1500.0, "critical": False},
        },
    }
    _, default = await _call(sim, "GET", "/site")
    assert set(default["loads"]) == {"elevator", "lights", "heater", "ev_charger"}
    _, state = await _call(sim, "GET", "/state")
    assert state["site"] == default
    assert state["sites"] == {"apartment": body}


async def test_named_site_switch_and_loads(sim: Simulation) -> None:
    """The relay follows at once, the contacts after the delay; loads switch; the default
    site is left alone."""
    status, body = await _call(sim, "POST", "/sites/apartment/transfer_switch", json={"on": True})
    assert (status, body) == (200, {"on": True, "position": "grid"})
    await asyncio.sleep(0.25)
    await sim.tick()
    _, body = await _call(sim, "GET", "/sites/apartment/transfer_switch")
    assert body == {"on": True, "position": "vehicle"}
    _, body = await _call(sim, "GET", "/site/transfer_switch")
    assert body == {"on": False, "position": "grid"}
    status, body = await _call(
        sim, "POST", "/sites/apartment/loads/corridor_heater", json={"on": False}
    )
    assert (status, body) == (200, {"on": False})
    _, body = await _call(sim, "GET", "/sites/apartment/loads/corridor_heater")
    assert body == {"on": False, "power_w": 1500.0}
    _, body = await _call(sim, "GET", "/sites/apartment")
    assert body["protected_load_w"] == 1450 + 150 + 750
    assert body["transfer_switch"] == "vehicle"
    assert sim.site.events == []
    status, _ = await _call(sim, "POST", "/sites/apartment/loads/water_pump", json={"on": 1})
    assert status == 400


async def test_unknown_site_or_load(sim: Simulation) -> None:
    """An unknown site or load answers 404; a load of the default site is not the
    apartment's."""
    for method, path in (
        ("GET", "/sites/hotel"),
        ("GET", "/sites/hotel/transfer_switch"),
        ("POST", "/sites/hotel/transfer_switch"),
        ("GET", "/sites/hotel/loads/elevator"),
        ("POST", "/sites/hotel/loads/elevator"),
        ("GET", "/sites/hotel/events"),
        ("GET", "/sites/apartment/loads/heater"),
        ("GET", "/site/loads/water_pump"),
    ):
        status, body = await _call(sim, method, path, json={"on": True})
        assert status == 404, path
        assert "error" in body


async def test_grid_cut_reaches_every_site(sim: Simulation) -> None:
    """One utility grid: a cut and the restoration are events of both sites."""
    status, _ = await _call(sim, "POST", "/grid", json={"available": False})
    assert status == 200
    _, body = await _call(sim, "GET", "/sites/apartment")
    assert body["grid"] is False
    await _call(sim, "POST", "/sites/apartment/transfer_switch", json={"on": True})
    await _call(sim, "POST", "/sites/apartment/loads/corridor_heater", json={"on": False})
    await asyncio.sleep(0.25)
    await sim.tick()
    await _call(sim, "POST", "/grid", json={"available": True})
    _, events = await _call(sim, "GET", "/sites/apartment/events")
    assert [(e["kind"], e["detail"]) for e in events] == [
        ("grid_cut", ""),
        ("switch_command", "vehicle"),
        ("load_off", "corridor_heater"),
        ("switch_moved", "vehicle"),
        ("grid_restored", ""),
    ]
    assert all(isinstance(e["wall"], float) for e in events)
    _, events = await _call(sim, "GET", "/site/events")
    assert [e["kind"] for e in events] == ["grid_cut", "grid_restored"]


async def test_sources_restrict_the_counted_vehicle_power() -> None:
    """A site counts only its ``sources``' power; the default site counts every charger."""
    frozen = SimClock(wall=lambda: 0.0)  # no physics: the powers set below stay
    config = parse_scenario(
        {
            "echonet": [{"name": "house_car", "port": 0}, {"name": "building_car", "port": 0}],
            "sites": {
                "apartment": {"sources": ["building_car"]},
                "annex": {},
            },
        }
    )
    assert config.site.sources is None
    assert config.sites["annex"].sources is None
    sim = Simulation(config, control_port=0, clock=frozen)
    sim.set_grid(False)
    sim.echonets["house_car"].actual_power_w = -2000.0
    await sim.tick()
    assert [e.kind for e in sim.site.events] == ["grid_cut", "discharge_started"]
    assert [e.kind for e in sim.sites["annex"].events] == ["grid_cut", "discharge_started"]
    assert [e.kind for e in sim.sites["apartment"].events] == ["grid_cut"]
    sim.echonets["building_car"].actual_power_w = -1500.0
    await sim.tick()
    assert [(e.kind, e.detail) for e in sim.sites["apartment"].events] == [
        ("grid_cut", ""),
        ("discharge_started", "-1500 W"),
    ]
    assert sim.site.events[-1].detail == "-2000 W"  # recorded once, not again


def test_named_site_scenario() -> None:
    """Named sites take the same keys as ``[site]``; sources must be chargers."""
    config = parse_scenario(
        {
            "quasar": [{"name": "q", "port": 0}],
            "zendure": [{"name": "z", "port": 0}],
            "site": {"sources": ["q"]},
            "sites": {"apartment": APARTMENT | {"switch_delay_s": 1.5, "sources": ["q"]}},
        }
    )
    assert config.site.sources == ("q",)
    apartment = config.sites["apartment"]
    assert apartment.switch_delay_s == 1.5
    assert apartment.sources == ("q",)
    assert [load.name for load in apartment.loads] == [
        "elevator",
        "stair_lights",
        "water_pump",
        "corridor_heater",
    ]
    with pytest.raises(ValueError, match="unknown site keys"):
        parse_scenario({"sites": {"apartment": {"colour": "red"}}})
    with pytest.raises(ValueError, match=r"not chargers of the scenario: \['z'\]"):
        parse_scenario(
            {"zendure": [{"name": "z", "port": 0}], "sites": {"apartment": {"sources": ["z"]}}}
        )
    with pytest.raises(ValueError, match="not chargers"):
        parse_scenario({"sites": {"apartment": {"sources": ["nobody"]}}})
