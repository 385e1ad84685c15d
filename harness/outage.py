"""Backup sites under restarts and faults: the demo's world, watched from the simulator.

Used by ``benchmarks/backup_restart.py`` and ``tests/process``. The world is the demo
(``harness/demo_site.py``) in a real Home Assistant process and the simulator in
another, every port moved to a free one (``relocated_scenario``). A :class:`Sampler`
thread reads the simulator's ``/state`` every 0.2 s (process-independent: it goes on
while Home Assistant is down) and the site's *Backup state* entity from Home Assistant's
REST API whenever it answers. :func:`analyse` turns a time window of samples into the
figures of one run.

What counts, from the simulator's side:

* a **charger supplies** the site when its measured power is at or below -100 W;
* a **battery station supplies** the site when the site has commanded its output on:
  the simulated stations do not wire their output into the site's circuit, so their
  own discharge (the Zendure's off-grid socket, the Bluetti's AC outlets) says nothing
  about the site. A Zendure counts once Home Assistant has written ``outputLimit`` and
  it is in output mode (``acMode`` 2) with a limit above 0, for up to that limit; a
  Bluetti once Home Assistant has written its AC output switch (57001) and the outlets
  are on, for up to its inverter's power;
* the **protected circuit is unpowered** when the transfer switch is on the grid side
  while the grid is down, or on the vehicle side while the sources that supply add up
  to less than 90 % of the protected load (the load as the simulated site measures it);
* a source's **floor** is the higher of the site's reserve and the device entry's own
  reserve (both read from the entries' options through the REST options flow).

Events (``v2x_reserve_reached``, ``v2x_elevator_park_requested``, ``v2x_source_failed``,
...) are read from Home Assistant's recorder database, which keeps them across restarts
(the recorder commits every second in this world, so a SIGKILL loses at most one).
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import json
from pathlib import Path
import sqlite3
import subprocess
import threading
import time
from typing import Any
import urllib.error

from simulator.world import ScenarioConfig, load_scenario

from .demo_site import add_demo_devices, demo_configuration
from .hass import HarnessError, HassInstance, free_port, request, start_simulator, stop_process
from .scenario import DemoPorts, relocated_scenario

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = ROOT / "simulator" / "scenarios" / "default.toml"
SAMPLE_INTERVAL_S = 0.2
SUPPLY_MIN_W = 100.0
POWERED_SHARE = 0.9
BLUETTI_AC_SWITCH = 57001
WATCHED_EVENTS = (
    "v2x_backup_started",
    "v2x_backup_ended",
    "v2x_reserve_reached",
    "v2x_elevator_park_requested",
    "v2x_source_failed",
)
ALARM_EVENTS = ("v2x_reserve_reached", "v2x_elevator_park_requested")


@dataclass(frozen=True, slots=True)
class Source:
    """A backup source: its simulated device and its Home Assistant entry's title."""

    device: str
    title: str


@dataclass(frozen=True, slots=True)
class SiteSpec:
    """A backup site of the demo: its entry, its simulated circuit and its sources."""

    title: str
    sim_path: str
    """The simulated site in the control API (``/site`` or ``/sites/<name>``)."""
    sources: tuple[Source, ...]
    """In the site's order of preference."""

    @property
    def state_entity(self) -> str:
        """The site's *Backup state* sensor."""
        return f"sensor.{self.title.lower().replace(' ', '_')}_backup_state"

    @property
    def preferred(self) -> Source:
        """The first source."""
        return self.sources[0]

    def by_title(self, title: str | None) -> str | None:
        """A source's device name from its entry title (None when unknown)."""
        return next((s.device for s in self.sources if s.title == title), None)


SITES = {
    "home": SiteSpec(
        "Home",
        "/site",
        (
            Source("quasar", "Wallbox Quasar 1 20240117"),
            Source("zendure", "Zendure SolarFlow 800 Pro HOA1NAH4N123456"),
            Source("bluetti", "Bluetti AC500 2237000012345"),
        ),
    ),
    "apartment": SiteSpec(
        "Apartment building",
        "/sites/apartment",
        (
            Source("sunspec", "V2X Simulated BiDi DC 11 SS11-000123"),
            Source("nichicon", "Nichicon EVPS-SIM 303031"),
        ),
    ),
}


# -- the world -------------------------------------------------------------------------


@dataclass(slots=True)
class BackupWorld:
    """The simulator and Home Assistant with the demo set up."""

    hass: HassInstance
    ports: DemoPorts
    scenario: ScenarioConfig

    def sim(self, path: str, data: Any = None, *, method: str | None = None) -> Any:
        """One control-API request."""
        return request(f"{self.ports.simulator}{path}", data=data, method=method, timeout=10)

    def set_grid(self, available: bool) -> None:
        """Cut or restore the simulated grid."""
        self.sim("/grid", {"available": available})

    def fault(self, device: str, kind: str, **parameters: float) -> None:
        """Inject a fault on a simulated device."""
        self.sim(f"/devices/{device}/fault", {"kind": kind, **parameters})

    def clear_faults(self, device: str) -> None:
        """Remove every fault of a simulated device."""
        self.sim(f"/devices/{device}/fault", method="DELETE")

    def entry_id(self, title: str) -> str:
        """The config entry with this title."""
        for entry in self.hass.entries():
            if entry["title"] == title:
                return str(entry["entry_id"])
        raise HarnessError(f"no V2X entry called {title!r}")

    def options(self, entry_id: str) -> dict[str, Any]:
        """An entry's current options, as its options form suggests them (flow abandoned)."""
        flows = "/api/config/config_entries/options/flow"
        result: dict[str, Any] = self.hass.api(flows, data={"handler": entry_id})
        try:
            if result.get("type") != "form":
                raise HarnessError(f"the options flow of {entry_id} shows no form: {result}")
            return {
                item["name"]: item["description"]["suggested_value"]
                for item in result["data_schema"]
                if "suggested_value" in item.get("description", {})
            }
        finally:
            if "flow_id" in result:
                with contextlib.suppress(urllib.error.HTTPError):
                    self.hass.api(f"{flows}/{result['flow_id']}", method="DELETE")

    def change_options(self, title: str, **changes: Any) -> dict[str, Any]:
        """Change some of an entry's one-form options (the others kept); the new options."""
        entry_id = self.entry_id(title)
        options = self.options(entry_id) | changes
        self.hass.set_options(entry_id, options)
        return options

    def floors(self, site: SiteSpec) -> dict[str, float]:
        """Each source's floor: the higher of the site's and its own entry's reserve."""
        reserve = float(self.options(self.entry_id(site.title))["reserve_soc_pct"])
        floors = {}
        for source in site.sources:
            own = self.options(self.entry_id(source.title)).get("reserve_soc_pct")
            floors[source.device] = max(reserve, float(own)) if own is not None else reserve
        return floors

    def events(self, since_wall: float = 0.0) -> list[Event]:
        """The V2X events Home Assistant recorded since ``since_wall`` (``time.time``)."""
        return recorded_events(self.hass.config_dir / "home-assistant_v2.db", since_wall)

    def writes(self, device: str) -> list[dict[str, Any]]:
        """Every write a simulated device accepted."""
        writes: list[dict[str, Any]] = self.sim(f"/devices/{device}/writes")
        return writes


def export_integration(revision: str, destination: Path) -> Path:
    """Export ``custom_components/v2x`` as committed at ``revision``; the exported folder.

    For a "before" run of the committed code while the working tree is being edited.
    """
    destination.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(  # noqa: S603
        ["git", "archive", revision, "custom_components/v2x"],  # noqa: S607
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(  # noqa: S603
        ["tar", "-x", "-C", str(destination)],  # noqa: S607
        input=archive,
        check=True,
    )
    return destination / "custom_components" / "v2x"


@contextlib.contextmanager
def backup_world(
    base: Path, *, integration: Path | None = None, scenario: Path = DEFAULT_SCENARIO
) -> Iterator[BackupWorld]:
    """The demo in its own processes on free ports, under ``base``; stopped on exit."""
    base.mkdir(parents=True, exist_ok=True)
    relocated = relocated_scenario(scenario, base / "scenario.toml")
    ports = DemoPorts.from_scenario(relocated)
    hass = HassInstance(base / "config", free_port(), recorder_commit_s=1)
    simulator = start_simulator(relocated, control_port=ports.control)
    try:
        hass.prepare(demo_configuration(ports), integration=integration)
        hass.start()
        hass.onboard()
        add_demo_devices(hass, ports)
        hass.wait_running()
        yield BackupWorld(hass, ports, load_scenario(relocated))
    finally:
        hass.stop()
        stop_process(simulator, "the simulator")


# -- events ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One V2X event as the recorder stored it."""

    event_type: str
    wall: float
    """``time.time`` when it fired."""
    data: dict[str, Any]


def recorded_events(database: Path, since_wall: float = 0.0) -> list[Event]:
    """V2X events from a recorder database (read-only; Home Assistant may be running)."""
    if not database.exists():
        return []
    query = """
        SELECT t.event_type, e.time_fired_ts, d.shared_data
        FROM events e
        JOIN event_types t ON e.event_type_id = t.event_type_id
        LEFT JOIN event_data d ON e.data_id = d.data_id
        WHERE t.event_type LIKE 'v2x_%' AND e.time_fired_ts >= ?
        ORDER BY e.time_fired_ts
    """
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)
    try:
        rows = connection.execute(query, (since_wall,)).fetchall()
    finally:
        connection.close()
    return [
        Event(str(kind), float(fired), json.loads(data) if data else {})
        for kind, fired, data in rows
    ]


# -- sampling --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sample:
    """The world at one moment (``time.monotonic``)."""

    at: float
    grid: bool
    on_vehicle: bool
    load_w: float
    devices: dict[str, dict[str, Any]]
    site_state: str | None
    """Home Assistant's *Backup state*; None while Home Assistant does not answer."""
    active_source: str | None
    """The source's device name, as Home Assistant names it (None: none or no answer)."""
    critical_on: bool = True
    """Every critical load of the simulated site is switched on (the site brings them
    back one by one after the switchover)."""


class Sampler:
    """Samples the simulator (and Home Assistant when it answers) in a thread."""

    def __init__(self, world: BackupWorld, site: SiteSpec) -> None:
        """Nothing runs before :meth:`start`."""
        self.world = world
        self.site = site
        self.samples: list[Sample] = []
        self._stop = threading.Event()
        self._threads = (
            threading.Thread(target=self._run, name="outage-sampler", daemon=True),
            threading.Thread(target=self._follow, name="outage-hass", daemon=True),
        )
        self._lock = threading.Lock()
        self._ha: tuple[str | None, str | None] = (None, None)

    def start(self) -> None:
        """Start sampling."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop sampling (bounded)."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def __enter__(self) -> Sampler:
        """Start."""
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        """Stop."""
        self.stop()

    def between(self, start: float, end: float) -> list[Sample]:
        """The samples taken in ``[start, end]``."""
        with self._lock:
            return [s for s in self.samples if start <= s.at <= end]

    def latest(self) -> Sample | None:
        """The newest sample."""
        with self._lock:
            return self.samples[-1] if self.samples else None

    def wait(self, condition: Any, timeout_s: float, what: str) -> Sample:
        """Wait until ``condition(sample)`` holds for a new sample; raise after ``timeout_s``."""
        deadline = time.monotonic() + timeout_s
        seen = 0.0
        while time.monotonic() < deadline:
            sample = self.latest()
            if sample is not None and sample.at > seen:
                seen = sample.at
                if condition(sample):
                    return sample
            time.sleep(SAMPLE_INTERVAL_S / 2)
        raise HarnessError(f"timed out after {timeout_s:.0f} s waiting for {what}")

    def _home_assistant(self) -> tuple[str | None, str | None]:
        hass = self.world.hass
        try:
            state = request(
                f"{hass.base}/api/states/{self.site.state_entity}", token=hass.token, timeout=1
            )
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            return None, None
        active = state.get("attributes", {}).get("active_source")
        return str(state["state"]), self.site.by_title(active)

    def _follow(self) -> None:
        """Home Assistant's view, in its own thread (it may hang while starting)."""
        while not self._stop.is_set():
            began = time.monotonic()
            self._ha = self._home_assistant()
            self._stop.wait(max(0.0, SAMPLE_INTERVAL_S - (time.monotonic() - began)))

    def _run(self) -> None:
        names = {source.device for source in self.site.sources}
        while not self._stop.is_set():
            began = time.monotonic()
            try:
                world = self.world.sim("/state")
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                self._stop.wait(SAMPLE_INTERVAL_S)
                continue
            site = _site_of(world, self.site.sim_path)
            sample = Sample(
                at=time.monotonic(),
                grid=bool(world["grid"]["available"]),
                on_vehicle=site["transfer_switch"] == "vehicle",
                load_w=float(site["protected_load_w"]),
                devices={name: world["devices"][name] for name in names},
                site_state=self._ha[0],
                active_source=self._ha[1],
                critical_on=all(
                    load["on"] for load in site["loads"].values() if load.get("critical")
                ),
            )
            with self._lock:
                self.samples.append(sample)
            self._stop.wait(max(0.0, SAMPLE_INTERVAL_S - (time.monotonic() - began)))


def _site_of(world: dict[str, Any], sim_path: str) -> dict[str, Any]:
    if sim_path == "/site":
        site: dict[str, Any] = world["site"]
    else:
        site = world["sites"][sim_path.rsplit("/", 1)[1]]
    return site


# -- analysis --------------------------------------------------------------------------


@dataclass(slots=True)
class Supply:
    """What each source delivers to the site at one sample, in W (0 when it does not)."""

    by_source: dict[str, float]

    @property
    def total_w(self) -> float:
        """Everything the sources deliver."""
        return sum(self.by_source.values())

    @property
    def supplying(self) -> frozenset[str]:
        """The sources that deliver at least 100 W."""
        return frozenset(n for n, w in self.by_source.items() if w >= SUPPLY_MIN_W)


class SupplyModel:
    """Reads each source's supply from a sample and the simulated devices' writes."""

    def __init__(self, world: BackupWorld, site: SiteSpec) -> None:
        """Fetch the battery stations' write logs now (call after the window)."""
        self.kinds: dict[str, str] = {}
        self.commanded_since: dict[str, float] = {}
        bluettis = {config.name: config for config in world.scenario.bluettis}
        self.bluetti_max_w = {name: float(c.max_output_w) for name, c in bluettis.items()}
        state = world.sim("/state")["devices"]
        for source in site.sources:
            kind = str(state[source.device]["kind"])
            self.kinds[source.device] = kind
            if kind in ("zendure", "bluetti"):
                address: int | str = "outputLimit" if kind == "zendure" else BLUETTI_AC_SWITCH
                times = [
                    float(w["wall_time"])
                    for w in world.writes(source.device)
                    if w["address"] == address
                ]
                self.commanded_since[source.device] = min(times) if times else float("inf")

    def supply(self, sample: Sample) -> Supply:
        """Each source's supply at ``sample``."""
        by_source = {}
        for name, device in sample.devices.items():
            kind = self.kinds[name]
            if kind == "zendure":
                settings = device["settings"]
                on = (
                    not sample.grid
                    and sample.at >= self.commanded_since[name]
                    and settings["acMode"] == 2  # output mode
                )
                limit = min(settings["outputLimit"], settings["inverseMaxPower"])
                by_source[name] = float(limit) if on else 0.0
            elif kind == "bluetti":
                on = (
                    not sample.grid
                    and sample.at >= self.commanded_since[name]
                    and bool(device["ac_output_on"])
                )
                by_source[name] = self.bluetti_max_w[name] if on else 0.0
            else:
                by_source[name] = max(0.0, -float(device["actual_power_w"]))
        return Supply(by_source)

    @staticmethod
    def unpowered(sample: Sample, supply: Supply) -> bool:
        """Whether the protected circuit lacks power at ``sample``."""
        if not sample.on_vehicle:
            return not sample.grid
        return supply.total_w < POWERED_SHARE * sample.load_w


@dataclass(slots=True)
class RunResult:
    """The figures of one run (times in seconds)."""

    kind: str
    """e.g. ``SIGTERM 5 s`` or ``refuse 20 s``."""
    resumed_on: str | None
    """The source Home Assistant's site had active at the end (device name)."""
    supplying_at_end: list[str]
    resumed_on_preferred: bool
    """Home Assistant's site had the preferred source active at the end, and it alone
    supplied the circuit."""
    resume_s: float | None
    """From ``resume_from`` (Home Assistant's start, or the fault's end) until that held
    for good; None when it never did."""
    unpowered_s: float
    min_margin_pct: dict[str, float]
    """Each source's lowest SoC while it supplied, minus its floor."""
    two_sources_s: float
    """Seconds two or more sources supplied at once."""
    failover_s: float | None
    """From the fault until another source supplied (fault runs)."""
    discharging_after_return_s: float
    """Seconds a source supplied while the transfer switch was back on the grid side."""
    alarms: list[str] = field(default_factory=list)
    """``reserve_reached`` / park events of the site while a source had energy above
    its floor (all of them are false alarms in these runs)."""
    failures: list[str] = field(default_factory=list)
    """``v2x_source_failed`` events (with the source)."""
    state_at_end: str | None = None
    down_s: float | None = None
    """Restart runs: from the signal until the new process's API answered (real s)."""
    notes: list[str] = field(default_factory=list)


def analyse(  # noqa: PLR0912
    kind: str,
    samples: list[Sample],
    *,
    model: SupplyModel,
    site: SiteSpec,
    floors: dict[str, float],
    events: list[Event],
    resume_from: float,
    fault_at: float | None = None,
    end_at: float | None = None,
) -> RunResult:
    """The figures of one run from its samples; ``end_at`` closes the resume window."""
    if not samples:
        raise HarnessError(f"{kind}: no samples")
    end_sample = (
        samples[-1]
        if end_at is None
        else max((s for s in samples if s.at <= end_at), key=lambda s: s.at, default=samples[-1])
    )
    supplies = [model.supply(sample) for sample in samples]
    preferred = site.preferred.device
    unpowered = two = after_return = 0.0
    margins: dict[str, float] = {}
    good_since: float | None = None
    failover: float | None = None
    returned = False
    for index, (sample, supply) in enumerate(zip(samples, supplies, strict=True)):
        following = samples[index + 1].at if index + 1 < len(samples) else sample.at
        dt = min(1.0, following - sample.at)
        if SupplyModel.unpowered(sample, supply):
            unpowered += dt
        if len(supply.supplying) > 1:
            two += dt
        if sample.on_vehicle:
            returned = False
        elif sample.grid and index > 0 and samples[index - 1].on_vehicle:
            returned = True
        if returned and not sample.on_vehicle and supply.supplying:
            after_return += dt
        for name in supply.supplying:
            soc = float(sample.devices[name]["soc_pct"])
            margins[name] = min(margins.get(name, 1e9), soc - floors[name])
        if (
            fault_at is not None
            and failover is None
            and sample.at >= fault_at
            and supply.supplying - {preferred}
        ):
            failover = sample.at - fault_at
        if sample.at <= end_sample.at:
            good = (
                sample.active_source == preferred
                and supply.supplying == {preferred}
                and not SupplyModel.unpowered(sample, supply)
            )
            if good and good_since is None:
                good_since = sample.at
            elif not good:
                good_since = None
    end_supply = model.supply(end_sample)
    resumed = end_sample.active_source == preferred and end_supply.supplying == {preferred}
    resume_s = None
    if resumed and good_since is not None:
        resume_s = max(0.0, good_since - resume_from)
    alarms, failures = _classify(events, samples, site, floors)
    return RunResult(
        kind=kind,
        resumed_on=end_sample.active_source,
        supplying_at_end=sorted(end_supply.supplying),
        resumed_on_preferred=resumed,
        resume_s=resume_s,
        unpowered_s=round(unpowered, 2),
        min_margin_pct={name: round(value, 3) for name, value in margins.items()},
        two_sources_s=round(two, 2),
        failover_s=None if failover is None else round(failover, 2),
        discharging_after_return_s=round(after_return, 2),
        alarms=alarms,
        failures=failures,
        state_at_end=end_sample.site_state,
    )


def _classify(
    events: list[Event], samples: list[Sample], site: SiteSpec, floors: dict[str, float]
) -> tuple[list[str], list[str]]:
    """False alarms (a source above its floor then) and source failures of ``site``."""
    offset = time.time() - time.monotonic()
    alarms, failures = [], []
    for event in events:
        if event.data.get("site") != site.title:
            continue
        at = event.wall - offset
        if event.event_type in ALARM_EVENTS:
            nearest = min(samples, key=lambda s: abs(s.at - at))
            above = [
                f"{name} {float(device['soc_pct']):.1f} %"
                for name, device in nearest.devices.items()
                if float(device["soc_pct"]) > floors[name] + 0.5
            ]
            if above:
                alarms.append(
                    f"{event.event_type.removeprefix('v2x_')} ({event.data.get('reason')}; "
                    f"above floor: {', '.join(above)})"
                )
        elif event.event_type == "v2x_source_failed":
            source = site.by_title(event.data.get("source")) or event.data.get("source")
            failures.append(f"{source} at +{at - samples[0].at:.1f} s")
    return alarms, failures


# -- runs ------------------------------------------------------------------------------


def _charger_supplies(sample: Sample, device: str) -> bool:
    return float(sample.devices[device].get("actual_power_w", 0.0)) <= -SUPPLY_MIN_W


@dataclass(slots=True)
class Bench:
    """A world, one site watched by a sampler, its floors and short restore delays."""

    world: BackupWorld
    site: SiteSpec
    sampler: Sampler
    floors: dict[str, float]
    restore_delay_s: float
    settle_timeout_s: float = 60.0

    @classmethod
    def open(cls, world: BackupWorld, site: SiteSpec, *, restore_delay_s: float = 5) -> Bench:
        """Shorten both demo sites' restore delay, read the floors, start sampling."""
        for other in SITES.values():
            world.change_options(other.title, restore_delay_s=restore_delay_s)
        sampler = Sampler(world, site)
        sampler.start()
        return cls(world, site, sampler, world.floors(site), restore_delay_s)

    def close(self) -> None:
        """Stop sampling."""
        self.sampler.stop()

    def on_preferred(self, sample: Sample) -> bool:
        """Outage, circuit on the vehicle side, the preferred source active and supplying."""
        preferred = self.site.preferred.device
        return (
            not sample.grid
            and sample.on_vehicle
            and sample.site_state == "on_vehicle_power"
            and sample.active_source == preferred
            and _charger_supplies(sample, preferred)
        )

    def cut(self) -> float:
        """Cut the grid; wait until the site is settled on its preferred source; the cut's time.

        Settled: supplying, with every critical load back on (they come back one by one).
        """
        self.world.set_grid(False)
        cut_at = time.monotonic()
        self.sampler.wait(
            lambda sample: self.on_preferred(sample) and sample.critical_on,
            self.settle_timeout_s,
            "the site on its source, its critical loads back",
        )
        time.sleep(3)
        return cut_at

    def restore(self, observe_s: float = 10) -> float:
        """Bring the grid back; wait until the site is back on the grid, watch a while."""
        self.world.set_grid(True)
        restored_at = time.monotonic()
        self.sampler.wait(
            lambda s: s.grid and not s.on_vehicle and s.site_state == "grid",
            self.restore_delay_s + self.settle_timeout_s,
            "the site back on the grid",
        )
        time.sleep(observe_s)
        return restored_at

    def result(
        self, kind: str, start: float, end_at: float, resume_from: float, **extra: Any
    ) -> RunResult:
        """Analyse the samples since ``start`` (the run is over)."""
        samples = self.sampler.between(start - 0.5, time.monotonic())
        offset = time.time() - time.monotonic()
        return analyse(
            kind,
            samples,
            model=SupplyModel(self.world, self.site),
            site=self.site,
            floors=self.floors,
            events=self.world.events(start + offset - 1),
            resume_from=resume_from,
            end_at=end_at,
            **extra,
        )

    def recover(self) -> None:
        """Make sure the next run starts clean: grid back, faults cleared, Home Assistant up."""
        self.world.set_grid(True)
        for source in self.site.sources:
            self.world.clear_faults(source.device)
        hass = self.world.hass
        if hass.process is None or hass.process.poll() is not None:
            hass.start()
            hass.onboard()
        hass.wait_running()
        with contextlib.suppress(HarnessError):
            self.sampler.wait(
                lambda s: not s.on_vehicle and s.site_state == "grid",
                self.restore_delay_s + self.settle_timeout_s,
                "the site back on the grid",
            )

    def restart_run(
        self,
        sig: int,
        downtime_s: float,
        *,
        real_downtime_s: float | None = None,
        observe_s: float = 40,
    ) -> RunResult:
        """Outage, Home Assistant stopped with ``sig`` for ``downtime_s``, started again.

        With ``real_downtime_s`` shorter than ``downtime_s``, the simulator's clock jumps
        by the difference as soon as the old process has exited, so the devices (and the
        Quasar's watchdog) live through ``downtime_s`` while only ``real_downtime_s``
        pass on the wall clock.
        """
        name = "SIGKILL" if sig == 9 else "SIGTERM"
        self.cut()
        start = time.monotonic()
        real = downtime_s if real_downtime_s is None else real_downtime_s
        jump = downtime_s - real

        def fast_forward() -> None:
            if jump > 0:
                self.world.sim("/clock", {"advance_s": jump})

        restart = self.world.hass.restart(sig, real, during_downtime=fast_forward)
        self.world.hass.wait_running()
        time.sleep(max(0.0, restart.started_at + observe_s - time.monotonic()))
        end_at = time.monotonic()
        self.restore()
        kind = f"{name} {downtime_s:g} s" + (f" ({real:g} s real)" if jump > 0 else "")
        result = self.result(kind, start, end_at, restart.started_at)
        result.down_s = round(restart.api_at - restart.stopped_at, 2)
        result.notes.append(
            f"down {restart.started_at - restart.stopped_at:.1f} s real"
            f" (+{jump:g} s simulated), API back {restart.api_at - restart.stopped_at:.1f} s"
            f" after the signal"
        )
        return result

    def fault_run(self, kind: str, duration_s: float | None, *, observe_s: float = 45) -> RunResult:
        """Outage, a fault on the preferred source (``duration_s``; None: ``drop`` once)."""
        device = self.site.preferred.device
        self.cut()
        start = time.monotonic()
        parameters = {} if duration_s is None else {"duration_s": duration_s}
        self.world.fault(device, kind, **parameters)
        fault_end = start + (duration_s or 0.0)
        time.sleep(max(0.0, fault_end + observe_s - time.monotonic()))
        end_at = time.monotonic()
        self.world.clear_faults(device)
        self.restore()
        label = f"{kind} once" if duration_s is None else f"{kind} {duration_s:g} s"
        return self.result(label, start, end_at, fault_end, fault_at=start)
