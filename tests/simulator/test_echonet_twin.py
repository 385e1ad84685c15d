"""The ECHONET Lite twin (Nichicon-like EV charger/discharger) over real loopback UDP.

Every request and most expected replies are written by hand from protocols.md
section 4.1 (frame: 10 81, TID, SEOJ, DEOJ, ESV, OPC, EPC/PDC/EDT) and 4.2 (class
0x027E), with the helpers of :mod:`tests.simulator.echonet_frames`; they are
deliberately not built with the twin's own encoder. The controller is 0x05FF01
throughout.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import logging
import socket
import time
from typing import Any

import pytest

from simulator.battery import Battery
from simulator.clock import SimClock
from simulator.echonet import EchonetConfig, EchonetTwin, parse_frame, property_map
from simulator.faults import Fault, FaultKind
from simulator.world import Grid
from tests.simulator.echonet_frames import (
    IDENT,
    Udp,
    decode_map,
    get,
    h,
    open_client,
    read_property,
    req,
    res,
    setc,
    write_property,
)


@pytest.fixture
def config() -> EchonetConfig:
    return EchonetConfig(port=0)


@pytest.fixture
async def twin(
    allow_loopback: None, config: EchonetConfig, clock: SimClock, grid: Grid
) -> AsyncIterator[EchonetTwin]:
    device = EchonetTwin(config, clock, grid)
    await device.start()
    yield device
    await device.stop()


@pytest.fixture
async def udp(twin: EchonetTwin) -> AsyncIterator[Udp]:
    client = await open_client(twin.port)
    yield client
    client.transport.close()


async def read(udp: Udp, epc: str) -> bytes:
    """One property of 0x027E01 via Get; the EDT (checks the reply's framing)."""
    return await read_property(udp, "027E01", epc)


async def write(udp: Udp, epc: str, edt: str) -> None:
    """SetC one property of 0x027E01 and expect Set_Res."""
    await write_property(udp, "027E01", epc, edt)


def is_listening(device: EchonetTwin) -> bool:
    """Through a function, so that mypy does not narrow the property between calls."""
    return device.listening


def last_applied(device: EchonetTwin) -> bool:
    return device.writes[-1].applied


# -- node profile ---------------------------------------------------------------------


async def test_node_profile_instance_list(twin: EchonetTwin, udp: Udp) -> None:
    reply = await udp.ask(get("0001", "0EF001", "D6"))
    assert reply == res("0001", "0EF001", "72", "01 D6 04 01 027E01")
    # Instance code 0x00 addresses every node profile instance; the reply names 0x01.
    reply = await udp.ask(get("0002", "0EF000", "D6"))
    assert reply == res("0002", "0EF001", "72", "01 D6 04 01 027E01")
    assert twin.requests[0].esv == 0x62
    assert twin.requests[0].deoj == 0x0EF001
    assert twin.requests[0].epcs == (0xD6,)


async def test_node_profile_properties(udp: Udp) -> None:
    reply = await udp.ask(get("0003", "0EF001", "D3", "D4", "D7", "82", "83", "8A", "80"))
    assert reply == res(
        "0003",
        "0EF001",
        "72",
        "07 D3 03 000001 D4 02 0002 D7 03 01 027E 82 04 010D0100 "
        f"83 11 {IDENT} 8A 03 00006C 80 01 30",
    )


async def test_node_profile_maps_and_announcement_only_d5(udp: Udp) -> None:
    reply = await udp.ask(get("0004", "0EF001", "9D", "9E", "9F"))
    assert reply == res(
        "0004",
        "0EF001",
        "72",
        "03 9D 03 02 80 D5 9E 01 00 9F 0C 0B 80 82 83 8A 9D 9E 9F D3 D4 D6 D7",
    )
    # 0xD5 is announcement-only: Get cannot answer it, INF_REQ can.
    assert await udp.ask(get("0005", "0EF001", "D5")) == res("0005", "0EF001", "52", "01 D5 00")
    reply = await udp.ask(req("0006", "0EF001", "63", "01 D5 00"))
    assert reply == res("0006", "0EF001", "73", "01 D5 04 01 027E01")
    # Nothing in the node profile is settable.
    reply = await udp.ask(setc("0007", ("80", "31"), deoj="0EF001"))
    assert reply == res("0007", "0EF001", "51", "01 80 01 31")


# -- the charger/discharger object -------------------------------------------------------


async def test_device_property_maps(udp: Udp) -> None:
    reply = await udp.ask(get("0010", "027E01", "9D", "9E", "9F"))
    # 42 EPCs, bitmap form: byte i, bit j set for EPC (j + 8) x 0x10 + i (section 4.1).
    get_map = "2A 71 41 71 21 70 30 70 10 31 11 31 70 71 22 12 12"
    assert reply == res(
        "0010",
        "027E01",
        "72",
        "03 9D 0A 09 80 81 88 C7 DA DB DC DD E1 "
        "9E 0B 0A 81 CD D7 D9 DA DC DD E0 EB EC "
        f"9F 11 {get_map}",
    )
    expected_get = {
        *(0x80, 0x81, 0x82, 0x83, 0x88, 0x89, 0x8A, 0x8C, 0x9D, 0x9E, 0x9F),
        *(0xC0, 0xC2, 0xC4, 0xC5, 0xC6, 0xC7, 0xC8, 0xC9, 0xCA, 0xCB, 0xCC, 0xCE, 0xCF),
        *(0xD0, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD8, 0xDA, 0xDB, 0xDC, 0xDD),
        *(0xE0, 0xE1, 0xE2, 0xE4, 0xE6, 0xEB, 0xEC),
    }
    assert decode_map(h(get_map)) == expected_get
    # Every EPC in the Get map is answered (a car is plugged, 0xC7 needs 0xCD first).
    await write(udp, "CD", "10")
    for epc in sorted(expected_get):
        assert await read(udp, f"{epc:02X}")  # Get_Res with data


async def test_mandatory_current_range_and_vehicle_id(udp: Udp) -> None:
    """0xCA/0xCB (Get M, Release R): 2 x uint16 in 0.1 A, min then max; 0xE6 (Get M):
    a length byte and the vehicle's id, "response impossible" without a car."""
    await write(udp, "CD", "10")
    # 6000 W at the rated 200 V: 30.0 A = 300 = 0x012C.
    assert await read(udp, "CA") == h("0000 012C")
    assert await read(udp, "CB") == h("0000 012C")
    vin = b"JN1FAAZE0U0000001"
    assert await read(udp, "E6") == bytes([len(vin)]) + vin


def test_vehicle_id_must_fit_the_property() -> None:
    with pytest.raises(ValueError, match="0xE6"):
        EchonetConfig(vehicle_id="X" * 25)


def test_property_map_forms() -> None:
    assert property_map([0x9F, 0x80]) == h("02 80 9F")
    fifteen = list(range(0x80, 0x8F))
    assert property_map(fifteen) == bytes([15, *fifteen])
    sixteen = [*range(0x80, 0x8F), 0xFF]
    assert property_map(sixteen) == h("10") + h("01" * 15 + "80")


async def test_superclass_and_ratings(udp: Udp) -> None:
    reply = await udp.ask(get("0011", "027E01", "80", "81", "82", "83", "88", "89", "8A", "8C"))
    assert reply == res(
        "0011",
        "027E01",
        "72",
        f"08 80 01 30 81 01 00 82 04 0000 52 01 83 11 {IDENT} 88 01 42 89 02 0000 "
        "8A 03 00006C 8C 0C 45565053 2D53494D 00000000",
    )
    reply = await udp.ask(get("0012", "027E00", "C5", "C6", "C8", "C9", "CC", "D2", "D5", "DB"))
    assert reply == res(
        "0012",
        "027E01",
        "72",
        "08 C5 04 00001770 C6 04 00001770 C8 08 00000000 00001770 "
        "C9 08 00000000 00001770 CC 01 22 D2 02 00C8 D5 02 00C8 DB 01 00",
    )
    reply = await udp.ask(get("0013", "027E01", "DA", "DC", "DD", "E0", "E1", "EB", "EC", "D3"))
    assert reply == res(
        "0013",
        "027E01",
        "72",
        "08 DA 01 44 DC 01 03 DD 01 03 E0 04 00000000 E1 01 44 "
        "EB 04 00000000 EC 04 00000000 D3 04 00000000",
    )


async def test_vehicle_values(udp: Udp) -> None:
    # 40 kWh at 60 %, floor 5 %, cap 97 %.
    reply = await udp.ask(get("0014", "027E01", "C0", "C2", "C4", "CE", "CF", "D0", "E2", "E4"))
    assert reply == res(
        "0014",
        "027E01",
        "72",
        "08 C0 04 00008FC0 C2 04 000055F0 C4 01 3C CE 04 00009790 CF 04 000039D0 "
        "D0 04 00009C40 E2 04 00005DC0 E4 01 3C",
    )


async def test_installation_location(udp: Udp) -> None:
    await write(udp, "81", "08")
    assert await read(udp, "81") == h("08")
    await write(udp, "81", "01" + "00" * 16)
    assert await read(udp, "81") == h("01" + "00" * 16)
    reply = await udp.ask(setc("0015", ("81", "0102")))
    assert reply == res("0015", "027E01", "51", "01 81 02 0102")


# -- vehicle connection ---------------------------------------------------------------------


async def test_no_car_vehicle_properties_are_impossible(twin: EchonetTwin, udp: Udp) -> None:
    twin.update_state({"plugged": False})
    reply = await udp.ask(get("0020", "027E01", "C0", "C5", "E4", "C7"))
    assert reply == res("0020", "027E01", "52", "04 C0 00 C5 04 00001770 E4 00 C7 01 30")
    for epc in ("C2", "C4", "CE", "CF", "D0", "E2"):
        assert await udp.ask(get("0021", "027E01", epc)) == res(
            "0021", "027E01", "52", f"01 {epc} 00"
        )
    # INF_REQ follows the same rule.
    reply = await udp.ask(req("0022", "027E01", "63", "02 E4 00 C7 00"))
    assert reply == res("0022", "027E01", "53", "02 E4 00 C7 01 30")
    # Charge or discharge without a car is refused; standby is fine.
    reply = await udp.ask(setc("0023", ("DA", "42"), ("DA", "44")))
    assert reply == res("0023", "027E01", "51", "02 DA 01 42 DA 00")
    reply = await udp.ask(setc("0024", ("DA", "43")))
    assert reply == res("0024", "027E01", "51", "01 DA 01 43")


async def test_confirmation_before_connection_status(twin: EchonetTwin, udp: Udp) -> None:
    assert await udp.ask(get("0030", "027E01", "C7")) == res("0030", "027E01", "52", "01 C7 00")
    reply = await udp.ask(setc("0031", ("CD", "11")))
    assert reply == res("0031", "027E01", "51", "01 CD 01 11")
    assert await udp.ask(get("0032", "027E01", "C7")) == res("0032", "027E01", "52", "01 C7 00")
    assert await udp.ask(setc("0033", ("CD", "10"))) == res("0033", "027E01", "71", "01 CD 00")
    assert await udp.ask(get("0034", "027E01", "C7")) == res("0034", "027E01", "72", "01 C7 01 43")
    twin.update_state({"soc_pct": 5})  # at the discharge floor: chargeable only
    assert await read(udp, "C7") == h("41")
    twin.update_state({"soc_pct": 97})  # at the charge cap: dischargeable only
    assert await read(udp, "C7") == h("42")
    twin.update_state({"plugged": True})  # no change: confirmation kept
    assert await read(udp, "C7") == h("42")
    # Unplug and plug: the confirmation is forgotten.
    twin.update_state({"plugged": False})
    assert await read(udp, "C7") == h("30")
    twin.update_state({"plugged": True})
    assert await udp.ask(get("0035", "027E01", "C7")) == res("0035", "027E01", "52", "01 C7 00")
    # INF_REQ of 0xC7 (an announced property) obeys the same rule.
    twin.update_state({"soc_pct": 60})
    reply = await udp.ask(req("0036", "027E01", "63", "01 C7 00"))
    assert reply == res("0036", "027E01", "53", "01 C7 00")
    await write(udp, "CD", "10")
    reply = await udp.ask(req("0037", "027E01", "63", "01 C7 00"))
    assert reply == res("0037", "027E01", "73", "01 C7 01 43")


@pytest.mark.parametrize(
    ("equipment", "soc", "status", "refused_mode"),
    [(0x21, 60.0, "41", "43"), (0x23, 60.0, "42", "42"), (0x21, 97.0, "40", "43")],
)
async def test_one_way_units(
    allow_loopback: None,
    clock: SimClock,
    equipment: int,
    soc: float,
    status: str,
    refused_mode: str,
) -> None:
    config = EchonetConfig(port=0, equipment_type=equipment, car=Battery(soc_pct=soc))
    device = EchonetTwin(config, clock)
    await device.start()
    udp = await open_client(device.port)
    try:
        await write(udp, "CD", "10")
        assert await read(udp, "C7") == h(status)
        assert await read(udp, "CC") == bytes([equipment])
        reply = await udp.ask(setc("0038", ("DA", refused_mode)))
        assert reply == res("0038", "027E01", "51", f"01 DA 01 {refused_mode}")
    finally:
        udp.transport.close()
        await device.stop()


async def test_non_aa_unit_needs_no_confirmation(allow_loopback: None, clock: SimClock) -> None:
    config = EchonetConfig(port=0, equipment_type=0x13)  # AC_HLC charge/discharge
    device = EchonetTwin(config, clock)
    await device.start()
    udp = await open_client(device.port)
    try:
        assert await read(udp, "C7") == h("43")
        assert 0xCD not in decode_map(await read(udp, "9E"))
        reply = await udp.ask(setc("0039", ("CD", "10")))
        assert reply == res("0039", "027E01", "51", "01 CD 01 10")
    finally:
        udp.transport.close()
        await device.stop()


# -- setting and verifying ------------------------------------------------------------------


async def test_set_and_verify_setpoints(twin: EchonetTwin, udp: Udp) -> None:
    reply = await udp.ask(setc("0040", ("EB", "00000BB8"), ("EC", "00001770")))
    assert reply == res("0040", "027E01", "71", "02 EB 00 EC 00")
    reply = await udp.ask(get("0041", "027E01", "EB", "EC"))
    assert reply == res("0041", "027E01", "72", "02 EB 04 00000BB8 EC 04 00001770")
    # Above the rating, wrong length, or one refused among accepted ones.
    reply = await udp.ask(setc("0042", ("EB", "00001771"), ("EC", "0FA0"), ("DA", "47")))
    assert reply == res("0042", "027E01", "51", "03 EB 04 00001771 EC 02 0FA0 DA 00")
    assert await read(udp, "EB") == h("00000BB8")
    assert await read(udp, "DA") == h("47")
    assert await read(udp, "E1") == h("47")
    for mode in ("40", "41", "45", "46", "48", "49"):
        reply = await udp.ask(setc("0043", ("DA", mode)))
        assert reply == res("0043", "027E01", "51", f"01 DA 01 {mode}")
    reply = await udp.ask(setc("0044", ("DA", "4242")))
    assert reply == res("0044", "027E01", "51", "01 DA 02 4242")
    # Methods 0x00..0x06 only.
    await write(udp, "DC", "01")
    await write(udp, "DD", "02")
    reply = await udp.ask(setc("0045", ("DC", "07"), ("DD", "0102")))
    assert reply == res("0045", "027E01", "51", "02 DC 01 07 DD 02 0102")
    assert await udp.ask(get("0046", "027E01", "DC", "DD")) == res(
        "0046", "027E01", "72", "02 DC 01 01 DD 01 02"
    )
    assert [(w.address, w.value) for w in twin.writes][:2] == [(0xEB, 3000), (0xEC, 6000)]


async def test_seti(twin: EchonetTwin, udp: Udp) -> None:
    await udp.silent(setc("0050", ("EB", "000007D0"), esv="60"))
    assert await read(udp, "EB") == h("000007D0")
    reply = await udp.ask(setc("0051", ("EB", "00002710"), ("EC", "00000001"), esv="60"))
    assert reply == res("0051", "027E01", "50", "02 EB 04 00002710 EC 00")
    assert await read(udp, "EC") == h("00000001")


async def test_property_access_rules(udp: Udp) -> None:
    # Set-only properties cannot be read, read-only ones cannot be set.
    reply = await udp.ask(get("0060", "027E01", "CD", "D7", "80"))
    assert reply == res("0060", "027E01", "52", "03 CD 00 D7 00 80 01 30")
    reply = await udp.ask(setc("0061", ("80", "31"), ("E4", "64")))
    assert reply == res("0061", "027E01", "51", "02 80 01 31 E4 01 64")
    # A Get carrying data is not a valid Get; a Set without data is refused.
    reply = await udp.ask(req("0062", "027E01", "62", "01 80 01 30"))
    assert reply == res("0062", "027E01", "52", "01 80 00")
    reply = await udp.ask(req("0063", "027E01", "61", "01 DA 00"))
    assert reply == res("0063", "027E01", "51", "01 DA 00")
    # INF_REQ of a readable property that is not announced still answers.
    reply = await udp.ask(req("0064", "027E01", "63", "02 E4 00 DA 00"))
    assert reply == res("0064", "027E01", "73", "02 E4 01 3C DA 01 44")
    # SetGet is not supported: SetGet_SNA with the set part echoed.
    reply = await udp.ask(req("0065", "027E01", "6E", "01 DA 01 42 01 E4 00"))
    assert reply == res("0065", "027E01", "5E", "01 DA 01 42 01 E4 00")


async def test_unknown_objects_and_services(twin: EchonetTwin, udp: Udp) -> None:
    reply = await udp.ask(get("0070", "027D01", "E4"))
    assert reply == res("0070", "027D01", "52", "01 E4 00")
    reply = await udp.ask(setc("0071", ("DA", "42"), deoj="027E02"))
    assert reply == res("0071", "027E02", "51", "01 DA 01 42")
    reply = await udp.ask(setc("0072", ("DA", "42"), deoj="027D01", esv="60"))
    assert reply == res("0072", "027D01", "50", "01 DA 01 42")
    reply = await udp.ask(req("0073", "013001", "63", "01 80 00"))
    assert reply == res("0073", "013001", "53", "01 80 00")
    reply = await udp.ask(req("0074", "013001", "6E", "01 80 01 30 02 80 00 81 00"))
    assert reply == res("0074", "013001", "5E", "01 80 01 30 02 80 00 81 00")
    # ESVs without an SNA get nothing: responses, notifications, INFC.
    for esv in ("72", "73", "74", "7A", "52"):
        await udp.silent(req("0075", "027E01", esv, "01 80 01 30"))
    assert twin.operation_mode == 0x44


@pytest.mark.parametrize(
    "frame",
    [
        "1081 0001 05FF01 027E01 62",  # too short
        "1082 0001 05FF01 027E01 62 01 80 00",  # wrong EHD2
        "1081 0001 05FF01 027E01 62 00",  # OPC 0
        "1081 0001 05FF01 027E01 62 02 80 00",  # OPC says 2, one property
        "1081 0001 05FF01 027E01 62 01 80",  # no PDC
        "1081 0001 05FF01 027E01 61 01 DA 02 42",  # EDT shorter than PDC
        "1081 0001 05FF01 027E01 62 01 80 00 00",  # trailing byte
        "1081 0001 05FF01 027E01 6E 01 DA 01 42",  # SetGet without its get part
    ],
)
async def test_malformed_frames_are_ignored(
    twin: EchonetTwin, udp: Udp, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="simulator.echonet")
    await udp.silent(frame)
    assert twin.requests == []
    assert "malformed" in caplog.text
    assert await udp.ask(get("0076", "027E01", "80")) == res("0076", "027E01", "72", "01 80 01 30")


async def test_replies_go_to_each_source(twin: EchonetTwin, udp: Udp) -> None:
    other = await open_client(twin.port)
    try:
        udp.send(get("0101", "027E01", "80"))
        other.send(get("0202", "027E01", "88"))
        assert await udp.receive() == res("0101", "027E01", "72", "01 80 01 30")
        assert await other.receive() == res("0202", "027E01", "72", "01 88 01 42")
    finally:
        other.transport.close()


def test_parse_frame_setget() -> None:
    frame = parse_frame(h("1081 0009 05FF01 027E01 6E 01 DA 01 42 00"))
    assert frame is not None
    assert frame.properties == ((0xDA, b"\x42"),)
    assert frame.get_properties == ()


# -- physics ----------------------------------------------------------------------------------


async def test_charge_with_preparation_and_ramp(
    twin: EchonetTwin, udp: Udp, clock: SimClock
) -> None:
    await write(udp, "EB", "00001770")
    await write(udp, "DA", "42")
    assert await read(udp, "DA") == h("42")
    assert await read(udp, "E1") == h("48")
    clock.advance(1.5)
    assert await read(udp, "E1") == h("48")
    assert await read(udp, "D3") == h("00000000")
    clock.advance(0.5)
    assert await read(udp, "E1") == h("42")
    assert await read(udp, "D3") == h("00000000")
    clock.advance(1)
    assert await read(udp, "D3") == h("00000BB8")
    assert await read(udp, "D4") == h("0096")  # 3000 W / 200 V = 15.0 A
    clock.advance(1)
    assert await read(udp, "D3") == h("00001770")
    assert twin.actual_power_w == 6000
    # Setting charge again does not restart the preparation.
    await write(udp, "DA", "42")
    assert await read(udp, "E1") == h("42")
    # One hour at 6 kW: 6000 Wh plus the ramp (0.5 * 3000 W * 2 s = 1.67 Wh).
    clock.advance(3600)
    assert await read(udp, "D8") == (6001).to_bytes(4, "big")
    assert await read(udp, "D6") == h("00000000")
    assert await read(udp, "E4") == h("4A")  # 60 % + 6.0017 kWh * 0.95 / 40 kWh = 74.25 %
    await write(udp, "D9", "00")
    assert await read(udp, "D8") == h("00000000")
    reply = await udp.ask(setc("0080", ("D9", "01"), ("D7", "0000")))
    assert reply == res("0080", "027E01", "51", "02 D9 01 01 D7 02 0000")
    # Standby: the actual mode follows at once, the power ramps down.
    await write(udp, "DA", "44")
    assert await read(udp, "E1") == h("44")
    clock.advance(1)
    assert await read(udp, "D3") == h("00000BB8")
    clock.advance(1)
    assert await read(udp, "D3") == h("00000000")


async def test_discharge_and_counters(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    await write(udp, "EC", "00000FA0")
    await write(udp, "DA", "43")
    assert await read(udp, "E1") == h("48")
    clock.advance(3)
    assert await read(udp, "E1") == h("43")
    assert await read(udp, "D3") == h("FFFFF448")  # -3000 W
    clock.advance(1)
    assert await read(udp, "D3") == h("FFFFF060")  # -4000 W
    assert await read(udp, "D4") == h("FF38")  # -20.0 A
    clock.advance(3600)
    # 4000 Wh in the hour plus the ramp (0.5 * 3000 * 1 + 3500 * 1) / 3600.
    assert await read(udp, "D6") == (4001).to_bytes(4, "big")
    assert await read(udp, "D8") == h("00000000")
    await write(udp, "D7", "00")
    assert await read(udp, "D6") == h("00000000")
    # Changing direction goes through the preparation again.
    await write(udp, "EB", "000003E8")
    await write(udp, "DA", "42")
    assert await read(udp, "E1") == h("48")
    clock.advance(2)
    twin.advance()
    assert twin.actual_power_w == 0  # the ramp reached 0 during the preparation
    clock.advance(1)
    assert await read(udp, "D3") == h("000003E8")
    # Idle stops as well.
    await write(udp, "DA", "47")
    clock.advance(1)
    assert await read(udp, "D3") == h("00000000")
    assert await read(udp, "E1") == h("47")


async def test_charge_stops_when_the_car_is_full(
    twin: EchonetTwin, udp: Udp, clock: SimClock
) -> None:
    twin.update_state({"soc_pct": 96.99})
    await write(udp, "EB", "00001770")
    await write(udp, "DA", "42")
    clock.advance(600)
    twin.advance()
    assert twin.battery.soc_pct == 97.0
    assert await read(udp, "D3") == h("00000000")
    await write(udp, "CD", "10")
    assert await read(udp, "C7") == h("42")


async def test_methods(twin: EchonetTwin, udp: Udp, clock: SimClock, grid: Grid) -> None:
    await write(udp, "DC", "01")  # maximum power: the rating, whatever 0xEB says
    await write(udp, "DA", "42")
    clock.advance(5)
    assert await read(udp, "D3") == h("00001770")
    await write(udp, "DC", "02")  # PV surplus: none simulated
    clock.advance(2)
    assert await read(udp, "D3") == h("00000000")
    grid.house_load_w = 1500
    await write(udp, "DD", "02")  # load following
    await write(udp, "DA", "43")
    clock.advance(3)
    assert await read(udp, "D3") == (-1500).to_bytes(4, "big", signed=True)
    await write(udp, "DD", "01")
    clock.advance(2)
    assert await read(udp, "D3") == (-6000).to_bytes(4, "big", signed=True)


async def test_load_following_without_a_grid_object(allow_loopback: None, clock: SimClock) -> None:
    device = EchonetTwin(EchonetConfig(port=0), clock)
    assert device._grid_up()
    device._change_mode(0x43)
    device.discharging_method = 0x02
    clock.advance(5)
    device.advance()
    assert device.actual_power_w == 0


async def test_power_setting_only_in_v2g(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    # Method 0x03: 0xE0 is acknowledged but ignored.
    await write(udp, "E0", "00000BB8")
    assert await read(udp, "E0") == h("00000000")
    assert await read(udp, "DA") == h("44")
    assert twin.writes[-1].address == 0xE0
    assert not last_applied(twin)
    # V2G charging method: positive -> charge.
    await write(udp, "DC", "06")
    await write(udp, "E0", "00000BB8")
    assert last_applied(twin)
    assert await read(udp, "E0") == h("00000BB8")
    assert await read(udp, "DA") == h("42")
    assert await read(udp, "E1") == h("48")
    clock.advance(3)
    assert await read(udp, "D3") == h("00000BB8")
    # Negative -> discharge; the discharging method decides the power.
    await write(udp, "DD", "06")
    await write(udp, "E0", "FFFFF830")  # -2000 W
    assert await read(udp, "DA") == h("43")
    clock.advance(4)
    assert await read(udp, "D3") == h("FFFFF830")
    # Above the rating is clamped; zero -> standby.
    await write(udp, "E0", "C4653601")  # -999 999 999
    clock.advance(3)
    assert await read(udp, "D3") == (-6000).to_bytes(4, "big", signed=True)
    await write(udp, "E0", "00000000")
    assert await read(udp, "DA") == h("44")
    # Out of range, wrong length.
    reply = await udp.ask(setc("0090", ("E0", "3B9ACA00"), ("E0", "0BB8")))
    assert reply == res("0090", "027E01", "51", "02 E0 04 3B9ACA00 E0 02 0BB8")
    # Without a car a V2G charge command is refused.
    twin.update_state({"plugged": False})
    reply = await udp.ask(setc("0091", ("E0", "00000001")))
    assert reply == res("0091", "027E01", "51", "01 E0 04 00000001")
    assert await read(udp, "E0") == h("00000000")


async def test_v2g_discharge_uses_the_discharging_method(
    twin: EchonetTwin, udp: Udp, clock: SimClock
) -> None:
    await write(udp, "DC", "06")  # only charging is V2G
    await write(udp, "EC", "000003E8")
    await write(udp, "E0", "FFFFF830")
    assert await read(udp, "DA") == h("43")
    clock.advance(3)
    assert await read(udp, "D3") == (-1000).to_bytes(4, "big", signed=True)
    await write(udp, "DD", "06")
    await write(udp, "DA", "42")  # V2G charge with a negative setting: nothing
    clock.advance(3)
    assert await read(udp, "D3") == h("00000000")


async def test_grid_outage(twin: EchonetTwin, udp: Udp, clock: SimClock, grid: Grid) -> None:
    await write(udp, "EB", "00001770")
    await write(udp, "DA", "42")
    clock.advance(5)
    twin.advance()
    assert twin.actual_power_w == 6000
    grid.available = False
    assert await read(udp, "DB") == h("01")
    assert await read(udp, "D3") == h("00000000")  # at once
    assert await read(udp, "E1") == h("44")
    assert await read(udp, "DA") == h("42")
    clock.advance(5)
    assert await read(udp, "D3") == h("00000000")
    # Discharging continues off-grid.
    await write(udp, "EC", "000007D0")
    await write(udp, "DA", "43")
    clock.advance(3)
    assert await read(udp, "D3") == (-2000).to_bytes(4, "big", signed=True)
    assert await read(udp, "E1") == h("43")
    assert twin.describe()["grid_connected_type"] == 0x01
    grid.available = True
    assert await read(udp, "DB") == h("00")
    assert twin.describe()["grid_connected_type"] == 0x00


async def test_unplug_while_charging(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    await write(udp, "EB", "00001770")
    await write(udp, "DA", "42")
    clock.advance(5)
    twin.update_state({"plugged": False})
    assert twin.actual_power_w == 0
    assert await read(udp, "DA") == h("44")
    twin.update_state({"plugged": True})
    clock.advance(5)
    assert await read(udp, "D3") == h("00000000")


def test_window_of_zero(clock: SimClock) -> None:
    car = Battery(soc_pct=50, charge_cap_pct=5, discharge_floor_pct=5)
    device = EchonetTwin(EchonetConfig(port=0, car=car), clock)
    assert device._dischargeable_pct() == b"\x00"
    assert device._chargeable_wh() == 0


# -- faults -------------------------------------------------------------------------------


async def test_refuse(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    port = twin.port
    twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=5))
    assert not is_listening(twin)
    assert twin.describe()["faults"] == ["refuse"]
    await twin.housekeeping()
    assert not is_listening(twin)
    await udp.silent(get("00A0", "027E01", "80"))
    wall[0] += 5
    await twin.housekeeping()
    assert is_listening(twin)
    assert twin.port == port
    assert await udp.ask(get("00A1", "027E01", "80")) == res("00A1", "027E01", "72", "01 80 01 30")


async def test_refuse_then_port_taken(
    twin: EchonetTwin, wall: list[float], caplog: pytest.LogCaptureFixture
) -> None:
    twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=1))
    await twin.housekeeping()  # the port is released once housekeeping returns
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        blocker.bind(("127.0.0.1", twin.port))
        wall[0] += 1
        await twin.housekeeping()
        assert not is_listening(twin)
        assert "Cannot reopen" in caplog.text
    finally:
        blocker.close()
    await twin.housekeeping()
    assert is_listening(twin)


async def test_start_while_refusing(
    allow_loopback: None, clock: SimClock, wall: list[float]
) -> None:
    device = EchonetTwin(EchonetConfig(port=0), clock)
    device.apply_fault(Fault(FaultKind.REFUSE, duration_s=1))
    await device.start()
    assert not is_listening(device)
    wall[0] += 1
    await device.housekeeping()
    assert is_listening(device)
    await device.stop()
    await device.housekeeping()  # stopped: stays closed
    assert not is_listening(device)


async def test_stall(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.STALL, duration_s=10, delay_s=0.3))
    started = time.monotonic()
    udp.send(get("00B0", "027E01", "80"))
    with pytest.raises(TimeoutError):
        await udp.receive(wait=0.15)
    assert await udp.receive(wait=2) == res("00B0", "027E01", "72", "01 80 01 30")
    assert time.monotonic() - started >= 0.3
    wall[0] += 10
    assert await udp.ask(get("00B1", "027E01", "80"), wait=0.2) == res(
        "00B1", "027E01", "72", "01 80 01 30"
    )


async def test_stop_cancels_stalled_replies(twin: EchonetTwin, udp: Udp) -> None:
    twin.apply_fault(Fault(FaultKind.STALL, delay_s=0.2))
    udp.send(get("00B2", "027E01", "80"))
    await asyncio.sleep(0.05)
    assert twin._pending
    await twin.stop()
    assert not twin._pending
    await asyncio.sleep(0.3)
    assert udp.protocol.replies.empty()


async def test_stalled_reply_after_socket_closed(twin: EchonetTwin, udp: Udp) -> None:
    twin.apply_fault(Fault(FaultKind.STALL, delay_s=0.1))
    udp.send(get("00B3", "027E01", "80"))
    await asyncio.sleep(0.02)
    twin.apply_fault(Fault(FaultKind.REFUSE))
    await asyncio.sleep(0.2)
    assert not twin._pending
    assert all(not isinstance(r, bytes) for r in _drain(udp))


def _drain(udp: Udp) -> list[bytes | Exception]:
    items = []
    while not udp.protocol.replies.empty():
        items.append(udp.protocol.replies.get_nowait())
    return items


async def test_drop(twin: EchonetTwin, udp: Udp) -> None:
    twin.apply_fault(Fault(FaultKind.DROP, count=2))
    await udp.silent(get("00C0", "027E01", "80"))
    await udp.silent(setc("00C1", ("DA", "47")))
    assert twin.operation_mode == 0x44  # the dropped SetC was not applied
    assert await udp.ask(get("00C2", "027E01", "80")) == res("00C2", "027E01", "72", "01 80 01 30")
    assert [r.esv for r in twin.requests] == [0x62, 0x61, 0x62]


async def test_exception(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.EXCEPTION, duration_s=3))
    assert await udp.ask(get("00D0", "027E01", "80", "88")) == res(
        "00D0", "027E01", "52", "02 80 00 88 00"
    )
    assert await udp.ask(get("00D1", "0EF000", "D6")) == res("00D1", "0EF001", "52", "01 D6 00")
    assert await udp.ask(setc("00D2", ("DA", "47"))) == res("00D2", "027E01", "51", "01 DA 01 47")
    assert await udp.ask(setc("00D3", ("DA", "47"), esv="60")) == res(
        "00D3", "027E01", "50", "01 DA 01 47"
    )
    assert await udp.ask(req("00D4", "027E01", "63", "01 80 00")) == res(
        "00D4", "027E01", "53", "01 80 00"
    )
    await udp.silent(req("00D5", "027E01", "72", "01 80 01 30"))
    assert twin.operation_mode == 0x44
    wall[0] += 3
    await write(udp, "DA", "47")


async def test_short(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.SHORT, duration_s=1))
    assert await udp.ask(get("00E0", "027E01", "88")) == res("00E0", "027E01", "72", "01 88 01")
    wall[0] += 1
    assert await udp.ask(get("00E1", "027E01", "88")) == res("00E1", "027E01", "72", "01 88 01 42")


async def test_garbage(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=1))
    for _ in range(5):
        reply = await udp.ask(get("00E2", "027E01", "80"))
        assert reply[0] != 0x10
        assert parse_frame(reply) is None
    wall[0] += 1
    assert await udp.ask(get("00E3", "027E01", "80")) == res("00E3", "027E01", "72", "01 80 01 30")


async def test_reboot(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    await write(udp, "CD", "10")
    await write(udp, "EB", "00001770")
    await write(udp, "DA", "42")
    clock.advance(5)
    twin.apply_fault(Fault(FaultKind.REBOOT))
    assert twin.actual_power_w == 0
    assert twin.describe()["rebooting"] is True
    await udp.silent(get("00F0", "027E01", "80"))
    clock.advance(4.9)
    await udp.silent(get("00F1", "027E01", "80"))
    clock.advance(0.1)
    reply = await udp.ask(get("00F2", "027E01", "DA", "E1", "EB", "EC", "E0", "D3", "C7"))
    assert reply == res(
        "00F2",
        "027E01",
        "52",
        "07 DA 01 44 E1 01 44 EB 04 00000000 EC 04 00000000 E0 04 00000000 D3 04 00000000 C7 00",
    )


async def test_soc_glitch(twin: EchonetTwin, udp: Udp) -> None:
    twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=2))
    assert twin.describe()["faults"] == ["soc_glitch"]
    assert await read(udp, "E4") == h("00")
    assert await read(udp, "E4") == h("00")
    assert await read(udp, "E4") == h("3C")


async def test_error(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    await write(udp, "EB", "00001770")
    await write(udp, "DA", "42")
    clock.advance(5)
    twin.apply_fault(Fault(FaultKind.ERROR, code=0x12345))
    assert twin.actual_power_w == 0
    assert await udp.ask(get("0100", "027E01", "88", "89", "E1", "D3")) == res(
        "0100", "027E01", "72", "04 88 01 41 89 02 2345 E1 01 40 D3 04 00000000"
    )
    clock.advance(5)
    assert await read(udp, "D3") == h("00000000")
    assert twin.describe()["fault_code"] == 0x2345
    twin.clear_faults()
    assert await udp.ask(get("0101", "027E01", "88", "89", "E1")) == res(
        "0101", "027E01", "72", "03 88 01 42 89 02 0000 E1 01 42"
    )
    clock.advance(2)
    assert await read(udp, "D3") == h("00001770")


async def test_clear_faults(twin: EchonetTwin, udp: Udp) -> None:
    for kind in FaultKind:
        if kind is not FaultKind.REBOOT:
            twin.apply_fault(Fault(kind, count=3))
    assert set(twin.describe()["faults"]) == {k.value for k in FaultKind} - {"reboot"}
    twin.clear_faults()
    assert twin.describe()["faults"] == []
    await twin.housekeeping()
    assert is_listening(twin)
    assert await udp.ask(get("0110", "027E01", "E4")) == res("0110", "027E01", "72", "01 E4 01 3C")


# -- control API surface --------------------------------------------------------------------


async def test_describe(twin: EchonetTwin, udp: Udp) -> None:
    await write(udp, "EB", "000003E8")
    info = twin.describe()
    assert info["kind"] == "echonet_lite"
    assert info["port"] == twin.port
    assert info["listening"] is True
    assert info["plugged"] is True
    assert info["soc_pct"] == 60
    assert info["operation_mode"] == 0x44
    assert info["actual_mode"] == 0x44
    assert info["charge_setpoint_w"] == 1000
    assert info["requests"] == 1
    assert info["writes"] == 1
    assert info["faults"] == []
    assert twin.name == "nichicon"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"plugged": "yes"}, "plugged"),
        ({"soc_pct": 101}, "0..100"),
        ({"soc_pct": "half"}, "number"),
        ({"soc_pct": True}, "number"),
        ({"plugged": False, "soc_pct": -1}, "0..100"),
        ({"colour": "red"}, "unknown keys"),
    ],
)
async def test_update_state_validation(
    twin: EchonetTwin, payload: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        twin.update_state(payload)
    assert twin.plugged is True
    assert twin.battery.soc_pct == 60


async def test_update_state(twin: EchonetTwin) -> None:
    twin.update_state({"plugged": False, "soc_pct": 42.5})
    assert twin.plugged is False
    assert twin.battery.soc_pct == 42.5
    twin.update_state({})
    assert twin.describe()["plugged"] is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"manufacturer_code": 0x1000000},
        {"identification": b"\xfe" + bytes(15)},
        {"identification": bytes(17)},
        {"product_code": "X" * 13},
        {"product_code": "EVPS-\u00e9"},
        {"release": "RR"},
        {"rated_charge_w": 0},
        {"rated_discharge_w": 0x100000000},
        {"equipment_type": 0x99},
        {"ramp_w_per_s": 0},
        {"preparation_s": -1},
        {"port": 70000},
    ],
)
def test_config_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=r"."):
        EchonetConfig(**kwargs)


def test_config_defaults() -> None:
    config = EchonetConfig()
    assert config.port == 3610
    assert config.identification == h(IDENT)
    assert config.car.capacity_kwh == 40
    assert config.car.soc_pct == 60
    other = EchonetConfig(manufacturer_code=0x00003C)
    assert other.identification[:4] == h("FE00003C")


async def test_socket_errors_are_only_logged(
    twin: EchonetTwin, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="simulator.echonet")
    assert twin._protocol is not None
    twin._protocol.error_received(ConnectionRefusedError("port unreachable"))
    assert "port unreachable" in caplog.text
    assert is_listening(twin)
