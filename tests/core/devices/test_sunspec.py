"""SunSpec DER profile: register images written out by hand from protocols.md section 3.

Every image below lists absolute addresses computed from the section 3 tables (model
start + documented offset), never from the profile's own constants. The images are
served over loopback by the simulator's Modbus TCP server through a tiny in-test
device, which records every request so the tests can check framing (one 0x10 request
for the 32-bit ``WSet``) and the number of requests per poll.

Scale factors are deliberately not zero (W_SF 1, V_SF -1, Hz_SF -2, TotWh_SF 1,
WSet_SF 1, WH_SF 1, Pct_SF -1) so that a missing or doubled scaling shows up.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
import logging
from typing import Any

import pytest

from custom_components.v2x.devices.errors import (
    CommandRefusedError,
    DeviceProtocolError,
    ModbusExceptionError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.modbus import ModbusTransport, RegisterImage
from custom_components.v2x.devices.model import ChargerState, DeviceIdentity, SocReading
from custom_components.v2x.devices.sunspec import (
    ModelLocation,
    ModelPoints,
    PointType,
    SunSpecCharger,
    SunSpecLayout,
    decode_point,
    decode_state,
    decode_string,
    encode_int32,
    encode_uint32,
    plan_blocks,
    scale,
)
from simulator.modbus_server import ModbusError, ModbusTcpServer

type Registers = dict[int, int]
type Request = tuple[str, int, list[int]]


def ascii_registers(text: str, count: int) -> list[int]:
    """Two characters per register, first character in the high byte, NUL padded."""
    raw = text.encode("ascii").ljust(2 * count, b"\0")
    return [raw[i] << 8 | raw[i + 1] for i in range(0, 2 * count, 2)]


def put(registers: Registers, address: int, words: list[int]) -> None:
    for i, word in enumerate(words):
        registers[address + i] = word


def zeros(first: int, last: int) -> Registers:
    return dict.fromkeys(range(first, last + 1), 0)


def layout_a() -> Registers:
    """The contiguous DER layout of protocols.md 3.1: 1, 701, 702, 703, 704, 713 at 40000."""
    r = zeros(40000, 40373)
    put(r, 40000, [0x5375, 0x6E53])  # "SunS"
    # Model 1 Common at 40002 (L = 66)
    put(r, 40002, [1, 66])
    put(r, 40004, ascii_registers("Acme Power", 16))  # Mn, offset 2
    put(r, 40020, ascii_registers("BiDi DC 11", 16))  # Md, offset 18
    put(r, 40036, ascii_registers("opt", 8))  # Opt, offset 34
    put(r, 40044, ascii_registers("2.4.1", 8))  # Vr, offset 42
    put(r, 40052, ascii_registers("SN-0042", 16))  # SN, offset 50
    r[40068] = 1  # DA
    # Model 701 DER AC Measurement at 40070 (L = 153)
    put(r, 40070, [701, 153])
    r[40072] = 0  # ACType single phase
    r[40073] = 1  # St ON
    r[40074] = 3  # InvSt RUNNING
    r[40075] = 1  # ConnSt CONNECTED
    put(r, 40076, [0, 0])  # Alrm
    r[40080] = 0xFEA7  # W = -345 -> -3450 W (absorbing: the battery charges)
    r[40084] = 15  # A
    r[40085] = 0xFFFF  # LLV not implemented
    r[40086] = 2301  # LNV -> 230.1 V
    put(r, 40087, [0, 5002])  # Hz -> 50.02 Hz
    put(r, 40089, [0, 0, 0x0001, 0xE240])  # TotWhInj = 123456 -> 1234.56 kWh
    put(r, 40093, [0, 0, 0x0001, 0x0000])  # TotWhAbs = 65536 -> 655.36 kWh
    r[40183] = 0  # A_SF
    r[40184] = 0xFFFF  # V_SF = -1
    r[40185] = 0xFFFE  # Hz_SF = -2
    r[40186] = 1  # W_SF = 1
    r[40190] = 1  # TotWh_SF = 1
    # Model 702 DER Capacity at 40225 (L = 50)
    put(r, 40225, [702, 50])
    r[40227] = 1100  # WMaxRtg -> 11000 W
    r[40235] = 1100  # WChaRteMaxRtg -> 11000 W
    r[40236] = 1000  # WDisChaRteMaxRtg -> 10000 W
    r[40259] = 700  # WChaRteMax -> 7000 W
    r[40260] = 600  # WDisChaRteMax -> 6000 W
    r[40270] = 1  # W_SF = 1
    # Model 703 Enter Service at 40277 (L = 17)
    put(r, 40277, [703, 17])
    # Model 704 DER AC Controls at 40296 (L = 65)
    put(r, 40296, [704, 65])
    r[40318] = 0  # WSetEna
    r[40319] = 0  # WSetMod W_MAX_PCT
    r[40351] = 1  # WSet_SF = 1
    # Model 713 DER Storage Capacity at 40363 (L = 7)
    put(r, 40363, [713, 7])
    r[40365] = 4000  # WHRtg -> 40 kWh (WH_SF 1)
    r[40366] = 2400  # WHAvail -> 24 kWh
    r[40367] = 600  # SoC -> 60.0 %
    r[40368] = 925  # SoH -> 92.5 %
    r[40369] = 0  # Sta OK
    r[40370] = 1  # WH_SF = 1
    r[40371] = 0xFFFF  # Pct_SF = -1
    put(r, 40372, [0xFFFF, 0])  # end marker
    return r


def layout_b() -> Registers:
    """Base 0, another order and no 702: 1 at 2, 713 at 70, 701 at 79, 704 at 234, end 301."""
    r = zeros(0, 302)
    put(r, 0, [0x5375, 0x6E53])
    put(r, 2, [1, 66])
    put(r, 4, ascii_registers("Other", 16))
    put(r, 20, ascii_registers("Storage 5", 16))
    put(r, 52, ascii_registers("B-7", 16))
    # 713 at 70
    put(r, 70, [713, 7])
    put(r, 72, [0xFFFF, 0xFFFF])  # WHRtg, WHAvail not implemented
    r[74] = 805  # SoC -> 80.5 %
    r[78] = 0xFFFF  # Pct_SF = -1
    # 701 at 79
    put(r, 79, [701, 153])
    r[83] = 7  # InvSt STANDBY
    r[84] = 0xFFFF  # ConnSt not implemented
    put(r, 85, [0xFFFF, 0xFFFF])  # Alrm not implemented
    r[89] = 0  # W
    r[94] = 4001  # LLV -> 400.1 V
    r[95] = 0xFFFF  # LNV not implemented
    put(r, 96, [0xFFFF, 0xFFFF])  # Hz not implemented
    put(r, 98, [0xFFFF] * 4)  # TotWhInj not implemented
    put(r, 102, [0xFFFF] * 4)  # TotWhAbs not implemented
    r[192] = 0x8000  # A_SF not implemented
    r[193] = 0xFFFF  # V_SF = -1
    r[194] = 0x8000  # Hz_SF not implemented
    r[195] = 0  # W_SF
    r[199] = 0x8000  # TotWh_SF not implemented
    # 704 at 234
    put(r, 234, [704, 65])
    r[289] = 0  # WSet_SF = 0
    put(r, 301, [0xFFFF, 0])
    return r


def layout_c() -> Registers:
    """Base 50000: 1 at 50002, 701 at 50070, 704 at 50225, end at 50292 (no 702, no 713)."""
    r = zeros(50000, 50293)
    put(r, 50000, [0x5375, 0x6E53])
    put(r, 50002, [1, 66])
    put(r, 50004, ascii_registers("Fifty", 16))
    put(r, 50070, [701, 153])
    r[50074] = 6  # InvSt FAULT
    r[50075] = 0  # ConnSt DISCONNECTED
    put(r, 50076, [0, 0x0081])  # Alrm GROUND_FAULT | OVER_TEMP
    r[50186] = 0  # W_SF
    put(r, 50225, [704, 65])
    put(r, 50292, [0xFFFF, 0])
    return r


class SunSpecDevice:
    """A dict of registers behind the ModbusDevice protocol, recording every request."""

    def __init__(self, registers: Registers) -> None:
        self.registers = dict(registers)
        self.requests: list[Request] = []
        self.ignore_writes: set[int] = set()
        self.read_errors: dict[int, int] = {}
        self.write_errors: dict[int, int] = {}
        self.model_bounds: list[int] = []
        """Reads may not cross these addresses (a device that rejects merged reads)."""

    def accepts_unit(self, unit_id: int) -> bool:
        return unit_id == 1

    def on_request(self) -> None:
        """Nothing to feed."""

    def read_holding(self, address: int, count: int) -> list[int]:
        self.requests.append(("read", address, [count]))
        if address in self.read_errors:
            raise ModbusError(self.read_errors[address])
        if any(address < bound < address + count for bound in self.model_bounds):
            raise ModbusError(2)
        try:
            return [self.registers[a] for a in range(address, address + count)]
        except KeyError:
            raise ModbusError(2) from None

    def write_single(self, address: int, value: int) -> int:
        self.requests.append(("write_single", address, [value]))
        self._store(address, [value])
        return address

    def write_multiple(self, address: int, values: list[int]) -> None:
        self.requests.append(("write_multiple", address, list(values)))
        self._store(address, values)

    def _store(self, address: int, values: list[int]) -> None:
        if address in self.write_errors:
            raise ModbusError(self.write_errors[address])
        if any(a not in self.registers for a in range(address, address + len(values))):
            raise ModbusError(2)
        for i, value in enumerate(values):
            if address + i not in self.ignore_writes:
                self.registers[address + i] = value

    def writes(self) -> list[Request]:
        return [r for r in self.requests if r[0] != "read"]

    def reads(self) -> list[tuple[int, int]]:
        return [(r[1], r[2][0]) for r in self.requests if r[0] == "read"]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


type Serve = Callable[..., Awaitable[tuple[SunSpecDevice, SunSpecCharger]]]


@pytest.fixture
async def serve(allow_loopback: None) -> AsyncIterator[Serve]:
    """Start one in-test SunSpec device per call; everything is stopped at teardown."""
    servers: list[ModbusTcpServer] = []
    chargers: list[SunSpecCharger] = []

    async def start(registers: Registers, **kwargs: Any) -> tuple[SunSpecDevice, SunSpecCharger]:
        device = SunSpecDevice(registers)
        server = ModbusTcpServer(device)
        await server.start()
        servers.append(server)
        transport = ModbusTransport("127.0.0.1", server.port, 1, timeout_s=1.0)
        charger = SunSpecCharger(transport, **kwargs)
        chargers.append(charger)
        return device, charger

    yield start
    for charger in chargers:
        await charger.async_close()
    for server in servers:
        await server.stop()


def s32(value: int) -> list[int]:
    """Hand encoding of an int32 as two registers, high word first (for assertions)."""
    raw = value & 0xFFFFFFFF
    return [raw >> 16, raw & 0xFFFF]


# --- Pure decoding ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("point_type", "words", "value"),
    [
        (PointType.INT16, [0x8000], None),
        (PointType.INT16, [0xFEA7], -345),
        (PointType.INT16, [0x7FFF], 32767),
        (PointType.UINT16, [0xFFFF], None),
        (PointType.UINT16, [0xFFFE], 65534),
        (PointType.ACC16, [0], None),
        (PointType.ACC16, [7], 7),
        (PointType.ENUM16, [0xFFFF], None),
        (PointType.ENUM16, [3], 3),
        (PointType.BITFIELD16, [0xFFFF], None),
        (PointType.SUNSSF, [0x8000], None),
        (PointType.SUNSSF, [0xFFFE], -2),
        (PointType.INT32, [0x8000, 0], None),
        (PointType.INT32, [0xFFFF, 0xFED4], -300),
        (PointType.INT32, [0x0001, 0x0002], 65538),
        (PointType.UINT32, [0xFFFF, 0xFFFF], None),
        (PointType.UINT32, [0x0001, 0x0000], 65536),
        (PointType.ACC32, [0, 0], None),
        (PointType.ENUM32, [0xFFFF, 0xFFFF], None),
        (PointType.BITFIELD32, [0xFFFF, 0xFFFF], None),
        (PointType.BITFIELD32, [0, 0x0081], 0x81),
        (PointType.INT64, [0x8000, 0, 0, 0], None),
        (PointType.INT64, [0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE], -2),
        (PointType.UINT64, [0xFFFF] * 4, None),
        (PointType.UINT64, [0, 1, 0, 0], 1 << 32),
    ],
)
def test_decode_point_not_implemented_values(
    point_type: PointType, words: list[int], value: int | None
) -> None:
    """protocols.md 3.1: each type's "not implemented" value is None; big-endian words."""
    assert decode_point(point_type, words) == value


def test_decode_point_checks_size() -> None:
    with pytest.raises(ValueError, match="needs 2 registers"):
        decode_point(PointType.INT32, [1])


def test_decode_string() -> None:
    """Two ASCII characters per register, high byte first, NUL padded."""
    assert decode_string([0x4163, 0x6D65, 0x0000, 0x0000]) == "Acme"
    assert decode_string([0x4142, 0x4300]) == "ABC"
    assert decode_string([0, 0]) is None


def test_encode_int32_and_uint32() -> None:
    assert encode_int32(-300) == [0xFFFF, 0xFED4]
    assert encode_int32(65538) == [0x0001, 0x0002]
    assert encode_uint32(60) == [0, 60]
    assert encode_uint32(0x12345678) == [0x1234, 0x5678]
    with pytest.raises(ValueOutOfRangeError):
        encode_int32(-0x80000000)  # the "not implemented" value
    with pytest.raises(ValueOutOfRangeError):
        encode_int32(0x80000000)
    with pytest.raises(ValueOutOfRangeError):
        encode_uint32(0xFFFFFFFF)
    with pytest.raises(ValueOutOfRangeError):
        encode_uint32(-1)


def test_scale() -> None:
    assert scale(2301, -1) == 230.1
    assert scale(5002, -2) == 50.02
    assert scale(-345, 1) == -3450.0
    assert scale(7, 0) == 7.0


@pytest.mark.parametrize(
    ("inv_st", "power_w", "state"),
    [
        (0, 0, ChargerState.OFF),
        (1, 0, ChargerState.OFF),
        (2, 0, ChargerState.STARTING),
        (3, 51, ChargerState.CHARGING),
        (3, 50, ChargerState.STANDBY),
        (3, -50, ChargerState.STANDBY),
        (3, -51, ChargerState.DISCHARGING),
        (4, 3000, ChargerState.CHARGING),
        (4, -3000, ChargerState.DISCHARGING),
        (5, 0, ChargerState.OFF),
        (6, 3000, ChargerState.ERROR),
        (7, 0, ChargerState.STANDBY),
    ],
)
def test_decode_state(inv_st: int, power_w: int, state: ChargerState) -> None:
    """701 InvSt 0..7; while running the direction of the power decides."""
    assert decode_state(inv_st, power_w) is state


@pytest.mark.parametrize("inv_st", [8, 0xFFFF])
def test_decode_state_unknown(inv_st: int) -> None:
    with pytest.raises(ValueOutOfRangeError, match="InvSt"):
        decode_state(inv_st, 0)


def test_plan_blocks_merges_within_125_registers() -> None:
    blocks = plan_blocks("t", [(40318, 34), (40227, 50), (40365, 7)])
    assert [(b.start, b.count) for b in blocks] == [(40227, 125), (40365, 7)]
    assert blocks[0].runs() == [(40227, 50), (40318, 34)]
    assert plan_blocks("t", []) == ()


def test_model_location_and_layout() -> None:
    model = ModelLocation(713, 40363, 7)
    assert model.span(2, 8) == (40365, 7)
    assert model.span(4, 20) == (40367, 5)
    assert ModelLocation(713, 100, 1).span(4, 8) is None
    assert model.has(8)
    assert not model.has(8, 2)
    layout = SunSpecLayout(40000, (model,))
    assert layout.require(713) is model
    with pytest.raises(DeviceProtocolError, match="no model 1"):
        layout.require(1)


def test_scale_factor_garbage_is_rejected() -> None:
    points = ModelPoints(RegisterImage({40: 713, 41: 7, 48: 20}), ModelLocation(713, 40, 7))
    with pytest.raises(ValueOutOfRangeError, match="sunssf"):
        points.sunssf(8)
    with pytest.raises(DeviceProtocolError, match="not read"):
        points.sunssf(7)


def test_watchdog_range() -> None:
    transport = ModbusTransport("127.0.0.1", 1, 1)
    with pytest.raises(ValueOutOfRangeError):
        SunSpecCharger(transport, watchdog_s=0)
    charger = SunSpecCharger(transport)
    assert charger.capabilities.max_power_w == 0
    assert charger.layout is None


# --- Discovery and identity -----------------------------------------------------------


async def test_identity_and_model_chain(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    identity = await charger.async_read_identity()
    assert identity == DeviceIdentity(
        manufacturer="Acme Power",
        model="BiDi DC 11",
        serial_number="SN-0042",
        firmware_version="2.4.1",
    )
    assert charger.layout is not None
    assert charger.layout.base_address == 40000
    assert [(m.model_id, m.address, m.length) for m in charger.layout.models] == [
        (1, 40002, 66),
        (701, 40070, 153),
        (702, 40225, 50),
        (703, 40277, 17),
        (704, 40296, 65),
        (713, 40363, 7),
    ]
    assert device.reads() == [
        (40000, 2),  # "SunS"
        (40002, 2),
        (40070, 2),
        (40225, 2),
        (40277, 2),
        (40296, 2),
        (40363, 2),
        (40372, 2),  # end marker
        (40072, 121),  # 701 ACType..Tmp_SF
        (40227, 125),  # 702 WMaxRtg..S_SF and 704 WSetEna..WSet_SF in one read
        (40365, 7),  # 713
        (40004, 64),  # model 1 Mn..SN
    ]
    assert charger.requests_sent == 12
    assert charger.connects == 1
    device.requests.clear()
    await charger.async_read_identity()  # same connection: no second scan
    assert device.reads() == [(40004, 64)]
    caps = charger.capabilities
    assert caps.watchdog
    assert caps.remote_control
    assert not caps.reports_vehicle
    assert caps.reports_grid
    assert caps.energy_counters
    assert caps.vehicle_energy
    assert caps.ac_measurements
    assert caps.max_power_w == 11000
    assert set(caps.states) == {
        ChargerState.ERROR,
        ChargerState.CHARGING,
        ChargerState.DISCHARGING,
        ChargerState.STANDBY,
        ChargerState.STARTING,
        ChargerState.OFF,
    }


async def test_base_0_other_order_without_702(serve: Serve) -> None:
    """40000 unmapped (exception 2) -> base 0; no ratings -> the configured fallback."""
    device, charger = await serve(layout_b(), max_power_w=5000)
    identity = await charger.async_read_identity()
    assert (identity.manufacturer, identity.model, identity.serial_number) == (
        "Other",
        "Storage 5",
        "B-7",
    )
    assert identity.firmware_version is None
    assert device.reads()[:2] == [(40000, 2), (0, 2)]
    assert charger.layout is not None
    assert [(m.model_id, m.address) for m in charger.layout.models] == [
        (1, 2),
        (713, 70),
        (701, 79),
        (704, 234),
    ]
    caps = charger.capabilities
    assert not caps.reports_grid
    assert not caps.energy_counters
    assert not caps.vehicle_energy
    assert caps.max_power_w == 5000


async def test_base_50000_after_foreign_values(serve: Serve) -> None:
    """A different value at 40000 and at 0 -> the search moves on to 50000."""
    registers = layout_c() | {40000: 0x1234, 40001: 0x5678, 0: 0x5375, 1: 0}
    device, charger = await serve(registers)
    await charger.async_read_identity()
    assert device.reads()[:3] == [(40000, 2), (0, 2), (50000, 2)]
    assert charger.layout is not None
    assert charger.layout.base_address == 50000
    assert charger.capabilities.max_power_w == 0


async def test_40000_preferred_over_0(serve: Serve) -> None:
    device, charger = await serve(layout_a() | layout_b())
    await charger.async_read_identity()
    assert charger.layout is not None
    assert charger.layout.base_address == 40000
    assert (0, 2) not in device.reads()


async def test_exception_other_than_2_also_moves_on(serve: Serve) -> None:
    device, charger = await serve(layout_b())
    device.read_errors[40000] = 4
    await charger.async_read_identity()
    assert charger.layout is not None
    assert charger.layout.base_address == 0


async def test_not_a_sunspec_device(serve: Serve) -> None:
    _, charger = await serve({0: 1, 1: 2, 50000: 0x5375, 50001: 0x6E54})
    with pytest.raises(DeviceProtocolError, match="not a SunSpec device"):
        await charger.async_read_identity()


async def test_chain_running_past_65535(serve: Serve) -> None:
    registers = {50000: 0x5375, 50001: 0x6E53, 50002: 1, 50003: 66, 50070: 701, 50071: 15500}
    _, charger = await serve(registers)
    with pytest.raises(DeviceProtocolError, match="runs past register 65535"):
        await charger.async_read_identity()


async def test_chain_ending_exactly_at_65535_without_end_marker(serve: Serve) -> None:
    # 701 at 50070 with L = 15464 ends at 65535: no room is left for an end marker.
    registers = {50000: 0x5375, 50001: 0x6E53, 50002: 1, 50003: 66, 50070: 701, 50071: 15464}
    _, charger = await serve(registers)
    with pytest.raises(DeviceProtocolError, match="runs past register 65535"):
        await charger.async_read_identity()


async def test_too_many_models(serve: Serve) -> None:
    registers = {40000: 0x5375, 40001: 0x6E53}
    for i in range(70):
        put(registers, 40002 + 2 * i, [64000, 0])
    _, charger = await serve(registers)
    with pytest.raises(DeviceProtocolError, match="more than 64 models"):
        await charger.async_read_identity()


async def test_model_id_zero(serve: Serve) -> None:
    _, charger = await serve({40000: 0x5375, 40001: 0x6E53, 40002: 0, 40003: 0})
    with pytest.raises(DeviceProtocolError, match="model id 0"):
        await charger.async_read_identity()


async def test_no_model_after_marker(serve: Serve) -> None:
    _, charger = await serve({40000: 0x5375, 40001: 0x6E53})
    with pytest.raises(ModbusExceptionError):
        await charger.async_read_identity()


async def test_missing_end_marker_is_tolerated(serve: Serve) -> None:
    registers = layout_a()
    del registers[40372], registers[40373]
    device, charger = await serve(registers)
    await charger.async_read_identity()
    assert charger.layout is not None
    assert charger.layout.model_ids == (1, 701, 702, 703, 704, 713)
    device.read_errors[40372] = 4  # not "illegal address": a real failure
    await charger.async_close()
    with pytest.raises(ModbusExceptionError):
        await charger.async_read_identity()


async def test_required_models(serve: Serve) -> None:
    registers = layout_a()
    registers[40070] = 64001  # 701 replaced by a vendor model
    _, charger = await serve(registers)
    with pytest.raises(DeviceProtocolError, match=r"701 .*needed to monitor"):
        await charger.async_read_identity()


async def test_short_models(serve: Serve) -> None:
    """Points beyond a model's L are absent: empty identity strings, SoC unknown."""
    registers = zeros(40000, 40169)
    put(registers, 40000, [0x5375, 0x6E53, 1, 0])  # model 1 with L = 0
    put(registers, 40004, [713, 2, 100, 50])  # 713 with WHRtg and WHAvail only
    put(registers, 40008, [701, 153])
    registers[40012] = 7  # InvSt STANDBY
    registers[40124] = 0  # W_SF
    put(registers, 40163, [0xFFFF, 0])
    _, charger = await serve(registers)
    identity = await charger.async_read_identity()
    assert identity == DeviceIdentity("", "", "", None)
    assert not charger.capabilities.vehicle_energy
    assert not charger.capabilities.remote_control
    status = await charger.async_read_status()
    assert status.soc == SocReading(None)
    assert status.state is ChargerState.STANDBY
    snapshot = await charger.async_read_snapshot()
    assert snapshot.vehicle_capacity_kwh is None  # WH_SF lies beyond L


# --- Status ------------------------------------------------------------------------------


async def test_status_layout_a(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_read_identity()
    device.requests.clear()
    before = charger.requests_sent
    status = await charger.async_read_status()
    assert charger.requests_sent - before == 2
    assert device.reads() == [(40074, 7), (40367, 5)]
    assert status.power_w == 3450  # 701 W = -345 x 10^1 (absorbing) -> +3450 charging
    assert status.state is ChargerState.CHARGING
    assert status.state_code == 3
    assert status.soc == SocReading(60.0)
    assert status.grid_available is True
    assert status.connected is None
    assert status.vehicle_connected is True  # implied by CHARGING
    assert status.errors.unrecoverable == 0
    assert not status.in_error


async def test_status_discharging_and_alarms(serve: Serve) -> None:
    registers = layout_a()
    registers[40080] = 400  # W = +400 x 10 = 4000 W injected
    registers[40075] = 0  # ConnSt DISCONNECTED
    put(registers, 40076, [0x0001, 0x0080])  # MANUFACTURER_ALRM | OVER_TEMP
    _, charger = await serve(registers)
    status = await charger.async_read_status()  # scans on its own without identity
    assert status.power_w == -4000
    assert status.state is ChargerState.DISCHARGING
    assert status.grid_available is False
    assert status.errors.unrecoverable == 0x00010080
    assert status.in_error


async def test_status_without_713_and_not_implemented_points(serve: Serve) -> None:
    device, charger = await serve(layout_c())
    await charger.async_read_identity()
    device.requests.clear()
    status = await charger.async_read_status()
    assert device.reads() == [(50074, 7)]  # one request: no 713
    assert status.state is ChargerState.ERROR
    assert status.soc == SocReading(None)
    assert status.grid_available is False
    assert status.errors.unrecoverable == 0x81


async def test_status_merges_nearby_models(serve: Serve) -> None:
    """713 SoC..Pct_SF (74..78) and 701 InvSt..W (83..89) are read in one request."""
    device, charger = await serve(layout_b())
    await charger.async_read_identity()
    device.requests.clear()
    status = await charger.async_read_status()
    assert device.reads() == [(74, 16)]
    assert status.soc == SocReading(80.5)
    assert status.grid_available is None
    assert status.errors.unrecoverable == 0
    assert status.state is ChargerState.STANDBY


@pytest.mark.parametrize(
    ("address", "value", "error", "match"),
    [
        (40080, 0x8000, DeviceProtocolError, "W or W_SF"),
        (40074, 0xFFFF, ValueOutOfRangeError, "InvSt"),
        (40074, 9, ValueOutOfRangeError, "InvSt"),
        (40367, 1001, ValueOutOfRangeError, "SoC"),
    ],
)
async def test_status_rejects_garbage(
    serve: Serve, address: int, value: int, error: type[Exception], match: str
) -> None:
    registers = layout_a()
    registers[address] = value
    _, charger = await serve(registers)
    with pytest.raises(error, match=match):
        await charger.async_read_status()


async def test_status_soc_not_implemented(serve: Serve) -> None:
    registers = layout_a()
    registers[40367] = 0xFFFF
    _, charger = await serve(registers)
    assert (await charger.async_read_status()).soc == SocReading(None)
    registers[40367] = 600
    registers[40371] = 0x8000  # Pct_SF not implemented
    _, charger = await serve(registers)
    assert (await charger.async_read_status()).soc == SocReading(None)


async def test_w_sf_missing(serve: Serve) -> None:
    registers = layout_a()
    registers[40186] = 0x8000
    _, charger = await serve(registers)
    with pytest.raises(DeviceProtocolError, match="W_SF"):
        await charger.async_read_status()


# --- Snapshot --------------------------------------------------------------------------


async def test_snapshot_layout_a(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_read_identity()
    device.registers[40318] = 1  # WSetEna
    device.registers[40319] = 1  # WSetMod WATTS
    put(device.registers, 40320, [0, 150])  # WSet = +150 x 10 = 1500 W injected
    put(device.registers, 40327, [0, 90])  # WSetRvrtTms
    device.requests.clear()
    snapshot = await charger.async_read_snapshot()
    assert device.reads() == [(40072, 121), (40227, 125), (40365, 7)]
    assert snapshot.status.power_w == 3450
    assert snapshot.control is not None
    assert snapshot.control.remote
    assert not snapshot.control.autostart
    assert snapshot.control.power_setpoint_mode
    assert snapshot.control.watchdog_s == 90
    assert snapshot.locked is None
    assert snapshot.power_setpoint_w == -1500
    assert snapshot.max_available_power_w == 7000
    assert snapshot.max_charge_power_w == 7000
    assert snapshot.max_discharge_power_w == 6000
    assert snapshot.ac_voltage_v == 230.1
    assert snapshot.ac_current_a == 15
    assert snapshot.grid_frequency_hz == 50.02
    assert snapshot.discharged_energy_kwh == pytest.approx(1234.56)
    assert snapshot.charged_energy_kwh == pytest.approx(655.36)
    assert snapshot.vehicle_capacity_kwh == 40.0
    assert snapshot.vehicle_energy_kwh == 24.0
    assert snapshot.state_of_health_pct == 92.5


async def test_snapshot_without_702(serve: Serve) -> None:
    _, charger = await serve(layout_b())
    snapshot = await charger.async_read_snapshot()
    assert snapshot.ac_voltage_v == 400.1  # LNV not implemented -> LLV
    assert snapshot.ac_current_a is None
    assert snapshot.grid_frequency_hz is None
    assert snapshot.charged_energy_kwh is None
    assert snapshot.discharged_energy_kwh is None
    assert snapshot.max_charge_power_w is None
    assert snapshot.max_available_power_w == 0
    assert snapshot.control is not None
    assert not snapshot.control.remote
    assert snapshot.power_setpoint_w == 0
    assert snapshot.vehicle_capacity_kwh is None


async def test_snapshot_ratings_fallbacks(serve: Serve) -> None:
    registers = layout_a()
    registers[40259] = registers[40260] = 0xFFFF  # settings not implemented
    registers[40235] = 0xFFFF  # WChaRteMaxRtg not implemented -> WMaxRtg
    put(registers, 40320, [0x8000, 0])  # WSet not implemented
    _, charger = await serve(registers)
    await charger.async_read_identity()
    assert charger.capabilities.max_power_w == 11000
    snapshot = await charger.async_read_snapshot()
    assert snapshot.max_charge_power_w == 11000
    assert snapshot.max_discharge_power_w == 10000
    assert snapshot.max_available_power_w == 11000
    assert snapshot.power_setpoint_w == 0


async def test_snapshot_without_any_rating(serve: Serve) -> None:
    registers = layout_a()
    registers[40227] = registers[40235] = registers[40236] = 0xFFFF
    registers[40259] = registers[40260] = 0xFFFF
    _, charger = await serve(registers)
    await charger.async_read_identity()
    assert charger.capabilities.max_power_w == 0
    snapshot = await charger.async_read_snapshot()
    assert snapshot.max_charge_power_w is None
    assert snapshot.max_available_power_w == 0


async def test_merged_read_rejected_falls_back_per_model(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    device.model_bounds = [40277, 40296]  # reads may not cross into or out of 703
    await charger.async_read_identity()
    device.requests.clear()
    await charger.async_read_snapshot()
    assert device.reads() == [(40072, 121), (40227, 50), (40318, 34), (40365, 7)]


# --- Control -------------------------------------------------------------------------------


async def test_take_control_arms_the_reversion_timer(serve: Serve) -> None:
    device, charger = await serve(layout_a(), watchdog_s=90)
    await charger.async_read_identity()
    device.requests.clear()
    await charger.async_take_control()
    assert device.writes() == [
        ("write_multiple", 40322, [0, 0]),  # WSetRvrt = 0 W
        ("write_single", 40326, [0]),  # WSetEnaRvrt = disabled
        ("write_multiple", 40327, [0, 90]),  # WSetRvrtTms = 90 s
        ("write_single", 40319, [1]),  # WSetMod = WATTS
        ("write_multiple", 40320, [0, 0]),  # WSet = 0 W
        ("write_single", 40318, [1]),  # WSetEna = enabled
    ]
    assert device.reads() == [(40318, 34)] * 3  # settings, verify settings, verify WSet
    snapshot = await charger.async_read_snapshot()
    assert snapshot.control is not None
    assert snapshot.control.remote
    assert snapshot.control.power_setpoint_mode
    assert snapshot.control.watchdog_s == 90
    assert snapshot.power_setpoint_w == 0


async def test_take_control_keeps_an_enabled_setpoint(serve: Serve) -> None:
    registers = layout_a()
    registers[40318] = 1  # WSetEna
    registers[40319] = 1  # WSetMod
    put(registers, 40320, s32(-200))  # WSet = -2000 W (absorbing)
    put(registers, 40327, [0, 60])
    device, charger = await serve(registers)
    await charger.async_read_identity()
    device.requests.clear()
    await charger.async_take_control()
    assert device.writes() == [("write_multiple", 40320, s32(-200))]  # restarts the timer
    assert (await charger.async_read_snapshot()).power_setpoint_w == 2000


async def test_set_power_writes_wset_in_one_request(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_read_identity()
    assert await charger.async_set_power(3000) == 3000
    wset_writes = [w for w in device.writes() if w[1] in (40320, 40321)]
    assert wset_writes == [("write_multiple", 40320, [0xFFFF, 0xFED4])]  # -300 x 10^1
    assert device.registers[40318] == 1
    assert [device.registers[40320], device.registers[40321]] == [0xFFFF, 0xFED4]
    # Settings ours and setpoint enabled: read, one write, verify.
    device.requests.clear()
    before = charger.requests_sent
    assert await charger.async_set_power(-2346) == -2350
    assert charger.requests_sent - before == 3
    assert device.writes() == [("write_multiple", 40320, [0, 235])]
    snapshot = await charger.async_read_snapshot()
    assert snapshot.power_setpoint_w == -2350


@pytest.mark.parametrize(
    ("power_w", "raw", "setpoint"),
    [
        (20000, -1100, 11000),  # charge rating 11000 W
        (-20000, 1000, -10000),  # discharge rating 10000 W
        (2346, -235, 2350),
        (0, 0, 0),
    ],
)
async def test_set_power_clamps_and_quantises(
    serve: Serve, power_w: int, raw: int, setpoint: int
) -> None:
    device, charger = await serve(layout_a())
    assert await charger.async_set_power(power_w) == setpoint
    assert [device.registers[40320], device.registers[40321]] == s32(raw)


@pytest.mark.parametrize(("power_w", "setpoint"), [(20000, 11000), (-20000, -10000)])
async def test_rounding_never_passes_a_rating(serve: Serve, power_w: int, setpoint: int) -> None:
    registers = layout_a()
    registers[40270] = 0  # 702 W_SF = 0
    registers[40235] = 11060  # WChaRteMaxRtg
    registers[40236] = 10060  # WDisChaRteMaxRtg
    registers[40351] = 2  # WSet_SF = 2: 100 W steps
    _, charger = await serve(registers)
    assert await charger.async_set_power(power_w) == setpoint


async def test_set_power_without_ratings_uses_fallback(serve: Serve) -> None:
    device, charger = await serve(layout_b(), max_power_w=5000)
    assert await charger.async_set_power(9000) == 5000
    assert [device.registers[258], device.registers[259]] == s32(-5000)
    _, unlimited = await serve(layout_b())
    assert await unlimited.async_set_power(-9000) == -9000


async def test_set_power_retakes_control_after_reversion(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_set_power(1000)
    # The device rebooted: timer and mode back to their defaults, setpoint disabled.
    device.registers[40318] = 0
    device.registers[40319] = 0
    put(device.registers, 40327, [0, 0])
    device.requests.clear()
    assert await charger.async_set_power(1000) == 1000
    written = {w[1] for w in device.writes()}
    assert written == {40322, 40326, 40327, 40319, 40320, 40318}
    assert device.registers[40328] == 60


async def test_set_power_not_kept(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_take_control()
    device.ignore_writes = {40320, 40321}
    with pytest.raises(WriteNotVerifiedError, match="WSet"):
        await charger.async_set_power(2000)


async def test_wset_ena_not_kept(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    device.ignore_writes = {40318}
    with pytest.raises(WriteNotVerifiedError, match="WSetEna"):
        await charger.async_set_power(2000)


@pytest.mark.parametrize(
    ("address", "name"),
    [(40328, "WSetRvrtTms"), (40319, "WSetMod"), (40326, "WSetEnaRvrt"), (40323, "WSetRvrt")],
)
async def test_take_control_not_kept(serve: Serve, address: int, name: str) -> None:
    registers = layout_a()
    registers[40326] = 1  # WSetEnaRvrt enabled
    put(registers, 40322, s32(-50))  # WSetRvrt
    device, charger = await serve(registers)
    device.ignore_writes = {address}
    with pytest.raises(WriteNotVerifiedError, match=name):
        await charger.async_take_control()


async def test_wset_sf_not_implemented(serve: Serve) -> None:
    registers = layout_a()
    registers[40351] = 0x8000
    _, charger = await serve(registers)
    with pytest.raises(DeviceProtocolError, match="WSet_SF"):
        await charger.async_set_power(1000)


async def test_stop_holds_zero_and_keeps_control(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_set_power(-4000)
    await charger.async_stop()
    assert [device.registers[40320], device.registers[40321]] == [0, 0]
    assert device.registers[40318] == 1
    snapshot = await charger.async_read_snapshot()
    assert snapshot.control is not None
    assert snapshot.control.remote
    assert snapshot.power_setpoint_w == 0
    await charger.async_set_power(-4000)
    device.ignore_writes = {40320, 40321}
    with pytest.raises(WriteNotVerifiedError, match="WSet"):
        await charger.async_stop()


async def test_stop_takes_control_first(serve: Serve) -> None:
    device, charger = await serve(layout_a(), watchdog_s=120)
    await charger.async_stop()
    assert device.registers[40319] == 1  # WSetMod WATTS
    assert [device.registers[40327], device.registers[40328]] == [0, 120]
    assert device.registers[40318] == 1


async def test_release_control(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_set_power(2000)
    device.requests.clear()
    await charger.async_release_control()
    assert device.writes() == [("write_single", 40318, [0])]
    snapshot = await charger.async_read_snapshot()
    assert snapshot.control is not None
    assert not snapshot.control.remote
    device.registers[40318] = 1
    device.ignore_writes = {40318}
    with pytest.raises(WriteNotVerifiedError, match="WSetEna"):
        await charger.async_release_control()


async def test_monitor_only_without_704(serve: Serve) -> None:
    registers = {a: v for a, v in layout_c().items() if a < 50225}
    put(registers, 50225, [0xFFFF, 0])
    _, charger = await serve(registers)
    await charger.async_read_identity()
    assert not charger.capabilities.remote_control
    assert not charger.capabilities.watchdog
    snapshot = await charger.async_read_snapshot()
    assert snapshot.control is None
    assert snapshot.power_setpoint_w == 0
    for command in (
        charger.async_take_control(),
        charger.async_set_power(1000),
        charger.async_stop(),
        charger.async_release_control(),
    ):
        with pytest.raises(CommandRefusedError, match="704") as err:
            await command
        assert err.value.reason == "not_supported"


# --- Keep-alive -------------------------------------------------------------------------


async def test_keep_alive_rewrites_wset_after_half_the_watchdog(serve: Serve) -> None:
    clock = FakeClock()
    device, charger = await serve(layout_a(), watchdog_s=60, clock=clock)
    await charger.async_read_identity()
    await charger.async_set_power(3000)
    device.requests.clear()

    clock.now += 30  # exactly half: not yet
    await charger.async_read_status()
    assert device.writes() == []

    clock.now += 0.5
    before = charger.requests_sent
    await charger.async_read_status()
    assert charger.requests_sent - before == 3  # 701, 713 and the keep-alive
    assert device.writes() == [("write_multiple", 40320, [0xFFFF, 0xFED4])]

    device.requests.clear()
    clock.now += 29
    await charger.async_read_status()
    assert device.writes() == []
    clock.now += 2
    await charger.async_read_status()
    assert device.writes() == [("write_multiple", 40320, [0xFFFF, 0xFED4])]

    # A zero hold (async_stop) is kept alive too: control is kept.
    await charger.async_stop()
    device.requests.clear()
    clock.now += 31
    await charger.async_read_status()
    assert device.writes() == [("write_multiple", 40320, [0, 0])]

    # Released: nothing is held, nothing is written.
    await charger.async_release_control()
    device.requests.clear()
    clock.now += 100
    await charger.async_read_status()
    assert device.writes() == []


async def test_no_keep_alive_without_control(serve: Serve) -> None:
    clock = FakeClock()
    device, charger = await serve(layout_a(), clock=clock)
    await charger.async_read_status()
    clock.now += 1000
    await charger.async_read_status()
    assert device.writes() == []


async def test_keep_alive_stops_once_reverted_or_taken_over(serve: Serve) -> None:
    clock = FakeClock()
    device, charger = await serve(layout_a(), clock=clock)
    await charger.async_set_power(3000)
    await charger.async_read_snapshot()  # still ours: keep-alive continues
    clock.now += 31
    device.requests.clear()
    await charger.async_read_status()
    assert len(device.writes()) == 1

    device.registers[40318] = 0  # the timer expired: WSetEna reverted
    await charger.async_read_snapshot()
    clock.now += 31
    device.requests.clear()
    await charger.async_read_status()
    assert device.writes() == []

    await charger.async_set_power(3000)
    put(device.registers, 40320, s32(-100))  # someone else writes WSet
    await charger.async_read_snapshot()
    clock.now += 31
    device.requests.clear()
    await charger.async_read_status()
    assert device.writes() == []

    await charger.async_set_power(3000)
    put(device.registers, 40327, [0, 600])  # someone else changes the timer
    await charger.async_read_snapshot()
    clock.now += 31
    device.requests.clear()
    await charger.async_read_status()
    assert device.writes() == []


async def test_refused_keep_alive_is_logged_once(
    serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock()
    device, charger = await serve(layout_a(), clock=clock)
    await charger.async_set_power(3000)
    device.write_errors[40320] = 6  # busy
    caplog.set_level(logging.WARNING)
    for _ in range(2):
        clock.now += 31
        status = await charger.async_read_status()
        assert status.state is ChargerState.CHARGING
    assert len([r for r in caplog.records if "Keep-alive" in r.getMessage()]) == 1
    del device.write_errors[40320]
    device.requests.clear()
    clock.now += 1
    await charger.async_read_status()
    assert device.writes() == [("write_multiple", 40320, [0xFFFF, 0xFED4])]
    device.write_errors[40320] = 6
    caplog.clear()
    clock.now += 31
    await charger.async_read_status()
    assert len([r for r in caplog.records if "Keep-alive" in r.getMessage()]) == 1


# --- Reconnect ----------------------------------------------------------------------------


async def test_rescan_after_reconnect(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_read_identity()
    await charger.async_read_status()
    assert charger.connects == 1
    # The device is replaced by one with another layout while the link is down.
    await charger.async_close()
    device.registers = layout_b()
    device.requests.clear()
    status = await charger.async_read_status()
    assert charger.connects == 2
    assert device.reads()[:2] == [(40000, 2), (0, 2)]
    assert status.soc == SocReading(80.5)
    assert charger.layout is not None
    assert charger.layout.base_address == 0
    device.requests.clear()
    await charger.async_read_status()
    assert device.reads() == [(74, 16)]


# --- 702 rate limits ----------------------------------------------------------------------


async def test_set_rate_limits(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    await charger.async_read_identity()
    device.requests.clear()
    await charger.async_set_rate_limits(charge_w=5000, discharge_w=4000)
    assert device.writes() == [("write_single", 40259, [500]), ("write_single", 40260, [400])]
    snapshot = await charger.async_read_snapshot()
    assert snapshot.max_charge_power_w == 5000
    assert snapshot.max_discharge_power_w == 4000
    await charger.async_set_rate_limits(charge_w=50000)  # clamped to the 11000 W rating
    assert device.registers[40259] == 1100
    assert device.registers[40260] == 400
    device.requests.clear()
    await charger.async_set_rate_limits()
    assert device.requests == []


async def test_set_rate_limits_errors(serve: Serve) -> None:
    device, charger = await serve(layout_a())
    with pytest.raises(ValueOutOfRangeError):
        await charger.async_set_rate_limits(charge_w=-1)
    device.ignore_writes = {40260}
    with pytest.raises(WriteNotVerifiedError, match="WDisChaRteMax"):
        await charger.async_set_rate_limits(discharge_w=3000)
    device.registers[40259] = 0xFFFF
    with pytest.raises(CommandRefusedError, match="WChaRteMax"):
        await charger.async_set_rate_limits(charge_w=3000)

    _, without_702 = await serve(layout_b())
    with pytest.raises(CommandRefusedError, match="702") as err:
        await without_702.async_set_rate_limits(charge_w=3000)
    assert err.value.reason == "not_supported"


async def test_set_rate_limit_beyond_uint16(serve: Serve) -> None:
    registers = layout_a()
    registers[40227] = registers[40235] = 0xFFFF  # no charge rating at all
    registers[40270] = 0  # W_SF = 0
    _, charger = await serve(registers)
    with pytest.raises(ValueOutOfRangeError, match="WChaRteMax"):
        await charger.async_set_rate_limits(charge_w=70000)


async def test_set_rate_limits_without_scale_factor(serve: Serve) -> None:
    registers = layout_a()
    registers[40270] = 0x8000
    _, charger = await serve(registers)
    with pytest.raises(CommandRefusedError):
        await charger.async_set_rate_limits(discharge_w=1000)
