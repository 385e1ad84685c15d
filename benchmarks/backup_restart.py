"""A backup site through Home Assistant restarts and transient source faults, mid-outage.

Usage: python -m benchmarks.backup_restart [--runs 5] [--site home|apartment] [--quick]
       [--revision HEAD] [--compress] [--only restart|faults]
       [--downtimes short|long|both] [--faults refuse:60,stall:60,drop]

The demo's world (``harness/demo_site.py``: every device, both backup sites, the office)
runs in a real Home Assistant process and the simulator in another, on free ports. Both
sites' restore delay is shortened to 5 s through their options flow (the return is not
what is measured; it keeps a run short). Each run cuts the simulated grid, waits until
the site runs on its preferred source (Home: the Quasar; Apartment building: the SunSpec
charger), then:

* **restart runs**: Home Assistant stopped with SIGTERM or SIGKILL, started again on the
  same configuration folder after a downtime shorter (5 s) or longer (80 s) than the
  charger's 60 s watchdog, watched for 40 s from the new process's start;
* **fault runs**: a fault on the preferred source (``drop`` once; ``refuse`` and
  ``stall``, replies 10 s late, for 5 / 20 / 60 s), watched until 45 s after its end;

then the grid comes back and the site is watched for 10 s once its switch is back on the
grid side. Everything is measured from the simulator's side, sampled every 0.2 s
(``harness/outage.py`` says exactly what counts as supplying, unpowered and a floor);
events come from Home Assistant's recorder database, which survives the restarts.

``--compress`` (and ``--quick``) shortens the long downtime's wall-clock wait: 10 s
really pass, and the simulator's clock jumps by the other 70 s as soon as Home Assistant
has exited, so the charger's watchdog (simulated time) expires as it would have.
``--revision`` measures the integration as committed at that revision (exported with
``git archive``) instead of the working tree.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
import json
import os
from pathlib import Path
import platform
import signal
import statistics
import tempfile
import time
import urllib.error

from harness.hass import HarnessError
from harness.outage import SITES, Bench, RunResult, backup_world, export_integration

SHORT_DOWNTIME_S = 5.0
LONG_DOWNTIME_S = 80.0
COMPRESSED_REAL_S = 10.0
FAULTS: tuple[tuple[str, float | None], ...] = (
    ("drop", None),
    ("refuse", 5),
    ("refuse", 20),
    ("refuse", 60),
    ("stall", 5),
    ("stall", 20),
    ("stall", 60),
)
QUICK_FAULTS: tuple[tuple[str, float | None], ...] = (("drop", None), ("refuse", 20), ("stall", 20))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="runs of each restart kind")
    parser.add_argument("--site", choices=sorted(SITES), default="home")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="one run of each kind, three faults, the long downtime compressed",
    )
    parser.add_argument("--compress", action="store_true", help="compress the long downtime")
    parser.add_argument("--only", choices=("restart", "faults"), help="one table only")
    parser.add_argument(
        "--downtimes",
        choices=("short", "long", "both"),
        default="both",
        help="restart runs with the short and/or the long downtime only",
    )
    parser.add_argument(
        "--faults",
        help="fault runs to do, e.g. refuse:60,stall:60,drop (default: every one)",
    )
    parser.add_argument("--revision", help="measure the integration committed at REVISION")
    parser.add_argument("--json", type=Path, help="also write every run's figures here")
    return parser


def main() -> None:
    """Run the restarts and the faults; print both tables."""
    args = _parser().parse_args()
    runs = 1 if args.quick else args.runs
    compress = args.quick or args.compress
    site = SITES[args.site]
    restarts: list[RunResult] = []
    faults: list[RunResult] = []
    began = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="v2x-restart-") as tmp:
        integration = (
            export_integration(args.revision, Path(tmp) / "code") if args.revision else None
        )
        with backup_world(Path(tmp) / "world", integration=integration) as world:
            bench = Bench.open(world, site)
            try:
                if args.only != "faults":
                    restarts = _restarts(bench, runs, compress=compress, downtimes=args.downtimes)
                if args.only != "restart":
                    for kind, duration in _chosen_faults(args):
                        faults.append(_guarded(bench, partial(bench.fault_run, kind, duration)))
            finally:
                bench.close()
    if args.json:
        args.json.write_text(
            json.dumps([asdict(r) for r in restarts + faults], indent=1), encoding="utf-8"
        )
    _print(args, site.title, restarts, faults, time.monotonic() - began, compress)


def _chosen_faults(args: argparse.Namespace) -> tuple[tuple[str, float | None], ...]:
    """The fault runs asked for (``kind:seconds``, or a kind alone for ``drop``)."""
    every = QUICK_FAULTS if args.quick else FAULTS
    if not args.faults:
        return every
    wanted = set()
    for item in args.faults.split(","):
        kind, _, seconds = item.strip().partition(":")
        wanted.add((kind, float(seconds) if seconds else None))
    return tuple(fault for fault in every if fault in wanted)


def _restarts(
    bench: Bench, runs: int, *, compress: bool, downtimes: str = "both"
) -> list[RunResult]:
    chosen = {
        "short": (SHORT_DOWNTIME_S,),
        "long": (LONG_DOWNTIME_S,),
        "both": (SHORT_DOWNTIME_S, LONG_DOWNTIME_S),
    }[downtimes]
    results: list[RunResult] = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for downtime in chosen:
            long = downtime > SHORT_DOWNTIME_S
            real = COMPRESSED_REAL_S if compress and long else None
            run = partial(bench.restart_run, sig, downtime, real_downtime_s=real)
            results.extend(_guarded(bench, run) for _ in range(runs))
    return results


def _guarded(bench: Bench, run: Callable[[], RunResult]) -> RunResult:
    """One run; a run that could not complete is recorded as such, and the world reset."""
    try:
        return run()
    except (HarnessError, urllib.error.URLError, TimeoutError) as err:
        bench.recover()
        return RunResult(
            kind="(did not complete)",
            resumed_on=None,
            supplying_at_end=[],
            resumed_on_preferred=False,
            resume_s=None,
            unpowered_s=float("nan"),
            min_margin_pct={},
            two_sources_s=float("nan"),
            failover_s=None,
            discharging_after_return_s=float("nan"),
            notes=[str(err)],
        )


def _seconds(values: list[float | None]) -> str:
    known = sorted(v for v in values if v is not None)
    if not known:
        return "never"
    missing = len(values) - len(known)
    text = f"{statistics.median(known):.1f} / {known[-1]:.1f}"
    return text + (f" ({missing} never)" if missing else "")


def _margin(results: list[RunResult]) -> str:
    margins = [m for r in results for m in r.min_margin_pct.values()]
    return f"{min(margins):+.2f}" if margins else "-"


def _alarms(results: list[RunResult]) -> str:
    count = sum(len(r.alarms) for r in results)
    failed = sum(len(r.failures) for r in results)
    return f"{count} (+{failed} source_failed)" if failed else str(count)


def _print(  # noqa: PLR0917
    args: argparse.Namespace,
    site: str,
    restarts: list[RunResult],
    faults: list[RunResult],
    elapsed_s: float,
    compress: bool,
) -> None:
    code = f"revision {args.revision}" if args.revision else "the working tree"
    print(
        f"# backup_restart: site {site}, {code}, Home Assistant 2025.4.4, Python "
        f"{platform.python_version()}, {os.cpu_count()} CPUs, {elapsed_s / 60:.0f} min"
    )
    if compress:
        print(
            f"# long downtime compressed: {COMPRESSED_REAL_S:g} s real, the simulator's clock "
            f"jumped {LONG_DOWNTIME_S - COMPRESSED_REAL_S:g} s once Home Assistant had exited"
        )
    if restarts:
        print()
        print(
            "| restart | runs | resumed on preferred | time to resume p50 / max s "
            "| unpowered s max | min SoC - floor (pp) | two sources at once (runs, max s) "
            "| false alarms |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for kind in dict.fromkeys(r.kind for r in restarts):
            group = [r for r in restarts if r.kind == kind]
            resumed = sum(r.resumed_on_preferred for r in group)
            two = [r.two_sources_s for r in group if r.two_sources_s > 0]
            print(
                f"| {kind} | {len(group)} | {resumed}/{len(group)} "
                f"| {_seconds([r.resume_s for r in group])} "
                f"| {max(r.unpowered_s for r in group):.1f} | {_margin(group)} "
                f"| {len(two)}, {max(two, default=0):.1f} | {_alarms(group)} |"
            )
    if faults:
        print()
        print(
            "| fault | failover s | back on preferred (after s) | unpowered s "
            "| two sources at once s | discharging after return s | false alarms |"
        )
        print("|---|---|---|---|---|---|---|")
        for r in faults:
            back = (
                f"yes ({r.resume_s:.1f})"
                if r.resumed_on_preferred and r.resume_s is not None
                else f"no ({r.resumed_on or 'none'})"
            )
            failover = "none" if r.failover_s is None else f"{r.failover_s:.1f}"
            print(
                f"| {r.kind} | {failover} | {back} | {r.unpowered_s:.1f} "
                f"| {r.two_sources_s:.1f} | {r.discharging_after_return_s:.1f} | {_alarms([r])} |"
            )
    print()
    print("# every run")
    for r in restarts + faults:
        print(
            f"- {r.kind}: end state {r.state_at_end}, active {r.resumed_on}, supplying "
            f"{r.supplying_at_end}, resume {r.resume_s}, unpowered {r.unpowered_s} s, "
            f"two sources {r.two_sources_s} s, after return {r.discharging_after_return_s} s, "
            f"margins {r.min_margin_pct}, alarms {r.alarms}, failures {r.failures}"
            + (f"; {'; '.join(r.notes)}" if r.notes else "")
        )


if __name__ == "__main__":
    main()
