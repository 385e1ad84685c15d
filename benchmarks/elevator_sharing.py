"""Two cars carrying a building's elevator, with a real Home Assistant and the simulator.

Usage: python -m benchmarks.elevator_sharing [--cuts 50] [--cuts-alone 10] [--hold 10]

The simulator and Home Assistant 2025.4.4 run in their own processes. Two Quasar 1
chargers (7.4 kW each) protect a building whose critical circuit draws 2.85 kW
standing (elevator 1.45 kW, lights 0.2 kW, water pump 1.3 kW) and 10.5 kW while the
elevator's motor starts a car (9 kW for 2 s every 8 s): more than one car gives. The
site (kind *Building*, *Elevator peak power* 10.5 kW) reads the simulator's protected
load, grid and switch position through RESTful sensors polled every second, as an
installation with a 1 s power meter would.

The simulator models the island as a V2H installation is: each car that supplies
powers the circuit up to its rating, and a load above the ratings of the cars
supplying is an overload (a real unit trips). For each cut, from the first moment a
car supplies the switched circuit (``island_supplied``: the switchover's dark gap is
not an overload) until the grid returns ``--hold`` s later, its event log gives the
elevator's starts and every overload with its length. A cut comes only once no car
discharges any more from the last one.

Runs: *Share the load* on (``--cuts`` cuts), then off (``--cuts-alone``), same site.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
import json
import os
from pathlib import Path
import platform
import tempfile
import time
from typing import Any

from harness.demo_site import site_sensors, site_switches
from harness.hass import HassInstance, request, start_simulator, stop_process

from .simproc import free_port

ELEVATOR_PEAK_W = 9000
OTHER_CRITICAL_W = 200 + 1300
SCENARIO = """
speed = 1.0
[[quasar]]
name = "lead"
port = {lead}
[quasar.car]
soc_pct = 90
capacity_kwh = 40
[[quasar]]
name = "second"
port = {second}
serial = 20240118
[quasar.car]
soc_pct = 90
capacity_kwh = 40
[site]
switch_delay_s = 0.2
[[site.loads]]
name = "elevator"
power_w = 1450
critical = true
peak_w = {peak}
peak_s = 2
trip_every_s = 8
[[site.loads]]
name = "lights"
power_w = 200
critical = true
[[site.loads]]
name = "water_pump"
power_w = 1300
critical = true
[[site.loads]]
name = "heater"
power_w = 2000
"""


@dataclass
class CutResult:
    """What one cut's supplied window held."""

    peaks: int = 0
    overloads: list[float] = field(default_factory=list)
    """Each overload's length (s)."""


def _events(control: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = request(f"http://127.0.0.1:{control}/site/events")
    return events


def _wait(control: int, kind: str, after: float, detail: str = "", timeout: float = 20) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in _events(control):
            found = event["kind"] == kind and event["wall"] >= after
            if found and event["detail"].startswith(detail):
                return float(event["wall"])
        time.sleep(0.05)
    raise TimeoutError(f"no {kind} {detail} within {timeout} s")


def _discharging_w(node: object) -> float:
    """The discharge (W, positive) of every charger in a part of the simulator's state."""
    if isinstance(node, dict):
        own = -min(float(node.get("actual_power_w", 0.0)), 0.0)
        return own + sum(_discharging_w(value) for value in node.values())
    if isinstance(node, list):
        return sum(_discharging_w(value) for value in node)
    return 0.0


def _wait_no_car_discharging(control: int, timeout: float = 30) -> None:
    """Until no car discharges any more (the last cut's sources have stopped)."""
    deadline = time.monotonic() + timeout
    while _discharging_w(request(f"http://127.0.0.1:{control}/state")) > 100:
        if time.monotonic() > deadline:
            raise TimeoutError("a car still discharges")
        time.sleep(0.1)


def _window(events: list[dict[str, Any]], start: float, end: float) -> CutResult:
    """The elevator's starts and the overloads between ``start`` and ``end``."""
    result = CutResult()
    since: float | None = None
    for event in events:
        wall = float(event["wall"])
        if event["kind"] == "overload" and start <= wall <= end:
            since = wall
        elif event["kind"] == "overload_end" and since is not None:
            result.overloads.append(wall - since)
            since = None
        elif event["kind"] == "load_peak" and start <= wall <= end:
            result.peaks += 1
    if since is not None:
        result.overloads.append(end - since)
    return result


def run_cuts(control: int, cuts: int, hold_s: float) -> list[CutResult]:
    """Cut the grid ``cuts`` times, each for ``hold_s`` once the first car supplies."""
    results = []
    grid = f"http://127.0.0.1:{control}/grid"
    for _ in range(cuts):
        _wait_no_car_discharging(control)
        cut = time.monotonic()
        request(grid, data={"available": False})
        supplying = _wait(control, "island_supplied", cut)
        time.sleep(max(0.0, supplying + hold_s - time.monotonic()))
        back = time.monotonic()
        request(grid, data={"available": True})
        results.append(_window(_events(control), supplying, back))
        _wait(control, "switch_moved", back, "grid")
        time.sleep(1.0)
    return results


def _site_options(share: bool) -> dict[str, Any]:
    return {
        "reserve_soc_pct": 30,
        "restore_delay_s": 1,  # the return is not measured: keep the cycle short
        "outage_debounce_s": 0.5,
        "confirm_timeout_s": 10,
        "source_failed_polls": 2,  # the defaults
        "source_failed_after_s": 15,
        "source_recover_after_s": 30,
        "park_warning_min": 10,
        "elevator_standby_w": 250,
        "elevator_trip_wh": 60,
        "elevator_trips_per_hour": 20,
        "elevator_peak_w": ELEVATOR_PEAK_W + OTHER_CRITICAL_W,
        "share_load": share,
    }


def main() -> None:
    """Run both configurations; print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cuts", type=int, default=50)
    parser.add_argument("--cuts-alone", type=int, default=10)
    parser.add_argument("--hold", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="keep Home Assistant's configuration here")
    parser.add_argument("--events", type=Path, help="write the site's event log here (JSON)")
    args = parser.parse_args()
    control, lead_port, second_port, hass_port = (free_port() for _ in range(4))
    with tempfile.TemporaryDirectory() as tmp:
        scenario = Path(tmp) / "scenario.toml"
        scenario.write_text(
            SCENARIO.format(lead=lead_port, second=second_port, peak=ELEVATOR_PEAK_W),
            encoding="utf-8",
        )
        simulator = start_simulator(scenario, control_port=control)
        hass = HassInstance(args.keep or Path(tmp) / "config", hass_port)
        sim = f"http://127.0.0.1:{control}/site"
        try:
            hass.prepare(
                "\nrest:\n"
                + site_sensors(sim, "")
                + "\nswitch:\n"
                + site_switches(sim, "", ("heater",))
            )
            hass.start()
            hass.onboard()
            cars = [
                hass.add_v2x(
                    "charger",
                    {"family": "quasar1"},
                    {"host": "127.0.0.1", "port": port, "unit_id": 1},
                )
                for port in (lead_port, second_port)
            ]
            site = hass.add_v2x(
                "site",
                {"name": "Bench building", "site_type": "building", "grid_signal": "entity"},
                {"grid_entity": "binary_sensor.grid"},
                {
                    "primary_source": cars[0]["entry_id"],
                    "second_source": cars[1]["entry_id"],
                    "transfer_switch": "switch.transfer_switch",
                    "switch_confirm": "binary_sensor.transfer_switch_position",
                    "sheddable_loads": ["switch.heater"],
                    "load_sensor": "sensor.protected_load",
                },
            )
            runs = {}
            for share, cuts in ((True, args.cuts), (False, args.cuts_alone)):
                hass.set_options(site["entry_id"], _site_options(share))
                time.sleep(5)
                runs[share] = run_cuts(control, cuts, args.hold)
            if args.events:
                args.events.write_text(json.dumps(_events(control), indent=1), encoding="utf-8")
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
    _print(args, runs)


def _print(args: argparse.Namespace, runs: dict[bool, list[CutResult]]) -> None:
    print(
        f"# elevator_sharing: two Quasar 1 (7.4 kW each), circuit 2.95 kW standing and "
        f"{(ELEVATOR_PEAK_W + OTHER_CRITICAL_W) / 1000:.1f} kW at an elevator start, "
        f"{args.hold:.0f} s per cut, Home Assistant 2025.4.4, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    print(
        "| Share the load | cuts | elevator starts on vehicle power | overloads | "
        "cuts with an overload | overload time, total (s) | longest overload (s) |"
    )
    print("|---|---|---|---|---|---|---|")
    for share, results in runs.items():
        peaks = sum(r.peaks for r in results)
        overloads = [length for r in results for length in r.overloads]
        with_overload = sum(1 for r in results if r.overloads)
        longest = max(overloads, default=0.0)
        print(
            f"| {'on' if share else 'off'} | {len(results)} | {peaks} | {len(overloads)} | "
            f"{with_overload} | {sum(overloads):.2f} | {longest:.2f} |"
        )


if __name__ == "__main__":
    main()
