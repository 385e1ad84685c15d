"""The Modbus TCP transport against the simulator's Modbus server over loopback."""

from __future__ import annotations

import asyncio
import inspect
import logging
from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ConnectionException, ModbusException, ModbusIOException
import pytest

from custom_components.v2x.devices.errors import (
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ModbusExceptionError,
    ValueOutOfRangeError,
)
from custom_components.v2x.devices.modbus import (
    PYMODBUS_LOGGER,
    UNIT_KEYWORD,
    ModbusTransport,
    RegisterBlock,
    RegisterImage,
    from_signed16,
    to_signed16,
)
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig
from simulator.world import Simulation
from tests.conftest import start_simulation


def _transport(sim: Simulation, timeout_s: float = 1.0, **kwargs: Any) -> ModbusTransport:
    port = sim.quasars["quasar"].server.port
    return ModbusTransport("127.0.0.1", port, 1, timeout_s=timeout_s, **kwargs)


def test_unit_keyword_matches_installed_pymodbus() -> None:
    """The shim picks the keyword the installed pymodbus really accepts."""
    parameters = inspect.signature(AsyncModbusTcpClient.read_holding_registers).parameters
    assert UNIT_KEYWORD in parameters
    assert ("device_id" if "device_id" in parameters else "slave") == UNIT_KEYWORD


@pytest.mark.parametrize(
    ("raw", "signed"), [(0, 0), (1, 1), (0x7FFF, 32767), (0x8000, -32768), (0xE31C, -7396)]
)
def test_signed16_round_trip(raw: int, signed: int) -> None:
    """Two's complement decode and encode are inverse."""
    assert to_signed16(raw) == signed
    assert from_signed16(signed) == raw


def test_from_signed16_rejects_out_of_range() -> None:
    """A value that does not fit 16 bits is an error, not a silent wrap."""
    with pytest.raises(ValueOutOfRangeError):
        from_signed16(40000)


def test_register_block_validation_and_runs() -> None:
    """Blocks respect the 125-register limit; runs follow documented addresses."""
    with pytest.raises(ValueError, match="count"):
        RegisterBlock("big", 0, 126)
    with pytest.raises(ValueError, match="outside"):
        RegisterBlock("bad", 10, 2, frozenset({20}))
    with pytest.raises(ValueError, match="address"):
        RegisterBlock("high", 0xFFFF, 2)
    block = RegisterBlock.spanning("s", [526, 537, 538, 539])
    assert (block.start, block.count) == (526, 14)
    assert block.runs() == [(526, 1), (537, 3)]
    assert RegisterBlock("plain", 5, 3).runs() == [(5, 3)]


def test_register_image_accessors() -> None:
    """Typed accessors decode words; a missing register is a protocol error."""
    image = RegisterImage()
    image.update(2, [0x0134, 0xF5C5, 0xFFFF])
    assert image.u32(2) == 0x0134F5C5
    assert image.s16(4) == -1
    assert 3 in image
    assert image.as_dict() == {2: 0x0134, 3: 0xF5C5, 4: 0xFFFF}
    with pytest.raises(DeviceProtocolError):
        image.u16(5)


def test_invalid_unit_id() -> None:
    """Unit ids outside 0..247 are refused before any socket is opened."""
    with pytest.raises(ValueOutOfRangeError):
        ModbusTransport("127.0.0.1", 502, 300)


async def test_read_and_write_round_trip(sim: Simulation) -> None:
    """Reads return the simulator's registers; writes land on the simulator."""
    transport = _transport(sim)
    async with transport.exclusive() as bus:
        assert await bus.read(2, 2) == [20240117 >> 16, 20240117 & 0xFFFF]
        await bus.write(81, 1)
        await bus.write_many(82, [0, 1])
        assert await bus.read(81, 3) == [1, 0, 1]
    twin = sim.quasars["quasar"]
    assert (twin.remote, twin.autostart, twin.setpoint_type) == (1, 0, 1)
    assert transport.requests_sent == 4
    assert transport.connected
    await transport.close()
    assert not transport.connected


async def test_write_value_validation(sim: Simulation) -> None:
    """Values that do not fit a register are refused locally; nothing is sent."""
    transport = _transport(sim)
    async with transport.exclusive() as bus:
        with pytest.raises(ValueOutOfRangeError):
            await bus.write(81, 70000)
        with pytest.raises(ValueOutOfRangeError):
            await bus.write_many(81, [1, -1])
        with pytest.raises(ValueOutOfRangeError):
            await bus.write_many(81, [])
        with pytest.raises(ValueOutOfRangeError):
            await bus.read(1, 126)
    assert transport.requests_sent == 0
    await transport.close()


async def test_exception_response_is_typed(sim: Simulation) -> None:
    """An unimplemented address answers exception 2, raised with its code."""
    transport = _transport(sim)
    async with transport.exclusive() as bus:
        with pytest.raises(ModbusExceptionError) as err:
            await bus.read(100, 2)
        assert err.value.exception_code == ModbusExceptionError.ILLEGAL_DATA_ADDRESS
        assert err.value.address == 100
        # The connection survives an exception response.
        assert await bus.read(1, 1) == [5130]
    await transport.close()


def _loud(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name.startswith("pymodbus") and r.levelno > logging.DEBUG
    ]


async def test_pymodbus_per_request_errors_are_demoted(
    sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    """Exception replies and refused connects: typed errors, no pymodbus WARNING/ERROR."""
    caplog.set_level(logging.INFO)
    transport = _transport(sim, backoff_initial_s=0.0, backoff_max_s=0.0)
    twin = sim.quasars["quasar"]
    twin.apply_fault(Fault(FaultKind.EXCEPTION, duration_s=30, code=4))
    for _ in range(20):
        async with transport.exclusive() as bus:
            with pytest.raises(ModbusExceptionError):
                await bus.read(1, 1)
    twin.clear_faults()
    twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=30))
    await sim.tick()
    await transport.close()
    for _ in range(5):
        with pytest.raises(DeviceConnectionError):
            async with transport.exclusive():
                pass
    twin.clear_faults()
    await sim.tick()
    await transport.close()
    assert _loud(caplog) == []


async def _refused(sim: Simulation) -> None:
    sim.quasars["quasar"].apply_fault(Fault(FaultKind.REFUSE, duration_s=30))
    await sim.tick()


def _connect_failures(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name == PYMODBUS_LOGGER and "Failed to connect" in r.message
    ]


async def test_demoted_records_stay_visible_at_debug(
    sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    """With pymodbus debug logging on, the demoted records are still there, as DEBUG."""
    caplog.set_level(logging.DEBUG, logger=PYMODBUS_LOGGER)
    transport = _transport(sim)
    await _refused(sim)
    with pytest.raises(DeviceConnectionError):
        async with transport.exclusive():
            pass
    await transport.close()
    failures = _connect_failures(caplog)
    assert failures
    assert {r.levelno for r in failures} == {logging.DEBUG}


async def test_pymodbus_logs_of_other_users_are_kept(
    sim: Simulation, caplog: pytest.LogCaptureFixture
) -> None:
    """Another pymodbus client in the process (not ours) keeps its own logging."""
    _transport(sim)  # installs the filter
    await _refused(sim)
    client = AsyncModbusTcpClient(
        "127.0.0.1", port=sim.quasars["quasar"].server.port, timeout=1, retries=0
    )
    assert not await client.connect()
    client.close()
    assert {r.levelno for r in _connect_failures(caplog)} == {logging.WARNING}


async def test_block_falls_back_to_documented_runs(allow_loopback: None) -> None:
    """A device that rejects gaps is read run by run, and the split is remembered."""
    sim = await start_simulation(QuasarConfig(port=0, strict_gaps=True))
    try:
        transport = _transport(sim)
        block = RegisterBlock.spanning("status", [526, 537, 538])
        async with transport.exclusive() as bus:
            image = await bus.read_block(block)
            assert 526 in image
            assert 538 in image
            assert 530 not in image
        first = transport.requests_sent
        assert first == 3  # the rejected block, then two runs
        async with transport.exclusive() as bus:
            await bus.read_block(block)
        assert transport.requests_sent - first == 2
        # A single-run block that is rejected is a real error.
        async with transport.exclusive() as bus:
            with pytest.raises(ModbusExceptionError):
                await bus.read_block(RegisterBlock("gap", 527, 2))
        await transport.close()
    finally:
        await sim.stop()


async def test_lenient_block_is_one_request(sim: Simulation) -> None:
    """Where the device reads gaps as 0, a block costs exactly one request."""
    transport = _transport(sim)
    async with transport.exclusive() as bus:
        image = await bus.read_block(RegisterBlock.spanning("status", [526, 537, 538]))
    assert transport.requests_sent == 1
    assert image.u16(530) == 0
    await transport.close()


async def test_other_exception_codes_are_not_split(sim: Simulation) -> None:
    """Only 'illegal data address' triggers a split; other codes propagate."""
    sim.devices["quasar"].apply_fault(Fault(FaultKind.EXCEPTION, code=6))
    await sim.tick()
    transport = _transport(sim)
    async with transport.exclusive() as bus:
        with pytest.raises(ModbusExceptionError) as err:
            await bus.read_block(RegisterBlock.spanning("status", [526, 537]))
    assert err.value.exception_code == 6
    assert transport.requests_sent == 1
    await transport.close()


async def test_connection_refused_then_backoff(sim: Simulation) -> None:
    """A refused connection raises a typed error and backs off exponentially."""
    sim.devices["quasar"].apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    now = [100.0]
    transport = _transport(sim, backoff_initial_s=1.0, backoff_max_s=4.0, clock=lambda: now[0])
    with pytest.raises(DeviceConnectionError, match="cannot connect"):
        async with transport.exclusive():
            pass
    # Within the backoff window nothing is attempted.
    with pytest.raises(DeviceConnectionError, match="next attempt"):
        async with transport.exclusive():
            pass
    for expected_backoff in (2.0, 4.0, 4.0):
        now[0] += 10
        with pytest.raises(DeviceConnectionError, match="cannot connect"):
            async with transport.exclusive():
                pass
        assert transport._backoff_s == expected_backoff
    sim.devices["quasar"].clear_faults()
    await sim.tick()
    now[0] += 10
    async with transport.exclusive() as bus:
        assert await bus.read(1, 1) == [5130]
    assert transport._backoff_s == 0
    assert transport.connects == 1
    await transport.close()


async def test_stalled_reply_times_out_and_drops_connection(sim: Simulation) -> None:
    """A stalled device gives a timeout; the socket is dropped so no late reply leaks."""
    transport = _transport(sim, timeout_s=0.3)
    async with transport.exclusive() as bus:
        assert await bus.read(1, 1) == [5130]
    sim.devices["quasar"].apply_fault(Fault(FaultKind.STALL, delay_s=1.0, duration_s=0.5))
    await sim.tick()
    with pytest.raises(DeviceTimeoutError):
        async with transport.exclusive() as bus:
            await bus.read(1, 1)
    assert not transport.connected
    await asyncio.sleep(0.6)
    await sim.tick()
    async with transport.exclusive() as bus:
        # A fresh connection: the answer is to this request, not the stalled one.
        assert await bus.read(2, 1) == [20240117 >> 16]
    assert transport.connects == 2
    await transport.close()


async def test_dropped_connection_reconnects(sim: Simulation) -> None:
    """A connection closed by the device fails one request; the next reconnects."""
    transport = _transport(sim)
    async with transport.exclusive() as bus:
        await bus.read(1, 1)
    sim.devices["quasar"].apply_fault(Fault(FaultKind.DROP))
    with pytest.raises((DeviceConnectionError, DeviceTimeoutError)):
        async with transport.exclusive() as bus:
            await bus.read(1, 1)
    # Any further request in a broken sequence fails fast without reconnecting.
    with pytest.raises(DeviceConnectionError):
        await transport._read(1, 1)
    async with transport.exclusive() as bus:
        assert await bus.read(1, 1) == [5130]
    assert transport.connects == 2
    await transport.close()


async def test_wrong_unit_id_gets_no_reply(sim: Simulation) -> None:
    """The Quasar ignores other unit ids: the client times out."""
    port = sim.quasars["quasar"].server.port
    transport = ModbusTransport("127.0.0.1", port, 2, timeout_s=0.3)
    with pytest.raises(DeviceTimeoutError):
        async with transport.exclusive() as bus:
            await bus.read(1, 1)
    await transport.close()


async def test_lock_serialises_sequences(sim: Simulation) -> None:
    """Two sequences never interleave: each sees its own write before the other's."""
    transport = _transport(sim)
    order: list[str] = []

    async def sequence(name: str, value: int) -> int:
        async with transport.exclusive() as bus:
            order.append(f"{name}-start")
            await bus.write(81, 1)
            await bus.write(88, value)
            await asyncio.sleep(0.05)
            result = (await bus.read(88, 1))[0]
            order.append(f"{name}-end")
            return result

    first, second = await asyncio.gather(sequence("a", 11), sequence("b", 22))
    assert (first, second) == (11, 22)
    assert order in (
        ["a-start", "a-end", "b-start", "b-end"],
        ["b-start", "b-end", "a-start", "a-end"],
    )
    await transport.close()


async def test_short_reply_is_a_protocol_error(sim: Simulation) -> None:
    """A reply with fewer registers than asked is malformed: typed error, socket dropped."""
    sim.devices["quasar"].apply_fault(Fault(FaultKind.SHORT))
    await sim.tick()
    transport = _transport(sim)
    with pytest.raises(DeviceProtocolError, match="asked for 3 registers"):
        async with transport.exclusive() as bus:
            await bus.read(1, 3)
    assert not transport.connected
    sim.devices["quasar"].clear_faults()
    async with transport.exclusive() as bus:
        assert len(await bus.read(1, 3)) == 3
    await transport.close()


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (ConnectionException("gone"), DeviceConnectionError),  # type: ignore[no-untyped-call]
        (ModbusIOException("no reply"), DeviceTimeoutError),  # type: ignore[no-untyped-call]
        (ModbusException("odd"), DeviceProtocolError),  # type: ignore[no-untyped-call]
        (None, DeviceProtocolError),
    ],
)
async def test_pymodbus_failures_map_to_typed_errors(
    sim: Simulation, raised: Exception | None, expected: type[Exception]
) -> None:
    """Each failure pymodbus documents becomes our typed error, and the socket is dropped."""
    transport = _transport(sim)
    async with transport.exclusive():
        pass

    async def request(client: AsyncModbusTcpClient) -> None:
        if raised is not None:
            raise raised

    with pytest.raises(expected):
        await transport._execute(3, 0, request)
    assert not transport.connected
    await transport.close()


async def test_connect_exceptions_count_as_failed_connects() -> None:
    """A client whose connect raises is treated like a refused connection."""

    class ExplodingClient:
        connected = False

        async def connect(self) -> bool:
            raise OSError("network unreachable")

        def close(self) -> None:
            pass

    transport = ModbusTransport(
        "192.0.2.1",
        502,
        1,
        client_factory=lambda *_: ExplodingClient(),  # type: ignore[arg-type]
    )
    with pytest.raises(DeviceConnectionError, match="cannot connect"):
        async with transport.exclusive():
            pass
    assert transport._backoff_s == 0.5
