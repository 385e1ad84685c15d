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
from collections.abc import Awaitable, Callable
import json
import platform
import statistics
import time
from typing import Any
import urllib.request

from custom_components.v2x.devices.modbus import UNIT_KEYWORD, ModbusTransport
from custom_components.v2x.devices.quasar import Quasar1

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


def _device_requests(control_port: int, name: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{control_port}/state", timeout=5) as reply:
        state: dict[str, Any] = json.load(reply)
    return int(state["devices"][name]["modbus_requests"])


async def _measure(
    control_port: int, name: str, quasar: Quasar1, poll: Callable[[], Awaitable[object]], n: int
) -> dict[str, float]:
    await poll()  # warm-up (and the one-time split of a rejected block)
    device_before = await asyncio.to_thread(_device_requests, control_port, name)
    client_before = quasar.requests_sent
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        await poll()
        latencies.append((time.perf_counter() - start) * 1000)
    device_after = await asyncio.to_thread(_device_requests, control_port, name)
    latencies.sort()
    return {
        "client_requests": (quasar.requests_sent - client_before) / n,
        "device_requests": (device_after - device_before) / n,
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (n - 1))],
        "max_ms": latencies[-1],
    }


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
                    await _measure(control, name, quasar, quasar.async_read_status, polls),
                )
            )
            rows.append(
                (
                    name,
                    "full",
                    await _measure(control, name, quasar, quasar.async_read_snapshot, polls),
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
    print(
        "| charger | poll | requests/poll (client) | requests/poll (device) "
        "| median ms | p95 ms | max ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, kind, r in rows:
        print(
            f"| {name} | {kind} | {r['client_requests']:.2f} | {r['device_requests']:.2f} | "
            f"{r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['max_ms']:.2f} |"
        )


if __name__ == "__main__":
    main()
