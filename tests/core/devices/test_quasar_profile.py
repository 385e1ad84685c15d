"""Wallbox Quasar 1 profile: decoding against the documented map, commands on the simulator.

Register images in the decode tests are written out from protocols.md section 1
(addresses, word order, two's complement), not produced by our own encoder.
"""

from __future__ import annotations

import asyncio

import pytest

from custom_components.v2x.devices.errors import (
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.modbus import ModbusTransport, RegisterImage
from custom_components.v2x.devices.model import ChargerState
from custom_components.v2x.devices.quasar import (
    FULL_POLL_BLOCKS,
    STATUS_BLOCK,
    Quasar1,
    decode_control,
    decode_identity,
    decode_state,
    firmware_text,
)
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig
from simulator.world import Simulation
from tests.conftest import start_simulation

# protocols.md 1.3: every documented code and its meaning.
DOCUMENTED_STATES = {
    0: ChargerState.NO_CAR,
    1: ChargerState.CHARGING,
    2: ChargerState.WAITING_FOR_CAR_DEMAND,
    3: ChargerState.CONTROLLED_BY_APP,
    4: ChargerState.PAUSED,
    5: ChargerState.END_OF_SCHEDULE,
    6: ChargerState.LOCKED,
    7: ChargerState.ERROR,
    8: ChargerState.QUEUED_POWER_SHARING,
    9: ChargerState.POWER_SHARING_UNCONFIGURED,
    10: ChargerState.QUEUED_POWER_BOOST,
    11: ChargerState.DISCHARGING,
}


def _image(values: dict[int, int]) -> RegisterImage:
    return RegisterImage(values)


def _quasar(sim: Simulation, watchdog_s: int = 60) -> Quasar1:
    port = sim.quasars["quasar"].server.port
    return Quasar1(ModbusTransport("127.0.0.1", port, 1, timeout_s=1.0), watchdog_s=watchdog_s)


def test_decode_identity_from_documented_registers() -> None:
    """Serial = (reg2 << 16) + reg3; firmware is register 1."""
    identity = decode_identity(_image({1: 3400, 2: 0x0134, 3: 0xF5C5}))
    assert identity.serial_number == "20248005"
    assert identity.firmware_version == "3.40.0"
    assert (identity.manufacturer, identity.model) == ("Wallbox", "Quasar 1")


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (5130, "5.13.0"),
        (3400, "3.40.0"),
        (6001, "6.0.1"),
        (65535, "65.53.5"),
        (999, "999"),
        (0, "0"),
    ],
)
def test_firmware_reads_as_wallbox_writes_it(raw: int, text: str) -> None:
    """Major, two-digit minor, patch digit (the app shows 5.13.0 where register 1 is 5130)."""
    assert firmware_text(raw) == text


@pytest.mark.parametrize(("code", "state"), DOCUMENTED_STATES.items())
def test_every_state_code(code: int, state: ChargerState) -> None:
    """All twelve codes of register 537 map to their documented meaning."""
    assert decode_state(code) is state


def test_unknown_state_code_is_out_of_range() -> None:
    """A code the map does not document is a typed error, never a guess."""
    with pytest.raises(ValueOutOfRangeError, match="charger_state"):
        decode_state(12)


def test_vehicle_connected_by_state() -> None:
    """Disconnected {0, 6}; error states say nothing; the rest are connected."""
    assert decode_state(0).vehicle_connected is False
    assert decode_state(6).vehicle_connected is False
    assert decode_state(7).vehicle_connected is None
    assert decode_state(9).vehicle_connected is None
    assert all(decode_state(c).vehicle_connected for c in (1, 2, 3, 4, 5, 8, 10, 11))


def test_decode_control_flags() -> None:
    """81 remote, 82 autostart, 83 setpoint type, 88 watchdog seconds."""
    control = decode_control(_image({81: 1, 82: 0, 83: 1, 88: 900}))
    assert (control.remote, control.autostart, control.power_setpoint_mode) == (True, False, True)
    assert control.watchdog_s == 900
    with pytest.raises(ValueOutOfRangeError):
        decode_control(_image({81: 2, 82: 0, 83: 1, 88: 0}))


def test_decode_status_signed_power_and_errors() -> None:
    """526 is int16 (0xE31C = -7396 W, discharging); 539..542 are two 32-bit codes."""
    quasar = Quasar1(ModbusTransport("127.0.0.1", 1, 1))
    status = quasar._decode_status(
        _image({526: 0xE31C, 537: 11, 538: 55, 539: 0x0001, 540: 0x0002, 541: 0, 542: 7})
    )
    assert status.power_w == -7396
    assert status.state is ChargerState.DISCHARGING
    assert status.discharging
    assert not status.charging
    assert status.soc.value_pct == 55
    assert status.errors.unrecoverable == 0x00010002
    assert status.errors.recoverable == 7
    assert status.in_error


@pytest.mark.parametrize(("address", "value"), [(526, 0x8000), (538, 101), (537, 99)])
def test_decode_status_rejects_garbage(address: int, value: int) -> None:
    """Power beyond +/-7400 W, SoC above 100 % or an unknown state are rejected."""
    quasar = Quasar1(ModbusTransport("127.0.0.1", 1, 1))
    values = {526: 0, 537: 1, 538: 50, 539: 0, 540: 0, 541: 0, 542: 0} | {address: value}
    with pytest.raises(ValueOutOfRangeError):
        quasar._decode_status(_image(values))


def test_watchdog_must_be_positive() -> None:
    """A remote session always arms the watchdog: 0 (disabled) is refused."""
    with pytest.raises(ValueOutOfRangeError):
        Quasar1(ModbusTransport("127.0.0.1", 1, 1), watchdog_s=0)


def test_poll_plan_request_budget() -> None:
    """A full poll is three blocks, a status poll one, none over 125 registers."""
    assert len(FULL_POLL_BLOCKS) == 3
    assert all(block.count <= 125 for block in (*FULL_POLL_BLOCKS, STATUS_BLOCK))
    assert STATUS_BLOCK.start == 526
    assert STATUS_BLOCK.start + STATUS_BLOCK.count - 1 == 542


async def test_identity_status_and_snapshot(sim: Simulation) -> None:
    """Reads cost 1 (identity), 1 (status) and 3 (full poll) requests."""
    quasar = _quasar(sim)
    identity = await quasar.async_read_identity()
    assert identity.serial_number == "20240117"
    assert identity.firmware_version == "5.13.0"
    before = quasar.requests_sent
    status = await quasar.async_read_status()
    assert quasar.requests_sent - before == 1
    assert status.vehicle_connected
    before = quasar.requests_sent
    snapshot = await quasar.async_read_snapshot()
    assert quasar.requests_sent - before == 3
    assert snapshot.max_available_power_w == 7400
    assert snapshot.max_available_current_a == 32
    assert snapshot.ac_voltage_v == 230
    assert snapshot.control is not None
    assert snapshot.control.remote is False
    assert snapshot.control.autostart is True
    assert quasar.capabilities.watchdog
    await quasar.async_close()


async def test_community_registers_optional_on_strict_device(allow_loopback: None) -> None:
    """On a device without the gaps, [C] registers are None and reads still work."""
    sim = await start_simulation(QuasarConfig(port=0, strict_gaps=True))
    try:
        quasar = _quasar(sim)
        snapshot = await quasar.async_read_snapshot()
        assert snapshot.max_available_current_a is None
        assert snapshot.ac_voltage_v is None
        assert snapshot.ac_current_a is None
        assert snapshot.max_available_power_w == 7400
        await quasar.async_close()
    finally:
        await sim.stop()


async def test_take_control_writes_documented_sequence(sim: Simulation) -> None:
    """81=1, 82=0, 83=1, 88=watchdog, in that order, then verified."""
    quasar = _quasar(sim, watchdog_s=120)
    await quasar.async_take_control()
    twin = sim.quasars["quasar"]
    assert [(w.address, w.value) for w in twin.writes] == [(81, 1), (82, 0), (83, 1), (88, 120)]
    assert (twin.remote, twin.autostart, twin.setpoint_type, twin.watchdog_s) == (1, 0, 1, 120)
    await quasar.async_close()


async def test_set_power_discharge_clamped_and_two_complement(sim: Simulation) -> None:
    """A discharge beyond the maximum is clamped; 260 holds -7400 in two's complement."""
    quasar = _quasar(sim)
    applied = await quasar.async_set_power(-9000)
    assert applied == -7400
    twin = sim.quasars["quasar"]
    assert twin.writes[-2].address == 257
    assert twin.writes[-2].value == 1
    assert twin.writes[-1].address == 260
    assert twin.writes[-1].value == (-7400) & 0xFFFF
    await asyncio.sleep(0.5)
    status = await quasar.async_read_status()
    assert status.power_w < 0
    assert status.state is ChargerState.DISCHARGING
    await quasar.async_close()


async def test_set_power_respects_lower_max_available(allow_loopback: None) -> None:
    """The clamp follows register 514, not a constant."""
    sim = await start_simulation(QuasarConfig(port=0, max_power_w=3680))
    try:
        quasar = _quasar(sim)
        assert await quasar.async_set_power(5000) == 3680
        assert sim.quasars["quasar"].power_setpoint_w == 3680
        await quasar.async_close()
    finally:
        await sim.stop()


async def test_set_power_zero_stops(sim: Simulation) -> None:
    """A zero setpoint writes 257=2 (stop) and 260=0."""
    quasar = _quasar(sim)
    await quasar.async_set_power(3000)
    assert await quasar.async_set_power(0) == 0
    twin = sim.quasars["quasar"]
    assert [(w.address, w.value) for w in twin.writes[-2:]] == [(257, 2), (260, 0)]
    assert not twin.running
    await quasar.async_close()


async def test_stop_and_release_control(sim: Simulation) -> None:
    """Stop keeps remote control; release writes 260=0 then 81=0 and the charger resets."""
    quasar = _quasar(sim)
    await quasar.async_set_power(-2000)
    await quasar.async_stop()
    twin = sim.quasars["quasar"]
    assert twin.remote == 1
    assert twin.power_setpoint_w == 0
    await quasar.async_release_control()
    assert [(w.address, w.value) for w in twin.writes[-2:]] == [(260, 0), (81, 0)]
    assert (twin.remote, twin.autostart, twin.setpoint_type, twin.watchdog_s) == (0, 1, 0, 0)
    await quasar.async_close()


async def test_write_that_does_not_stick_is_reported(sim: Simulation) -> None:
    """Without remote control the charger ignores 257/260: verification catches it."""
    quasar = _quasar(sim)
    twin = sim.quasars["quasar"]
    twin.last_action = 1  # the app started a session; 81 = 0 (user control)
    with pytest.raises(WriteNotVerifiedError) as err:
        await quasar.async_stop()
    assert err.value.name == "action"
    assert (err.value.written, err.value.read_back) == (2, 1)
    assert not twin.writes[-1].applied
    await quasar.async_close()


async def test_set_power_retakes_control_after_reboot(allow_loopback: None) -> None:
    """After a reboot reset the charger to the app, set_power takes control again."""
    # The phases are long and the clock is jumped past them: on a loaded machine a
    # reconnect and a set_power can take seconds, so the write meant for the error
    # phase must not be able to land after it (CI once saw exactly that).
    sim = await start_simulation(
        QuasarConfig(port=0, reboot_boot_s=60.0, reboot_error_s=3600.0), speed=1
    )
    try:
        quasar = _quasar(sim)
        await quasar.async_set_power(-3000)
        twin = sim.quasars["quasar"]
        twin.apply_fault(Fault(FaultKind.REBOOT))
        await sim.tick()
        assert twin.remote == 0
        assert not twin.server.listening
        # While booting, the port refuses connections (or the old socket is dead).
        with pytest.raises((DeviceConnectionError, DeviceTimeoutError)):
            await quasar.async_read_status()
        sim.clock.advance(60.0)
        assert not twin.booting
        await sim.tick()
        quasar.transport._next_attempt = 0.0
        status = await quasar.async_read_status()
        assert status.state is ChargerState.ERROR
        assert await quasar.async_set_power(-3000) == -3000
        assert twin.remote == 1
        issued_in_error_phase = twin.rebooting
        assert issued_in_error_phase
        sim.clock.advance(3600.0)
        assert not twin.rebooting
        # The start issued during the error phase did not take; a second one does.
        assert twin.state_code() == 4
        await quasar.async_set_power(-3000)
        await asyncio.sleep(0.05)
        assert twin.state_code() == 11
        await quasar.async_close()
    finally:
        await sim.stop()


async def test_watchdog_stops_charger_when_polling_stops(sim: Simulation) -> None:
    """With 88 armed and no Modbus traffic, the charger stops by itself."""
    sim.clock.set_speed(100)
    quasar = _quasar(sim, watchdog_s=30)
    await quasar.async_set_power(-3000)
    twin = sim.quasars["quasar"]
    assert twin.running
    await asyncio.sleep(0.2)  # 20 simulated s: still running
    await sim.tick()
    assert twin.running
    status = await quasar.async_read_status()  # traffic feeds the watchdog
    await asyncio.sleep(0.2)
    await sim.tick()
    assert twin.running
    await asyncio.sleep(0.2)  # 40 s since the last request: expired
    await sim.tick()
    assert twin.describe()["running"] is False
    assert twin.watchdog_expiries == 1
    assert twin.power_setpoint_w == 0
    status = await quasar.async_read_status()
    assert status.state is ChargerState.PAUSED
    await quasar.async_close()


async def test_garbage_values_raise_typed_error(sim: Simulation) -> None:
    """Random register contents never decode into a state; they raise."""
    quasar = _quasar(sim)
    sim.devices["quasar"].apply_fault(Fault(FaultKind.GARBAGE, duration_s=5))
    failures = 0
    for _ in range(10):
        try:
            await quasar.async_read_snapshot()
        except DeviceProtocolError:
            failures += 1
    assert failures >= 9
    await quasar.async_close()


async def test_soc_glitch_is_filtered(sim: Simulation) -> None:
    """A 1 % glitch on a charging car keeps the last good value, flagged stale."""
    quasar = _quasar(sim)
    await asyncio.sleep(0.2)
    good = await quasar.async_read_status()
    assert good.soc.value_pct == 60
    assert not good.soc.stale
    sim.devices["quasar"].apply_fault(Fault(FaultKind.SOC_GLITCH, count=1))
    glitch = await quasar.async_read_status()
    assert glitch.soc.value_pct == 60
    assert glitch.soc.stale
    await quasar.async_close()


async def test_soc_kept_when_power_stops_and_forgotten_on_unplug(sim: Simulation) -> None:
    """SoC reads 0 when no power flows: keep the last value; unplugging forgets it."""
    quasar = _quasar(sim)
    await asyncio.sleep(0.2)
    assert (await quasar.async_read_status()).soc.value_pct == 60
    await quasar.async_set_power(0)
    await asyncio.sleep(3)  # ramp down to zero
    idle = await quasar.async_read_status()
    assert idle.power_w == 0
    assert idle.soc.value_pct == 60
    assert idle.soc.stale
    sim.quasars["quasar"].plug(False)
    gone = await quasar.async_read_status()
    assert gone.state is ChargerState.NO_CAR
    assert gone.soc.value_pct is None
    await quasar.async_close()


async def test_a_jump_across_a_pause_is_believed_at_the_second_poll(sim: Simulation) -> None:
    """Stopped (SoC reads 0), another car's 30 % when power flows again: the charger's
    state changed in between, so two polls believe it (three before)."""
    quasar = _quasar(sim)
    await asyncio.sleep(0.2)
    assert (await quasar.async_read_status()).soc.value_pct == 60
    await quasar.async_set_power(0)
    sim.clock.advance(5)  # ramped down: state paused, SoC register 0
    assert (await quasar.async_read_status()).state is ChargerState.PAUSED
    sim.quasars["quasar"].set_soc(30)
    await quasar.async_set_power(3000)
    sim.clock.advance(2)
    first = await quasar.async_read_status()
    assert (first.state, first.soc.value_pct, first.soc.stale) == (ChargerState.CHARGING, 60, True)
    second = await quasar.async_read_status()
    assert (second.soc.value_pct, second.soc.stale) == (30, False)
    await quasar.async_close()


async def test_error_fault_sets_error_words(sim: Simulation) -> None:
    """An unrecoverable error shows in state 7 and registers 539/540."""
    quasar = _quasar(sim)
    sim.devices["quasar"].apply_fault(Fault(FaultKind.ERROR, code=0x00020003))
    status = await quasar.async_read_status()
    assert status.state is ChargerState.ERROR
    assert status.errors.unrecoverable == 0x00020003
    assert status.in_error
    await quasar.async_close()
