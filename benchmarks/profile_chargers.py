"""Where Home Assistant's time goes with many chargers: a py-spy profile (issue 20).

Usage: python -m benchmarks.profile_chargers [--chargers 10] [--seconds 60] [--rate 200]

Needs py-spy (``requirements_bench.txt``). The simulator (``--chargers`` Wallbox Quasar 1
twins, cars plugged in and charging under their own control) and Home Assistant
2025.4.4 run in their own processes; every charger is added through the config flow
with the default options (status poll 1 s, full poll 10 s). After a settling minute
py-spy samples every thread of Home Assistant for ``--seconds`` at ``--rate`` Hz
(``--idle``: only the threads' Python code that runs, idle waits left out) and the
samples are summarised:

* **by area**: each sample is counted once for the first area its stack enters, from
  the innermost frame out: V2X's own code (by module), Home Assistant's state machine
  and entity writes, the recorder, pymodbus, asyncio's event loop, other;
* **the top functions** by inclusive samples inside V2X, and by self samples overall.

Home Assistant's CPU share over the same window (``/proc``) is printed with it.
"""

from __future__ import annotations

import argparse
from collections import Counter
import os
from pathlib import Path
import platform
import re
import subprocess
import sys
import tempfile
import time

from harness.hass import HassInstance, start_simulator, stop_process

from .simproc import cpu_seconds
from .v2b_scale import distinct_free_ports, scenario

_FRAME = re.compile(r"^(?P<function>.*) \((?P<file>[^:()]+)(?::\d+)?\)$")
AREAS = (
    ("V2X", "custom_components/v2x/"),
    ("pymodbus", "/pymodbus/"),
    ("HA recorder", "homeassistant/components/recorder/"),
    ("HA state machine, entities, events", "homeassistant/core.py"),
    ("HA state machine, entities, events", "homeassistant/helpers/entity.py"),
    ("HA coordinators", "homeassistant/helpers/update_coordinator.py"),
    ("HA other", "/homeassistant/"),
    ("asyncio, selectors", "/asyncio/"),
    ("asyncio, selectors", "selectors.py"),
)


def _frames(stack: str) -> list[tuple[str, str]]:
    """A collapsed stack ``outer;...;inner`` as (function, file) pairs, outer first."""
    frames = []
    for part in stack.split(";"):
        match = _FRAME.match(part.strip())
        if match:
            frames.append((match["function"], match["file"]))
        else:
            frames.append((part.strip(), ""))
    return frames


def _area(frames: list[tuple[str, str]]) -> str:
    for _function, file in reversed(frames):
        for name, marker in AREAS:
            if marker in file:
                if name == "V2X":
                    module = file.split("custom_components/v2x/", 1)[1]
                    return f"V2X {module}"
                return name
    return "other"


def summarise(raw: str, top: int = 20) -> tuple[Counter[str], Counter[str], Counter[str], int]:
    """Samples by area, inclusive V2X functions, self functions; and the total."""
    areas: Counter[str] = Counter()
    v2x_inclusive: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = _frames(stack)
        areas[_area(frames)] += count
        seen = set()
        for function, file in frames:
            if "custom_components/v2x/" in file:
                name = f"{file.split('custom_components/v2x/', 1)[1]}:{function}"
                if name not in seen:
                    seen.add(name)
                    v2x_inclusive[name] += count
        if frames:
            function, file = frames[-1]
            short = file.rsplit("site-packages/", 1)[-1].rsplit("/lib/python", 1)[-1]
            self_time[f"{short}:{function}"] += count
    return areas, v2x_inclusive, self_time, total


def main() -> None:
    """Profile; print the summary."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--settle", type=float, default=60.0)
    parser.add_argument("--idle", action="store_true", help="sample idle threads too")
    parser.add_argument("--keep", type=Path, help="keep the raw samples here")
    parser.add_argument(
        "--integration", type=Path, help="the custom_components/v2x folder to run (A/B runs)"
    )
    args = parser.parse_args()
    ports = distinct_free_ports(args.chargers + 2)
    control, hass_port, charger_ports = ports[0], ports[1], ports[2:]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(scenario(charger_ports), encoding="utf-8")
        simulator = start_simulator(path, control_port=control)
        hass = HassInstance(Path(tmp) / "config", hass_port)
        try:
            hass.prepare(integration=args.integration)
            hass.start()
            hass.onboard()
            for port in charger_ports:
                hass.add_v2x(
                    "charger",
                    {"family": "quasar1"},
                    {"host": "127.0.0.1", "port": port, "unit_id": 1},
                )
            time.sleep(args.settle)
            raw_path = args.keep or Path(tmp) / "samples.txt"
            command = [
                str(Path(sys.executable).with_name("py-spy")),
                "record", "--pid", str(hass.pid), "--duration", str(int(args.seconds)),
                "--rate", str(args.rate), "--format", "raw", "--output", str(raw_path),
                "--threads", "--nonblocking",
            ]  # fmt: skip
            if args.idle:
                command.append("--idle")
            before, started = cpu_seconds(hass.pid), time.monotonic()
            subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - our py-spy
            share = (cpu_seconds(hass.pid) - before) / (time.monotonic() - started) * 100
            raw = raw_path.read_text(encoding="utf-8")
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
    _print(args, share, raw)


def _strip_threads(raw: str) -> str:
    """py-spy --threads puts the thread first in each stack; the summary ignores it."""
    lines = []
    for line in raw.splitlines():
        first, sep, rest = line.partition(";")
        lines.append(rest if sep and first.startswith(("thread ", "process ")) else line)
    return "\n".join(lines)


def _print(args: argparse.Namespace, share: float, raw: str) -> None:
    areas, v2x, self_time, total = summarise(_strip_threads(raw))
    print(
        f"# profile_chargers: {args.chargers} Quasar 1 chargers, {args.seconds:.0f} s at "
        f"{args.rate} Hz, Home Assistant 2025.4.4, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs; Home Assistant CPU {share:.1f} % of a core; {total} samples"
    )
    print("| area (innermost first) | samples | share |")
    print("|---|---|---|")
    for name, count in areas.most_common():
        print(f"| {name} | {count} | {100 * count / max(total, 1):.1f} % |")
    print()
    print("| V2X function (inclusive) | samples | share |")
    print("|---|---|---|")
    for name, count in v2x.most_common(20):
        print(f"| {name} | {count} | {100 * count / max(total, 1):.1f} % |")
    print()
    print("| function (self) | samples | share |")
    print("|---|---|---|")
    for name, count in self_time.most_common(20):
        print(f"| {name} | {count} | {100 * count / max(total, 1):.1f} % |")


if __name__ == "__main__":
    main()
