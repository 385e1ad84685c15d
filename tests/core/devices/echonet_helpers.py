"""Helpers of the ECHONET Lite device tests that run against a twin over loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence


async def until(items: Sequence[object], count: int = 1) -> None:
    """Until ``items`` holds ``count`` (announcements or statuses); fail after 1 s."""
    for _ in range(100):
        if len(items) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{len(items)} received, expected {count}")
