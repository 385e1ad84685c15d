"""The demo as a person meets it: start time, devices and entities, the Overview.

How long ``./scripts/demo`` takes to be ready, how many devices and entities it makes,
and how tall Home Assistant's generated Overview is.

Each run starts ``scripts/demo`` as a user would (Tokyo, so the runs compare), timed
from the command to its "V2X demo is running" line: first in a fresh configuration
folder (onboarding, every device and site added through the config flows), then again
with ``--keep`` (the folder of the first run). Devices and entities are V2X's, counted
from Home Assistant's registries; the Overview is the auto-generated default dashboard,
measured in Debian's Chromium at 1280 px wide (the tallest scrolling element's height).

Run: ``.venv/bin/python -m benchmarks.demo_first_hour [--ha oldest|newest]``
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness.hass import HASS_CACHE, PASSWORD, USERNAME, HassInstance, free_port  # noqa: E402

READY = "V2X demo is running"
TALLEST = """() => {
    let tallest = 0;
    const walk = (root) => {
        for (const element of root.querySelectorAll("*")) {
            tallest = Math.max(tallest, element.scrollHeight);
            if (element.shadowRoot) walk(element.shadowRoot);
        }
    };
    walk(document);
    return tallest;
}"""
"""The height of the tallest element, through shadow roots (the view scrolls inside)."""


def start_demo(
    config_dir: Path, port: int, ha: str, *, keep: bool
) -> tuple[subprocess.Popen[str], float]:
    """Start ``scripts/demo``; return it and the seconds until it said it is ready."""
    command = [str(ROOT / "scripts" / "demo"), "--ha", ha, "--place", "tokyo", "--port",
               str(port), "--config-dir", str(config_dir)]  # fmt: skip
    if keep:
        command.append("--keep")
    started = time.monotonic()
    demo = subprocess.Popen(  # noqa: S603 - our own script
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    said: list[str] = []
    for line in demo.stdout or ():
        if READY in line:
            return demo, time.monotonic() - started
        said.append(line)
    tail = "".join(said[-15:])
    raise RuntimeError(f"the demo exited ({demo.wait()}) before it was ready:\n{tail}")


def stop_demo(demo: subprocess.Popen[str]) -> None:
    """Ctrl-C, as the README says."""
    os.killpg(demo.pid, signal.SIGINT)
    try:
        demo.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait()


def registry_counts(hass: HassInstance) -> tuple[int, int]:
    """V2X's devices and entities in Home Assistant's registries."""
    devices = hass.websocket({"type": "config/device_registry/list"})["result"]
    entities = hass.websocket({"type": "config/entity_registry/list"})["result"]
    ours = [d for d in devices if any(domain == "v2x" for domain, _ in d["identifiers"])]
    return len(ours), sum(1 for entity in entities if entity["platform"] == "v2x")


def overview_height(base: str) -> int:
    """The generated Overview's height in Chromium, logged in as the demo user."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or os.environ.get("V2X_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/")
        page.get_by_role("textbox", name="Username").fill(USERNAME)
        page.get_by_role("textbox", name="Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        # The default dashboard: /lovelace/0 up to 2025, the generated /home/overview since.
        page.wait_for_url(re.compile(r".*/(lovelace|home)/.*"))
        page.locator("hui-view").first.wait_for(timeout=60_000)
        page.wait_for_timeout(3000)  # the cards draw
        height = int(page.evaluate(TALLEST))
        browser.close()
    return height


def main() -> int:
    """Fresh, then --keep; print what was measured."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ha", choices=("oldest", "newest"), default="oldest")
    args = parser.parse_args()
    results: dict[str, Any] = {}
    # Below the repository: the newest release runs in a tree that mounts only it.
    HASS_CACHE.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="demo-first-hour-", dir=HASS_CACHE) as folder:
        config_dir = Path(folder) / "config"
        port = free_port()  # the same both times: 2026 keeps it in .storage/http
        for keep in (False, True):
            demo, seconds = start_demo(config_dir, port, args.ha, keep=keep)
            try:
                results["keep" if keep else "fresh"] = seconds
                if not keep:
                    hass = HassInstance(config_dir, port)
                    hass.token = hass._login()  # noqa: SLF001 - the harness's own login
                    results["devices"], results["entities"] = registry_counts(hass)
                    results["overview_px"] = overview_height(hass.base)
            finally:
                stop_demo(demo)
    print(f"Home Assistant: {args.ha}")
    print(f"ready, fresh configuration: {results['fresh']:.1f} s")
    print(f"ready, --keep:              {results['keep']:.1f} s")
    print(f"V2X devices: {results['devices']}, entities: {results['entities']}")
    print(f"generated Overview: {results['overview_px']} px tall at 1280 px wide")
    return 0


if __name__ == "__main__":
    sys.exit(main())
