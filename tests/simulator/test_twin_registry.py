"""The twin registry: a device family added from one module reaches the whole simulator.

The family below (a made-up energy meter on a line-based TCP port) lives in this test
module only, as a new twin module would; world.py and control_api.py are not touched.
"""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
import pytest

from simulator.clock import SimClock
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarTwin
from simulator.records import WriteRecord
from simulator.registry import TwinKind, register, twin_kinds, unregister
from simulator.twin import DeviceEndpoint, DeviceRequest, Twin
from simulator.world import Grid, ScenarioConfig, Simulation, parse_scenario

SIMULATOR = Path(__file__).resolve().parents[2] / "simulator"


@dataclass(slots=True)
class MeterConfig:
    """The made-up meter's scenario keys."""

    name: str = "meter"
    port: int = 0
    power_w: float = 1000.0


def _reading(twin: MeterTwin, _request: DeviceRequest) -> dict[str, Any]:
    twin.advance()
    return {"energy_wh": round(twin.energy_wh, 3)}


def _reset(twin: MeterTwin, request: DeviceRequest) -> dict[str, Any]:
    value = request.body.get("energy_wh", 0)
    if not isinstance(value, int | float) or value < 0:
        raise ValueError("energy_wh must be a number >= 0")
    twin.advance()
    twin.energy_wh = float(value)
    twin.writes.append(
        WriteRecord("energy_wh", int(value), twin.clock.now(), twin.clock.wall(), True)
    )
    return {"energy_wh": twin.energy_wh}


class MeterTwin(Twin[MeterConfig]):
    """Counts the energy of a constant load while the grid is up; answers each line
    received on its TCP port with the count in Wh."""

    label = "Test meter"
    endpoints: ClassVar[tuple[DeviceEndpoint[Any], ...]] = (
        DeviceEndpoint("GET", "reading", _reading, refusal="is not a meter"),
        DeviceEndpoint("POST", "reading", _reset, refusal="is not a meter"),
    )

    def __init__(self, config: MeterConfig, clock: SimClock, grid: Grid | None = None) -> None:
        """Nothing counted yet."""
        super().__init__(config, clock, grid)
        self.port = config.port
        self.energy_wh = 0.0
        self.error = 0
        self._server: asyncio.Server | None = None

    def _step(self, dt: float) -> None:
        if self.grid_available and not self.error:
            self.energy_wh += self.config.power_w * dt / 3600

    @property
    def address(self) -> tuple[str, int]:
        """Loopback and the bound port."""
        return "127.0.0.1", self.port

    async def start(self) -> None:
        """Listen."""
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.readline():
            self.advance()
            writer.write(f"{self.energy_wh:.3f}\n".encode())
            await writer.drain()
        writer.close()

    async def stop(self) -> None:
        """Stop listening."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def housekeeping(self) -> None:
        """Count."""
        self.advance()

    def apply_fault(self, fault: Fault) -> None:
        """Only an error: the meter stops counting."""
        if fault.kind is not FaultKind.ERROR:
            raise ValueError(f"a meter has no {fault.kind.value} fault")
        self.advance()
        self.error = fault.code

    def clear_faults(self) -> None:
        """Count again."""
        self.advance()
        self.error = 0

    def describe(self) -> dict[str, Any]:
        """The state."""
        self.advance()
        return {"kind": "meter", "port": self.port, "power_w": self.config.power_w}

    def update_state(self, payload: dict[str, Any]) -> None:
        """Change the load."""
        power = float(payload["power_w"])
        if power < 0:
            raise ValueError("power_w must be >= 0")
        self.advance()
        self.config.power_w = power


METER = TwinKind("meter", "meters", MeterConfig, MeterTwin)


@pytest.fixture
def meter_family() -> Iterator[TwinKind[MeterConfig, MeterTwin]]:
    """The meter family, registered for one test (a twin module does it at import)."""
    kind = register(METER)
    yield kind
    unregister(kind.table)


@pytest.fixture
async def world(
    allow_loopback: None, meter_family: TwinKind[MeterConfig, MeterTwin]
) -> AsyncIterator[Simulation]:
    """A meter and a Quasar from a scenario, with the control API."""
    config = parse_scenario(
        {
            "control": {"port": 0},
            "meter": [{"name": "m", "power_w": 3600}],
            "quasar": [{"name": "q", "port": 0}],
        }
    )
    sim = Simulation(config)
    await sim.start()
    yield sim
    await sim.stop()


async def _call(sim: Simulation, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    url = f"http://127.0.0.1:{sim.control_port}{path}"
    async with aiohttp.ClientSession() as session, session.request(method, url, **kwargs) as r:
        return r.status, await r.json(content_type=None)


def test_shipped_families() -> None:
    """Every shipped twin is registered, in the order of the world's devices."""
    assert [(kind.table, kind.group, kind.charger) for kind in twin_kinds()] == [
        ("quasar", "quasars", True),
        ("sunspec", "sunspecs", True),
        ("echonet", "echonets", True),
        ("bidipro", "bidipros", True),
        ("zendure", "zendures", False),
        ("bluetti", "bluettis", False),
    ]


def test_world_and_control_api_name_no_family() -> None:
    """world.py and control_api.py import no twin module: they only read the registry."""
    twin_modules = {"quasar", "sunspec", "echonet", "bidipro", "zendure", "bluetti", "modbus_twin"}
    for module in ("world.py", "control_api.py"):
        tree = ast.parse((SIMULATOR / module).read_text(encoding="utf-8"))
        imported = {
            part
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for part in (node.module or "").split(".") + [alias.name for alias in node.names]
        }
        assert not imported & twin_modules, module


def test_scenario_of_a_new_family(meter_family: TwinKind[MeterConfig, MeterTwin]) -> None:
    """Its scenario table and its ScenarioConfig keyword come from the registration."""
    config = parse_scenario({"meter": [{"name": "m", "power_w": 50}, {"name": "n"}]})
    assert [(c.name, c.power_w) for c in config.configs_of(meter_family)] == [
        ("m", 50),
        ("n", 1000.0),
    ]
    assert config.quasars == []
    built = ScenarioConfig(control_port=None, meters=[MeterConfig("x")])
    assert [c.name for c in built.configs_of(meter_family)] == ["x"]
    with pytest.raises(ValueError, match="unique"):
        parse_scenario({"meter": [{"name": "q"}], "quasar": [{"name": "q"}]})
    with pytest.raises(ValueError, match="not chargers"):
        parse_scenario({"meter": [{"name": "m"}], "site": {"sources": ["m"]}})
    with pytest.raises(TypeError):
        parse_scenario({"meter": [{"name": "m", "volts": 230}]})


def test_unknown_family_keyword() -> None:
    """A ScenarioConfig keyword no family registered is refused, like any bad keyword."""
    with pytest.raises(TypeError, match="meters"):
        ScenarioConfig(meters=[])


@pytest.mark.parametrize(
    "kind",
    [
        TwinKind("quasar", "meters", MeterConfig, MeterTwin),
        TwinKind("meter", "quasars", MeterConfig, MeterTwin),
        TwinKind("quasars", "meters", MeterConfig, MeterTwin),
        TwinKind("site", "meters", MeterConfig, MeterTwin),
        TwinKind("meter", "grid", MeterConfig, MeterTwin),
    ],
)
def test_clashing_family_is_refused(kind: TwinKind[MeterConfig, MeterTwin]) -> None:
    """A family may not take another one's names nor a key the world reads."""
    with pytest.raises(ValueError, match=r"clashes|reserved"):
        register(kind)
    assert "meter" not in {k.table for k in twin_kinds()}


def test_endpoint_shadowing_a_common_one_is_refused() -> None:
    """/devices/{name}/state, /car, /fault and /writes are the same for every family."""

    class Shadowing(MeterTwin):
        endpoints = (DeviceEndpoint("POST", "fault", _reset),)

    with pytest.raises(ValueError, match="shadows"):
        register(TwinKind("meter", "meters", MeterConfig, Shadowing))


async def test_new_family_in_the_world(world: Simulation) -> None:
    """Built, started, stepped, described and stopped by the world like any twin."""
    meter = world.twins_of(METER)["m"]
    assert isinstance(meter, MeterTwin)
    assert world.devices["m"] is meter
    assert set(world.chargers) == {"q"}
    assert isinstance(world.quasars["q"], QuasarTwin)
    host, port = meter.address
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(b"?\n")
    assert float(await reader.readline()) >= 0
    writer.close()
    await writer.wait_closed()
    world.clock.advance(3600)
    await world.tick()
    assert meter.energy_wh >= 3600
    world.set_grid(False)
    await world.tick()
    counted = meter.energy_wh
    world.clock.advance(3600)
    await world.tick()
    assert meter.energy_wh == counted
    assert meter.banner() == f"Test meter 'm' on 127.0.0.1:{port}"


async def test_new_family_in_the_control_api(world: Simulation) -> None:
    """State, commands, faults, writes and the family's own endpoints over HTTP."""
    status, body = await _call(world, "GET", "/state")
    assert status == 200
    assert list(body["devices"]) == ["q", "m"]
    assert body["devices"]["m"]["kind"] == "meter"
    status, body = await _call(world, "POST", "/devices/m/state", json={"power_w": 7200})
    assert (status, body["power_w"]) == (200, 7200)
    status, body = await _call(world, "POST", "/devices/m/state", json={"power_w": -1})
    assert (status, body) == (400, {"error": "power_w must be >= 0"})
    status, body = await _call(world, "POST", "/clock", json={"advance_s": 1800})
    assert status == 200
    status, body = await _call(world, "GET", "/devices/m/reading")
    assert status == 200
    assert body["energy_wh"] >= 3600
    status, body = await _call(world, "POST", "/devices/m/reading", json={"energy_wh": 5})
    assert (status, body) == (200, {"energy_wh": 5.0})
    status, body = await _call(world, "POST", "/devices/m/reading", json={"energy_wh": "x"})
    assert (status, body) == (400, {"error": "energy_wh must be a number >= 0"})
    status, body = await _call(world, "GET", "/devices/m/writes")
    assert [(w["address"], w["value"]) for w in body] == [("energy_wh", 5)]
    status, body = await _call(world, "GET", "/devices/q/reading")
    assert (status, body) == (404, {"error": "'q' is not a meter"})
    status, body = await _call(world, "GET", "/devices/m/registers")
    assert (status, body) == (404, {"error": "'m' is not a Modbus device"})
    status, body = await _call(world, "GET", "/devices/nope/reading")
    assert status == 404
    status, body = await _call(world, "POST", "/devices/m/fault", json={"kind": "error"})
    assert status == 200
    assert world.twins_of(METER)["m"].error == 4
    status, body = await _call(world, "POST", "/devices/m/fault", json={"kind": "stall"})
    assert (status, body) == (400, {"error": "a meter has no stall fault"})
    status, body = await _call(world, "DELETE", "/devices/m/fault")
    assert (status, body) == (200, {"cleared": "m"})
    assert world.twins_of(METER)["m"].error == 0


def test_scenario_config_copies() -> None:
    """dataclasses.replace works on a ScenarioConfig (its fields are __init__ keywords)."""
    original = parse_scenario({"quasar": [{"name": "a"}], "speed": 2})
    copy = replace(original, speed=5.0)
    assert copy.speed == 5.0
    assert [c.name for c in copy.quasars] == ["a"]
    assert copy.device_configs == original.device_configs


async def test_every_shipped_twin_says_where_it_serves(allow_loopback: None) -> None:
    """The command line's lines: family, name, host and the bound port."""
    raw = {table: [{"name": table, "port": 0}] for table in ("quasar", "sunspec", "zendure")}
    raw |= {"echonet": [{"name": "echonet", "port": 0}], "bluetti": [{"name": "b", "port": 0}]}
    config = parse_scenario(raw | {"control": {"port": None}})
    assert [c.name for c in config.zendures] + [c.name for c in config.bluettis] == [
        "zendure",
        "b",
    ]
    sim = Simulation(config)
    await sim.start()
    try:
        lines = [twin.banner() for twin in sim.devices.values()]
        ports = [twin.address[1] for twin in sim.devices.values()]
        assert all(port > 0 for port in ports)
        assert lines == [
            f"Quasar 1 'quasar' on 127.0.0.1:{ports[0]} (unit 1)",
            f"SunSpec charger 'sunspec' on 127.0.0.1:{ports[1]}",
            f"ECHONET Lite node 'echonet' on 127.0.0.1:{ports[2]}",
            f"Zendure zenSDK device 'zendure' on 127.0.0.1:{ports[3]}",
            f"Bluetti power station 'b' on 127.0.0.1:{ports[4]}",
        ]
        assert sim.quasars["quasar"].listening
        assert sim.bluettis["b"].listening
    finally:
        await sim.stop()
