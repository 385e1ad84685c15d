"""Scenario parsing, the clock, battery physics and the Quasar twin's behaviour."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import pytest

from simulator.battery import Battery
from simulator.clock import SimClock
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig, QuasarTwin
from simulator.world import Grid, Simulation, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_default_scenario_loads() -> None:
    """The shipped scenario: the house's Quasar with a 40 kWh Leaf, the apartment building,
    six office bays."""
    config = load_scenario(ROOT / "simulator" / "scenarios" / "default.toml")
    assert config.control_port == 8099
    assert [q.name for q in config.quasars] == ["quasar"] + [
        f"office_bay_{bay}" for bay in range(1, 7)
    ]
    assert [q.port for q in config.quasars[1:]] == list(range(5030, 5036))
    assert {q.max_power_w for q in config.quasars[1:]} == {6000}
    assert config.quasars[0].car.capacity_kwh == 40
    assert config.quasars[0].car.soc_pct == 62
    assert [(s.name, s.port, s.car.capacity_kwh) for s in config.sunspecs] == [
        ("sunspec", 5022, 60)
    ]
    assert [(e.name, e.port, e.car.soc_pct) for e in config.echonets] == [("nichicon", 3611, 75)]
    apartment = config.sites["apartment"]
    assert apartment.sources == ("sunspec", "nichicon")
    assert [(load.name, load.power_w, load.critical) for load in apartment.loads] == [
        ("elevator", 1450, True),
        ("stair_lights", 150, True),
        ("water_pump", 750, True),
        ("corridor_heater", 1500, False),
    ]
    assert config.site.sources is None


async def test_every_charger_family_feeds_the_site(allow_loopback: None) -> None:
    """SunSpec and ECHONET twins are devices of the world; their power reaches the site."""
    config = parse_scenario(
        {
            "control": {"port": None},
            "sunspec": [{"name": "s", "port": 0, "car": {"plugged": False}}],
            "echonet": [
                {"name": "e", "port": 0, "identification": "FE00006C" + "31" * 13},
                {"name": "f", "port": 0},
            ],
        }
    )
    assert config.echonets[0].identification == bytes.fromhex("FE00006C" + "31" * 13)
    assert config.sunspecs[0].plugged is False
    sim = Simulation(config)
    await sim.start()
    try:
        assert set(sim.devices) == {"s", "e", "f"}
        sim.set_grid(False)
        sim.echonets["e"].actual_power_w = -1500.0
        await sim.tick()
        assert [event.kind for event in sim.site.events] == ["grid_cut", "discharge_started"]
    finally:
        await sim.stop()


@pytest.mark.parametrize(
    "raw",
    [
        {"quasar": [{"name": "a"}, {"name": "a"}]},
        {"quasar": [{"car": {"wings": 2}}]},
        {"quasar": [{"car": {"capacity_kwh": 0}}]},
        {"quasar": [{"car": {"efficiency": 1.5}}]},
        {"quasar": [{"car": {"soc_pct": 101}}]},
        {"quasar": [{"colour": "red"}]},
        {"quasar": [{"name": "x"}], "echonet": [{"name": "x"}]},
        {"sunspec": [{"car": {"soc_pct": -1}}]},
        {"echonet": [{"identification": "not hex"}]},
    ],
)
def test_invalid_scenarios(raw: dict[str, object]) -> None:
    """Mistakes in a scenario are reported, not half-applied."""
    with pytest.raises((ValueError, TypeError)):
        parse_scenario(raw)


def test_clock() -> None:
    """Speed scales time; advance jumps; time never goes backwards."""
    wall = [100.0]
    clock = SimClock(2.0, wall=lambda: wall[0])
    wall[0] += 1
    assert clock.now() == 2.0
    clock.set_speed(10)
    wall[0] += 1
    assert clock.now() == 12.0
    clock.advance(8)
    assert clock.now() == 20.0
    assert clock.wall() == 102.0
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    with pytest.raises(ValueError, match="positive"):
        clock.set_speed(0)
    with pytest.raises(ValueError, match="positive"):
        SimClock(-1)


def test_battery_physics() -> None:
    """Energy in and out with efficiency; the car's own limits stop the flow."""
    battery = Battery(capacity_kwh=40, soc_pct=50, efficiency=0.9)
    battery.step(4000, 3600)  # 4 kWh AC in, 3.6 kWh stored = 9 %
    assert math.isclose(battery.soc_pct, 59.0)
    battery.step(-3600, 3600)  # 3.6 kWh AC out, 4 kWh from the cells = 10 %
    assert math.isclose(battery.soc_pct, 49.0)
    assert math.isclose(battery.energy_kwh, 19.6)
    battery.step(7400, 100 * 3600)
    assert battery.soc_pct == 97.0
    assert battery.power_limit_w(5000) == 0.0
    assert battery.power_limit_w(-5000) == -5000
    battery.step(-7400, 100 * 3600)
    assert battery.soc_pct == 5.0
    assert battery.power_limit_w(-5000) == 0.0
    battery.step(0, 10)
    battery.step(100, -1)
    assert battery.soc_pct == 5.0


def _read(twin: QuasarTwin, address: int) -> int:
    return twin.read_holding(address, 1)[0]


def test_twin_states_follow_commands() -> None:
    """States: autostart charging, paused under remote control, discharging."""
    clock = SimClock(wall=lambda: 0.0)
    twin = QuasarTwin(QuasarConfig(ramp_w_per_s=1e9), clock)
    clock.advance(1)
    assert _read(twin, 537) == 1  # the app charges at full power
    assert _read(twin, 526) == 7400
    twin.write_single(81, 1)
    twin.write_single(82, 0)
    twin.write_single(83, 1)
    clock.advance(1)
    assert _read(twin, 537) == 4  # paused: remote, not started
    assert _read(twin, 538) == 0  # no power: SoC reads 0
    twin.write_single(260, (-3000) & 0xFFFF)
    twin.write_single(257, 1)
    clock.advance(1)
    assert _read(twin, 537) == 11
    assert _read(twin, 526) == (-3000) & 0xFFFF
    assert _read(twin, 538) == 60
    twin.write_single(260, 0)
    clock.advance(1)
    assert _read(twin, 537) == 2  # started with a zero setpoint: waiting
    twin.write_single(83, 0)
    twin.write_single(258, (-10) & 0xFFFF)  # current mode: -10 A x 230 V
    clock.advance(1)
    assert _read(twin, 526) == (-2300) & 0xFFFF
    twin.locked = 1
    twin.plug(False)
    assert _read(twin, 537) == 6
    twin.write_single(257, 3)  # restart
    assert _read(twin, 537) == 7
    assert twin.booting
    assert _read(twin, 4) == (ord("Q") << 8) | ord("S")  # part number "QSX1EU"


def test_twin_cannot_charge_without_the_grid() -> None:
    """A grid cut stops charging at once; discharging still works; charging resumes."""
    clock = SimClock(wall=lambda: 0.0)
    grid = Grid()
    twin = QuasarTwin(QuasarConfig(ramp_w_per_s=3000), clock, grid)
    clock.advance(5)
    assert _read(twin, 526) == 7400  # the app charges at full power
    grid.available = False
    clock.advance(0.1)
    assert _read(twin, 526) == 0
    assert _read(twin, 537) == 2  # waiting: nothing to charge from
    twin.write_single(81, 1)
    twin.write_single(83, 1)
    twin.write_single(260, (-1000) & 0xFFFF)
    twin.write_single(257, 1)
    clock.advance(1)
    assert _read(twin, 526) == (-1000) & 0xFFFF
    grid.available = True
    twin.write_single(260, 2000)
    clock.advance(1)
    assert _read(twin, 526) == 2000


def test_twin_community_registers_and_idle_settings() -> None:
    """The [C] idle-setpoint registers accept writes under remote control."""
    clock = SimClock(wall=lambda: 0.0)
    twin = QuasarTwin(QuasarConfig(), clock)
    twin.write_single(81, 1)
    twin.write_single(84, 1)
    twin.write_single(85, (-5) & 0xFFFF)
    twin.write_single(87, 1000)
    twin.write_single(256, 1)
    assert [_read(twin, a) for a in (80, 84, 85, 87, 256)] == [5020, 1, (-5) & 0xFFFF, 1000, 1]
    twin.write_multiple(81, [0])
    assert (twin.remote, twin.autostart) == (0, 1)


def test_fault_validation() -> None:
    """Fault payloads are validated with clear messages."""
    assert Fault.from_json({"kind": "soc_glitch", "count": 3}).count == 3
    with pytest.raises(ValueError, match="kind"):
        Fault.from_json({})
    with pytest.raises(ValueError, match="code"):
        Fault.from_json({"kind": "error", "code": 0})


async def test_simulation_lifecycle(allow_loopback: None) -> None:
    """Start, housekeeping, faults expiring by themselves, stop."""
    sim = Simulation(parse_scenario({"quasar": [{"port": 0}]}), control_port=0)
    await sim.start()
    twin = sim.quasars["quasar"]
    twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=0.1))
    twin.apply_fault(Fault(FaultKind.STALL, delay_s=1, duration_s=0.1))
    twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=0.1))
    await asyncio.sleep(0.05)
    assert twin.describe()["listening"] is False
    await asyncio.sleep(0.3)
    assert twin.describe()["listening"] is True
    assert twin.server.faults.stall_s == 0
    assert twin.garbage_until == 0
    sim.set_grid(False)
    sim.set_grid(False)
    assert sim.grid.outages == 1
    await sim.stop()
    assert not twin.server.listening


async def test_housekeeping_survives_errors(
    allow_loopback: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A failing device does not stop the simulation's housekeeping."""
    sim = Simulation(parse_scenario({"control": {"port": 0}, "quasar": [{"port": 0}]}))
    await sim.start()
    twin: QuasarTwin = sim.quasars["quasar"]
    calls = 0

    async def broken() -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("boom")

    twin.housekeeping = broken  # type: ignore[method-assign]
    await asyncio.sleep(0.2)
    await sim.stop()
    assert calls >= 2
    assert "housekeeping failed" in caplog.text
