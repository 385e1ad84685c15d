"""Outage switchover latency and polling CPU, with a real Home Assistant and the simulator.

Usage: python -m benchmarks.outage_switchover [--cuts 50] [--cpu-seconds 60]

Both the simulator and Home Assistant 2025.4.4 run in their own processes. Home
Assistant is configured through its REST API: a Quasar 1 (the source), a Zendure
(grid signal for the second scenario), and a backup site with default settings
(0.5 s outage confirmation) whose transfer switch is a RESTful switch of the
simulated site (no position feedback entity, so the measurement is about V2X).

For each scenario the grid is cut ``--cuts`` times. Measured on the simulator's side
(process-independent monotonic clock) from the moment of the cut:

* (a) the transfer-switch command arrives at the simulated switch;
* (b) the Quasar's measured power passes -100 W (the car supplies the house).

Scenario *entity*: the grid signal is a Home Assistant binary sensor that follows an
input_boolean flipped at the moment of the cut (a push-type grid sensor).
Scenario *device*: the grid signal is the Zendure's own ``gridState``, polled by the
site every second; only the simulator's grid is cut.

CPU: Home Assistant's own CPU time (utime + stime from /proc) over ``--cpu-seconds``,
first with no V2X device, then with the Quasar (status every 1 s, full every 10 s),
then with the site polling the Zendure's grid state every second as well.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import platform
import statistics
import tempfile
import time
from typing import Any

from harness.demo_site import rest_switch
from harness.hass import HassInstance, request, start_simulator, stop_process

from .simproc import cpu_seconds, free_port

SCENARIO = """
speed = 1.0
[[quasar]]
name = "quasar"
port = {quasar}
[quasar.car]
soc_pct = 90
capacity_kwh = 40
[[zendure]]
name = "zendure"
port = {zendure}
[site]
switch_delay_s = 0.2
"""

CONFIGURATION = """
input_boolean:
  grid_signal:
    initial: true

template:
  - binary_sensor:
      - name: Grid
        unique_id: bench_grid
        device_class: power
        state: "{{ is_state('input_boolean.grid_signal', 'on') }}"

switch:
"""


def _cpu_share(pid: int, seconds: float) -> float:
    before, start = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    return (cpu_seconds(pid) - before) / (time.monotonic() - start) * 100.0


def _events(control: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = request(f"http://127.0.0.1:{control}/site/events")
    return events


def _first(events: list[dict[str, Any]], kind: str, after: float, detail: str = "") -> float | None:
    for event in events:
        if event["kind"] == kind and event["wall"] >= after and event["detail"].startswith(detail):
            return float(event["wall"])
    return None


def _wait(control: int, kind: str, after: float, detail: str = "", timeout: float = 15) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = _first(_events(control), kind, after, detail)
        if found is not None:
            return found
        time.sleep(0.02)
    raise TimeoutError(f"no {kind} {detail} within {timeout} s")


def run_cuts(
    hass: HassInstance, control: int, cuts: int, *, entity: bool
) -> dict[str, list[float]]:
    """Cut and restore the grid ``cuts`` times; latencies in ms."""
    results: dict[str, list[float]] = {"switch": [], "discharge": []}
    for _ in range(cuts):
        cut = time.monotonic()
        request(f"http://127.0.0.1:{control}/grid", data={"available": False})
        if entity:
            hass.call_service(
                "input_boolean", "turn_off", {"entity_id": "input_boolean.grid_signal"}
            )
        switched = _wait(control, "switch_command", cut, "vehicle")
        discharging = _wait(control, "discharge_started", cut)
        results["switch"].append((switched - cut) * 1000)
        results["discharge"].append((discharging - cut) * 1000)
        back = time.monotonic()
        request(f"http://127.0.0.1:{control}/grid", data={"available": True})
        if entity:
            hass.call_service(
                "input_boolean", "turn_on", {"entity_id": "input_boolean.grid_signal"}
            )
        _wait(control, "switch_moved", back, "grid")
        time.sleep(1.5)  # the car recharges for a moment before the next cut
    return results


def _site_options(**extra: Any) -> dict[str, Any]:
    options = {
        "reserve_soc_pct": 30,
        "restore_delay_s": 1,  # the return is not measured: keep the cycle short
        "outage_debounce_s": 0.5,  # the default
        "confirm_timeout_s": 10,  # the default
        "source_failed_polls": 2,  # the defaults
        "source_failed_after_s": 15,
        "source_recover_after_s": 30,
        "house_load_w": 1000,
    }
    return options | extra


def main() -> None:
    """Run both scenarios and the CPU measurement; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cuts", type=int, default=50)
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument(
        "--keep", type=Path, help="keep Home Assistant's configuration folder (and log) here"
    )
    args = parser.parse_args()
    control, quasar_port, zendure_port, hass_port = (free_port() for _ in range(4))
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "scenario.toml"
        scenario.write_text(
            SCENARIO.format(quasar=quasar_port, zendure=zendure_port), encoding="utf-8"
        )
        simulator = start_simulator(scenario, control_port=control)
        hass = HassInstance(args.keep or Path(tmp) / "config", hass_port)
        try:
            hass.prepare(
                CONFIGURATION
                + rest_switch("Transfer switch", f"http://127.0.0.1:{control}/site/transfer_switch")
            )
            hass.start()
            hass.onboard()
            time.sleep(10)  # let start-up settle before measuring
            cpu_idle = _cpu_share(hass.pid, args.cpu_seconds)
            quasar = hass.add_v2x(
                "charger",
                {"family": "quasar1"},
                {"host": "127.0.0.1", "port": quasar_port, "unit_id": 1},
            )
            time.sleep(5)
            cpu_quasar = _cpu_share(hass.pid, args.cpu_seconds)
            zendure = hass.add_v2x(
                "battery", {"family": "zendure"}, {"host": "127.0.0.1", "port": zendure_port}
            )
            site = hass.add_v2x(
                "site",
                {"name": "Bench", "site_type": "house", "grid_signal": "entity"},
                {"grid_entity": "binary_sensor.grid"},
                {"primary_source": quasar["entry_id"], "transfer_switch": "switch.transfer_switch"},
            )
            hass.set_options(site["entry_id"], _site_options())
            time.sleep(3)
            entity = run_cuts(hass, control, args.cuts, entity=True)
            hass.api(f"/api/config/config_entries/entry/{site['entry_id']}", method="DELETE")
            site = hass.add_v2x(
                "site",
                {"name": "Bench device", "site_type": "house", "grid_signal": "device"},
                {"grid_device": zendure["entry_id"]},
                {"primary_source": quasar["entry_id"], "transfer_switch": "switch.transfer_switch"},
            )
            hass.set_options(site["entry_id"], _site_options(grid_poll_s=1))
            time.sleep(3)
            device = run_cuts(hass, control, args.cuts, entity=False)
            cpu_site = _cpu_share(hass.pid, args.cpu_seconds)
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
    _print(args, entity, device, (cpu_idle, cpu_quasar, cpu_site))


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} | {p95:.0f} | {ordered[-1]:.0f}"


def _print(
    args: argparse.Namespace,
    entity: dict[str, list[float]],
    device: dict[str, list[float]],
    cpu: tuple[float, float, float],
) -> None:
    print(
        f"# outage_switchover: {args.cuts} grid cuts per scenario, Home Assistant 2025.4.4, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print("| grid signal | measured from the cut to | p50 ms | p95 ms | max ms |")
    print("|---|---|---|---|---|")
    for name, results in (
        ("entity (binary sensor)", entity),
        ("device (Zendure gridState, 1 s poll)", device),
    ):
        print(f"| {name} | (a) transfer-switch command | {_stats(results['switch'])} |")
        print(f"| {name} | (b) car discharging (< -100 W) | {_stats(results['discharge'])} |")
    idle, quasar, site = cpu
    print()
    print(f"# Home Assistant CPU over {args.cpu_seconds:.0f} s (share of one core)")
    print("| configuration | CPU % | added by V2X |")
    print("|---|---|---|")
    print(f"| no V2X device | {idle:.2f} | - |")
    print(f"| + Quasar 1 (status 1 s, full 10 s) | {quasar:.2f} | {quasar - idle:+.2f} |")
    print(f"| + Zendure (10 s) + site grid poll (1 s) | {site:.2f} | {site - quasar:+.2f} |")


if __name__ == "__main__":
    main()
