"""Run the simulator: ``python -m simulator --config simulator/scenarios/default.toml``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path
import signal

from .world import Simulation, load_scenario

_LOGGER = logging.getLogger("simulator")

DEFAULT_SCENARIO = Path(__file__).parent / "scenarios" / "default.toml"


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_SCENARIO, help="scenario TOML")
    parser.add_argument("--control-port", type=int, default=None, help="control API port")
    parser.add_argument("--speed", type=float, default=None, help="simulated s per real s")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    config = load_scenario(args.config)
    if args.speed is not None:
        config.speed = args.speed
    asyncio.run(_serve(Simulation(config, control_port=args.control_port)))


async def _serve(sim: Simulation) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await sim.start()
    for twin in sim.devices.values():
        _LOGGER.info("%s", twin.banner())
    _LOGGER.info("Control API on http://127.0.0.1:%s/state", sim.control_port)
    print(f"READY control_port={sim.control_port}", flush=True)  # noqa: T201
    await stop.wait()
    await sim.stop()


if __name__ == "__main__":
    main()
