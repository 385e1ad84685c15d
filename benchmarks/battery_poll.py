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
from collections.abc import Awaitable, Callable
import json
import platform
import statistics
import time
from typing import Any
import urllib.request

import aiohttp

from custom_components.v2x.devices.bluetti import BluettiStation
from custom_components.v2x.devices.modbus import ModbusTransport
from custom_components.v2x.devices.zendure import ZendureClient

from .simproc import free_port, simulator_process


def _state(control_port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{control_port}/state", timeout=5) as reply:
        state: dict[str, Any] = json.load(reply)
    return state


def _device_requests(control_port: int, name: str) -> int:
    device = _state(control_port)["devices"][name]
    return int(device.get("http_requests", device.get("modbus_requests", 0)))


async def _measure(
    control_port: int,
    name: str,
    poll: Callable[[], Awaitable[object]],
    sent: Callable[[], int],
    n: int,
) -> dict[str, float]:
    await poll()
    device_before = await asyncio.to_thread(_device_requests, control_port, name)
    client_before = sent()
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        await poll()
        latencies.append((time.perf_counter() - start) * 1000)
    device_after = await asyncio.to_thread(_device_requests, control_port, name)
    latencies.sort()
    return {
        "client_requests": (sent() - client_before) / n,
        "device_requests": (device_after - device_before) / n,
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (n - 1))],
        "max_ms": latencies[-1],
    }


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
                await _measure(
                    control, "zendure", zendure.async_read, lambda: zendure.requests_sent, polls
                ),
            )
        )
        limits = iter(range(100, 100 + polls + 1))
        rows.append(
            (
                "Zendure (HTTP)",
                "verified write",
                await _measure(
                    control,
                    "zendure",
                    lambda: zendure.async_set_output(enabled=True, limit_w=next(limits)),
                    lambda: zendure.requests_sent,
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
                await _measure(
                    control, "bluetti", station.async_read, lambda: station.requests_sent, polls
                ),
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
    print(
        "| device | operation | requests (client) | requests (device) "
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
