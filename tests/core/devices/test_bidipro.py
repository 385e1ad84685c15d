"""EVTEC BiDiPro 10 profile: decoding from the documented map, commands and faults on its twin.

Register words in the decode tests are written out by hand from protocols.md section
1.6 (addresses, big-endian high word first, IEEE 754 float32, per-mille SoC), not made
by our own encoder or the twin's.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from custom_components.v2x.devices.bidipro import (
    FAMILY,
    FULL_POLL_BLOCKS,
    IDENTITY_BLOCK,
    STATUS_BLOCK,
    BiDiPro,
    decode_identity,
    decode_state,
)
from custom_components.v2x.devices.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.family import Connection
from custom_components.v2x.devices.modbus import ModbusTransport, RegisterImage
from custom_components.v2x.devices.model import ChargerState
from custom_components.v2x.devices.registry import family
from simulator.bidipro import BiDiProConfig, BiDiProTwin
from simulator.faults import Fault, FaultKind
from simulator.world import ScenarioConfig, Simulation

# protocols.md 1.6, connector state (register 100): code -> state, car plugged in.
DOCUMENTED_STATES = {
    0: (ChargerState.STARTING, None),  # boot
    1: (ChargerState.NO_CAR, False),  # ready (no car)
    2: (ChargerState.OFF, None),  # unavailable
    3: (ChargerState.OTHER, False),  # reserved (OCPP)
    4: (ChargerState.STARTING, True),  # contract authorisation
    5: (ChargerState.STANDBY, True),  # plugged in
    6: (ChargerState.STARTING, True),  # initialise connection
    7: (ChargerState.CHARGING, True),  # current demand
    8: (ChargerState.DISCHARGING, True),  # grid feed-in
    9: (ChargerState.PAUSED, True),  # session stop
    10: (ChargerState.WAITING_FOR_GRID, True),  # wait for grid
    11: (ChargerState.CHARGE_COMPLETE, True),  # charging end
    12: (ChargerState.ERROR, None),  # error
}


def _text(start: int, text: bytes, count: int) -> dict[int, int]:
    padded = text.ljust(2 * count, b"\0")
    return {start + i: padded[2 * i] << 8 | padded[2 * i + 1] for i in range(count)}


def _status_words(
    state: int, power: tuple[int, int], soc_permille: int, errors: int = 0
) -> dict[int, int]:
    """Registers 100..157 as a charger sends them (gaps read 0)."""
    words = dict.fromkeys(range(100, 158), 0)
    words |= {100: state >> 16, 101: state & 0xFFFF, 110: power[0], 111: power[1]}
    words |= {112: soc_permille >> 16, 113: soc_permille & 0xFFFF}
    words |= {154 + i: (errors >> (48 - 16 * i)) & 0xFFFF for i in range(4)}
    return words


def _profile(watchdog_s: int = 60) -> BiDiPro:
    return BiDiPro(ModbusTransport("127.0.0.1", 1, 1, timeout_s=0.5), watchdog_s=watchdog_s)


# -- the family and the map ---------------------------------------------------------------


def test_the_family_is_registered_with_its_documented_defaults() -> None:
    found = family("bidipro")
    assert found is FAMILY
    assert (found.default_port, found.unit_id, found.watchdog, found.watchdog_max_s) == (
        5020,
        1,
        True,
        600,
    )
    charger = found.create_charger(Connection(host="192.0.2.1", port=5020, watchdog_s=900))
    assert isinstance(charger, BiDiPro)
    assert charger.armed_timeout_s == 600  # the charger's maximum, never more


def test_one_request_per_status_poll_and_two_per_full_poll() -> None:
    assert (STATUS_BLOCK.start, STATUS_BLOCK.count) == (100, 58)
    assert [(b.start, b.count) for b in FULL_POLL_BLOCKS] == [(42, 2), (100, 90)]
    assert (IDENTITY_BLOCK.start, IDENTITY_BLOCK.count) == (0, 36)
    # A device that rejects gaps is read in the documented runs only.
    assert STATUS_BLOCK.runs() == [(100, 2), (110, 4), (154, 4)]


@pytest.mark.parametrize(("code", "expected"), DOCUMENTED_STATES.items())
def test_every_documented_connector_state(
    code: int, expected: tuple[ChargerState, bool | None]
) -> None:
    assert decode_state(code) == expected


@pytest.mark.parametrize("code", [-1, 13, 0x7FFFFFFF])
def test_an_undocumented_connector_state_is_refused(code: int) -> None:
    with pytest.raises(ValueOutOfRangeError):
        decode_state(code)


def test_status_words_decode_as_documented() -> None:
    # 7 charging; +7400.5 W is float32 0x45E7 0x4400; 612 per mille; error bit 33 set.
    image = RegisterImage(_status_words(7, (0x45E7, 0x4400), 612, errors=1 << 33))
    status = _profile()._decode_status(image)
    assert status.state is ChargerState.CHARGING
    assert status.state_code == 7
    assert status.power_w == 7400  # 7400.5 rounds to even
    assert status.soc.value_pct == pytest.approx(61.2)
    assert status.errors.unrecoverable == 1 << 33
    assert status.in_error
    assert status.vehicle_connected is True


def test_negative_power_is_feeding_and_no_car_has_no_soc() -> None:
    # 8 grid feed-in, -6000 W = 0xC5BB 0x8000.
    feeding = _profile()._decode_status(RegisterImage(_status_words(8, (0xC5BB, 0x8000), 455)))
    assert (feeding.state, feeding.power_w) == (ChargerState.DISCHARGING, -6000)
    assert feeding.supplying
    no_car = _profile()._decode_status(RegisterImage(_status_words(1, (0, 0), 0)))
    assert no_car.vehicle_connected is False
    assert no_car.soc.value_pct is None


@pytest.mark.parametrize(
    ("words", "field"),
    [
        ({110: 0x7FC0, 111: 0}, "actual_power"),  # NaN
        ({110: 0x7F80, 111: 0}, "actual_power"),  # +infinity
        ({110: 0x46A0, 111: 0x0A00}, "actual_power"),  # 20485 W, beyond +/-20000
        ({112: 0, 113: 1001}, "soc"),  # 100.1 %
        ({112: 0xFFFF, 113: 0xFFFF}, "soc"),  # -1
    ],
)
def test_impossible_readings_are_refused(words: dict[int, int], field: str) -> None:
    image = RegisterImage(_status_words(7, (0, 0), 500) | words)
    with pytest.raises(ValueOutOfRangeError, match=field):
        _profile()._decode_status(image)


def test_identity_strings_and_the_signature_check() -> None:
    words = _text(0, b"ECP4 2.0.7", 16) | _text(16, b"BDP10-000042", 10)
    words |= _text(26, b"BiDiPro 10", 10)
    identity = decode_identity(RegisterImage(words))
    assert (identity.manufacturer, identity.model) == ("EVTEC", "BiDiPro 10")
    assert (identity.serial_number, identity.firmware_version) == ("BDP10-000042", "ECP4 2.0.7")
    blank = dict.fromkeys(range(36), 0)
    with pytest.raises(DeviceProtocolError, match="not a BiDiPro"):
        decode_identity(RegisterImage(blank))


# -- against the twin ---------------------------------------------------------------------


@pytest.fixture
async def world(allow_loopback: None) -> AsyncIterator[Simulation]:
    """One BiDiPro 10 with a 58 kWh car at 60 %, quick to reboot."""
    sim = Simulation(
        ScenarioConfig(
            control_port=0,
            bidipros=[BiDiProConfig(port=0, reboot_boot_s=0.3, reboot_init_s=0.3)],
        )
    )
    await sim.start()
    yield sim
    await sim.stop()


def _twin(sim: Simulation) -> BiDiProTwin:
    return sim.bidipros["bidipro"]


@pytest.fixture
async def charger(world: Simulation) -> AsyncIterator[BiDiPro]:
    """The profile connected to the twin, short timeouts."""
    port = _twin(world).server.port
    profile = BiDiPro(ModbusTransport("127.0.0.1", port, 1, timeout_s=0.5), watchdog_s=30)
    yield profile
    await profile.async_close()


async def test_identity_status_and_snapshot_from_the_twin(
    world: Simulation, charger: BiDiPro
) -> None:
    identity = await charger.async_read_identity()
    assert (identity.manufacturer, identity.model, identity.serial_number) == (
        "EVTEC",
        "BiDiPro 10",
        "BDP10-000042",
    )
    status = await charger.async_read_status()
    assert (status.state, status.power_w, status.vehicle_connected) == (
        ChargerState.STANDBY,
        0,
        True,
    )
    assert status.soc.value_pct == 60.0
    snapshot = await charger.async_read_snapshot()
    assert snapshot.vehicle_capacity_kwh == 58.0
    assert snapshot.vehicle_energy_kwh == pytest.approx(34.8)
    assert (snapshot.max_charge_power_w, snapshot.max_discharge_power_w) == (10000, 10000)
    assert snapshot.control is not None
    assert (snapshot.control.remote, snapshot.control.watchdog_s) == (False, 0)
    await charger.async_take_control()
    control = (await charger.async_read_snapshot()).control
    assert control is not None
    assert (control.remote, control.watchdog_s) == (True, 30)
    assert charger.requests_sent == 4 + 3 + 2  # identity 1, status 1, full 2; arm 3; full 2


async def test_set_power_arms_the_timeout_and_writes_setpoint_and_action_at_once(
    world: Simulation, charger: BiDiPro
) -> None:
    twin = _twin(world)
    assert await charger.async_set_power(-6000) == -6000
    assert (twin.idle_timeout_s, twin.setpoint_w, twin.action) == (30, -6000, 1)
    assert [(w.address, w.value) for w in twin.writes] == [(42, 30), (186, -6000), (188, 1)]
    await asyncio.sleep(1.5)  # ramping at 5 kW/s
    status = await charger.async_read_status()
    assert (status.state, status.power_w) == (ChargerState.DISCHARGING, -6000)
    # Clamped to the rating; the timeout is already ours, so no second write of it.
    assert await charger.async_set_power(25000) == 10000
    assert [(w.address, w.value) for w in twin.writes[3:]] == [(186, 10000), (188, 1)]


async def test_zero_stops_and_release_puts_the_old_timeout_back(
    world: Simulation, charger: BiDiPro
) -> None:
    twin = _twin(world)
    twin.idle_timeout_s = 120  # what the installer had set
    await charger.async_take_control()
    assert twin.idle_timeout_s == 30
    await charger.async_set_power(3000)
    assert await charger.async_set_power(0) == 0
    assert (twin.setpoint_w, twin.action) == (0, 0)
    await charger.async_set_power(3000)
    await charger.async_stop()
    assert (twin.setpoint_w, twin.action, twin.idle_timeout_s) == (0, 0, 30)
    await charger.async_release_control()
    assert (twin.setpoint_w, twin.action, twin.idle_timeout_s) == (0, 0, 120)


async def test_a_write_that_does_not_stick_is_reported(
    world: Simulation, charger: BiDiPro, monkeypatch: pytest.MonkeyPatch
) -> None:
    twin = _twin(world)
    real = twin.write_multiple

    def half_deaf(address: int, values: list[int]) -> None:
        real(address, values)
        if address == 186:
            twin.setpoint_w = 0  # the charger takes the write and keeps its old value

    monkeypatch.setattr(twin, "write_multiple", half_deaf)
    with pytest.raises(WriteNotVerifiedError, match="power_setpoint"):
        await charger.async_set_power(4000)


async def test_the_idle_timeout_stops_a_charger_left_alone(
    world: Simulation, charger: BiDiPro
) -> None:
    twin = _twin(world)
    await charger.async_set_power(5000)
    world.clock.advance(29.0)
    await charger.async_read_status()  # a poll feeds it
    world.clock.advance(29.0)
    assert (twin.action, twin.watchdog_expiries) == (1, 0)
    world.clock.advance(2.0)  # 31 s without a request
    twin.advance()
    assert (twin.action, twin.setpoint_w, twin.watchdog_expiries) == (0, 0, 1)


async def test_after_a_reboot_the_timeout_is_armed_again(
    world: Simulation, charger: BiDiPro
) -> None:
    twin = _twin(world)
    await charger.async_set_power(2000)
    twin.apply_fault(Fault(FaultKind.REBOOT))
    assert twin.idle_timeout_s == 0
    for _ in range(40):
        await asyncio.sleep(0.05)
        try:
            status = await charger.async_read_status()
        except DeviceError:
            continue
        if status.state is not ChargerState.STARTING:
            break
    assert status.state is ChargerState.STANDBY  # the session ended with the reboot
    await charger.async_set_power(2000)
    assert (twin.idle_timeout_s, twin.action) == (30, 1)


async def test_a_strict_device_is_read_in_documented_runs(allow_loopback: None) -> None:
    config = BiDiProConfig(port=0, strict_gaps=True)
    sim = Simulation(ScenarioConfig(control_port=0, bidipros=[config]))
    await sim.start()
    try:
        port = _twin(sim).server.port
        profile = BiDiPro(ModbusTransport("127.0.0.1", port, 1, timeout_s=0.5))
        first = await profile.async_read_status()
        sent = profile.requests_sent
        second = await profile.async_read_status()
        assert first.soc.value_pct == second.soc.value_pct == 60.0
        assert profile.requests_sent - sent == 3  # the three documented runs, remembered
        await profile.async_close()
    finally:
        await sim.stop()


# What each fault does to one status poll: an exception type, or the state it reports.
EXPECTED: dict[FaultKind, type[DeviceError] | ChargerState] = {
    FaultKind.REFUSE: DeviceTimeoutError,  # the open connection goes silent
    FaultKind.STALL: DeviceTimeoutError,
    FaultKind.DROP: DeviceError,
    FaultKind.EXCEPTION: ModbusExceptionError,
    FaultKind.SHORT: DeviceProtocolError,
    FaultKind.GARBAGE: ValueOutOfRangeError,
    FaultKind.REBOOT: DeviceError,
    FaultKind.SOC_GLITCH: ChargerState.STANDBY,
    FaultKind.ERROR: ChargerState.ERROR,
}


@pytest.mark.parametrize("kind", list(FaultKind))
async def test_every_fault_is_typed_and_recovers(
    world: Simulation, charger: BiDiPro, kind: FaultKind
) -> None:
    twin = _twin(world)
    await charger.async_read_status()
    twin.apply_fault(Fault(kind, duration_s=0.6, delay_s=2.0, code=0x21))
    await twin.housekeeping()
    expected = EXPECTED[kind]
    if isinstance(expected, ChargerState):
        status = await charger.async_read_status()
        assert status.state is expected
        if kind is FaultKind.SOC_GLITCH:
            assert status.soc.value_pct == 60.0  # one 1 % read is a glitch, not believed
        else:
            assert status.errors.unrecoverable == 0x21
    else:
        with pytest.raises(expected):
            await charger.async_read_status()
    twin.clear_faults()
    await asyncio.sleep(0.7)
    for _ in range(40):  # the reboot takes 0.6 s; reconnection backs off
        await twin.housekeeping()
        try:
            status = await charger.async_read_status()
        except DeviceError:
            await asyncio.sleep(0.1)
            continue
        if status.state is ChargerState.STANDBY:
            break
    assert status.state is ChargerState.STANDBY
    assert status.soc.value_pct == 60.0
