"""The SunSpec and ECHONET Lite profiles against their simulator twins, fault by fault.

The profiles were written from the reference tables, the twins too, independently:
here they meet over real loopback sockets. Every fault the simulator can inject
ends in a typed device error or a sane status, and the next poll after the fault
recovers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from custom_components.v2x.devices.echonet import EchonetClient, EchonetEndpoint
from custom_components.v2x.devices.echonet.ev_charger import EchonetEvCharger
from custom_components.v2x.devices.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ValueOutOfRangeError,
)
from custom_components.v2x.devices.modbus import ModbusTransport
from custom_components.v2x.devices.model import Charger, ChargerState, ChargerStatus
from custom_components.v2x.devices.sunspec import SunSpecCharger
from simulator.echonet import EchonetTwin
from simulator.faults import Fault, FaultKind
from simulator.sunspec import SunSpecTwin
from simulator.world import Simulation, parse_scenario


@dataclass
class Pair:
    """A profile and the twin it talks to."""

    sim: Simulation
    charger: Charger
    twin: SunSpecTwin | EchonetTwin


@pytest.fixture
async def world(allow_loopback: None) -> AsyncIterator[Simulation]:
    """One twin of each family, quick to reboot."""
    sim = Simulation(
        parse_scenario(
            {
                "sunspec": [{"port": 0, "reboot_boot_s": 0.5}],
                "echonet": [{"port": 0, "reboot_s": 0.5}],
            }
        ),
        control_port=0,
    )
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture(params=["sunspec", "echonet"])
async def pair(
    request: pytest.FixtureRequest, world: Simulation, endpoint: EchonetEndpoint
) -> AsyncIterator[Pair]:
    """A connected profile (short timeouts) and its twin."""
    charger: Charger
    twin: SunSpecTwin | EchonetTwin
    if request.param == "sunspec":
        twin = world.sunspecs["sunspec"]
        transport = ModbusTransport("127.0.0.1", twin.server.port, 1, timeout_s=0.5)
        charger = SunSpecCharger(transport)
    else:
        twin = world.echonets["nichicon"]
        client = EchonetClient(endpoint, "127.0.0.1", twin.port, timeout_s=0.3, retries=1)
        charger = EchonetEvCharger(client)
    await charger.async_read_identity()
    await charger.async_read_status()
    yield Pair(world, charger, twin)
    await charger.async_close()


# What each fault does to one status poll: an exception type, or the state it reports.
EXPECTED: dict[tuple[str, FaultKind], type[DeviceError] | ChargerState] = {
    ("sunspec", FaultKind.REFUSE): DeviceTimeoutError,
    ("echonet", FaultKind.REFUSE): DeviceTimeoutError,
    ("sunspec", FaultKind.STALL): DeviceTimeoutError,
    ("echonet", FaultKind.STALL): DeviceTimeoutError,
    ("sunspec", FaultKind.DROP): DeviceTimeoutError,  # the TCP connection closes
    ("echonet", FaultKind.DROP): ChargerState.STANDBY,  # one datagram lost: the retry answers
    ("sunspec", FaultKind.EXCEPTION): ModbusExceptionError,
    ("echonet", FaultKind.EXCEPTION): DeviceProtocolError,  # every property "impossible"
    ("sunspec", FaultKind.SHORT): DeviceProtocolError,
    ("echonet", FaultKind.SHORT): DeviceTimeoutError,  # truncated frames are not replies
    ("sunspec", FaultKind.GARBAGE): ValueOutOfRangeError,
    ("echonet", FaultKind.GARBAGE): DeviceTimeoutError,  # random bytes are not frames
    ("sunspec", FaultKind.REBOOT): DeviceTimeoutError,
    ("echonet", FaultKind.REBOOT): DeviceTimeoutError,
    ("sunspec", FaultKind.SOC_GLITCH): ChargerState.STANDBY,
    ("echonet", FaultKind.SOC_GLITCH): ChargerState.STANDBY,
    ("sunspec", FaultKind.ERROR): ChargerState.ERROR,
    ("echonet", FaultKind.ERROR): ChargerState.ERROR,
}


@pytest.mark.parametrize("kind", list(FaultKind))
async def test_every_fault_is_typed_and_recovers(pair: Pair, kind: FaultKind) -> None:
    """A fault gives a typed error or a sane status; after it, polls work again."""
    family = "sunspec" if isinstance(pair.charger, SunSpecCharger) else "echonet"
    before = await pair.charger.async_read_status()
    pair.twin.apply_fault(Fault(kind, duration_s=0.4, delay_s=1.0, code=7, count=1))
    await pair.sim.tick()
    expected = EXPECTED[(family, kind)]
    if isinstance(expected, ChargerState):
        status = await pair.charger.async_read_status()
        assert status.state is expected
        if kind is FaultKind.SOC_GLITCH:  # the glitch never reaches a decision
            assert status.soc.value_pct == before.soc.value_pct
            assert status.soc.stale
    else:
        with pytest.raises(expected):
            await pair.charger.async_read_status()
    pair.twin.clear_faults()
    recovered: ChargerStatus | None = None
    for _ in range(30):  # reboots and the Modbus backoff take a moment
        await asyncio.sleep(0.1)
        await pair.sim.tick()
        try:
            recovered = await pair.charger.async_read_status()
        except DeviceError:
            continue
        break
    assert recovered is not None, f"{family} did not recover from {kind}"
    assert recovered.state is ChargerState.STANDBY
    assert recovered.soc.value_pct == before.soc.value_pct


async def test_power_round_trip(pair: Pair) -> None:
    """Both profiles discharge the twin's car at the asked power, then stop."""
    assert await pair.charger.async_set_power(-2500) == -2500
    pair.sim.clock.advance(5)
    status = await pair.charger.async_read_status()
    assert status.state is ChargerState.DISCHARGING
    assert status.power_w == pytest.approx(-2500, abs=20)
    assert pair.twin.actual_power_w == pytest.approx(-2500, abs=20)
    await pair.charger.async_stop()
    pair.sim.clock.advance(5)
    assert (await pair.charger.async_read_status()).power_w == 0
