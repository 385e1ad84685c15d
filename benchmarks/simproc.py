"""Run the simulator in its own process, as the demo does, for honest measurements."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
import os
from pathlib import Path
import sys
import tempfile

from harness.hass import free_port

ROOT = Path(__file__).resolve().parent.parent
__all__ = ["cpu_seconds", "free_port", "simulator_process"]


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system, all threads) a process has used, from ``/proc``."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


@contextlib.asynccontextmanager
async def simulator_process(scenario: str) -> AsyncIterator[int]:
    """Start ``python -m simulator`` with a TOML scenario; yield its control port."""
    control_port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as file:
        file.write(scenario)
        path = file.name
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "simulator",
        "--config",
        path,
        "--control-port",
        str(control_port),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        if process.stdout is None:
            raise RuntimeError("no pipe to the simulator")
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        if not line.startswith(b"READY"):
            raise RuntimeError(f"simulator did not start: {line!r}")
        yield control_port
    finally:
        process.terminate()
        await process.wait()
        await asyncio.to_thread(Path(path).unlink, missing_ok=True)
