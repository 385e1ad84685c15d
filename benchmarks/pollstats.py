"""Shared benchmark measurement: one poll kind against a simulator, and percentiles."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import json
import math
import statistics
import time
from typing import Any, Protocol
import urllib.request

_REQUEST_COUNTERS = ("modbus_requests", "http_requests", "requests")


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (``fraction`` in 0..1) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def median_p95_ms(seconds: list[float], decimals: int = 0) -> str:
    """``p50 / p95`` of durations in seconds, as milliseconds for a table cell."""
    p50, p95 = (percentile(seconds, share) * 1000 for share in (0.5, 0.95))
    return f"{p50:.{decimals}f} / {p95:.{decimals}f}"


class _CountsRequests(Protocol):
    @property
    def requests_sent(self) -> int: ...


def sent_by(device: _CountsRequests) -> Callable[[], int]:
    """A counter of the requests ``device`` has sent (for :func:`measure`)."""
    return lambda: device.requests_sent


def simulator_state(control_port: int) -> dict[str, Any]:
    """The simulator's whole world (control API ``GET /state``)."""
    with urllib.request.urlopen(f"http://127.0.0.1:{control_port}/state", timeout=5) as reply:
        state: dict[str, Any] = json.load(reply)
    return state


def device_requests(control_port: int, name: str) -> int:
    """How many requests the simulated device ``name`` has received so far."""
    device = simulator_state(control_port)["devices"][name]
    for key in _REQUEST_COUNTERS:
        if key in device:
            return int(device[key])
    raise KeyError(f"{name} reports no request counter")


async def measure(
    control_port: int,
    name: str,
    poll: Callable[[], Awaitable[object]],
    sent: Callable[[], int],
    n: int,
) -> dict[str, float]:
    """Run ``poll`` ``n`` times (after one warm-up); requests per poll and latency in ms.

    Requests are counted on both sides: by the client (``sent``) and by the device.
    """
    await poll()
    device_before = await asyncio.to_thread(device_requests, control_port, name)
    client_before = sent()
    latencies = []
    for _ in range(n):
        start = time.perf_counter()
        await poll()
        latencies.append((time.perf_counter() - start) * 1000)
    device_after = await asyncio.to_thread(device_requests, control_port, name)
    latencies.sort()
    return {
        "client_requests": (sent() - client_before) / n,
        "device_requests": (device_after - device_before) / n,
        "median_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (n - 1))],
        "max_ms": latencies[-1],
    }


def print_table(
    rows: list[tuple[str, str, dict[str, float]]], first: str = "device", second: str = "poll"
) -> None:
    """Print the rows as a Markdown table."""
    print(
        f"| {first} | {second} | requests (client) | requests (device) "
        "| median ms | p95 ms | max ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, kind, r in rows:
        print(
            f"| {name} | {kind} | {r['client_requests']:.2f} | {r['device_requests']:.2f} | "
            f"{r['median_ms']:.2f} | {r['p95_ms']:.2f} | {r['max_ms']:.2f} |"
        )
