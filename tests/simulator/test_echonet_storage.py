"""The ECHONET Lite twin's storage battery 0x027D01 (alone or in a tribrid node) over UDP.

Requests and expected replies are written by hand from protocols.md 4.1 (frame) and
4.4 (class 0x027D): uint32 Wh/W big-endian, int32 0xD3, 2 x uint32 min/max 0xC8/0xC9,
uint8 codes and %. The twin's unit: 10 kWh at 50 %, 80 % efficient (so that the AC
capacities 0xA0-0xA5 differ from the stored energy), 100-3000 W both ways, limits
100 % / 10 %, 200 V nominal, a 1 s preparation and a 2000 W/s ramp.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from simulator.clock import SimClock
from simulator.echonet import EchonetConfig, EchonetTwin, parse_frame
from simulator.echonet_storage import StorageConfig, storage_config
from simulator.faults import Fault, FaultKind
from simulator.world import Grid, Simulation, parse_scenario
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


def unit(**changes: Any) -> StorageConfig:
    """The test unit, with ``changes``."""
    fields: dict[str, Any] = {
        "capacity_kwh": 10,
        "soc_pct": 50,
        "efficiency": 0.8,
        "remaining": (0xE2, 0xE3, 0xE4),
    }
    return StorageConfig(**(fields | changes))


class _Queue(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.frames: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str | Any, int]) -> None:
        self.frames.put_nowait(data)


@pytest.fixture
async def heard(allow_loopback: None) -> AsyncIterator[tuple[asyncio.DatagramTransport, _Queue]]:
    """A controller socket the twin announces to (unicast)."""
    transport, protocol = await asyncio.get_running_loop().create_datagram_endpoint(
        _Queue, local_addr=("127.0.0.1", 0)
    )
    yield transport, protocol
    transport.close()


@pytest.fixture
def storage() -> StorageConfig:
    return unit()


@pytest.fixture
def ev_charger() -> bool:
    return True


@pytest.fixture
async def twin(
    heard: tuple[asyncio.DatagramTransport, _Queue],
    storage: StorageConfig,
    ev_charger: bool,
    clock: SimClock,
    grid: Grid,
) -> AsyncIterator[EchonetTwin]:
    port = int(heard[0].get_extra_info("sockname")[1])
    config = EchonetConfig(
        port=0,
        storage=storage,
        ev_charger=ev_charger,
        announce_host="127.0.0.1",
        announce_port=port,
    )
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
    """One property of 0x027D01 via Get; the EDT (checks the reply's framing)."""
    return await read_property(udp, "027D01", epc)


async def write(udp: Udp, epc: str, edt: str) -> None:
    """SetC one property of 0x027D01 and expect Set_Res."""
    await write_property(udp, "027D01", epc, edt)


async def refused(udp: Udp, epc: str, edt: str) -> None:
    """SetC one property of 0x027D01 and expect SetC_SNA echoing it."""
    reply = await udp.ask(setc("00FD", (epc, edt), deoj="027D01"))
    assert reply == res("00FD", "027D01", "51", f"01 {epc} {len(h(edt)):02X} {edt}"), reply.hex()


# -- the node ---------------------------------------------------------------------------


async def test_tribrid_node_profile_lists_both_objects(udp: Udp) -> None:
    reply = await udp.ask(get("0001", "0EF001", "D3", "D4", "D6", "D7"))
    assert reply == res(
        "0001",
        "0EF001",
        "72",
        "04 D3 03 000002 D4 02 0003 D6 07 02 027E01 027D01 D7 05 02 027E 027D",
    )
    reply = await udp.ask(req("0002", "0EF001", "63", "01 D5 00"))
    assert reply == res("0002", "0EF001", "73", "01 D5 07 02 027E01 027D01")
    # Both objects answer; instance 0x00 reaches the storage battery too.
    assert await udp.ask(get("0003", "027E01", "80")) == res("0003", "027E01", "72", "01 80 01 30")
    assert await udp.ask(get("0004", "027D00", "80")) == res("0004", "027D01", "72", "01 80 01 30")


@pytest.mark.parametrize("ev_charger", [False])
async def test_storage_only_node(twin: EchonetTwin, udp: Udp) -> None:
    reply = await udp.ask(get("0005", "0EF001", "D3", "D4", "D6", "D7"))
    assert reply == res(
        "0005", "0EF001", "72", "04 D3 03 000001 D4 02 0002 D6 04 01 027D01 D7 03 01 027D"
    )
    # No EV charger object: every property of a request to it is refused.
    assert await udp.ask(get("0006", "027E01", "80", "E4")) == res(
        "0006", "027E01", "52", "02 80 00 E4 00"
    )
    assert twin.rated_discharge_w == 3000
    assert twin.describe()["ev_charger"] is False


def test_a_node_holds_something() -> None:
    with pytest.raises(ValueError, match="EV charger, a storage battery or both"):
        EchonetConfig(ev_charger=False)


# -- the maps and every property ------------------------------------------------------------

GET_EPCS = {
    *(0x80, 0x81, 0x82, 0x83, 0x88, 0x8A, 0x97, 0x98, 0x9D, 0x9E, 0x9F),
    *range(0xA0, 0xAC),
    *(0xC1, 0xC2, 0xC7, 0xC8, 0xC9, 0xCF, 0xD3, 0xD6, 0xD8, 0xDA, 0xDB),
    *(0xE2, 0xE3, 0xE4, 0xE5, 0xE6, 0xEB, 0xEC),
}


async def test_property_maps(udp: Udp) -> None:
    reply = await udp.ask(get("0010", "027D01", "9D", "9E", "9F"))
    # 41 EPCs: bitmap form, byte i bit j for EPC (j + 8) x 0x10 + i (section 4.1).
    get_map = "29 05 15 55 65 44 44 64 16 37 14 25 64 40 02 02 12"
    assert reply == res(
        "0010",
        "027D01",
        "72",
        "03 9D 0B 0A 80 81 88 AA AB C1 C2 CF DA DB "
        "9E 0B 0A 81 A6 A7 AA AB C1 C2 DA EB EC "
        f"9F 11 {get_map}",
    )
    assert decode_map(h(get_map)) == GET_EPCS
    for epc in sorted(GET_EPCS):
        assert await read(udp, f"{epc:02X}")  # Get_Res with data


async def test_superclass_properties(udp: Udp) -> None:
    reply = await udp.ask(get("0011", "027D01", "80", "81", "82", "83", "88", "8A", "97", "98"))
    assert reply == res(
        "0011",
        "027D01",
        "72",
        f"08 80 01 30 81 01 00 82 04 0000 52 01 83 11 {IDENT} 88 01 42 8A 03 00006C "
        "97 02 09 00 98 04 07EA 04 01",  # 09:00, 2026-04-01
    )


@pytest.mark.parametrize("storage", [unit(clock_start="2026-04-30T23:45:00")])
async def test_the_clock_rolls_over_the_month(udp: Udp, clock: SimClock) -> None:
    # Starting 15 min before midnight keeps the jump short: every simulated
    # second is a physics step, and a day of them took over the 1 s reply
    # wait on a loaded CI runner.
    assert await read(udp, "97") == h("17 2D")  # 23:45
    assert await read(udp, "98") == h("07EA 04 1E")  # 2026-04-30
    clock.advance(45 * 60)  # 00:30 the next day
    assert await read(udp, "97") == h("00 1E")
    assert await read(udp, "98") == h("07EA 05 01")  # 2026-05-01


async def test_capacities_energy_and_ratings(udp: Udp) -> None:
    reply = await udp.ask(
        get("0012", "027D01", "A0", "A1", "A2", "A3", "A4", "A5", "A6", "A7", "A8", "A9")
    )
    assert reply == res(
        "0012",
        "027D01",
        "72",
        # window 10 % .. 100 % of 10 kWh = 9000 Wh: / 0.8 = 11250, x 0.8 = 7200;
        # from 50 %: 5000 Wh to fill / 0.8 = 6250, 4000 Wh above the floor x 0.8 = 3200.
        "0A A0 04 00002BF2 A1 04 00001C20 A2 04 0000186A A3 04 00000C80 "
        "A4 04 0000186A A5 04 00000C80 A6 01 64 A7 01 0A A8 04 00000000 A9 04 00000000",
    )
    reply = await udp.ask(get("0013", "027D01", "AA", "AB", "C1", "C2", "C7", "C8", "C9", "CF"))
    assert reply == res(
        "0013",
        "027D01",
        "72",
        "08 AA 04 00000000 AB 04 00000000 C1 01 03 C2 01 03 C7 04 00002710 "
        "C8 08 00000064 00000BB8 C9 08 00000064 00000BB8 CF 01 44",  # min 100 W, max 3000 W
    )
    reply = await udp.ask(
        get(
            "0014", "027D01", "D3", "D6", "D8", "DA", "DB", "E2", "E3", "E4", "E5", "E6", "EB", "EC"
        )
    )
    assert reply == res(
        "0014",
        "027D01",
        "72",
        "0C D3 04 00000000 D6 04 00000000 D8 04 00000000 DA 01 44 DB 01 00 "
        # 5000 Wh; 5000 Wh / 200 V = 25 Ah = 250 x 0.1 Ah; 50 %; SoH 96 %; Li-ion.
        "E2 04 00001388 E3 02 00FA E4 01 32 E5 01 60 E6 01 04 EB 04 00000000 EC 04 00000000",
    )


@pytest.mark.parametrize("storage", [unit(remaining=(0xE4,), omit=(0xD3, 0xE5, 0xEB))])
async def test_remaining_and_optional_properties_are_configurable(udp: Udp) -> None:
    get_map = decode_map(await read(udp, "9F"))
    assert get_map == GET_EPCS - {0xE2, 0xE3, 0xD3, 0xE5, 0xEB}
    assert decode_map(await read(udp, "9E")) == {
        0x81,
        0xA6,
        0xA7,
        0xAA,
        0xAB,
        0xC1,
        0xC2,
        0xDA,
        0xEC,
    }
    assert await udp.ask(get("0015", "027D01", "E2", "E4", "D3")) == res(
        "0015", "027D01", "52", "03 E2 00 E4 01 32 D3 00"
    )
    await refused(udp, "EB", "000003E8")


@pytest.mark.parametrize(
    "changes",
    [
        {"remaining": ()},
        {"remaining": (0xE1,)},
        {"omit": (0xCF,)},
        {"discharge_lower_limit_pct": 100},
        {"min_charge_w": 4000},
        {"min_discharge_w": -1},
        {"rated_charge_w": 0},
        {"battery_type": 7},
        {"soh_pct": 101},
        {"soc_pct": 120},
        {"efficiency": 0},
        {"preparation_s": -1},
    ],
)
def test_storage_config_validation(changes: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="storage"):
        unit(**changes)


# -- settings ---------------------------------------------------------------------------------


async def test_operation_mode_setting(twin: EchonetTwin, udp: Udp) -> None:
    assert twin.storage is not None
    for mode in ("42", "43", "46", "44"):
        await write(udp, "DA", mode)
        assert await read(udp, "DA") == h(mode)
    for mode in ("40", "41", "45", "47", "48", "49", "FF"):
        await refused(udp, "DA", mode)
    await refused(udp, "DA", "4242")
    assert twin.storage.operation_mode == 0x44


async def test_power_settings(udp: Udp) -> None:
    await write(udp, "EB", "00000BB8")  # 3000 W: the maximum
    await write(udp, "EC", "00000064")  # 100 W: the minimum
    assert await read(udp, "EB") == h("00000BB8")
    assert await read(udp, "EC") == h("00000064")
    await write(udp, "EB", "00000000")
    for epc in ("EB", "EC"):
        await refused(udp, epc, "00000BB9")  # above the maximum of 0xC8/0xC9
        await refused(udp, epc, "00000063")  # below the minimum
        await refused(udp, epc, "0BB8")  # not 4 bytes
    assert await read(udp, "EB") == h("00000000")
    assert await read(udp, "EC") == h("00000064")


async def test_limit_settings(udp: Udp) -> None:
    await write(udp, "A6", "50")  # 80 %
    await write(udp, "A7", "14")  # 20 %
    assert await read(udp, "A6") == h("50")
    assert await read(udp, "A7") == h("14")
    await refused(udp, "A6", "14")  # not above the lower limit
    await refused(udp, "A6", "65")  # 101 %
    await refused(udp, "A7", "50")  # not below the upper limit
    # The window is now 20 %..80 % of 10 kWh = 6000 Wh (/ 0.8 = 7500 = 0x1D4C).
    assert await read(udp, "A0") == h("00001D4C")


async def test_methods_amounts_and_location(udp: Udp) -> None:
    await write(udp, "C1", "01")
    await write(udp, "C2", "02")
    await refused(udp, "C1", "05")
    await write(udp, "AA", "000003E8")
    assert await read(udp, "AA") == h("000003E8")
    assert await read(udp, "A4") == h("000003E8")  # 1000 Wh left of the charge amount
    await refused(udp, "AB", "03E8")
    await write(udp, "81", "08")
    assert await read(udp, "81") == h("08")
    await refused(udp, "81", "0808")


async def test_partly_refused_setc_and_seti(twin: EchonetTwin, udp: Udp) -> None:
    reply = await udp.ask(setc("0020", ("EB", "000003E8"), ("DA", "47"), deoj="027D01"))
    assert reply == res("0020", "027D01", "51", "02 EB 00 DA 01 47")
    assert await read(udp, "EB") == h("000003E8")  # the accepted part was applied
    await udp.silent(setc("0021", ("DA", "42"), esv="60", deoj="027D01"))
    assert await read(udp, "DA") == h("42")
    reply = await udp.ask(setc("0022", ("DA", "47"), esv="60", deoj="027D01"))
    assert reply == res("0022", "027D01", "50", "01 DA 01 47")
    # Get of a property with data is no Get; a property outside the map is impossible.
    reply = await udp.ask(req("0023", "027D01", "62", "02 80 01 30 C0 00"))
    assert reply == res("0023", "027D01", "52", "02 80 00 C0 00")
    assert [w.address for w in twin.writes] == [0xEB, 0xDA]


# -- physics --------------------------------------------------------------------------------


async def test_charge_with_preparation_and_ramp(
    twin: EchonetTwin, udp: Udp, clock: SimClock
) -> None:
    await write(udp, "EB", "000007D0")  # 2000 W
    await write(udp, "DA", "42")
    assert await read(udp, "CF") == h("44")  # still preparing: standby
    clock.advance(1.0)
    assert await read(udp, "D3") == h("00000000")
    clock.advance(0.5)
    assert await read(udp, "D3") == h("000003E8")  # 2000 W/s for 0.5 s
    assert await read(udp, "CF") == h("42")
    clock.advance(1800)
    assert await read(udp, "D3") == h("000007D0")
    # About 1000 Wh in on the AC side (0xA8), x 0.8 in the cells (0xD8): 50 % + 8 %.
    assert int.from_bytes(await read(udp, "A8"), "big") == pytest.approx(1000, abs=2)
    assert int.from_bytes(await read(udp, "D8"), "big") == pytest.approx(800, abs=2)
    assert await read(udp, "E4") == h("3A")
    assert twin.actual_power_w == pytest.approx(2000)


@pytest.mark.parametrize("storage", [unit(soc_pct=11)])
async def test_discharge_stops_at_the_lower_limit(
    twin: EchonetTwin, udp: Udp, clock: SimClock
) -> None:
    await write(udp, "EC", "00000BB8")
    await write(udp, "DA", "43")
    clock.advance(3)
    assert await read(udp, "D3") == h("FFFFF448")  # -3000 W
    assert await read(udp, "CF") == h("43")
    # 1 % of 10 kWh = 100 Wh of cells = 80 Wh AC at 3000 W: done in about 100 s.
    clock.advance(600)
    assert await read(udp, "D3") == h("00000000")
    assert await read(udp, "CF") == h("44")
    assert await read(udp, "DA") == h("43")  # the set value stays
    assert await read(udp, "E4") == h("0A")
    assert twin.storage is not None
    assert twin.storage.battery.soc_pct == pytest.approx(10)


async def test_charge_stops_at_the_upper_limit(udp: Udp, clock: SimClock) -> None:
    await write(udp, "A6", "33")  # 51 %
    await write(udp, "C1", "01")  # maximum power
    await write(udp, "DA", "42")
    clock.advance(3)
    assert await read(udp, "D3") == h("00000BB8")
    clock.advance(600)
    assert await read(udp, "D3") == h("00000000")
    assert await read(udp, "CF") == h("44")
    assert await read(udp, "E4") == h("33")
    assert await read(udp, "A2") == h("00000000")


async def test_charge_amount_ends_a_run(udp: Udp, clock: SimClock) -> None:
    await write(udp, "AA", "00000064")  # 100 Wh
    await write(udp, "EB", "00000BB8")
    await write(udp, "DA", "42")
    clock.advance(300)  # 3000 W: 100 Wh in about 2 minutes
    assert await read(udp, "D3") == h("00000000")
    assert await read(udp, "CF") == h("44")
    assert await read(udp, "A4") == h("00000000")
    assert int.from_bytes(await read(udp, "A8"), "big") == pytest.approx(100, abs=3)


async def test_grid_outage_and_auto(
    twin: EchonetTwin, udp: Udp, clock: SimClock, grid: Grid
) -> None:
    await write(udp, "EB", "00000BB8")
    await write(udp, "DA", "42")
    clock.advance(3)
    assert await read(udp, "D3") == h("00000BB8")
    grid.available = False
    assert await read(udp, "D3") == h("00000000")  # nothing to charge from, at once
    assert await read(udp, "CF") == h("44")
    assert await read(udp, "DB") == h("01")
    await write(udp, "DA", "46")  # auto: follow the house load while the grid is down
    assert await read(udp, "CF") == h("46")
    clock.advance(2)
    assert await read(udp, "D3") == h("FFFFFCE0")  # -800 W, the house load
    grid.available = True
    clock.advance(2)
    assert await read(udp, "D3") == h("00000000")  # auto holds its charge on the grid
    assert await read(udp, "DB") == h("00")
    assert twin.describe()["storage"]["working_status"] == 0x46


async def test_discharge_feeds_the_house_without_the_grid(
    twin: EchonetTwin, udp: Udp, clock: SimClock, grid: Grid
) -> None:
    grid.available = False
    await write(udp, "C2", "02")  # load following
    await write(udp, "DA", "43")
    clock.advance(3)
    assert await read(udp, "D3") == h("FFFFFCE0")
    assert await read(udp, "CF") == h("43")
    assert twin.rated_discharge_w == 3000  # only the storage battery supplies


async def test_tribrid_power_counts_whole(
    twin: EchonetTwin, udp: Udp, clock: SimClock, grid: Grid
) -> None:
    """The car and the storage battery share the house load; the node counts both."""
    grid.available = False
    grid.house_load_w = 3000
    await udp.ask(setc("0030", ("CD", "10")))
    await udp.ask(setc("0031", ("EC", "000007D0")))  # the car: 2000 W
    await udp.ask(setc("0032", ("DA", "43")))
    await write(udp, "DA", "46")  # the storage battery: auto covers the rest
    clock.advance(10)
    assert await read(udp, "D3") == h("FFFFFC18")  # -1000 W
    assert twin.car_power_w == pytest.approx(-2000)
    assert twin.actual_power_w == pytest.approx(-3000)
    assert twin.rated_discharge_w == 6000 + 3000
    info = twin.describe()
    assert info["actual_power_w"] == -3000
    assert info["car_power_w"] == -2000
    assert info["storage"]["power_w"] == -1000


async def test_the_world_counts_a_tribrid(allow_loopback: None) -> None:
    sim = Simulation(
        parse_scenario(
            {
                "grid": {"house_load_w": 1500},
                "echonet": [
                    {"name": "tribrid", "port": 0, "storage": {"capacity_kwh": 10, "soc_pct": 80}}
                ],
            }
        ),
        control_port=0,
    )
    await sim.start()
    try:
        twin = sim.echonets["tribrid"]
        assert twin.storage is not None
        assert twin.storage.config.capacity_kwh == 10
        sim.set_grid(False)
        twin.storage.operation_mode = 0x46  # auto: the house load from the battery
        sim.clock.advance(5)
        await sim.tick()
        assert twin.actual_power_w == pytest.approx(-1500)
        # The site sees the storage battery's supply as the node's.
        started = [event for event in sim.site.events if event.kind == "discharge_started"]
        assert [event.detail for event in started] == ["-1500 W"]
    finally:
        await sim.stop()


def test_scenario_storage_table() -> None:
    config = parse_scenario(
        {
            "echonet": [
                {
                    "name": "battery",
                    "ev_charger": False,
                    "storage": {"capacity_kwh": 5, "remaining": [0xE2], "omit": [0xD3]},
                }
            ]
        }
    )
    [node] = config.echonets
    assert node.ev_charger is False
    assert node.storage is not None
    assert node.storage.remaining == (0xE2,)
    assert node.storage.omit == (0xD3,)
    assert storage_config(node.storage) is node.storage
    with pytest.raises(TypeError, match="table"):
        storage_config(5)


# -- announcements ----------------------------------------------------------------------------


async def next_inf(heard: tuple[asyncio.DatagramTransport, _Queue], wait: float = 1.0) -> bytes:
    """The next announcement from SEOJ on (after the header and TID)."""
    frame = await asyncio.wait_for(heard[1].frames.get(), wait)
    assert frame[:2] == h("1081")
    return frame[4:]


async def test_working_status_change_is_announced(
    twin: EchonetTwin,
    udp: Udp,
    clock: SimClock,
    heard: tuple[asyncio.DatagramTransport, _Queue],
) -> None:
    # At start the node profile announces its instance list.
    assert await next_inf(heard) == h("0EF001 0EF001 73 01 D5 07 02 027E01 027D01")
    await write(udp, "EC", "000003E8")
    await write(udp, "DA", "43")
    # The set mode changes at once; 0xCF (standby while preparing) only after it.
    assert await next_inf(heard) == h("027D01 0EF001 73 01 DA 01 43")
    clock.advance(1.5)
    await twin.housekeeping()
    assert await next_inf(heard) == h("027D01 0EF001 73 01 CF 01 43")
    await write(udp, "C1", "01")
    assert await next_inf(heard) == h("027D01 0EF001 73 01 C1 01 01")
    twin.apply_fault(Fault(FaultKind.ERROR))
    await twin.housekeeping()
    # The fault reaches both objects, each in its own INF.
    first, second = await next_inf(heard), await next_inf(heard)
    assert first[:3] == h("027E01")
    assert second == h("027D01 0EF001 73 02 88 01 41 CF 01 40")


# -- faults -------------------------------------------------------------------------------------


async def test_refuse_stall_drop(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=1))
    await udp.silent(get("0040", "027D01", "80"))
    wall[0] += 1
    await twin.housekeeping()
    assert await udp.ask(get("0041", "027D01", "80")) == res("0041", "027D01", "72", "01 80 01 30")
    twin.apply_fault(Fault(FaultKind.STALL, duration_s=1, delay_s=0.2))
    udp.send(get("0042", "027D01", "80"))
    with pytest.raises(TimeoutError):
        await udp.receive(wait=0.1)
    assert await udp.receive(wait=1) == res("0042", "027D01", "72", "01 80 01 30")
    wall[0] += 1
    twin.apply_fault(Fault(FaultKind.DROP, count=1))
    await udp.silent(setc("0043", ("DA", "42"), deoj="027D01"))
    assert await read(udp, "DA") == h("44")  # the dropped SetC was not applied


async def test_exception(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.EXCEPTION, duration_s=1))
    assert await udp.ask(get("0050", "027D01", "CF", "E4")) == res(
        "0050", "027D01", "52", "02 CF 00 E4 00"
    )
    await refused(udp, "DA", "42")
    wall[0] += 1
    await write(udp, "DA", "42")


async def test_short_and_garbage(twin: EchonetTwin, udp: Udp, wall: list[float]) -> None:
    twin.apply_fault(Fault(FaultKind.SHORT, duration_s=1))
    assert await udp.ask(get("0060", "027D01", "E4")) == res("0060", "027D01", "72", "01 E4 01")
    wall[0] += 1
    twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=1))
    reply = await udp.ask(get("0061", "027D01", "E4"))
    assert parse_frame(reply) is None
    wall[0] += 1
    assert await read(udp, "E4") == h("32")


async def test_reboot(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    await write(udp, "A7", "14")
    await write(udp, "AB", "000001F4")
    await write(udp, "EC", "000007D0")
    await write(udp, "DA", "43")
    clock.advance(5)
    twin.apply_fault(Fault(FaultKind.REBOOT))
    assert twin.actual_power_w == 0
    await udp.silent(get("0070", "027D01", "80"))
    clock.advance(5)
    reply = await udp.ask(get("0071", "027D01", "DA", "CF", "EC", "AB", "D3", "A7"))
    assert reply == res(
        "0071",
        "027D01",
        "72",
        "06 DA 01 44 CF 01 44 EC 04 00000000 AB 04 00000000 D3 04 00000000 A7 01 14",
    )


async def test_soc_glitch(twin: EchonetTwin, udp: Udp) -> None:
    twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=2))
    assert twin.describe()["faults"] == ["soc_glitch"]
    assert await read(udp, "E4") == h("00")
    assert await read(udp, "E4") == h("00")
    assert await read(udp, "E4") == h("32")
    assert await read(udp, "E2") == h("00001388")  # the Wh reading is not glitched


@pytest.mark.parametrize("ev_charger", [False])
async def test_soc_glitch_alone(twin: EchonetTwin, udp: Udp) -> None:
    twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=1))
    assert await read(udp, "E4") == h("00")
    assert twin.describe()["faults"] == []  # the one glitch is over (no car to glitch)
    twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=5))
    twin.clear_faults()
    assert twin.describe()["faults"] == []
    assert await read(udp, "E4") == h("32")


async def test_error(twin: EchonetTwin, udp: Udp, clock: SimClock) -> None:
    await write(udp, "EB", "000007D0")
    await write(udp, "DA", "42")
    clock.advance(5)
    twin.apply_fault(Fault(FaultKind.ERROR, code=9))
    assert twin.actual_power_w == 0
    clock.advance(5)
    assert await udp.ask(get("0080", "027D01", "88", "CF", "D3", "DA")) == res(
        "0080", "027D01", "72", "04 88 01 41 CF 01 40 D3 04 00000000 DA 01 42"
    )
    twin.clear_faults()
    assert await udp.ask(get("0081", "027D01", "88", "CF")) == res(
        "0081", "027D01", "72", "02 88 01 42 CF 01 42"
    )
    clock.advance(2)
    assert await read(udp, "D3") == h("000007D0")


# -- control API --------------------------------------------------------------------------------


async def test_update_state_and_describe(twin: EchonetTwin, udp: Udp) -> None:
    twin.update_state({"storage_soc_pct": 75, "soc_pct": 40})
    assert await read(udp, "E4") == h("4B")
    assert twin.battery.soc_pct == 40
    with pytest.raises(ValueError, match=r"storage_soc_pct must be in 0\.\.100"):
        twin.update_state({"storage_soc_pct": 101})
    with pytest.raises(ValueError, match="storage_soc_pct must be a number"):
        twin.update_state({"storage_soc_pct": "full"})
    info = twin.describe()["storage"]
    assert info["soc_pct"] == 75
    assert info["capacity_kwh"] == 10
    assert info["operation_mode"] == 0x44
    assert info["discharge_lower_limit_pct"] == 10


async def test_a_node_without_storage_has_no_storage_keys(
    allow_loopback: None, clock: SimClock
) -> None:
    device = EchonetTwin(EchonetConfig(port=0), clock)
    with pytest.raises(ValueError, match="unknown keys"):
        device.update_state({"storage_soc_pct": 50})
    assert device.describe()["storage"] is None
