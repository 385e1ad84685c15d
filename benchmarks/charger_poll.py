"""Round trip and poll cost of the SunSpec, ECHONET Lite and BiDiPro charger profiles.

Usage: python -m benchmarks.charger_poll [--polls 500]

The simulator runs in its own process on loopback (as in the demo), with a SunSpec
charger (Modbus TCP, model chain 1 → 701 → 702 → 703 → 704 → 713), a Nichicon-like
ECHONET Lite unit (UDP, class 0x027E), an ECHONET Lite storage battery alone (class
0x027D, 9.8 kWh) and two EVTEC BiDiPro 10 (Modbus TCP): one
answering reads across undocumented registers (gap-free), one refusing them. For each
device: one bare round trip (one register; one property), the identity read (with
model discovery for SunSpec), the status poll, the full poll and a verified power
command; requests counted by the client and by the simulated device, latency as
median, p95 and max.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
import itertools
import platform

from custom_components.v2x.devices.bidipro import BiDiPro
from custom_components.v2x.devices.echonet import EchonetClient, EchonetEndpoint
from custom_components.v2x.devices.echonet.ev_charger import EV_CHARGER_EOJ, EchonetEvCharger
from custom_components.v2x.devices.echonet.frame import Eoj
from custom_components.v2x.devices.echonet.storage_battery import (
    STORAGE_BATTERY_EOJ,
    EchonetStorageBattery,
)
from custom_components.v2x.devices.modbus import ModbusTransport
from custom_components.v2x.devices.sunspec import SunSpecCharger

from .pollstats import measure, print_table, sent_by
from .simproc import free_port, simulator_process

EPC_SOC = 0xE4


def _scenario(
    sunspec_port: int, echonet_ports: tuple[int, int], bidipro_ports: tuple[int, int]
) -> str:
    return f"""
speed = 1.0
[[sunspec]]
name = "sunspec"
port = {sunspec_port}
[[echonet]]
name = "echonet"
port = {echonet_ports[0]}
[[echonet]]
name = "storage"
port = {echonet_ports[1]}
ev_charger = false
storage = {{ capacity_kwh = 9.8, soc_pct = 60 }}
[[bidipro]]
name = "bidipro"
port = {bidipro_ports[0]}
[[bidipro]]
name = "bidipro_strict"
port = {bidipro_ports[1]}
strict_gaps = true
serial = "BDP10-000043"
"""


Operation = tuple[str, Callable[[], Awaitable[object]], int]


async def _rows(
    control: int, device: str, name: str, sent: Callable[[], int], operations: list[Operation]
) -> list[tuple[str, str, dict[str, float]]]:
    return [
        (name, label, await measure(control, device, operation, sent, n))
        for label, operation, n in operations
    ]


async def _sunspec_rows(
    control: int, port: int, polls: int
) -> list[tuple[str, str, dict[str, float]]]:
    transport = ModbusTransport("127.0.0.1", port, 1, timeout_s=3.0)
    charger = SunSpecCharger(transport)

    async def round_trip() -> None:
        async with transport.exclusive() as bus:
            await bus.read(40000, 1)

    async def fresh_identity() -> None:
        await transport.close()  # a new connection: the model chain is walked again
        await charger.async_read_identity()

    setpoints = itertools.cycle((-3000, -3100))
    rows = await _rows(
        control,
        "sunspec",
        "SunSpec (Modbus TCP)",
        sent_by(charger),
        [
            ("round trip (1 register)", round_trip, polls),
            ("identity + model discovery (new connection)", fresh_identity, polls // 10),
            ("status poll", charger.async_read_status, polls),
            ("full poll", charger.async_read_snapshot, polls),
            (
                "verified power command",
                lambda: charger.async_set_power(next(setpoints)),
                polls // 10,
            ),
        ],
    )
    await charger.async_stop()
    await charger.async_close()
    return rows


async def _echonet_rows(
    control: int, device: str, port: int, polls: int
) -> list[tuple[str, str, dict[str, float]]]:
    endpoint = await EchonetEndpoint.async_open("127.0.0.1", 0)
    client = EchonetClient(endpoint, "127.0.0.1", port, timeout_s=1.0, retries=2)
    charger: EchonetEvCharger | EchonetStorageBattery
    eoj: Eoj
    if device == "storage":
        charger, eoj, name = EchonetStorageBattery(client), STORAGE_BATTERY_EOJ, "0x027D"
    else:
        charger, eoj, name = EchonetEvCharger(client), EV_CHARGER_EOJ, "0x027E"
    await charger.async_read_identity()

    async def round_trip() -> None:
        await client.async_get(eoj, [EPC_SOC])

    setpoints = itertools.cycle((-2000, -2100))
    rows = await _rows(
        control,
        device,
        f"ECHONET Lite {name} (UDP)",
        sent_by(client),
        [
            ("round trip (1 property)", round_trip, polls),
            ("identity", charger.async_read_identity, polls // 10),
            ("status poll", charger.async_read_status, polls),
            ("full poll", charger.async_read_snapshot, polls),
            (
                "verified power command",
                lambda: charger.async_set_power(next(setpoints)),
                polls // 10,
            ),
        ],
    )
    await charger.async_stop()
    endpoint.close()
    return rows


async def _bidipro_rows(
    control: int, device: str, port: int, polls: int
) -> list[tuple[str, str, dict[str, float]]]:
    transport = ModbusTransport("127.0.0.1", port, 1, timeout_s=3.0)
    charger = BiDiPro(transport)
    await charger.async_read_status()  # a strict device's runs are learnt on the first read

    async def round_trip() -> None:
        async with transport.exclusive() as bus:
            await bus.read(100, 2)

    setpoints = itertools.cycle((-3000, -3100))
    gaps = "refusing gaps" if device.endswith("strict") else "gap-free"
    await charger.async_take_control()
    rows = await _rows(
        control,
        device,
        f"BiDiPro 10 (Modbus TCP, {gaps})",
        sent_by(charger),
        [
            ("round trip (1 value)", round_trip, polls),
            ("identity", charger.async_read_identity, polls // 10),
            ("status poll", charger.async_read_status, polls),
            ("full poll", charger.async_read_snapshot, polls),
            (
                "verified power command",
                lambda: charger.async_set_power(next(setpoints)),
                polls // 10,
            ),
        ],
    )
    await charger.async_release_control()
    await charger.async_close()
    return rows


async def run(polls: int) -> list[tuple[str, str, dict[str, float]]]:
    """Measure every family against one simulator process."""
    sunspec_port = free_port()
    echonet_ports = (free_port(), free_port())
    bidipro_ports = (free_port(), free_port())
    scenario = _scenario(sunspec_port, echonet_ports, bidipro_ports)
    async with simulator_process(scenario) as control:
        return [
            *await _sunspec_rows(control, sunspec_port, polls),
            *await _echonet_rows(control, "echonet", echonet_ports[0], polls),
            *await _echonet_rows(control, "storage", echonet_ports[1], polls),
            *await _bidipro_rows(control, "bidipro", bidipro_ports[0], polls),
            *await _bidipro_rows(control, "bidipro_strict", bidipro_ports[1], polls),
        ]


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=500)
    args = parser.parse_args()
    import pymodbus

    rows = asyncio.run(run(args.polls))
    print(
        f"# charger_poll: {args.polls} polls each (commands and identity: a tenth), "
        f"pymodbus {pymodbus.__version__}, Python {platform.python_version()}, "
        f"{platform.machine()}"
    )
    print_table(rows, second="operation")


if __name__ == "__main__":
    main()
