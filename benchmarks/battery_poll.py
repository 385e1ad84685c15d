"""Poll cost of the portable-battery profiles against the simulator.

Usage: python -m benchmarks.battery_poll [--polls 300]

The simulator runs in its own process on loopback. Zendure is polled over HTTP
(``GET /properties/report``) with an aiohttp session, as Home Assistant injects
one; Bluetti over Modbus TCP, one documented run per request as the AC500 needs.
Requests per poll are counted by the client and by the device twin.
"""

from __future__ import annotations

import argparse
import asyncio
import platform

import aiohttp

from custom_components.v2x.devices.bluetti import BluettiStation
from custom_components.v2x.devices.modbus import ModbusTransport
from custom_components.v2x.devices.zendure import ZendureClient

from .pollstats import measure, print_table, sent_by
from .simproc import free_port, simulator_process


async def run(polls: int) -> list[tuple[str, str, dict[str, float]]]:
    """Measure one poll of each family, and one verified Zendure write."""
    zendure_port, bluetti_port = free_port(), free_port()
    scenario = f"""
[[zendure]]
name = "zendure"
port = {zendure_port}
[[bluetti]]
name = "bluetti"
port = {bluetti_port}
"""
    rows = []
    async with simulator_process(scenario) as control, aiohttp.ClientSession() as session:
        zendure = ZendureClient(session, "127.0.0.1", zendure_port)
        await zendure.async_read_identity()
        rows.append(
            (
                "Zendure (HTTP)",
                "poll",
                await measure(control, "zendure", zendure.async_read, sent_by(zendure), polls),
            )
        )
        limits = iter(range(100, 100 + polls + 1))
        rows.append(
            (
                "Zendure (HTTP)",
                "verified write",
                await measure(
                    control,
                    "zendure",
                    lambda: zendure.async_set_output(enabled=True, limit_w=next(limits)),
                    sent_by(zendure),
                    polls // 10,
                ),
            )
        )
        station = BluettiStation(ModbusTransport("127.0.0.1", bluetti_port, 1))
        await station.async_read_identity()
        rows.append(
            (
                "Bluetti (Modbus TCP)",
                "poll",
                await measure(control, "bluetti", station.async_read, sent_by(station), polls),
            )
        )
        await station.async_close()
    return rows


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=300)
    args = parser.parse_args()
    rows = asyncio.run(run(args.polls))
    print(
        f"# battery_poll: {args.polls} polls each, aiohttp {aiohttp.__version__}, "
        f"Python {platform.python_version()}, {platform.machine()}"
    )
    print_table(rows, second="operation")


if __name__ == "__main__":
    main()
