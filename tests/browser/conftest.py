"""A real Home Assistant, the simulator and Debian's Chromium for the browser tests.

One world per test session, in the order a person meets it: Home Assistant is started
with the demo's configuration but no V2X entry; the first tests add the charger through
the config-flow UI, the fixture ``demo_sites`` then adds the rest of the demo (backup
sites, office) through Home Assistant's REST API, as ``./scripts/demo`` does.

Every port of the demo scenario is moved to a free one, so the tests run while a demo
is running on the same machine.

``V2X_BROWSER_HA`` picks the Home Assistant: ``oldest`` (the default: this venv's,
2025.4.4) or ``newest`` (``requirements_demo_newest.txt`` on Python >= 3.14.2, through
``scripts/hass_newest``; its configuration folder is then below ``.cache/hass``). When
this machine cannot provide the newest, the tests are skipped saying why, and fail
under ``CI=true``. Playwright, the simulator and the tests always run here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import os
from pathlib import Path
import shutil
import struct
import tempfile
import zlib

from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright
import pytest

from harness.dashboard import LOVELACE_CONFIGURATION, install_dashboard
from harness.demo_site import add_demo_devices, demo_configuration
from harness.deprecations import deprecations_in_log
from harness.hass import (
    HASS_CACHE,
    HarnessError,
    HassInstance,
    HassRuntime,
    RuntimeUnavailableError,
    free_port,
    start_simulator,
    stop_process,
)
from harness.scenario import DemoPorts, relocated_scenario

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SCREENSHOTS = ROOT / "build" / "screenshots"
CHROMIUM_FLAGS = (
    # Chromium as root in a container has no sandbox; the machine has no GPU and no
    # Internet: without the background-networking flags Chromium keeps trying Google.
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
QUASAR_TITLE = "Wallbox Quasar 1 20240117"
"""The house's charger, as the config flow names it (serial from the scenario)."""
VIEWPORT: ViewportSize = {"width": 1280, "height": 900}
KEEP_CONFIG_DIRS = 3
"""Configuration folders of earlier sessions kept below .cache/hass (newest runtime)."""


def runtime_from_environment() -> HassRuntime:
    """The Home Assistant that ``V2X_BROWSER_HA`` asks for (``oldest`` unless set)."""
    return HassRuntime.named(os.environ.get("V2X_BROWSER_HA", "oldest").strip())


def pytest_report_header() -> str:
    """Say which Home Assistant the session runs."""
    try:
        return f"browser tests on {runtime_from_environment().label}"
    except HarnessError as err:
        return f"browser tests: {err}"


def _blank_png() -> bytes:
    """A one-pixel transparent PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\x00\x00\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


BLANK_PNG = _blank_png()


def chromium_path() -> Path | None:
    """Debian's Chromium (or ``V2X_CHROMIUM``), never a browser downloaded by Playwright."""
    configured = os.environ.get("V2X_CHROMIUM")
    if configured:
        return Path(configured)
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    return Path(found) if found else None


@dataclass(slots=True)
class World:
    """What the browser tests talk to."""

    hass: HassInstance
    ports: DemoPorts
    screenshots: Path

    def shoot(self, page: Page, name: str, *, full_page: bool = False) -> Path:
        """Save a screenshot (the README shows the ones in docs/images/screenshots)."""
        path = self.screenshots / f"{name}.png"
        # The frontend's "Loading..." launch screen fades out over the first page drawn.
        page.locator("#ha-launch-screen").wait_for(state="detached", timeout=30_000)
        page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The browser, or a skip that says why there is none."""
    path = chromium_path()
    if path is None or not path.exists():
        reason = os.environ.get("V2X_BROWSER_UNAVAILABLE", "no chromium on PATH")
        pytest.skip(f"browser tests skipped: {reason} (install Debian's chromium package)")
    return path


@pytest.fixture(scope="session")
def runtime() -> HassRuntime:
    """The Home Assistant of this session, provisioned (skip, or fail under CI, if impossible)."""
    try:
        chosen = runtime_from_environment()
        chosen.provision()
    except RuntimeUnavailableError as err:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{err}; CI must run the browser tests on it")
        pytest.skip(f"browser tests skipped: {err}")
    except HarnessError as err:
        pytest.fail(str(err))
    return chosen


def config_dir_for(runtime: HassRuntime, base: Path) -> Path:
    """Where the session's Home Assistant keeps its configuration.

    Below the session's temporary folder, or, for a runtime that only sees the
    repository (the newest, in its Debian tree), a fresh folder below ``.cache/hass``;
    the folders of all but the last few sessions there are removed.
    """
    if not runtime.below_root:
        return base / "config"
    HASS_CACHE.mkdir(parents=True, exist_ok=True)
    earlier = sorted(HASS_CACHE.glob("browser-*"), key=lambda path: path.stat().st_mtime)
    for old in earlier[: max(0, len(earlier) - KEEP_CONFIG_DIRS + 1)]:
        shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"browser-{runtime.name}-", dir=HASS_CACHE))


@pytest.fixture(scope="session")
def world(
    chromium: Path, runtime: HassRuntime, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The simulator and Home Assistant with the demo's configuration, no V2X entry yet."""
    base = tmp_path_factory.mktemp("browser")
    scenario = relocated_scenario(ROOT / "simulator/scenarios/default.toml", base / "demo.toml")
    ports = DemoPorts.from_scenario(scenario)
    screenshots = Path(os.environ.get("V2X_SCREENSHOTS_DIR", DEFAULT_SCREENSHOTS))
    screenshots.mkdir(parents=True, exist_ok=True)
    hass = HassInstance(config_dir_for(runtime, base), free_port(), runtime=runtime)
    simulator = start_simulator(scenario, control_port=ports.control)
    try:
        hass.prepare(demo_configuration(ports) + LOVELACE_CONFIGURATION)
        install_dashboard(hass.config_dir)
        hass.start()
        hass.onboard()
        yield World(hass, ports, screenshots)
    finally:
        hass.stop()
        stop_process(simulator, "the simulator")
    # Whatever Home Assistant release runs, it must not report deprecated use by V2X.
    found = deprecations_in_log(hass.config_dir / "home-assistant.log")
    assert not found, f"Home Assistant reports deprecated use by V2X: {found}"


@pytest.fixture(scope="session")
def demo_sites(world: World) -> list[str]:
    """The rest of the demo (batteries, chargers, sites, office) through the REST API."""
    quasar = next((e for e in world.hass.entries() if e["title"] == QUASAR_TITLE), None)
    return add_demo_devices(world.hass, world.ports, quasar=quasar)


@pytest.fixture(scope="session")
def browser(chromium: Path) -> Iterator[Browser]:
    """Headless Debian Chromium driven by Playwright."""
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(chromium), headless=True, args=list(CHROMIUM_FLAGS)
        )
        yield instance
        instance.close()


@pytest.fixture(scope="session")
def page(browser: Browser, world: World) -> Iterator[Page]:
    """One tab for the whole session: a person logs in once and keeps going."""
    context = browser.new_context(viewport=VIEWPORT, locale="en-GB", timezone_id="Asia/Tokyo")
    # Brand images come from brands.home-assistant.io, out of reach here: answer with a
    # blank image at once, as the page looks before a brand is published.
    context.route(
        "https://brands.home-assistant.io/**",
        lambda route: route.fulfill(status=200, content_type="image/png", body=BLANK_PNG),
    )
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    context.close()
