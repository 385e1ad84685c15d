"""Zendure local API client: parsing against the documented shape, and the simulator twin.

``fixtures/zendure_report.json`` is written by hand from Zendure's openapi.yaml and
en_properties.md (field names, units, the older tenths-of-a-percent socSet/minSoc).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import copy
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from custom_components.v2x.backup.runtime import energy_above_floor_kwh
from custom_components.v2x.devices.errors import (
    CommandRefusedError,
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.zendure import (
    MAX_REQUEST_BYTES,
    ZendureAuthError,
    ZendureClient,
    chunk_writes,
    parse_report,
    percent_from_device,
)
from simulator.faults import Fault, FaultKind
from simulator.world import Simulation, parse_scenario
from simulator.zendure import ZendureTwin

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "zendure_report.json").read_text())


@pytest.fixture
async def zsim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """A Zendure SolarFlow twin (2 packs, 70 %, output mode, 200 W limit)."""
    sim = Simulation(parse_scenario({"zendure": [{"port": 0}]}), control_port=0)
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def session(allow_loopback: None) -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp session, as Home Assistant would inject."""
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def _twin(sim: Simulation) -> ZendureTwin:
    return sim.zendures["zendure"]


def _client(
    sim: Simulation, session: aiohttp.ClientSession, timeout_s: float = 2.0
) -> ZendureClient:
    return ZendureClient(session, "127.0.0.1", _twin(sim).port, timeout_s=timeout_s)


def test_parse_documented_report() -> None:
    """Every documented conversion: 0.1 K, signed 0.1 A, 0.01 V, tenths of a percent."""
    report = parse_report(FIXTURE)
    assert report.serial_number == "HOA1NAH4N000001"
    assert report.product == "SolarFlow 800 Pro"
    assert report.soc_pct == 64
    assert report.battery_power_w == -350  # packInputPower = discharging
    assert report.home_output_w == 320
    assert report.grid_connected is True
    assert report.temperature_c == 28.0  # (3011 - 2731) / 10
    assert report.battery_voltage_v == 48.15
    assert report.max_soc_pct == 95.0  # socSet 950 = 95.0 % (older unit)
    assert report.min_soc_pct == 15.0
    assert report.soc_in_tenths
    assert report.output_enabled
    first = report.packs[0]
    assert first.max_temperature_c == 25.0  # (2981 - 2731) / 10
    assert first.current_a == -3.6  # 65500 as int16 = -36 -> -3.6 A
    assert (first.max_cell_v, first.min_cell_v) == (3.35, 3.31)
    assert report.pack_count == 2
    state = report.battery_state(capacity_kwh=3.84)
    assert state.remaining_minutes == 412
    energy = energy_above_floor_kwh(state.soc.value_pct, 15, state.capacity_kwh)
    assert energy == pytest.approx(0.49 * 3.84)


def test_percent_units() -> None:
    """Whole percent (new document) and tenths (old document) both read as percent."""
    assert percent_from_device("socSet", 90, tenths=False) == 90.0
    assert percent_from_device("socSet", 900, tenths=True) == 90.0
    assert percent_from_device("minSoc", 100, tenths=True) == 10.0
    assert percent_from_device("minSoc", 0, tenths=False) == 0.0
    assert percent_from_device("minSoc", None, tenths=False) is None
    with pytest.raises(ValueOutOfRangeError):
        percent_from_device("socSet", 60, tenths=False)
    report = copy.deepcopy(FIXTURE)
    del report["properties"]["socSet"]
    assert parse_report(report).min_soc_pct == 15.0  # minSoc 150 > 50: tenths


@pytest.mark.parametrize(
    ("change", "error"),
    [
        (lambda r: r.pop("sn"), DeviceProtocolError),
        (lambda r: r.update(properties=[]), DeviceProtocolError),
        (lambda r: r.update(packData={}), DeviceProtocolError),
        (lambda r: r["properties"].pop("electricLevel"), DeviceProtocolError),
        (lambda r: r["properties"].update(electricLevel="64"), DeviceProtocolError),
        (lambda r: r["properties"].update(electricLevel=True), DeviceProtocolError),
        (lambda r: r["properties"].update(electricLevel=101), ValueOutOfRangeError),
        (lambda r: r["properties"].update(gridState=3), ValueOutOfRangeError),
        (lambda r: r["packData"].append("pack"), DeviceProtocolError),
        (lambda r: r["packData"][0].pop("sn"), DeviceProtocolError),
        (lambda r: r["packData"][0].update(socLevel=-1), ValueOutOfRangeError),
    ],
)
def test_schema_violations(change: Any, error: type[Exception]) -> None:
    """A body that breaks the documented schema is a typed error, never a guess."""
    report = copy.deepcopy(FIXTURE)
    change(report)
    with pytest.raises(error):
        parse_report(report)
    with pytest.raises(DeviceProtocolError):
        parse_report([])


def test_chunked_writes_stay_under_512_bytes() -> None:
    """Many properties are split over several requests, each at most 512 bytes."""
    properties = {f"property{i:02d}": 1000 + i for i in range(40)}
    bodies = chunk_writes("HOA1NAH4N000001", properties)
    assert len(bodies) > 1
    assert all(len(body) <= MAX_REQUEST_BYTES for body in bodies)
    merged: dict[str, int] = {}
    for body in bodies:
        decoded = json.loads(body)
        assert decoded["sn"] == "HOA1NAH4N000001"
        merged |= decoded["properties"]
    assert merged == properties
    with pytest.raises(ValueOutOfRangeError):
        chunk_writes("x" * 600, {"acMode": 1})


async def test_read_from_twin(zsim: Simulation, session: aiohttp.ClientSession) -> None:
    """The client reads the twin's report; identity and reading follow."""
    client = _client(zsim, session)
    identity = await client.async_read_identity()
    assert (identity.manufacturer, identity.model) == ("Zendure", "SolarFlow 800 Pro")
    assert identity.serial_number == "HOA1NAH4N123456"
    reading = await client.async_read()
    assert reading.state.soc.value_pct == 70
    assert reading.state.capacity_kwh == 3.84  # 2 packs x 1.92 kWh estimate
    assert reading.home_output_w == 200
    assert reading.state.power_w == -200
    assert reading.state.grid_available is True
    assert len(reading.packs) == 2
    assert client.capabilities.output_limit
    assert client.requests_sent == 2
    client.capacity_kwh = 5.0
    assert (await client.async_read()).state.capacity_kwh == 5.0
    await client.async_close()


async def test_writes_are_verified_and_enable_smart_mode(
    zsim: Simulation, session: aiohttp.ClientSession
) -> None:
    """A write adds smartMode=1 once; the twin's settings change."""
    client = _client(zsim, session)
    twin = _twin(zsim)
    await client.async_set_output(enabled=True, limit_w=600)
    assert twin.settings["outputLimit"] == 600
    assert twin.settings["smartMode"] == 1
    assert [w.address for w in twin.writes] == ["smartMode", "acMode", "outputLimit"]
    await client.async_set_output(enabled=False)
    assert twin.settings["outputLimit"] == 0
    await client.async_set_output(enabled=True)  # the last non-zero limit comes back
    assert twin.settings["outputLimit"] == 600
    await client.async_set_input_limit(500)
    assert (twin.settings["acMode"], twin.settings["inputLimit"]) == (1, 500)
    await client.async_set_input_limit(0)
    assert twin.settings["inputLimit"] == 0
    await client.async_set_soc_limits(min_pct=20, max_pct=90)
    assert (twin.settings["minSoc"], twin.settings["socSet"]) == (20, 90)
    await client.async_set_soc_limits()
    assert twin.writes[-1].address == "socSet"


async def test_tenths_device_gets_tenths(
    allow_loopback: None, session: aiohttp.ClientSession
) -> None:
    """A device that reports tenths of a percent is written in tenths."""
    sim = Simulation(
        parse_scenario({"zendure": [{"port": 0, "soc_in_tenths": True}]}), control_port=0
    )
    await sim.start()
    try:
        client = _client(sim, session)
        await client.async_set_soc_limits(min_pct=25, max_pct=85)
        assert (_twin(sim).settings["minSoc"], _twin(sim).settings["socSet"]) == (250, 850)
        reading = await client.async_read()
        assert (reading.state.min_soc_pct, reading.state.max_soc_pct) == (25.0, 85.0)
    finally:
        await sim.stop()


async def test_write_that_does_not_stick(zsim: Simulation, session: aiohttp.ClientSession) -> None:
    """The twin clamps limits to its 800 W inverter: verification catches it."""
    client = _client(zsim, session)
    with pytest.raises(WriteNotVerifiedError) as err:
        await client.async_set_output(enabled=True, limit_w=2000)
    assert (err.value.name, err.value.written, err.value.read_back) == ("outputLimit", 2000, 800)


async def test_invalid_writes_refused_locally(
    zsim: Simulation, session: aiohttp.ClientSession
) -> None:
    """Unknown properties and out-of-range values never leave the client."""
    client = _client(zsim, session)
    with pytest.raises(CommandRefusedError):
        await client.async_write({"electricLevel": 50})
    with pytest.raises(ValueOutOfRangeError):
        await client.async_write({"socSet": 60})
    with pytest.raises(CommandRefusedError):
        await client.async_set_dc_output(True)
    with pytest.raises(CommandRefusedError):
        await client.async_set_grid_charge(True)
    assert client.requests_sent == 0
    assert _twin(zsim).writes == []


async def test_device_rejects_bad_body(zsim: Simulation, session: aiohttp.ClientSession) -> None:
    """The twin answers 400 to a wrong sn, a long body or bad JSON; the client says so."""
    twin = _twin(zsim)
    url = f"http://127.0.0.1:{twin.port}/properties/write"
    bodies = [
        json.dumps({"sn": "WRONG", "properties": {"acMode": 1}}),
        json.dumps({"sn": twin.config.serial, "properties": {"acMode": 9}}),
        json.dumps({"sn": twin.config.serial, "properties": {"packNum": 1}}),
        json.dumps({"sn": twin.config.serial, "properties": {}}),
        json.dumps({"sn": twin.config.serial, "properties": {"acMode": 1}, "pad": "x" * 600}),
        "not json",
    ]
    for body in bodies:
        async with session.post(url, data=body) as response:
            assert response.status == 400, body
    assert twin.writes == []
    client = _client(zsim, session)
    await client.async_read()
    client._session = session
    with pytest.raises(CommandRefusedError) as err:
        await client._post(bodies[0].encode())
    assert err.value.reason == "device_rejected"


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        (Fault(FaultKind.EXCEPTION, code=500), DeviceProtocolError),
        (Fault(FaultKind.EXCEPTION, code=401), ZendureAuthError),
        (Fault(FaultKind.GARBAGE), DeviceProtocolError),
        (Fault(FaultKind.SHORT), DeviceProtocolError),
        (Fault(FaultKind.STALL, delay_s=1.0), DeviceTimeoutError),
        (Fault(FaultKind.REFUSE), DeviceConnectionError),
        # aiohttp retries a GET once on a reused connection: drop two in a row.
        (Fault(FaultKind.DROP, count=2), DeviceConnectionError),
        (Fault(FaultKind.REBOOT), DeviceConnectionError),
    ],
    ids=lambda value: getattr(getattr(value, "kind", None), "value", None) or value.__name__,
)
async def test_faults_are_typed_errors(
    zsim: Simulation, session: aiohttp.ClientSession, fault: Fault, error: type[Exception]
) -> None:
    """Each fault kind becomes its typed error; clearing the fault recovers."""
    client = _client(zsim, session, timeout_s=0.4)
    await client.async_read()
    _twin(zsim).apply_fault(fault)
    await zsim.tick()
    with pytest.raises(error):
        await client.async_read()
    _twin(zsim).clear_faults()
    await zsim.tick()
    assert (await client.async_read()).state.soc.value_pct == 70


async def test_error_flag(zsim: Simulation, session: aiohttp.ClientSession) -> None:
    """is_error and faultLevel reach the reading."""
    _twin(zsim).apply_fault(Fault(FaultKind.ERROR, code=3))
    reading = await _client(zsim, session).async_read()
    assert reading.error


async def test_other_device_at_the_address(
    zsim: Simulation, session: aiohttp.ClientSession
) -> None:
    """A different serial at the same address is refused, not silently adopted."""
    client = _client(zsim, session)
    await client.async_read()
    _twin(zsim).config.serial = "HOA1NAH4N999999"
    with pytest.raises(DeviceProtocolError, match="different device"):
        await client.async_read()


async def test_ipv6_base_url(session: aiohttp.ClientSession) -> None:
    """IPv6 literals are bracketed in URLs."""
    assert ZendureClient(session, "fe80::1", 80).base_url == "http://[fe80::1]:80"


async def test_restart_restores_flash_settings(
    zsim: Simulation, session: aiohttp.ClientSession
) -> None:
    """With smartMode=1 writes live in RAM: a restart brings back the flash values."""
    client = _client(zsim, session)
    twin = _twin(zsim)
    await client.async_set_output(enabled=True, limit_w=600)
    assert twin.settings["outputLimit"] == 600
    assert twin.flash["outputLimit"] == 200
    assert twin.flash["smartMode"] == 1
    twin.apply_fault(Fault(FaultKind.REBOOT))
    assert twin.settings["outputLimit"] == 200
