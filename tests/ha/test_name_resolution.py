"""Home Assistant 2025.4.4 resolves host names (aiodns with a pycares it works with).

The demo's Home Assistant once paired aiodns 3.2.0 with pycares 5: every lookup raised
a TypeError, so it reached no host by name and *Import blueprint* said "Unknown error".
Resolving ``localhost`` needs no network (c-ares reads the hosts file).
"""

from __future__ import annotations

import socket

from aiohttp.resolver import AsyncResolver


async def test_aiohttp_resolves_a_host_name(allow_loopback: None) -> None:
    resolver = AsyncResolver()
    try:
        hosts = await resolver.resolve("localhost", 80, family=socket.AF_INET)
    finally:
        await resolver.close()
    assert {host["host"] for host in hosts} == {"127.0.0.1"}
