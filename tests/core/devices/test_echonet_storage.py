"""ECHONET Lite storage battery (0x027D) profile: its decoders, and the profile against the twin.

Codec inputs are the big-endian hex of protocols.md 4.4 (uint32 W/Wh, int32 0xD3,
2 x uint32 minimum then maximum for 0xC8/0xC9, uint8 codes and %). The twin
(simulator.echonet, written independently from the same table) is reached over
real loopback UDP through the shared endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from custom_components.v2x.devices.echonet import EchonetClient, EchonetEndpoint
from custom_components.v2x.devices.echonet.discovery import DiscoveredNode
from custom_components.v2x.devices.echonet.frame import Eoj
from custom_components.v2x.devices.echonet.storage_battery import (
    FAMILY,
    STATES,
    EchonetStorageBattery,
    PowerRange,
    StorageBatteryInfo,
    decode_battery_type,
    decode_percent,
    decode_power,
    decode_power_range,
    decode_storage_model,
    decode_working_status,
)
from custom_components.v2x.devices.echonet.values import decode_grid
from custom_components.v2x.devices.errors import (
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ResponseImpossibleError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.family import Connection, DeviceKind
from custom_components.v2x.devices.model import AnnouncingCharger, ChargerState, ChargerStatus
from simulator.clock import SimClock
from simulator.echonet import EchonetConfig, EchonetTwin
from simulator.echonet_storage import STORAGE_EOJ, StorageConfig
from simulator.faults import Fault, FaultKind
from simulator.world import Grid
from tests.core.devices.echonet_helpers import until


def h(text: str) -> bytes:
    """Bytes from hex with spaces."""
    return bytes.fromhex(text.replace(" ", ""))


# -- decoders -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "power", "state"),
    [
        (0x40, None, ChargerState.OTHER),
        (0x41, None, ChargerState.CHARGING),  # rapid charging
        (0x42, 0, ChargerState.CHARGING),
        (0x43, 0, ChargerState.DISCHARGING),
        (0x44, 0, ChargerState.STANDBY),
        (0x45, None, ChargerState.OTHER),  # test
        (0x46, 1500, ChargerState.CHARGING),  # auto: the sign of 0xD3 tells
        (0x46, -800, ChargerState.DISCHARGING),
        (0x46, 0, ChargerState.STANDBY),
        (0x46, None, ChargerState.STANDBY),
        (0x48, None, ChargerState.STARTING),  # restart
        (0x49, None, ChargerState.OTHER),  # capacity recalculation
    ],
)
def test_working_status(code: int, power: int | None, state: ChargerState) -> None:
    assert decode_working_status(code, power) is state
    assert state in STATES


@pytest.mark.parametrize("code", [0x00, 0x30, 0x47, 0x4A, 0xFF])
def test_working_status_out_of_range(code: int) -> None:
    with pytest.raises(ValueOutOfRangeError, match="0xCF"):
        decode_working_status(code, None)


def test_power_range_is_minimum_then_maximum() -> None:
    # MRA order: uint32 minimum, uint32 maximum (pychonet labels the first one "max").
    assert decode_power_range(h("00000064 00000BB8"), "0xC8") == PowerRange(100, 3000)
    assert decode_power_range(h("00000000 FFFFFFFF"), "0xC9") == PowerRange(0, 0xFFFFFFFF)
    with pytest.raises(ValueOutOfRangeError, match="minimum comes first"):
        decode_power_range(h("00000BB8 00000064"), "0xC8")
    with pytest.raises(DeviceProtocolError, match="expected 8 bytes"):
        decode_power_range(h("00000064 000BB8"), "0xC8")
    assert decode_power_range(None, "0xC8") is None


def test_instantaneous_power_is_signed() -> None:
    assert decode_power({0xD3: h("00000BB8")}) == 3000
    assert decode_power({0xD3: h("FFFFF448")}) == -3000
    assert decode_power({0xD3: h("80000000")}) == -0x80000000
    assert decode_power({0xD3: None}) is None
    with pytest.raises(DeviceProtocolError, match="0xD3"):
        decode_power({0xD3: h("0BB8")})


def test_battery_type_grid_and_percent() -> None:
    assert decode_battery_type(0x04) == "lithium_ion"
    assert decode_battery_type(0x00) == "unknown"
    assert decode_battery_type(0x01) == "lead"
    with pytest.raises(ValueOutOfRangeError, match="0xE6"):
        decode_battery_type(0x07)
    assert decode_grid(0x00) is True
    assert decode_grid(0x01) is False
    assert decode_grid(0x02) is True
    with pytest.raises(ValueOutOfRangeError, match="0xDB"):
        decode_grid(0x03)
    assert decode_percent({0xE4: h("64")}, 0xE4, "soc") == 100
    with pytest.raises(ValueOutOfRangeError, match="soc"):
        decode_percent({0xE4: h("65")}, 0xE4, "soc")
    with pytest.raises(DeviceProtocolError):
        decode_percent({0xE4: h("0032")}, 0xE4, "soc")
    assert decode_storage_model(b"ESS-98\x00\x00\x00\x00\x00\x00") == "ESS-98"
    assert decode_storage_model(None) == "Storage battery"
    assert decode_storage_model(b"\x00" * 12) == "Storage battery"


def test_info_gates_everything_on_the_maps() -> None:
    bare = StorageBatteryInfo(
        get_map=frozenset({0x80, 0x9F, 0xDA}),
        set_map=frozenset({0xDA}),
        charge=None,
        discharge=None,
        rated_energy_wh=None,
    )
    assert bare.mode_epc == 0xDA  # no 0xCF: the set mode
    assert bare.soc_epc is None
    assert bare.status_epcs() == [0xDA]
    assert bare.snapshot_epcs() == [0xDA]
    capabilities = bare.capabilities()
    assert not capabilities.reports_grid
    assert not capabilities.energy_counters
    assert not capabilities.vehicle_energy
    assert not capabilities.watchdog
    assert capabilities.max_power_w == capabilities.min_power_w == 0
    assert capabilities.bidirectional
    cells = StorageBatteryInfo(
        get_map=frozenset({0xCF, 0xD6, 0xD8, 0xE2, 0xA8}),
        set_map=frozenset(),
        charge=PowerRange(0, 0),
        discharge=PowerRange(200, 2000),
        rated_energy_wh=5000,
    )
    assert cells.counter_epcs == (0xD8, 0xD6)  # 0xA9 missing: the 0xD8/0xD6 pair
    assert cells.soc_epc == 0xE2
    assert cells.status_epcs() == [0xCF, 0xE2]
    capabilities = cells.capabilities()
    assert capabilities.energy_counters
    assert capabilities.vehicle_energy
    assert not capabilities.bidirectional  # 0 W maximum charge
    assert (capabilities.min_power_w, capabilities.max_power_w) == (200, 2000)


def test_family() -> None:
    assert FAMILY.key == "echonet_storage"
    assert FAMILY.kind is DeviceKind.CHARGER
    assert FAMILY.default_port == 3610
    assert FAMILY.shared_endpoint
    assert not FAMILY.watchdog
    assert FAMILY.network_scan
    assert FAMILY.scan_class == 0x027D
    # A tribrid node holds a 0x027E and a 0x027D: each object is its own entry.
    assert FAMILY.scan_unique_id("FE00006C01") == "FE00006C01-027D01"
    assert FAMILY.scan_unique_id("FE00006C01", 2) == "FE00006C01-027D02"
    with pytest.raises(ValueError, match="endpoint"):
        FAMILY.create_charger(Connection(host="127.0.0.1", port=3610))


def test_discovered_node_names_its_storage_batteries() -> None:
    ev, battery = Eoj(0x02, 0x7E, 0x01), Eoj(0x02, 0x7D, 0x01)
    node = DiscoveredNode("192.0.2.1", 3610, (ev, battery))
    assert node.ev_chargers == (ev,)
    assert node.storage_batteries == (battery,)
    assert DiscoveredNode("192.0.2.2", 3610, (ev,)).storage_batteries == ()


# -- against the twin -------------------------------------------------------------------------


@pytest.fixture
def storage() -> StorageConfig:
    return StorageConfig(capacity_kwh=10, soc_pct=50)


@pytest.fixture
async def twin(
    endpoint: EchonetEndpoint, storage: StorageConfig, clock: SimClock, grid: Grid
) -> AsyncIterator[EchonetTwin]:
    """A storage battery alone, announcing to the endpoint's port (unicast)."""
    config = EchonetConfig(
        port=0,
        ev_charger=False,
        storage=storage,
        reboot_s=0.5,
        announce_host="127.0.0.1",
        announce_port=endpoint.local_address[1],
    )
    device = EchonetTwin(config, clock, grid)
    await device.start()
    yield device
    await device.stop()


@pytest.fixture
def battery(endpoint: EchonetEndpoint, twin: EchonetTwin) -> EchonetStorageBattery:
    client = EchonetClient(endpoint, "127.0.0.1", twin.port, timeout_s=0.3, retries=1)
    return EchonetStorageBattery(client)


async def test_identity_and_capabilities(battery: EchonetStorageBattery) -> None:
    identity = await battery.async_read_identity()
    assert identity.manufacturer == "Nichicon"
    assert identity.model == "Storage battery"
    # The node's identification (0x83) and the object: a tribrid's charger has the first.
    assert identity.serial_number == "FE00006C455650532D53494D2D30303031-027D01"
    assert identity.firmware_version == "Release R"
    assert battery.requests_sent == 2  # node profile + the object
    capabilities = battery.capabilities
    assert capabilities.bidirectional
    assert not capabilities.watchdog
    assert not capabilities.remote_control
    assert capabilities.reports_grid
    assert capabilities.energy_counters
    assert capabilities.vehicle_energy
    assert (capabilities.min_power_w, capabilities.max_power_w) == (100, 3000)
    assert battery.info is not None
    assert battery.info.battery_type == 0x04
    assert battery.watchdog_s == 0
    assert battery.connects == 1
    assert isinstance(battery, AnnouncingCharger)


async def test_status_and_snapshot_cost_one_request(
    battery: EchonetStorageBattery, twin: EchonetTwin
) -> None:
    await battery.async_read_identity()
    sent = battery.requests_sent
    status = await battery.async_read_status()
    assert battery.requests_sent == sent + 1
    assert status.state is ChargerState.STANDBY
    assert status.state_code == 0x44
    assert status.power_w == 0
    assert status.soc.value_pct == 50
    assert status.grid_available is True
    assert status.vehicle_connected is True
    assert not status.in_error
    snapshot = await battery.async_read_snapshot()
    assert battery.requests_sent == sent + 2
    assert snapshot.vehicle_capacity_kwh == 10
    assert snapshot.vehicle_energy_kwh == 5
    assert snapshot.state_of_health_pct == 96
    assert snapshot.charged_energy_kwh == snapshot.discharged_energy_kwh == 0
    assert snapshot.max_charge_power_w == snapshot.max_discharge_power_w == 3000
    assert snapshot.max_available_power_w == 3000
    assert snapshot.power_setpoint_w == 0
    assert snapshot.control is None
    # What the Get asked for: the status EPCs, then the snapshot ones.
    assert twin.requests[-1].epcs == (
        *(0xCF, 0xD3, 0xE4, 0x88, 0xDB),
        *(0xDA, 0xEB, 0xEC, 0xC7, 0xE2, 0xA8, 0xA9, 0xE5),
    )


async def test_the_first_poll_reads_identity(battery: EchonetStorageBattery) -> None:
    status = await battery.async_read_status()
    assert status.state is ChargerState.STANDBY
    assert battery.requests_sent == 3


async def test_set_power_both_ways_and_standby(
    battery: EchonetStorageBattery, twin: EchonetTwin, clock: SimClock
) -> None:
    storage = twin.storage
    assert storage is not None
    await battery.async_read_identity()
    sent = battery.requests_sent
    assert await battery.async_set_power(2000) == 2000
    assert battery.requests_sent == sent + 4  # 0xEB, read back, 0xDA, read back
    assert (storage.charge_setpoint_w, storage.operation_mode) == (2000, 0x42)
    clock.advance(3)
    status = await battery.async_read_status()
    assert status.state is ChargerState.CHARGING
    assert status.power_w == 2000
    snapshot = await battery.async_read_snapshot()
    assert snapshot.power_setpoint_w == 2000
    assert await battery.async_set_power(-5000) == -3000  # clamped to 0xC9's maximum
    assert (storage.discharge_setpoint_w, storage.operation_mode) == (3000, 0x43)
    clock.advance(5)
    status = await battery.async_read_status()
    assert status.state is ChargerState.DISCHARGING
    assert status.power_w == -3000
    assert status.supplying
    assert (await battery.async_read_snapshot()).power_setpoint_w == -3000
    assert await battery.async_set_power(0) == 0
    assert storage.operation_mode == 0x44
    clock.advance(5)
    status = await battery.async_read_status()
    assert (status.state, status.power_w) == (ChargerState.STANDBY, 0)
    snapshot = await battery.async_read_snapshot()
    assert snapshot.charged_energy_kwh is not None
    assert snapshot.charged_energy_kwh > 0
    assert snapshot.discharged_energy_kwh is not None
    assert snapshot.discharged_energy_kwh > 0
    await battery.async_set_power(-1000)
    await battery.async_release_control()
    assert storage.operation_mode == 0x44
    await battery.async_take_control()
    await battery.async_stop()
    await battery.async_close()


async def test_a_refused_set(battery: EchonetStorageBattery, twin: EchonetTwin) -> None:
    # 50 W is below the unit's 100 W minimum (0xC8): the unit refuses it, nothing runs.
    with pytest.raises(ResponseImpossibleError, match="0xEB"):
        await battery.async_set_power(50)
    assert twin.storage is not None
    assert twin.storage.operation_mode == 0x44


async def test_a_write_that_does_not_stick(
    battery: EchonetStorageBattery, twin: EchonetTwin
) -> None:
    await battery.async_set_power(-1000)
    twin._objects[STORAGE_EOJ].writers[0xDA] = lambda edt: True  # acknowledged, ignored
    with pytest.raises(WriteNotVerifiedError, match="operation_mode"):
        await battery.async_set_power(0)


@pytest.mark.parametrize("storage", [StorageConfig(capacity_kwh=8, soc_pct=40, remaining=(0xE2,))])
async def test_soc_from_the_stored_energy(battery: EchonetStorageBattery) -> None:
    status = await battery.async_read_status()
    assert status.soc.value_pct == 40  # 3200 Wh / 8000 Wh (0xE2 / 0xC7)
    assert battery.info is not None
    assert battery.info.soc_epc == 0xE2


@pytest.mark.parametrize(
    "storage", [StorageConfig(omit=(0xD3, 0xE5, 0xEB, 0xEC, 0xC7), remaining=(0xE3,))]
)
async def test_missing_optional_properties(battery: EchonetStorageBattery) -> None:
    await battery.async_read_identity()
    capabilities = battery.capabilities
    assert not capabilities.vehicle_energy
    status = await battery.async_read_status()
    assert status.power_w == 0
    assert status.soc.value_pct is None  # 0xE3 (Ah) alone gives no SoC
    snapshot = await battery.async_read_snapshot()
    assert snapshot.state_of_health_pct is None
    assert snapshot.vehicle_capacity_kwh is None
    sent = battery.requests_sent
    assert await battery.async_set_power(1000) == 1000
    assert battery.requests_sent == sent + 2  # no 0xEB: the mode alone


async def test_announcements_reach_the_listener(
    battery: EchonetStorageBattery, twin: EchonetTwin, clock: SimClock, grid: Grid
) -> None:
    seen: list[ChargerStatus] = []
    stop: Callable[[], None] = await battery.async_listen(seen.append)
    polled = await battery.async_read_status()
    await battery.async_set_power(-1000)
    await asyncio.sleep(0.1)
    assert seen == []  # 0xDA is not status; 0xCF still reads standby (preparing)
    requests = len(twin.requests)
    clock.advance(2)
    await twin.housekeeping()
    await until(seen, 1)
    assert seen[-1].state is ChargerState.DISCHARGING
    assert seen[-1].soc == polled.soc
    grid.available = False
    await twin.housekeeping()
    await until(seen, 2)
    assert seen[-1].grid_available is False
    assert len(twin.requests) == requests  # nothing was asked
    stop()


# What one status poll gives under each fault: an exception type, or the state it reports.
EXPECTED: dict[FaultKind, type[DeviceError] | ChargerState] = {
    FaultKind.REFUSE: DeviceTimeoutError,
    FaultKind.STALL: DeviceTimeoutError,
    FaultKind.DROP: ChargerState.STANDBY,  # one datagram lost: the retry answers
    FaultKind.EXCEPTION: DeviceProtocolError,  # every property "impossible"
    FaultKind.SHORT: DeviceTimeoutError,  # truncated frames are not replies
    FaultKind.GARBAGE: DeviceTimeoutError,
    FaultKind.REBOOT: DeviceTimeoutError,
    FaultKind.SOC_GLITCH: ChargerState.STANDBY,
    FaultKind.ERROR: ChargerState.ERROR,
}


@pytest.mark.parametrize("kind", list(FaultKind))
async def test_every_fault_is_typed_and_recovers(
    battery: EchonetStorageBattery, twin: EchonetTwin, clock: SimClock, kind: FaultKind
) -> None:
    before = await battery.async_read_status()
    twin.apply_fault(Fault(kind, duration_s=100, delay_s=1.0, code=7, count=1))
    await twin.housekeeping()
    expected = EXPECTED[kind]
    if isinstance(expected, ChargerState):
        status = await battery.async_read_status()
        assert status.state is expected
        if kind is FaultKind.SOC_GLITCH:  # the glitch never reaches a decision
            assert status.soc.value_pct == before.soc.value_pct
            assert status.soc.stale
        if kind is FaultKind.ERROR:
            assert status.errors.unrecoverable == 1
            assert status.in_error
    else:
        with pytest.raises(expected):
            await battery.async_read_status()
    twin.clear_faults()
    clock.advance(1)  # a reboot is over
    await twin.housekeeping()
    recovered: ChargerStatus | None = None
    for _ in range(10):
        try:
            recovered = await battery.async_read_status()
        except DeviceError:
            await asyncio.sleep(0.05)
            continue
        break
    assert recovered is not None, f"no recovery from {kind}"
    assert recovered.state is ChargerState.STANDBY
    assert recovered.soc.value_pct == before.soc.value_pct


async def test_a_different_unit_at_the_address(
    battery: EchonetStorageBattery, twin: EchonetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    await battery.async_read_identity()
    other = b"\xfe\x00\x00\x6c" + b"OTHER-UNIT-01"
    node = twin._objects[b"\x0e\xf0\x01"]
    monkeypatch.setitem(node.readers, 0x83, lambda: other)
    with pytest.raises(DeviceProtocolError, match="different device"):
        await battery.async_read_identity()


async def test_malformed_replies_are_protocol_errors(
    battery: EchonetStorageBattery, twin: EchonetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    await battery.async_read_status()
    device = twin._objects[STORAGE_EOJ]
    monkeypatch.setitem(device.readers, 0xCF, lambda: h("4444"))
    with pytest.raises(DeviceProtocolError, match="0xCF: expected 1 bytes"):
        await battery.async_read_status()
    monkeypatch.setitem(device.readers, 0xCF, lambda: h("47"))
    with pytest.raises(ValueOutOfRangeError, match="0xCF"):
        await battery.async_read_status()
    monkeypatch.setitem(device.readers, 0xCF, lambda: h("44"))
    monkeypatch.setitem(device.readers, 0x88, lambda: h("40"))
    with pytest.raises(ValueOutOfRangeError, match="0x88"):
        await battery.async_read_status()
    monkeypatch.setitem(device.readers, 0x88, lambda: h("42"))
    monkeypatch.setitem(device.readers, 0xE4, lambda: h("65"))
    with pytest.raises(ValueOutOfRangeError, match="0xE4"):
        await battery.async_read_status()


async def test_the_family_builds_the_profile(endpoint: EchonetEndpoint) -> None:
    built = FAMILY.create_charger(Connection(host="127.0.0.1", port=3610, endpoint=endpoint))
    assert isinstance(built, EchonetStorageBattery)
    assert built.client.retries == 2


@pytest.mark.parametrize("epc", [0x83, 0x8A, 0x9F])
async def test_identity_needs_its_properties(
    battery: EchonetStorageBattery, twin: EchonetTwin, monkeypatch: pytest.MonkeyPatch, epc: int
) -> None:
    for eoj in (b"\x0e\xf0\x01", STORAGE_EOJ):
        monkeypatch.setitem(twin._objects[eoj].readers, epc, lambda: None)
    with pytest.raises(DeviceProtocolError, match=f"0x{epc:02X}"):
        await battery.async_read_identity()


async def test_odd_announcements_are_ignored(
    battery: EchonetStorageBattery, twin: EchonetTwin, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[ChargerStatus] = []
    await battery.async_listen(seen.append)
    twin.update_state({"storage_soc_pct": 60})
    monkeypatch.setitem(twin._objects[STORAGE_EOJ].readers, 0xCF, lambda: h("42"))
    await twin.housekeeping()  # before the first read: nothing to change
    await asyncio.sleep(0.1)
    await battery.async_read_status()
    monkeypatch.setitem(twin._objects[STORAGE_EOJ].readers, 0xCF, lambda: h("47"))
    await twin.housekeeping()  # a code 0x027D does not have
    await asyncio.sleep(0.1)
    monkeypatch.setitem(twin._objects[STORAGE_EOJ].readers, 0xCF, lambda: h("42"))
    await twin.housekeeping()  # back to what the poll read: no change
    await asyncio.sleep(0.1)
    assert seen == []
