"""CPU per charger, V2X against Home Assistant core's ``modbus`` integration (issue 20).

Usage: python -m benchmarks.cpu_per_charger [--sizes 1 10 50] [--phase 60] [--settle 15]
       [--rounds 3] [--building] [--integration DIR] [--keep DIR]

For each size a fresh simulator (``N`` Wallbox Quasar 1 twins, each with a plugged-in
40 kWh car at 45-70 %) and a fresh Home Assistant 2025.4.4 run in their own processes.
Home Assistant holds both integrations for the same chargers, configured as a user
would:

* **V2X**: every charger added through the config flow with the default options
  (status poll every 1 s, full poll every 10 s);
* **core modbus**: ``configuration.yaml`` with one TCP hub per charger and a sensor,
  each at ``scan_interval: 1``, for every register V2X reads and shows: state (537),
  state of charge (538), signed power (526), max available power (514), the two
  32-bit error words (539, 541), AC current (519) and AC voltage (522).

Three modes are measured, each a window of ``--phase`` seconds after ``--settle``
seconds of settling: *V2X* (the V2X entries enabled, every modbus hub stopped with
``modbus.stop``), *core modbus* (the V2X entries disabled, the hubs set up again with
``modbus.reload``) and *none* (both off: the floor of Home Assistant and the harness).
A round measures the three modes once, in an order rotated from round to round, so
every mode takes every place; ``--rounds`` rounds are measured with the cars charging
(under their own control), then as many with the cars idle (their state of charge set
to 100 % through the simulator's control API: plugged in, charging complete, 0 W).

Figures, per mode: Home Assistant's CPU (utime + stime of its process from ``/proc``,
all threads, over the window, % of one core), median and range over the rounds; the
Modbus requests per second the chargers saw (the simulator's counters); and the CPU
per charger, the median above *none*'s median divided by ``N``. ``--building`` adds,
at the largest size, a V2B building with every car (the set-up of
``benchmarks/v2b_scale.py``: a 500 kW meter, the peak price now, every car
discharging under the plan) after the charging rounds and measures ``--rounds``
windows of V2X with it; the building is deleted before the idle rounds.

The script exits with status 1 when a goal of issue 20 is missed: V2X's CPU per
charger above core modbus's at any size and condition, fewer than 5 x fewer requests,
or the largest size + the building above 5 % of one core. Every window is logged as
it is measured; ``--report LOG`` prints the tables again from such a log.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from datetime import datetime
import os
from pathlib import Path
import platform
import re
import statistics
import sys
import tempfile
import time
from zoneinfo import ZoneInfo

from custom_components.v2x.devices.quasar import (
    REG_AC_CURRENT,
    REG_AC_VOLTAGE,
    REG_ACTUAL_POWER,
    REG_ERROR_RECOVERABLE,
    REG_ERROR_UNRECOVERABLE,
    REG_MAX_POWER,
    REG_SOC,
    REG_STATE,
)
from harness.hass import HassInstance, request, start_simulator, stop_process

from .simproc import cpu_seconds
from .v2b_scale import (
    CONFIGURATION,
    add_building,
    add_chargers,
    charger_name,
    distinct_free_ports,
    machine,
    scenario,
    wait_discharging,
)

MODES = ("V2X", "core modbus", "none")
CONDITIONS = ("charging", "idle")
REQUEST_ADVANTAGE = 5.0
BUILDING_GOAL_PCT = 5.0

SOC_RANGE = (45, 70)
"""The cars' states of charge (%): room to charge, and above the building's reserve."""

# (name, address, data type, unit, device class): the registers V2X reads and shows,
# at the addresses of V2X's own Quasar profile.
REGISTERS = (
    ("state", REG_STATE, "uint16", None, None),
    ("soc", REG_SOC, "uint16", "%", "battery"),
    ("power", REG_ACTUAL_POWER, "int16", "W", "power"),
    ("max_power", REG_MAX_POWER, "uint16", "W", "power"),
    ("error_unrecoverable", REG_ERROR_UNRECOVERABLE, "uint32", None, None),
    ("error_recoverable", REG_ERROR_RECOVERABLE, "uint32", None, None),
    ("ac_current", REG_AC_CURRENT, "int16", "A", "current"),
    ("ac_voltage", REG_AC_VOLTAGE, "uint16", "V", "voltage"),
)


def modbus_yaml(ports: list[int]) -> str:
    """``configuration.yaml``'s ``modbus:`` block: a hub per charger, a sensor per register."""
    lines = ["modbus:"]
    for index, port in enumerate(ports):
        hub = charger_name(index)
        lines += [
            f"  - name: {hub}",
            "    type: tcp",
            "    host: 127.0.0.1",
            f"    port: {port}",
            "    sensors:",
        ]
        for name, address, data_type, unit, device_class in REGISTERS:
            lines += [
                f"      - name: {hub} {name}",
                f"        unique_id: core_{hub}_{name}",
                "        slave: 1",
                f"        address: {address}",
                "        input_type: holding",
                f"        data_type: {data_type}",
                "        scan_interval: 1",
            ]
            if unit:
                lines.append(f'        unit_of_measurement: "{unit}"')
            if device_class:
                lines += [
                    f"        device_class: {device_class}",
                    "        state_class: measurement",
                ]
    return "\n".join(lines) + "\n"


@dataclass
class Window:
    """One measured window."""

    mode: str
    condition: str
    cpu_pct: float
    requests_per_s: float


@dataclass
class Size:
    """Every window of one size."""

    chargers: int
    windows: list[Window] = field(default_factory=list)
    building: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def cpu(self, mode: str, condition: str) -> list[float]:
        """The CPU shares of one mode and condition, in measuring order."""
        return [w.cpu_pct for w in self.windows if (w.mode, w.condition) == (mode, condition)]

    def requests(self, mode: str, condition: str) -> float:
        """The median request rate of one mode and condition."""
        return statistics.median(
            w.requests_per_s for w in self.windows if (w.mode, w.condition) == (mode, condition)
        )

    def per_charger(self, mode: str, condition: str) -> float:
        """CPU per charger: the median above none's median, over ``chargers``."""
        floor = statistics.median(self.cpu("none", condition))
        return (statistics.median(self.cpu(mode, condition)) - floor) / self.chargers


class Bench:
    """One Home Assistant with both integrations, and the switches between the modes."""

    def __init__(
        self, hass: HassInstance, control: int, hubs: list[str], entries: list[str]
    ) -> None:
        """Both integrations are on after set-up."""
        self.hass = hass
        self.control = control
        self.hubs = hubs
        self.entries = entries
        self.v2x_on = True
        self.core_on = True

    def _set_v2x(self, on: bool) -> None:
        if on == self.v2x_on:
            return
        for entry_id in self.entries:
            reply = self.hass.websocket(
                {
                    "type": "config_entries/disable",
                    "entry_id": entry_id,
                    "disabled_by": None if on else "user",
                },
                timeout_s=60,
            )
            if not reply.get("success"):
                raise RuntimeError(f"could not switch entry {entry_id}: {reply}")
        self.v2x_on = on

    def _set_core(self, on: bool) -> None:
        if on == self.core_on:
            return
        if on:  # Home Assistant 2025.4 registers no modbus.restart: reload the YAML
            self.hass.call_service("modbus", "reload", {})
        else:
            for hub in self.hubs:
                self.hass.call_service("modbus", "stop", {"hub": hub})
        self.core_on = on

    def select(self, mode: str) -> None:
        """Switch to ``mode``: what must go off goes off first."""
        v2x, core = mode == "V2X", mode == "core modbus"
        if not v2x:
            self._set_v2x(False)
        if not core:
            self._set_core(False)
        self._set_v2x(v2x)
        self._set_core(core)

    def requests(self) -> int:
        """Every Modbus request the simulated chargers have served."""
        state = request(f"http://127.0.0.1:{self.control}/state")
        return sum(int(device["modbus_requests"]) for device in state["devices"].values())

    def measure(self, seconds: float) -> tuple[float, float]:
        """Home Assistant's CPU share and the request rate over a window of ``seconds``."""
        requests0, cpu0, wall0 = self.requests(), cpu_seconds(self.hass.pid), time.monotonic()
        time.sleep(seconds)
        cpu1, wall1, requests1 = cpu_seconds(self.hass.pid), time.monotonic(), self.requests()
        wall = wall1 - wall0
        return (cpu1 - cpu0) / wall * 100, (requests1 - requests0) / wall

    def idle_cars(self) -> None:
        """Every car full: plugged in, charging complete."""
        state = request(f"http://127.0.0.1:{self.control}/state")
        for name in state["devices"]:
            request(
                f"http://127.0.0.1:{self.control}/devices/{name}/state",
                data={"soc_pct": 100},
            )


def _log(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


def run_size(args: argparse.Namespace, chargers: int, *, building: bool) -> Size:
    """One fresh simulator and Home Assistant: every round of every condition."""
    size = Size(chargers)
    control, hass_port, *ports = distinct_free_ports(chargers + 2)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(scenario(ports, SOC_RANGE), encoding="utf-8")
        simulator = start_simulator(path, control_port=control)
        keep = args.keep / f"{chargers}-chargers" if args.keep else None
        hass = HassInstance(keep or Path(tmp) / "config", hass_port)
        try:
            hass.prepare(CONFIGURATION + modbus_yaml(ports), integration=args.integration)
            hass.start()
            hass.onboard()
            entries = add_chargers(hass, ports)
            bench = Bench(hass, control, [charger_name(i) for i in range(chargers)], entries)
            for condition in CONDITIONS:
                if condition == "idle":
                    if building:  # while the cars can still discharge
                        _measure_building(args, bench, size)
                    bench.idle_cars()
                for round_index in range(args.rounds):
                    order = MODES[round_index % 3 :] + MODES[: round_index % 3]
                    for mode in order:
                        bench.select(mode)
                        time.sleep(args.settle)
                        cpu, rate = bench.measure(args.phase)
                        size.windows.append(Window(mode, condition, cpu, rate))
                        _log(
                            f"{chargers} chargers, {condition}, {mode}: "
                            f"{cpu:.2f} % of a core, {rate:.1f} requests/s"
                        )
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
    return size


def _measure_building(args: argparse.Namespace, bench: Bench, size: Size) -> None:
    bench.select("V2X")
    zone = ZoneInfo(str(bench.hass.api("/api/config")["time_zone"]))
    entry_id = add_building(bench.hass, bench.entries, datetime.now(zone))
    discharging, waited = wait_discharging(bench.control, size.chargers)
    size.notes.append(f"{discharging} of {size.chargers} cars discharging {waited:.0f} s after")
    _log(f"{size.chargers} chargers: {size.notes[-1]}")
    for _ in range(args.rounds):
        time.sleep(args.settle)
        cpu, _rate = bench.measure(args.phase)
        size.building.append(cpu)
        _log(f"{size.chargers} chargers + building: {cpu:.2f} % of a core")
    # The building hands the chargers back to their own control when it goes.
    bench.hass.api(f"/api/config/config_entries/entry/{entry_id}", method="DELETE")


_WINDOW = re.compile(
    r"^\[[\d:]+\] (?P<n>\d+) chargers, (?P<condition>\w+), (?P<mode>[\w ]+): "
    r"(?P<cpu>[\d.]+) % of a core, (?P<rate>[\d.]+) requests/s$"
)
_BUILDING = re.compile(r"^\[[\d:]+\] (?P<n>\d+) chargers \+ building: (?P<cpu>[\d.]+) %")
_NOTE = re.compile(r"^\[[\d:]+\] (?P<n>\d+) chargers: (?P<note>.*cars discharging.*)$")


def from_log(text: str) -> list[Size]:
    """The sizes and windows of a run, from the lines it logged."""
    sizes: dict[int, Size] = {}
    for line in text.splitlines():
        if match := _WINDOW.match(line):
            size = sizes.setdefault(int(match["n"]), Size(int(match["n"])))
            size.windows.append(
                Window(match["mode"], match["condition"], float(match["cpu"]), float(match["rate"]))
            )
        elif match := _BUILDING.match(line):
            sizes.setdefault(int(match["n"]), Size(int(match["n"]))).building.append(
                float(match["cpu"])
            )
        elif match := _NOTE.match(line):
            sizes.setdefault(int(match["n"]), Size(int(match["n"]))).notes.append(match["note"])
    return list(sizes.values())


def _span(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} ({min(values):.2f}-{max(values):.2f})"


def report(args: argparse.Namespace, sizes: list[Size], hass_version: str) -> list[str]:
    """Print the tables; return the goals missed."""
    print()
    print(
        f"# cpu_per_charger: {args.phase:.0f} s windows after {args.settle:.0f} s, "
        f"{args.rounds} rounds per condition, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )
    print(f"Machine: {machine(hass_version)}")
    print(f"Command: python -m benchmarks.cpu_per_charger {' '.join(sys.argv[1:])}")
    print()
    print(
        "| chargers | cars | requests/s V2X | core | HA CPU % V2X, median (range) | core modbus "
        "| none | CPU per charger V2X | core | V2X / core |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    missed = []
    for size in sizes:
        for condition in CONDITIONS:
            v2x, core = (
                size.per_charger("V2X", condition),
                size.per_charger("core modbus", condition),
            )
            req_v2x, req_core = (
                size.requests("V2X", condition),
                size.requests("core modbus", condition),
            )
            ratio = f"{v2x / core:.2f}" if core > 0 else "-"
            print(
                f"| {size.chargers} | {condition} | {req_v2x:.1f} | {req_core:.1f} "
                f"| {_span(size.cpu('V2X', condition))} "
                f"| {_span(size.cpu('core modbus', condition))} "
                f"| {_span(size.cpu('none', condition))} "
                f"| {v2x:.3f} | {core:.3f} | {ratio} |"
            )
            if v2x > core:
                missed.append(f"{size.chargers} chargers {condition}: V2X {v2x:.3f} > {core:.3f}")
            if req_v2x * REQUEST_ADVANTAGE > req_core:
                missed.append(
                    f"{size.chargers} chargers {condition}: "
                    f"requests {req_v2x:.1f} vs {req_core:.1f}"
                )
        if size.building:
            median = statistics.median(size.building)
            print()
            print(
                f"* {size.chargers} chargers + the V2B building: {_span(size.building)} % of a "
                f"core ({'; '.join(size.notes)})"
            )
            if median > BUILDING_GOAL_PCT:
                missed.append(f"{size.chargers} chargers + building: {median:.2f} % of a core")
    return missed


def main() -> None:
    """Measure every size; print the tables; exit 1 on a missed goal."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--phase", type=float, default=60.0)
    parser.add_argument("--settle", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--building", action="store_true", help="the V2B building at the largest")
    parser.add_argument(
        "--integration", type=Path, help="the custom_components/v2x folder to run (A/B runs)"
    )
    parser.add_argument("--keep", type=Path, help="keep Home Assistant's configuration here")
    parser.add_argument(
        "--report", type=Path, help="no run: the tables from this run's log (same flags)"
    )
    args = parser.parse_args()
    if args.report:
        sizes = from_log(args.report.read_text(encoding="utf-8"))
    else:
        sizes = [
            run_size(args, chargers, building=args.building and chargers == max(args.sizes))
            for chargers in args.sizes
        ]
    from importlib import metadata

    missed = report(args, sizes, metadata.version("homeassistant"))
    if missed:
        print()
        for line in missed:
            print(f"MISSED: {line}")
        sys.exit(1)


if __name__ == "__main__":
    main()
