"""Outage switchover with an ECHONET Lite storage battery (0x027D) as the only source.

Usage: python -m benchmarks.storage_switchover [--cuts 50]

The simulator and Home Assistant 2025.4.4 run in their own processes, as in
:mod:`benchmarks.outage_switchover`: the simulator holds one ECHONET Lite node with a
storage battery alone (no EV charger; 9.8 kWh at 80 %, 3 kW), and Home Assistant has
it as a V2X device (family ``echonet_storage``, status poll 1 s) and a backup site
whose only source *and* grid signal it is: its 0xDB (system-interconnected type)
reads "independent" once the grid is cut, and the unit announces that change (INF)
to the group 224.0.23.0, which Home Assistant's endpoint joined. The transfer switch
is a RESTful switch of the simulated site.

For each of ``--cuts`` cuts, measured on the simulator's side from the moment of the
cut: (a) the transfer-switch command arrives; (b) the battery's power passes -100 W
(it supplies the house). Then the grid comes back and the site returns to it.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import tempfile
import time

from harness.demo_site import rest_switch
from harness.hass import HassInstance, start_simulator, stop_process

from .outage_switchover import _site_options, _stats, run_cuts
from .simproc import free_port

SCENARIO = """
speed = 1.0
[[echonet]]
name = "battery"
port = {port}
ev_charger = false
storage = {{ capacity_kwh = 9.8, soc_pct = 80, rated_discharge_w = 3000 }}
[site]
switch_delay_s = 0.2
sources = ["battery"]
"""


def main() -> None:
    """Cut the grid ``--cuts`` times; print the latencies."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cuts", type=int, default=50)
    parser.add_argument("--keep", type=Path, help="keep Home Assistant's configuration here")
    args = parser.parse_args()
    control, port, hass_port = (free_port() for _ in range(3))
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "scenario.toml"
        scenario.write_text(SCENARIO.format(port=port), encoding="utf-8")
        simulator = start_simulator(scenario, control_port=control)
        hass = HassInstance(args.keep or Path(tmp) / "config", hass_port)
        try:
            hass.prepare(
                "switch:\n"
                + rest_switch("Transfer switch", f"http://127.0.0.1:{control}/site/transfer_switch")
            )
            hass.start()
            hass.onboard()
            battery = hass.add_v2x(
                "charger", {"family": "echonet_storage"}, {"host": "127.0.0.1", "port": port}
            )["entry_id"]
            site = hass.add_v2x(
                "site",
                {"name": "Bench battery", "site_type": "house", "grid_signal": "device"},
                {"grid_device": battery},
                {"primary_source": battery, "transfer_switch": "switch.transfer_switch"},
            )["entry_id"]
            hass.set_options(site, _site_options(grid_poll_s=1))
            time.sleep(5)  # the first polls
            results = run_cuts(hass, control, args.cuts, entity=False)
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
    print(
        f"# storage_switchover: {args.cuts} grid cuts, Home Assistant 2025.4.4, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print("| measured from the cut to | p50 ms | p95 ms | max ms | missed |")
    print("|---|---|---|---|---|")
    missed = len(results["missed"])
    for what, label in (
        ("switch", "(a) transfer-switch command"),
        ("discharge", "(b) battery supplying (< -100 W)"),
    ):
        print(f"| {label} | {_stats(results[what])} | {missed} |")


if __name__ == "__main__":
    main()
