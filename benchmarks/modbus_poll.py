"""Modbus poll cost of the Wallbox Quasar 1 profile against the simulator.

Usage: python -m benchmarks.modbus_poll [--polls 500]

The simulator runs in its own process on loopback (as in the demo). For each poll
kind it reports requests per poll, counted twice (client side: the transport's
counter; device side: the simulator's Modbus request counter), and the median, p95
and max latency. A second charger that rejects reads across undocumented gaps shows
the cost of the documented-run fallback.
"""

from __future__ import annotations

import argparse
import asyncio
import platform

from custom_components.v2x.devices.modbus import UNIT_KEYWORD, ModbusTransport
from custom_components.v2x.devices.quasar import Quasar1

from .pollstats import measure, print_table, sent_by
from .simproc import free_port, simulator_process


def _scenario(port_lenient: int, port_strict: int) -> str:
    return f"""
speed = 1.0
[[quasar]]
name = "lenient"
port = {port_lenient}
[[quasar]]
name = "strict"
port = {port_strict}
serial = 20240118
strict_gaps = true
"""


async def run(polls: int) -> list[tuple[str, str, dict[str, float]]]:
    """Measure status and full polls on both simulated chargers."""
    ports = {"lenient": free_port(), "strict": free_port()}
    rows = []
    async with simulator_process(_scenario(ports["lenient"], ports["strict"])) as control:
        for name, port in ports.items():
            quasar = Quasar1(ModbusTransport("127.0.0.1", port, 1, timeout_s=3.0))
            await quasar.async_read_identity()
            rows.append(
                (
                    name,
                    "status",
                    await measure(control, name, quasar.async_read_status, sent_by(quasar), polls),
                )
            )
            rows.append(
                (
                    name,
                    "full",
                    await measure(
                        control,
                        name,
                        quasar.async_read_snapshot,
                        sent_by(quasar),
                        polls,
                    ),
                )
            )
            await quasar.async_close()
    return rows


def main() -> None:
    """Print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--polls", type=int, default=500)
    args = parser.parse_args()
    import pymodbus

    rows = asyncio.run(run(args.polls))
    print(
        f"# modbus_poll: {args.polls} polls each, pymodbus {pymodbus.__version__} "
        f"({UNIT_KEYWORD}=), Python {platform.python_version()}, {platform.machine()}"
    )
    print_table(rows, first="charger")


if __name__ == "__main__":
    main()
