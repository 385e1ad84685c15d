"""Outage switchover latency and polling CPU, with a real Home Assistant and the simulator.

Usage: python -m benchmarks.outage_switchover [--cuts 50] [--cpu-seconds 60]

Both the simulator and Home Assistant 2025.4.4 run in their own processes. Home
Assistant is configured through its REST API: a Quasar 1 (the source), and as grid
signals a Zendure, a Nichicon (ECHONET Lite) and a SunSpec charger, and a backup site
with default settings (0.5 s outage confirmation) whose transfer switch is a RESTful
switch of the simulated site (no position feedback entity, so the measurement is about
V2X). Home Assistant's ECHONET Lite endpoint binds UDP 3610 and joins the group
224.0.23.0, to which the simulated Nichicon announces its changes (INF).

For each scenario the grid is cut ``--cuts`` times. Measured on the simulator's side
(process-independent monotonic clock) from the moment of the cut:

* (a) the transfer-switch command arrives at the simulated switch;
* (b) the Quasar's measured power passes -100 W (the car supplies the house).

Scenario *entity*: the grid signal is a Home Assistant binary sensor that follows an
input_boolean flipped at the moment of the cut (a push-type grid sensor).
Scenario *zendure*: the grid signal is the Zendure's own ``gridState``, polled by the
site every second; only the simulator's grid is cut.
Scenario *echonet*: the Nichicon's 0xDB (independent operation), announced by the unit
the moment it sees the cut (its status poll stays at 1 s).
Scenario *sunspec*: the SunSpec charger's ``ConnSt``, its status polled by the site's
grid poll every 0.25 s (no push; the fastest the option offers is 0.2 s).

CPU: Home Assistant's own CPU time (utime + stime from /proc) over ``--cpu-seconds``,
first with no V2X device, then with the Quasar (status every 1 s, full every 10 s),
then with the site polling the Zendure's grid state every second as well; at the end,
with every device loaded, a site on the SunSpec charger polling at 1 s, then 0.25 s.
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
[[echonet]]
name = "nichicon"
port = {nichicon}
[[sunspec]]
name = "sunspec"
port = {sunspec}
[site]
switch_delay_s = 0.2
sources = ["quasar"]
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
    """Cut and restore the grid ``cuts`` times; latencies in ms.

    A cut with no switchover within 15 s is not retried: it is counted in
    ``missed`` (with the time of the cut, to find it in Home Assistant's log).
    """
    results: dict[str, list[float]] = {"switch": [], "discharge": [], "missed": []}
    for _ in range(cuts):
        cut = time.monotonic()
        request(f"http://127.0.0.1:{control}/grid", data={"available": False})
        if entity:
            hass.call_service(
                "input_boolean", "turn_off", {"entity_id": "input_boolean.grid_signal"}
            )
        try:
            switched = _wait(control, "switch_command", cut, "vehicle")
            discharging = _wait(control, "discharge_started", cut)
        except TimeoutError:
            results["missed"].append(time.time())
            print(f"missed a switchover: cut at {time.strftime('%H:%M:%S')}", flush=True)
        else:
            results["switch"].append((switched - cut) * 1000)
            results["discharge"].append((discharging - cut) * 1000)
        back = time.monotonic()
        request(f"http://127.0.0.1:{control}/grid", data={"available": True})
        if entity:
            hass.call_service(
                "input_boolean", "turn_on", {"entity_id": "input_boolean.grid_signal"}
            )
        if results["missed"] and results["missed"][-1] >= time.time() - 20:
            time.sleep(5)  # whatever the site does now, let it settle
        else:
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


def _device_site(
    hass: HassInstance, name: str, grid_device: str, quasar: str, **options: Any
) -> str:
    site = hass.add_v2x(
        "site",
        {"name": name, "site_type": "house", "grid_signal": "device"},
        {"grid_device": grid_device},
        {"primary_source": quasar, "transfer_switch": "switch.transfer_switch"},
    )
    hass.set_options(site["entry_id"], _site_options(**options))
    _show_the_soc(hass)
    return str(site["entry_id"])


def _show_the_soc(hass: HassInstance) -> None:
    """Charge the car for a moment: a Quasar reports its SoC only while power flows.

    A site added while the car stands idle does not know the SoC yet (its memory of
    readings starts empty), so it would not use the car; between cuts the car
    recharges for the same reason.
    """
    device = hass.device_id(QUASAR_POWER)
    hass.call_service(
        "v2x", "charge", {"device_id": device, "power_w": 3000, "duration": {"seconds": 3}}
    )
    time.sleep(4)


def _remove(hass: HassInstance, entry_id: str) -> None:
    hass.api(f"/api/config/config_entries/entry/{entry_id}", method="DELETE")


def main() -> None:
    """Run every scenario and the CPU measurement; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cuts", type=int, default=50)
    parser.add_argument("--cpu-seconds", type=float, default=60.0)
    parser.add_argument(
        "--keep", type=Path, help="keep Home Assistant's configuration folder (and log) here"
    )
    args = parser.parse_args()
    control, quasar_port, zendure_port, nichicon_port, sunspec_port, hass_port = (
        free_port() for _ in range(6)
    )
    results: dict[str, dict[str, list[float]]] = {}
    cpu: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "scenario.toml"
        scenario.write_text(
            SCENARIO.format(
                quasar=quasar_port, zendure=zendure_port, nichicon=nichicon_port,
                sunspec=sunspec_port,
            ),
            encoding="utf-8",
        )  # fmt: skip
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
            cpu["idle"] = _cpu_share(hass.pid, args.cpu_seconds)
            quasar = hass.add_v2x(
                "charger",
                {"family": "quasar1"},
                {"host": "127.0.0.1", "port": quasar_port, "unit_id": 1},
            )["entry_id"]
            time.sleep(5)
            cpu["quasar"] = _cpu_share(hass.pid, args.cpu_seconds)
            zendure = hass.add_v2x(
                "battery", {"family": "zendure"}, {"host": "127.0.0.1", "port": zendure_port}
            )["entry_id"]
            site = hass.add_v2x(
                "site",
                {"name": "Bench", "site_type": "house", "grid_signal": "entity"},
                {"grid_entity": "binary_sensor.grid"},
                {"primary_source": quasar, "transfer_switch": "switch.transfer_switch"},
            )["entry_id"]
            hass.set_options(site, _site_options())
            _show_the_soc(hass)
            results["entity"] = run_cuts(hass, control, args.cuts, entity=True)
            _remove(hass, site)
            site = _device_site(hass, "Bench Zendure", zendure, quasar, grid_poll_s=1)
            results["zendure"] = run_cuts(hass, control, args.cuts, entity=False)
            cpu["zendure"] = _cpu_share(hass.pid, args.cpu_seconds)
            _remove(hass, site)
            nichicon = hass.add_v2x(
                "charger", {"family": "echonet_lite"}, {"host": "127.0.0.1", "port": nichicon_port}
            )["entry_id"]
            site = _device_site(hass, "Bench Nichicon", nichicon, quasar, grid_poll_s=1)
            results["echonet"] = run_cuts(hass, control, args.cuts, entity=False)
            _remove(hass, site)
            sunspec = hass.add_v2x(
                "charger",
                {"family": "sunspec"},
                {"host": "127.0.0.1", "port": sunspec_port, "unit_id": 1},
            )["entry_id"]
            site = _device_site(hass, "Bench SunSpec", sunspec, quasar, grid_poll_s=1)
            cpu["sunspec_1"] = _cpu_share(hass.pid, args.cpu_seconds)
            hass.set_options(site, _site_options(grid_poll_s=0.25))
            _show_the_soc(hass)
            cpu["sunspec_025"] = _cpu_share(hass.pid, args.cpu_seconds)
            results["sunspec"] = run_cuts(hass, control, args.cuts, entity=False)
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
    _print(args, results, cpu)


def _stats(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"{statistics.median(ordered):.0f} | {p95:.0f} | {ordered[-1]:.0f}"


QUASAR_POWER = "sensor.wallbox_quasar_1_20240117_power"
SIGNALS = {
    "entity": "entity (binary sensor)",
    "zendure": "device: Zendure gridState, 1 s poll",
    "echonet": "device: Nichicon 0xDB, announced (INF)",
    "sunspec": "device: SunSpec ConnSt, 0.25 s poll",
}


def _print(
    args: argparse.Namespace, results: dict[str, dict[str, list[float]]], cpu: dict[str, float]
) -> None:
    print(
        f"# outage_switchover: {args.cuts} grid cuts per scenario, Home Assistant 2025.4.4, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print("| grid signal | measured from the cut to | p50 ms | p95 ms | max ms | missed |")
    print("|---|---|---|---|---|---|")
    for key, name in SIGNALS.items():
        measured = results[key]
        missed = len(measured["missed"])
        for what, label in (
            ("switch", "(a) transfer-switch command"),
            ("discharge", "(b) car discharging (< -100 W)"),
        ):
            print(f"| {name} | {label} | {_stats(measured[what])} | {missed} |")
    print()
    print(f"# Home Assistant CPU over {args.cpu_seconds:.0f} s (share of one core)")
    print("| configuration | CPU % | added |")
    print("|---|---|---|")
    rows = (
        ("idle", "no V2X device", None),
        ("quasar", "+ Quasar 1 (status 1 s, full 10 s)", "idle"),
        ("zendure", "+ Zendure (10 s) + site grid poll (1 s)", "quasar"),
        ("sunspec_1", "all devices, site on the SunSpec charger, grid poll 1 s", None),
        ("sunspec_025", "the same, grid poll 0.25 s", "sunspec_1"),
    )
    for key, label, base in rows:
        added = "-" if base is None else f"{cpu[key] - cpu[base]:+.2f}"
        print(f"| {label} | {cpu[key]:.2f} | {added} |")


if __name__ == "__main__":
    main()
