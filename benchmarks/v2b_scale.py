"""Scale: many simulated chargers and a V2B building in one Home Assistant (issue 6).

Usage: python -m benchmarks.v2b_scale [--chargers 50] [--seconds 120] [--replan-every 15]
       [--keep DIR]

The simulator (``--chargers`` Wallbox Quasar 1 twins, each with a plugged-in 40 kWh
car at 55-80 %) and a real Home Assistant 2025.4.4 run in their own processes. Home
Assistant is onboarded and configured through its REST API only, as a person would:
every charger through the V2X config flow with the default options (status poll every
1 s, full poll every 10 s), then one V2B building entry with all the cars. Its meter
is a template sensor (kW) following an input_number set to 500 kW, more than every
car can discharge together; its tariff options (default prices) put the peak price on
from an hour ago until 45-60 minutes from now, every day, and every car leaves twelve
hours from now, so the one optimal plan discharges every car at full power now and the
building writes their setpoints.

For ``--seconds`` each, four phases are measured:

* (a) Home Assistant with no V2X entry (the floor of the harness);
* (b) with the chargers polled at the default intervals (cars under their own
  control: they charge);
* (c) plus the building: the cars discharge under the plan; nothing else happens
  (the planner ticks every 10 s and re-plans at each 15-minute step);
* (d) the same, with one car's departure moved (v2x.set_departure, about 12 h from
  now) every ``--replan-every`` seconds: each is a re-plan of all the cars and new
  setpoints written to every charger; 0 skips this phase.

After the phases one car is unplugged and plugged back in (not measured), to see
whether the building plans it again.

Figures: Home Assistant's CPU share (utime + stime of its process from ``/proc``, all
threads, over the window, as percent of one core), the simulator's likewise, and
the event-loop lag seen from outside: a websocket client sends ``{"type": "ping"}``
every 100 ms on a fixed schedule (a late pong never delays the next ping) and records
each round trip. Home Assistant is not modified. The simulator's own counters
(Modbus requests and register writes per charger) give the poll rate each charger
actually saw; the script exits with status 1 when a charger's read rate is below 90 %
of the default schedule's 1.3 requests/s (1 status request every second plus 3 full
poll requests every 10 s) or when the building did not make every car discharge.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
import json
import math
import os
from pathlib import Path
import platform
import re
import statistics
import sys
import tempfile
import time
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp

from harness.hass import HarnessError, HassInstance, request, start_simulator, stop_process

from .pollstats import percentile
from .simproc import cpu_seconds, free_port

PING_INTERVAL_S = 0.1
STATUS_INTERVAL_S = 1.0  # the integration's default
FULL_INTERVAL_S = 10.0  # the integration's default
STATUS_REQUESTS = 1  # one block read on a Quasar 1 (benchmarks/RESULTS.md, issue 2)
FULL_REQUESTS = 3
EXPECTED_READS_PER_S = STATUS_REQUESTS / STATUS_INTERVAL_S + FULL_REQUESTS / FULL_INTERVAL_S
RATE_TOLERANCE = 0.9
DISCHARGING_W = -100.0
BUILDING_LOAD_KW = 500
SERIAL_BASE = 20_250_000
SETTLE_S = 30.0
"""Pause after each configuration change before a window (start-up work, storage saves)."""

CONFIGURATION = f"""
input_number:
  building_load_kw:
    name: Building load
    min: 0
    max: 5000
    step: 1
    initial: {BUILDING_LOAD_KW}
    unit_of_measurement: kW

template:
  - sensor:
      - name: Building power
        unique_id: bench_building_power
        unit_of_measurement: kW
        device_class: power
        state_class: measurement
        state: "{{{{ states('input_number.building_load_kw') | float(0) }}}}"
"""
METER = "sensor.building_power"
ENTITY_TEMPLATE = (
    "{{ {'total': integration_entities('v2x') | count, "
    "'unavailable': integration_entities('v2x') | select('is_state', 'unavailable') "
    "| list | count} | tojson }}"
)
LOG_LINE = re.compile(r"^\S+ \S+ (WARNING|ERROR|CRITICAL) \(([^)]*)\) \[([^\]]+)\] (.*)$")


def charger_name(index: int) -> str:
    """The scenario's name of the ``index``-th charger (0-based): quasar01, quasar02, ..."""
    return f"quasar{index + 1:02d}"


def scenario(ports: list[int], soc_range: tuple[float, float] = (55, 80)) -> str:
    """A TOML scenario: one Quasar 1 per port, cars spread evenly over ``soc_range`` (%)."""
    low, high = soc_range
    parts = ["speed = 1.0\n[grid]\navailable = true\n"]
    for index, port in enumerate(ports):
        soc = low + (high - low) * index / max(len(ports) - 1, 1)
        parts.append(
            f"""
[[quasar]]
name = "{charger_name(index)}"
port = {port}
serial = {SERIAL_BASE + index + 1}
[quasar.car]
soc_pct = {soc:.1f}
capacity_kwh = 40
"""
        )
    return "".join(parts)


def distinct_free_ports(count: int) -> list[int]:
    """``count`` different free TCP ports (the kernel may hand out a freed one again)."""
    ports: list[int] = []
    for _ in range(100 * count):
        port = free_port()
        if port not in ports:
            ports.append(port)
        if len(ports) == count:
            return ports
    raise SystemExit(f"could not find {count} distinct free ports")


# -- measurements ------------------------------------------------------------------------


@dataclass
class Phase:
    """What one measurement window saw."""

    name: str
    seconds: float = 0.0
    hass_cpu_pct: float = 0.0
    simulator_cpu_pct: float = 0.0
    self_cpu_pct: float = 0.0
    """This script (the websocket client)."""
    machine_cpu_pct: float = 0.0
    """Every process on the machine, all cores (100 % = one core)."""
    rtt_ms: list[float] = field(default_factory=list)
    pings_sent: int = 0
    read_rates: list[float] = field(default_factory=list)
    """Modbus read requests per second, per charger (simulator side)."""
    writes: int = 0
    """Register writes the chargers received in the window (all chargers)."""
    discharging: int = 0
    """Chargers whose measured power is below -100 W at the end of the window."""
    entities: dict[str, int] = field(default_factory=dict)
    slowest: list[tuple[float, float]] = field(default_factory=list)
    """The three slowest pings: (wall-clock send time, round trip in ms)."""
    events: int = 0
    """Departure changes (re-plans) requested in the window (phase d)."""

    @property
    def lost(self) -> int:
        """Pings without a pong."""
        return self.pings_sent - len(self.rtt_ms)

    def rates_met(self) -> bool:
        """Every charger saw at least 90 % of the default schedule's reads."""
        return not self.read_rates or min(self.read_rates) >= RATE_TOLERANCE * (
            EXPECTED_READS_PER_S
        )


async def ping_for(base: str, token: str, seconds: float) -> tuple[list[tuple[float, float]], int]:
    """Websocket pings every 100 ms for ``seconds``.

    Return (wall-clock send time, round trip in ms) of every answered ping, and how
    many were sent.
    """
    url = base.replace("http://", "ws://") + "/api/websocket"
    sent: dict[int, float] = {}
    sent_wall: dict[int, float] = {}
    received: dict[int, float] = {}
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        hello = await socket.receive_json()
        if hello.get("type") != "auth_required":
            raise HarnessError(f"unexpected websocket greeting: {hello}")
        await socket.send_json({"type": "auth", "access_token": token})
        reply = await socket.receive_json()
        if reply.get("type") != "auth_ok":
            raise HarnessError(f"websocket authentication failed: {reply}")

        count = int(seconds / PING_INTERVAL_S)
        all_back = asyncio.Event()

        async def receive() -> None:
            async for message in socket:
                if message.type is not aiohttp.WSMsgType.TEXT:
                    continue
                now = time.perf_counter()
                payload = json.loads(message.data)
                for item in payload if isinstance(payload, list) else [payload]:
                    if item.get("type") == "pong" and item.get("id") in sent:
                        received[item["id"]] = now
                if len(received) == count:
                    all_back.set()

        receiver = asyncio.create_task(receive())
        start = time.perf_counter()
        for index in range(count):
            delay = start + index * PING_INTERVAL_S - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            ident = index + 1
            sent[ident], sent_wall[ident] = time.perf_counter(), time.time()
            await socket.send_json({"id": ident, "type": "ping"})
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_back.wait(), 5)
        receiver.cancel()
        await asyncio.gather(receiver, return_exceptions=True)
    rtts = [
        (sent_wall[ident], (received[ident] - sent[ident]) * 1000) for ident in sorted(received)
    ]
    return rtts, len(sent)


@dataclass(frozen=True)
class Replans:
    """Phase (d): which cars' departures to change, and how often."""

    devices: list[str]
    """Device ids of the chargers (the set_departure service accepts them)."""
    every_s: float
    zone: ZoneInfo


async def change_departures(hass: HassInstance, replans: Replans | None, seconds: float) -> int:
    """Move one car's departure every ``every_s`` (a re-plan each); return how many."""
    if replans is None or replans.every_s <= 0:
        return 0
    events = 0
    start = time.monotonic()
    while (due := start + (events + 1) * replans.every_s) <= start + seconds - 1:
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        # 12 h from now, give or take a minute: the plan stays the same kind of plan.
        departure = datetime.now(replans.zone) + timedelta(hours=12, minutes=events % 2)
        await asyncio.to_thread(
            hass.call_service,
            "v2x",
            "set_departure",
            {
                "device_id": replans.devices[events % len(replans.devices)],
                "departure": departure.isoformat(timespec="seconds"),
            },
        )
        events += 1
    return events


async def ws_command(hass: HassInstance, command: dict[str, Any]) -> Any:
    """One websocket command (id 1) and its result."""
    url = hass.base.replace("http://", "ws://") + "/api/websocket"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as socket:
        await socket.receive_json()
        await socket.send_json({"type": "auth", "access_token": hass.token})
        await socket.receive_json()
        await socket.send_json({"id": 1, **command})
        reply = await socket.receive_json()
    if not reply.get("success"):
        raise HarnessError(f"websocket command failed: {reply}")
    return reply["result"]


def charger_devices(hass: HassInstance, chargers: list[str]) -> list[str]:
    """The device id of each charger entry (in the order of ``chargers``)."""
    devices = asyncio.run(ws_command(hass, {"type": "config/device_registry/list"}))
    by_entry = {
        entry_id: device["id"] for device in devices for entry_id in device["config_entries"]
    }
    return [by_entry[entry_id] for entry_id in chargers]


def busy_seconds() -> float:
    """CPU time the whole machine spent busy (all cores; /proc/stat, not idle or iowait)."""
    fields = Path("/proc/stat").read_text(encoding="ascii").splitlines()[0].split()[1:9]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(value) for value in fields)
    del idle, iowait
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def simulator_devices(control: int) -> tuple[float, dict[str, dict[str, Any]]]:
    """The monotonic time and every simulated device's summary."""
    state = request(f"http://127.0.0.1:{control}/state")
    devices: dict[str, dict[str, Any]] = state["devices"]
    return time.monotonic(), devices


def v2x_entities(hass: HassInstance) -> dict[str, int]:
    """How many V2X entities exist and how many are unavailable."""
    result: dict[str, int] = hass.api("/api/template", data={"template": ENTITY_TEMPLATE})
    return result


def measure(
    name: str,
    hass: HassInstance,
    simulator_pid: int,
    control: int,
    seconds: float,
    *,
    replans: Replans | None = None,
) -> Phase:
    """One window: CPU, websocket round trips, the simulator's counters."""
    print(f"[{time.strftime('%H:%M:%S')}] measuring {name} for {seconds:.0f} s", flush=True)
    phase = Phase(name)
    polled = bool(hass.entries())  # no V2X entry: nobody polls, no rate to check
    t0, devices0 = simulator_devices(control)
    cpu_hass0, cpu_sim0 = cpu_seconds(hass.pid), cpu_seconds(simulator_pid)
    cpu_self0, busy0 = cpu_seconds(os.getpid()), busy_seconds()
    wall0 = time.monotonic()

    async def window() -> tuple[tuple[list[tuple[float, float]], int], int]:
        return await asyncio.gather(
            ping_for(hass.base, hass.token, seconds),
            change_departures(hass, replans, seconds),
        )

    (pongs, phase.pings_sent), phase.events = asyncio.run(window())
    phase.rtt_ms = [rtt for _, rtt in pongs]
    phase.slowest = sorted(pongs, key=lambda pong: pong[1])[-3:][::-1]
    wall = time.monotonic() - wall0
    phase.hass_cpu_pct = (cpu_seconds(hass.pid) - cpu_hass0) / wall * 100
    phase.simulator_cpu_pct = (cpu_seconds(simulator_pid) - cpu_sim0) / wall * 100
    phase.self_cpu_pct = (cpu_seconds(os.getpid()) - cpu_self0) / wall * 100
    phase.machine_cpu_pct = (busy_seconds() - busy0) / wall * 100
    t1, devices1 = simulator_devices(control)
    phase.seconds = wall
    for device, before in devices0.items():
        after = devices1[device]
        writes = after["writes"] - before["writes"]
        reads = after["modbus_requests"] - before["modbus_requests"] - writes
        phase.writes += writes
        if polled:
            phase.read_rates.append(reads / (t1 - t0))
    phase.discharging = sum(
        1 for device in devices1.values() if device["actual_power_w"] < DISCHARGING_W
    )
    phase.entities = v2x_entities(hass)
    return phase


# -- configuration through the REST API --------------------------------------------------


def add_chargers(hass: HassInstance, ports: list[int]) -> list[str]:
    """Add every simulated Quasar through the config flow (default options)."""
    entry_ids = []
    started = time.monotonic()
    for index, port in enumerate(ports):
        entry = hass.add_v2x(
            "charger", {"family": "quasar1"}, {"host": "127.0.0.1", "port": port, "unit_id": 1}
        )
        if entry["entry_id"] is None:
            raise HarnessError(f"charger on port {port} was already configured")
        entry_ids.append(str(entry["entry_id"]))
        if (index + 1) % 10 == 0:
            print(f"  {index + 1} chargers added", flush=True)
    print(f"  {len(ports)} chargers added in {time.monotonic() - started:.0f} s", flush=True)
    return entry_ids


def add_building(hass: HassInstance, chargers: list[str], now: datetime) -> str:
    """The V2B building with every car, a peak window around ``now``, late departures."""
    entry = hass.add_v2x(
        "v2b",
        {
            "name": "Bench building",
            "vehicles": chargers,
            "building_power_entity": METER,
            "meter_includes_vehicles": False,
        },
    )
    entry_id = str(entry["entry_id"])
    start = (now - timedelta(hours=1)).strftime("%H:%M:00")
    # The peak ends 45-60 min from now: shorter than any car's energy above its reserve
    # lasts at full power (55 % of 40 kWh, reserve 30 %: 10 kWh, 81 min at 7.4 kW), so
    # the one optimal plan discharges every car at full power in every peak step.
    step = now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)
    end = (step + timedelta(hours=1)).strftime("%H:%M:00")
    hass.options_flow(
        entry_id,
        {"next_step_id": "tariff"},
        {
            "offpeak_price": 0.10,
            "peak_price": 0.30,
            "peak_start": start,
            "peak_end": end,
            "peak_weekdays_only": False,
            "demand_charge_per_kw": 0.0,
            "billing_day": 1,
            "wear_cost_per_kwh": 0.02,
        },
    )
    departure = (now + timedelta(hours=12)).strftime("%H:%M:00")
    for charger in chargers:
        hass.options_flow(
            entry_id,
            {"next_step_id": "vehicle"},
            {"vehicle": charger},
            {
                "departure": departure,
                "target_soc_pct": 100,
                "reserve_soc_pct": 30,
                "efficiency_pct": 85,
            },
        )
    print(f"  building: peak {start}-{end}, departures {departure} (local)", flush=True)
    return entry_id


def wait_discharging(control: int, cars: int, timeout_s: float = 120) -> tuple[int, float]:
    """Wait until every car discharges; return how many do and how long it took."""
    started = time.monotonic()
    count = 0
    while time.monotonic() - started < timeout_s:
        _, devices = simulator_devices(control)
        count = sum(1 for device in devices.values() if device["actual_power_w"] < DISCHARGING_W)
        if count >= cars:
            break
        time.sleep(1)
    return count, time.monotonic() - started


def arrival_check(hass: HassInstance, control: int, building: str, charger: str) -> str:
    """After the phases: unplug the last car and plug it back in; describe what follows."""
    _, devices = simulator_devices(control)
    name = sorted(devices)[-1]
    car = f"http://127.0.0.1:{control}/devices/{name}/car"
    request(car, data={"plugged": False})
    time.sleep(5)
    request(car, data={"plugged": True})
    time.sleep(15)
    _, devices = simulator_devices(control)
    status = hass.api(f"/api/diagnostics/config_entry/{charger}")["data"]["status"]
    return (
        f"arrival check (after the phases, not measured): {name} unplugged for 5 s and "
        f"plugged back in; 15 s later the simulated charger is in state "
        f"{devices[name]['state']} at {devices[name]['actual_power_w']:.0f} W, the V2X "
        f"charger reports {status['state']} with SoC {status['soc']}; building plan: "
        f"{plan_summary(hass, building)}"
    )


def plan_summary(hass: HassInstance, entry_id: str) -> str:
    """The building's last plan, from its diagnostics."""
    diagnostics = hass.api(f"/api/diagnostics/config_entry/{entry_id}")
    data = diagnostics["data"]
    plan = data.get("plan")
    if plan is None:
        return f"no plan ({data.get('error')})"
    first_kw = sum(vehicle["power_kw"][0] for vehicle in plan["vehicles"].values())
    reasons = Counter(
        str(vehicle["reason"]) for vehicle in data["vehicles"].values() if not vehicle["planned"]
    )
    left_out = ", ".join(f"{count} {reason}" for reason, count in reasons.items())
    return (
        f"{plan['status']}, {len(plan['vehicles'])} cars in the plan"
        f"{f' (left out: {left_out})' if left_out else ''}, solve {plan['solve_ms']} ms, "
        f"first step {first_kw:+.1f} kW"
    )


# -- the Home Assistant log --------------------------------------------------------------


def log_findings(log: Path) -> tuple[Counter[str], Counter[str]]:
    """Warnings and errors of the log: V2X messages verbatim, others by logger."""
    v2x: Counter[str] = Counter()
    others: Counter[str] = Counter()
    if not log.exists():
        return v2x, others
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if match is None:
            continue
        level, _thread, logger, message = match.groups()
        if logger.startswith("custom_components.v2x"):
            v2x[f"{level} [{logger}] {message}"] += 1
        else:
            others[f"{level} [{logger}]"] += 1
    return v2x, others


# -- output ------------------------------------------------------------------------------


def machine(hass_version: str) -> str:
    """Platform, CPU, Python and the versions that matter."""
    model = "unknown CPU"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{platform.platform()}, {os.cpu_count()} x {model}, Python "
        f"{platform.python_version()}, Home Assistant {hass_version}, "
        f"pymodbus {metadata.version('pymodbus')}, aiohttp {metadata.version('aiohttp')}"
    )


def print_tables(args: argparse.Namespace, phases: list[Phase]) -> None:
    """The two tables: CPU and lag, then poll rates and setpoints."""
    print()
    print("| phase | HA CPU % (one core) | simulator CPU % | rest of the machine CPU % "
          "| ping p50 ms | p95 ms | p99 ms | max ms | pings (lost) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    for phase in phases:
        rtt = phase.rtt_ms or [math.nan]
        others = (
            phase.machine_cpu_pct
            - phase.hass_cpu_pct
            - phase.simulator_cpu_pct
            - phase.self_cpu_pct
        )
        print(
            f"| {phase.name} | {phase.hass_cpu_pct:.1f} | {phase.simulator_cpu_pct:.1f} | "
            f"{others:.1f} | "
            f"{percentile(rtt, 0.5):.1f} | {percentile(rtt, 0.95):.1f} | "
            f"{percentile(rtt, 0.99):.1f} | {max(rtt):.1f} | {phase.pings_sent} ({phase.lost}) |"
        )
    print()
    print(
        f"| phase | Modbus reads/s per charger: min / median / max (expected "
        f"{EXPECTED_READS_PER_S:.1f}) | register writes | cars discharging at the end "
        f"| V2X entities (unavailable) | rate met |"
    )
    print("|---|---|---|---|---|---|")
    for phase in phases:
        if phase.read_rates:
            rates = (
                f"{min(phase.read_rates):.2f} / {statistics.median(phase.read_rates):.2f} / "
                f"{max(phase.read_rates):.2f}"
            )
        else:
            rates = "- (no V2X entry)"
        entities = f"{phase.entities.get('total', 0)} ({phase.entities.get('unavailable', 0)})"
        events = f" ({phase.events} re-plans requested)" if phase.events else ""
        print(
            f"| {phase.name} | {rates} | {phase.writes}{events} | {phase.discharging} of "
            f"{args.chargers} | {entities} | {'yes' if phase.rates_met() else 'NO'} |"
        )


def main() -> None:  # noqa: PLR0915 - one linear script
    """Start everything, measure the phases, print the tables; exit 1 on a missed goal."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument(
        "--replan-every",
        type=float,
        default=15.0,
        help="phase (d): s between departure changes (0: no phase d)",
    )
    parser.add_argument("--keep", type=Path, help="keep Home Assistant's configuration folder")
    args = parser.parse_args()
    control, hass_port, *ports = distinct_free_ports(args.chargers + 2)
    phases: list[Phase] = []
    notes: list[str] = []
    failures: list[str] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.toml"
        path.write_text(scenario(ports), encoding="utf-8")
        simulator = start_simulator(path, control_port=control)
        hass = HassInstance(args.keep or Path(tmp) / "config", hass_port)
        try:
            hass.prepare(CONFIGURATION)
            hass.start()
            hass.onboard()
            config = hass.api("/api/config")
            hass_version = str(config["version"])
            zone = ZoneInfo(str(config["time_zone"]))
            time.sleep(SETTLE_S)

            def run(name: str, replans: Replans | None = None) -> Phase:
                return measure(name, hass, simulator.pid, control, args.seconds, replans=replans)

            phases.append(run("(a) no V2X entry"))

            chargers = add_chargers(hass, ports)
            time.sleep(SETTLE_S)
            phases.append(run(f"(b) {args.chargers} chargers, default polling"))

            building = add_building(hass, chargers, datetime.now(zone))
            discharging, waited = wait_discharging(control, args.chargers)
            notes.append(
                f"{discharging} of {args.chargers} cars discharging {waited:.0f} s after "
                "the building's options were set"
            )
            if discharging < args.chargers:
                failures.append(f"only {discharging} of {args.chargers} cars discharge")
            time.sleep(SETTLE_S)
            notes.append(f"plan before (c): {plan_summary(hass, building)}")
            phases.append(run(f"(c) + V2B building, {args.chargers} cars discharging"))
            if args.replan_every > 0:
                replans = Replans(charger_devices(hass, chargers), args.replan_every, zone)
                phases.append(
                    run(
                        f"(d) as (c), a departure changes every {args.replan_every:g} s",
                        replans,
                    )
                )
                time.sleep(5)
                notes.append(f"plan after (d): {plan_summary(hass, building)}")
            notes.append(arrival_check(hass, control, building, chargers[-1]))
        finally:
            hass.stop()
            stop_process(simulator, "the simulator")
            v2x_log, other_log = log_findings(hass.config_dir / "home-assistant.log")
    if not phases:
        sys.exit(1)

    print()
    print(
        f"# v2b_scale: {args.chargers} Quasar 1 twins, {args.seconds:.0f} s per phase, "
        f"websocket ping every {PING_INTERVAL_S * 1000:.0f} ms "
        f"(run took {(time.monotonic() - began) / 60:.0f} min)"
    )
    print(f"Machine: {machine(hass_version)}")
    print(f"Command: python -m benchmarks.v2b_scale {' '.join(sys.argv[1:])}")
    print_tables(args, phases)
    print()
    for note in notes:
        print(f"* {note}")
    for phase in phases:
        slowest = ", ".join(
            f"{rtt:.1f} ms at {datetime.fromtimestamp(wall, UTC):%H:%M:%S}.{int(wall % 1 * 10)} UTC"
            for wall, rtt in phase.slowest
        )
        print(f"* {phase.name}: slowest pongs {slowest}")
    failures.extend(
        f"{phase.name}: a charger saw fewer reads than the schedule"
        for phase in phases
        if not phase.rates_met()
    )
    print()
    print("Home Assistant log, warnings and errors of custom_components.v2x (verbatim, count):")
    for message, count in v2x_log.most_common(30) or [("none", 0)]:
        print(f"  {count} x {message}" if count else "  none")
    print("Other loggers' warnings and errors (count):")
    for message, count in other_log.most_common(20) or [("none", 0)]:
        print(f"  {count} x {message}" if count else "  none")
    if failures:
        print()
        for failure in failures:
            print(f"FAILED: {failure}")
        sys.exit(1)


if __name__ == "__main__":
    main()
