"""Bluetti AC500-family profile: decoding by the register list, and the simulator twin.

Register images in the decode tests are written out by hand from the community list
(bluetti-registers ``modbus-tcp/ac500.json`` and ``fields.py``), not by our encoder.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.v2x.devices.bluetti import (
    IDENTITY_BLOCK,
    MODELS,
    POLL_BLOCKS,
    UNKNOWN_MODEL,
    BluettiStation,
    decode_serial,
    decode_swapped_string,
    decode_version,
)
from custom_components.v2x.devices.errors import (
    CommandRefusedError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.modbus import ModbusTransport
from simulator.bluetti import BluettiTwin
from simulator.faults import Fault, FaultKind
from simulator.world import Simulation, parse_scenario


async def _start(**config: object) -> Simulation:
    sim = Simulation(parse_scenario({"bluetti": [{"port": 0, **config}]}), control_port=0)
    await sim.start()
    return sim


@pytest.fixture
async def bsim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """An AC500 with two B300 packs at 80 %, grid up, 300 W AC and 20 W DC loads."""
    sim = await _start()
    yield sim
    await sim.stop()


def _twin(sim: Simulation) -> BluettiTwin:
    return sim.bluettis["bluetti"]


def _station(sim: Simulation, timeout_s: float = 1.0) -> BluettiStation:
    return BluettiStation(
        ModbusTransport("127.0.0.1", _twin(sim).server.port, 1, timeout_s=timeout_s)
    )


def test_swapped_model_string() -> None:
    """'AC500': each register holds its first character in the low byte."""
    registers = [ord("A") | ord("C") << 8, ord("5") | ord("0") << 8, ord("0"), 0, 0, 0]
    assert decode_swapped_string(registers) == "AC500"


def test_serial_low_word_first() -> None:
    """Four registers, the first one the least significant."""
    assert decode_serial([0x1234, 0x0001, 0, 0]) == str(0x0001_1234)
    assert decode_serial([0, 0, 0, 1]) == str(1 << 48)


def test_version_two_registers() -> None:
    """403907 = 4039.07 (major*100 + minor), low word first."""
    assert decode_version(403907 & 0xFFFF, 403907 >> 16) == "4039.07"


def test_blocks_only_cover_documented_registers() -> None:
    """No block spans an undocumented address (the AC500 times out on those)."""
    documented = {
        50002, 50004, 50006, 50012, 50013, 50018, 50019, 50214,
        51001, 51002, 51003, 51004, 57001, 57005, 57009, 57016, 57017,
    }  # fmt: skip
    for block in POLL_BLOCKS:
        assert set(range(block.start, block.start + block.count)) <= documented, block.name
    assert (IDENTITY_BLOCK.start, IDENTITY_BLOCK.count) == (50200, 14)


def test_unit_id_must_be_one() -> None:
    """Another unit id is refused before anything is sent (it froze a real AC500)."""
    with pytest.raises(ValueOutOfRangeError):
        BluettiStation(ModbusTransport("127.0.0.1", 502, 2))


def test_model_capacity_estimates() -> None:
    """Default capacities scale with packs; unknown models have none."""
    assert MODELS["AC500"].default_capacity_kwh(2) == 6.144
    assert UNKNOWN_MODEL.default_capacity_kwh(2) is None
    assert MODELS["AC500"].default_capacity_kwh(0) is None


async def test_identity_and_status(bsim: Simulation) -> None:
    """Identity in one request; a status poll is one request per documented run."""
    station = _station(bsim)
    identity = await station.async_read_identity()
    assert (identity.manufacturer, identity.model) == ("Bluetti", "AC500")
    assert identity.serial_number == "2237000012345"
    assert identity.firmware_version == "ARM 4039.07 / DSP 4055.03"
    assert station.requests_sent == 1
    status = await station.async_read_status()
    assert station.requests_sent == 1 + len(POLL_BLOCKS)
    assert status.soc_pct == 80
    assert status.pack_count == 2
    assert status.ac_output_power_w == 300
    assert status.grid_input_power_w == 300  # passthrough; the battery is at its high limit
    assert status.grid_available
    assert (status.soc_low_pct, status.soc_high_pct) == (30, 80)
    assert status.battery_voltage_v == pytest.approx(53.7)
    reading = await station.async_read()
    assert reading.state.capacity_kwh == 6.144
    assert reading.dc_output_on is True
    assert not station.capabilities.grid_charge_switch
    station.capacity_kwh = 4.0
    assert (await station.async_read()).state.capacity_kwh == 4.0
    await station.async_close()


async def test_ac_switch_cuts_output_despite_odd_echo(bsim: Simulation) -> None:
    """The write echo names an internal address; the read-back proves the write."""
    station = _station(bsim)
    await station.async_read_identity()
    await station.async_set_output(enabled=False)
    assert _twin(bsim).ac_on is False
    status = await station.async_read_status()
    assert status.ac_output_power_w == 0
    assert not status.ac_output_on
    await station.async_set_dc_output(False)
    assert _twin(bsim).dc_on is False
    await station.async_set_output(enabled=True)
    assert (await station.async_read_status()).ac_output_power_w == 300
    await station.async_close()


async def test_unsupported_controls_refused(bsim: Simulation) -> None:
    """No limits, read-only thresholds, and grid charging stuck on an AC500."""
    station = _station(bsim)
    await station.async_read_identity()
    for call in (
        station.async_set_output(enabled=True, limit_w=500),
        station.async_set_input_limit(500),
        station.async_set_soc_limits(min_pct=20),
        station.async_set_grid_charge(False),
    ):
        with pytest.raises(CommandRefusedError):
            await call
    assert _twin(bsim).writes == []
    # Straight to the device: thresholds answer exception 2 as on real stations.
    async with station.transport.exclusive() as bus:
        with pytest.raises(ModbusExceptionError):
            await bus.write(57016, 20)
    await station.async_close()


async def test_grid_charge_switch_on_ep500pro(allow_loopback: None) -> None:
    """On an EP500Pro the grid-charging switch accepts a write and follows it."""
    sim = await _start(model="EP500P", packs=1, pack_kwh=5.1)
    try:
        station = _station(sim)
        identity = await station.async_read_identity()
        assert identity.model == "EP500P"
        assert station.capabilities.grid_charge_switch
        await station.async_set_grid_charge(False)
        assert _twin(sim).grid_charge == 0
        assert (await station.async_read()).state.capacity_kwh == 5.1
        await station.async_close()
    finally:
        await sim.stop()


async def test_stuck_grid_charge_is_not_verified(bsim: Simulation) -> None:
    """Forcing a write to the AC500's stuck switch is caught by the read-back."""
    station = _station(bsim)
    station.model = MODELS["EP500P"]  # pretend, to reach the device
    with pytest.raises(WriteNotVerifiedError):
        await station.async_set_grid_charge(False)
    await station.async_close()


async def test_outage_runs_loads_from_battery(bsim: Simulation) -> None:
    """Grid down: no grid frequency, the battery carries AC and DC loads."""
    bsim.set_grid(False)
    station = _station(bsim)
    status = await station.async_read_status()
    assert not status.grid_available
    assert status.grid_input_power_w == 0
    assert status.ac_output_power_w == 300
    reading = status.battery_state(capacity_kwh=6.144)
    assert reading.power_w == -300
    # (80 % - 30 % low threshold) of 6.144 kWh at 300 W = 614 minutes
    assert reading.remaining_minutes == pytest.approx(614.4)
    await station.async_close()


async def test_gap_read_gets_no_reply(bsim: Simulation) -> None:
    """Reading across an undocumented register times out, as on a real AC500."""
    station = _station(bsim, timeout_s=0.3)
    async with station.transport.exclusive() as bus:
        with pytest.raises(DeviceTimeoutError):
            await bus.read(50002, 2)
    await station.async_close()


async def test_wrong_unit_freezes_until_power_cycle(bsim: Simulation) -> None:
    """A request for unit 2 freezes the stack; a power cycle (clear) revives it."""
    other = ModbusTransport("127.0.0.1", _twin(bsim).server.port, 2, timeout_s=0.3)
    with pytest.raises(DeviceTimeoutError):
        async with other.exclusive() as bus:
            await bus.read(51004, 1)
    await other.close()
    station = _station(bsim, timeout_s=0.3)
    with pytest.raises(DeviceTimeoutError):
        await station.async_read_status()
    _twin(bsim).clear_faults()
    station.transport._next_attempt = 0.0
    assert (await station.async_read_status()).soc_pct == 80
    await station.async_close()


async def test_garbage_is_rejected(bsim: Simulation) -> None:
    """Random register values fail the documented ranges."""
    station = _station(bsim)
    _twin(bsim).apply_fault(Fault(FaultKind.GARBAGE))
    failures = 0
    for _ in range(5):
        try:
            await station.async_read_status()
        except DeviceProtocolError:
            failures += 1
    assert failures == 5
    await station.async_close()


async def test_unsupported_twin_faults(bsim: Simulation) -> None:
    """Faults the station cannot have are refused by the twin."""
    with pytest.raises(ValueError, match="no soc_glitch"):
        _twin(bsim).apply_fault(Fault(FaultKind.SOC_GLITCH))
    _twin(bsim).apply_fault(Fault(FaultKind.REBOOT))
    assert not _twin(bsim).frozen
