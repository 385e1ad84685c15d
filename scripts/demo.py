"""Run the demo: the simulator plus a real Home Assistant with V2X already set up.

Started by ``./scripts/demo``. The harness configures everything through Home
Assistant's own HTTP API, as a person would in the browser. ``--ha newest`` runs the
newest Home Assistant release (``requirements_demo_newest.txt``, Python >= 3.14.2)
instead of this venv's 2025.4.4; the simulator always runs here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
import signal
import sys
import time
import urllib.error

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.dashboard import LOVELACE_CONFIGURATION, install_dashboard  # noqa: E402
from harness.demo_site import add_demo_devices, demo_configuration  # noqa: E402
from harness.hass import (  # noqa: E402
    LOOPBACK,
    PASSWORD,
    USERNAME,
    HarnessError,
    HassInstance,
    HassRuntime,
    start_simulator,
    stop_process,
)
from harness.places import PLACES, place_named  # noqa: E402
from harness.scenario import DemoPorts  # noqa: E402


def main() -> int:
    """Start both, configure, wait for Ctrl-C, stop both."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--ha",
        choices=HassRuntime.NAMES,
        default="oldest",
        help="which Home Assistant: oldest (this venv's 2025.4.4, the default: starts at once)"
        " or newest (requirements_demo_newest.txt on Python >= 3.14.2)",
    )
    parser.add_argument(
        "--config-dir",
        type=Path,
        help="configuration folder (default demo-config/, with --ha newest demo-config-newest/:"
        " Home Assistant cannot go back to an older release's .storage)",
    )
    parser.add_argument("--scenario", type=Path, default=ROOT / "simulator/scenarios/default.toml")
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant HTTP port")
    parser.add_argument(
        "--host",
        default=LOOPBACK,
        help="address Home Assistant binds (default 127.0.0.1; 0.0.0.0 for every interface)",
    )
    parser.add_argument("--keep", action="store_true", help="reuse the existing demo-config")
    parser.add_argument(
        "--place",
        choices=["host", *PLACES],
        default="host",
        help="time zone, currency and location of Home Assistant: host (this machine's time"
        " zone and its city, the locale's currency; the default) or tokyo (Asia/Tokyo, yen)",
    )
    parser.add_argument("--currency", help="ISO 4217 code, instead of the place's (e.g. EUR)")
    args = parser.parse_args()
    place = place_named(args.place, args.currency)
    runtime = HassRuntime.named(args.ha)
    if args.config_dir is None:
        args.config_dir = ROOT / ("demo-config" if args.ha == "oldest" else "demo-config-newest")
    hass = HassInstance(args.config_dir, args.port, args.host, runtime=runtime, place=place)
    simulator = None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        ports = DemoPorts.from_scenario(args.scenario)
        hass.prepare(demo_configuration(ports) + LOVELACE_CONFIGURATION, keep=args.keep)
        install_dashboard(args.config_dir)
        if not args.keep:
            print(
                f"==> Home Assistant in {place.time_zone}, {place.currency}"
                f" ({place.latitude}, {place.longitude}); --place / --currency change it"
            )
        print("==> starting the simulator")
        simulator = start_simulator(args.scenario, control_port=ports.control)
        log = args.config_dir / "home-assistant.log"
        print(
            f"==> starting {runtime.label} on {hass.base}, bound to {args.host} (logs: {log})",
            flush=True,
        )
        hass.start()
        print("==> onboarding and adding the devices through the REST API")
        hass.onboard()
        titles = add_demo_devices(hass, ports)
        print(
            f"\nV2X demo is running.\n"
            f"  Home Assistant:  {hass.base}\n"
            f"  dashboard:       {hass.base}/v2x-demo/home (V2X in the sidebar)\n"
            f"  user / password: {USERNAME} / {PASSWORD}\n"
            f"  added:           {', '.join(titles)} (all simulated)\n"
            f"  simulator API:   {ports.simulator}/state\n"
            f"  cut the grid:    curl -X POST {ports.simulator}/grid"
            f" -d '{{\"available\": false}}'\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while hass.process is not None and hass.process.poll() is None and simulator.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping")
        return 0
    except (HarnessError, urllib.error.URLError) as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    else:
        print("a process exited; stopping the demo")
        return 1
    finally:
        hass.stop()
        stop_process(simulator, "the simulator")


if __name__ == "__main__":
    sys.exit(main())
