"""Run a real Home Assistant in its own process and drive it like a person would.

Used by ``./scripts/demo``, the browser tests and the benchmarks. Everything is done
through Home Assistant's own HTTP API: onboarding (owner user, location, analytics,
integration step), config flows, services. Nothing is written into ``.storage`` by hand.

Which Home Assistant runs is a :class:`HassRuntime`: this Python's (the project's venv,
Home Assistant 2025.4.4) by default, or the newest release (``requirements_demo_newest.txt``
on Python >= 3.14.2, through ``scripts/hass_newest``; possibly inside a Debian sid tree).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
import concurrent.futures
import contextlib
from dataclasses import dataclass
from importlib.metadata import version
import json
import os
from pathlib import Path
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

from .places import TOKYO, Place

ROOT = Path(__file__).resolve().parent.parent
HASS_NEWEST = ROOT / "scripts" / "hass_newest"
REQUIREMENTS_NEWEST = ROOT / "requirements_demo_newest.txt"
HASS_CACHE = ROOT / ".cache" / "hass"
"""Configuration folders for the newest runtime (below the repository, git-ignored)."""
USERNAME = "demo"
PASSWORD = "v2x-demo-2025"  # noqa: S105 - a throwaway local account, printed to the user

BASE_CONFIGURATION = """\
frontend:
config:
energy:
history:
logbook:
recorder:
  purge_keep_days: 3
system_health:
# What default_config gives and works offline: automations, scripts and scenes made in
# the UI (saved to the files below), blueprints, people, zones, tags and the helpers.
automation: !include automations.yaml
script: !include scripts.yaml
scene: !include scenes.yaml
blueprint:
counter:
input_boolean:
input_button:
input_datetime:
input_number:
input_select:
input_text:
person:
schedule:
sun:
tag:
timer:
zone:
logger:
  default: warning
  logs:
    custom_components.v2x: info
"""

LOOPBACK = "127.0.0.1"
BLUEPRINTS = ROOT / "blueprints"
UI_FILES = {"automations.yaml": "[]\n", "scripts.yaml": "{}\n", "scenes.yaml": "[]\n"}
"""What the UI editors save to, as Home Assistant's own onboarding creates them."""


def _install_ui_files(config_dir: Path) -> None:
    """The files the UI editors write (kept when they exist) and V2X's blueprints.

    The blueprints are copied as a user's *Import blueprint* would store them, under
    ``blueprints/automation/v2x/``; a newer copy in the repository replaces them.
    """
    for name, empty in UI_FILES.items():
        path = config_dir / name
        if not path.exists():
            path.write_text(empty, encoding="utf-8")
    for source in BLUEPRINTS.rglob("*.yaml"):
        target = config_dir / "blueprints" / source.relative_to(BLUEPRINTS)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_bytes() != source.read_bytes():
            shutil.copyfile(source, target)


_HTTP_BLOCK = re.compile(r"^http:\n(?:  server_host: .*\n)?  server_port: \d+\n", re.MULTILINE)
"""The ``http:`` block the harness writes (older ones had no ``server_host``)."""

# Onboarding adds these integrations; they need Internet access or packages the demo
# does not install, so the harness removes them to keep the instance about V2X.
ONBOARDING_EXTRAS = frozenset({"met", "radio_browser", "google_translate"})


class HarnessError(Exception):
    """Home Assistant could not be started or did not do what was asked."""


class RuntimeUnavailableError(HarnessError):
    """This machine cannot provide the asked-for Home Assistant (e.g. no Python >= 3.14.2)."""


def _pinned_version(requirements: Path, package: str) -> str:
    """The version ``package==X`` pins in a requirements file ("?" if none does)."""
    pin = re.compile(rf"^{re.escape(package)}==(\S+)", re.MULTILINE | re.IGNORECASE)
    match = pin.search(requirements.read_text(encoding="utf-8"))
    return match.group(1) if match else "?"


@dataclass(frozen=True, slots=True)
class HassRuntime:
    """How to launch Home Assistant: the command that stands for ``python``, and a label.

    ``HassInstance.start`` runs ``[*python, "-m", "homeassistant", ...]``.
    """

    name: str
    """``oldest`` (this Python, the default) or ``newest``."""
    python: tuple[str, ...]
    label: str
    ensure: tuple[str, ...] = ()
    """A command that provisions the runtime (run once before the first start): exit 0
    ready, 3 impossible on this machine (:class:`RuntimeUnavailableError`), else a failure."""
    below_root: bool = False
    """The configuration folder must be below the repository (the only folder that the
    runtime sees at the same path)."""
    own_group: bool = False
    """Home Assistant runs below a supervising process (its own process group): SIGTERM
    goes to the supervisor, which forwards it once; SIGKILL goes to the whole group."""

    NAMES = ("oldest", "newest")

    @classmethod
    def current(cls) -> HassRuntime:
        """This Python's Home Assistant (the project's venv: 2025.4.4, the oldest we support)."""
        return cls(
            name="oldest",
            python=(sys.executable,),
            label=(
                f"Home Assistant {version('homeassistant')} on Python "
                f"{platform.python_version()} ({sys.prefix})"
            ),
        )

    @classmethod
    def newest(cls) -> HassRuntime:
        """The newest release (``requirements_demo_newest.txt``), via ``scripts/hass_newest``.

        Python >= 3.14.2 from PATH/pyenv, or a Debian sid tree (``.cache/py314-sid``,
        chroot on the host's network, the repository mounted at its own path).
        """
        return cls(
            name="newest",
            python=(str(HASS_NEWEST),),
            label=(
                f"Home Assistant {_pinned_version(REQUIREMENTS_NEWEST, 'homeassistant')} "
                "on Python >= 3.14.2 (scripts/hass_newest)"
            ),
            ensure=(str(HASS_NEWEST), "--ensure"),
            below_root=True,
            own_group=True,
        )

    @classmethod
    def named(cls, name: str) -> HassRuntime:
        """The runtime called ``name`` (``oldest``/``current`` or ``newest``)."""
        if name in ("", "oldest", "current"):
            return cls.current()
        if name == "newest":
            return cls.newest()
        raise HarnessError(f"no Home Assistant runtime {name!r} (one of: {', '.join(cls.NAMES)})")

    def provision(self, timeout_s: float = 1800) -> str:
        """Make the runtime ready (may install for minutes); return where it runs.

        Progress goes to stderr. Raises :class:`RuntimeUnavailableError` (the reason in its
        message) when this machine cannot provide it, :class:`HarnessError` on a failure.
        """
        if not self.ensure:
            return self.label
        lines: list[str] = []
        with subprocess.Popen(  # noqa: S603
            self.ensure,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as ensure:
            assert ensure.stderr is not None  # noqa: S101 - stderr=PIPE
            timer = threading.Timer(timeout_s, ensure.kill)
            timer.start()
            try:
                for line in ensure.stderr:  # progress, live
                    sys.stderr.write(line)
                    lines.append(line.strip())
                where = ensure.stdout.read().strip() if ensure.stdout else ""
                code = ensure.wait()
            finally:
                timer.cancel()
        why = next((line for line in reversed(lines) if line), f"exit code {code}")
        if code == 3:
            raise RuntimeUnavailableError(f"{self.label} is not available here: {why}")
        if code != 0:
            raise HarnessError(f"provisioning {self.label} failed (exit code {code}): {why}")
        return where or self.label


def request(
    url: str,
    *,
    data: Any = None,
    token: str | None = None,
    form: bool = False,
    method: str | None = None,
    timeout: float = 30.0,
) -> Any:
    """One HTTP request to a loopback service; JSON in and out."""
    headers = {}
    body = None
    if data is not None:
        if form:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            body = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    if token:
        headers["Authorization"] = f"Bearer {token}"
    prepared = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(prepared, timeout=timeout) as reply:  # noqa: S310 - loopback
        text = reply.read().decode()
    return json.loads(text) if text else None


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    url: str, timeout_s: float, process: subprocess.Popen[bytes], *, any_status: bool = False
) -> None:
    """Wait until ``url`` answers (any JSON), or the process dies.

    With ``any_status`` an HTTP error answer other than 404 counts as an answer too
    (``/api/`` says 401 to a caller without a token once Home Assistant's API is up;
    404 means its views are not registered yet).
    """
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise HarnessError(f"the process behind {url} exited with code {process.returncode}")
        try:
            request(url, timeout=5)
        except urllib.error.HTTPError as err:
            if any_status and err.code != 404:
                return
            time.sleep(0.25)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.25)
        except json.JSONDecodeError:
            return
        else:
            return
    raise HarnessError(f"{url} did not answer within {timeout_s:.0f} s")


def stop_process(
    process: subprocess.Popen[bytes] | None,
    name: str,
    *,
    sig: int = signal.SIGTERM,
    group: bool = False,
) -> None:
    """Send ``sig`` (SIGTERM by default), then SIGKILL after 30 s; wait for the exit.

    With ``group`` the process leads its own process group (``start_new_session``):
    ``sig`` still goes to it alone, but SIGKILL goes to the whole group.
    """
    if process is None or process.poll() is not None:
        if group and process is not None:
            _wait_group_gone(process.pid)
        return
    if group and sig == signal.SIGKILL:
        _kill_group(process)
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in 30 s; killing it")  # noqa: T201
        if group:
            _kill_group(process)
            return
        process.kill()
        process.wait()
    if group:
        _wait_group_gone(process.pid)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a process group whose leader is ``process``; wait for all of it."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    _wait_group_gone(process.pid)


def _wait_group_gone(pgid: int, timeout_s: float = 10.0) -> None:
    """Wait (bounded) until no process of a group is left; SIGKILL stragglers at the end."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def start_simulator(scenario: Path, *, control_port: int = 8099) -> subprocess.Popen[bytes]:
    """``python -m simulator`` with a scenario; returns once its control API answers."""
    process = subprocess.Popen(  # noqa: S603
        [
            sys.executable, "-m", "simulator", "--config", str(scenario),
            "--control-port", str(control_port),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    wait_for(f"http://127.0.0.1:{control_port}/state", 30, process)
    return process


@dataclass(frozen=True, slots=True)
class Restart:
    """When a restart happened (``time.monotonic``, comparable with the simulator's)."""

    signal: int
    stopped_at: float
    """The signal was sent."""
    exited_at: float
    """The old process had exited."""
    started_at: float
    """The new process was started."""
    api_at: float
    """The new process's HTTP API answered."""


class HassInstance:
    """One Home Assistant process with V2X linked into its configuration folder.

    ``host`` is what Home Assistant binds (``server_host``): loopback unless asked
    otherwise, since the demo's password is printed in the README. ``runtime`` says
    which Home Assistant runs (this Python's unless told).
    """

    def __init__(
        self,
        config_dir: Path,
        port: int = 8123,
        host: str = LOOPBACK,
        *,
        recorder_commit_s: int | None = None,
        runtime: HassRuntime | None = None,
        place: Place = TOKYO,
    ) -> None:
        """Prepare, nothing runs yet.

        ``recorder_commit_s`` shortens the recorder's commit interval (restart tests read
        events from its database; a SIGKILL loses what was not committed yet). ``place``
        is the time zone, currency and location a new configuration gets (the tests'
        Tokyo unless told).
        """
        self.config_dir = config_dir
        self.place = place
        self.runtime = runtime or HassRuntime.current()
        self.where = ""
        """Where the runtime runs (set by the first ``start``, after provisioning)."""
        self.recorder_commit_s = recorder_commit_s
        self.port = port
        self.host = host
        reach = LOOPBACK if host in (LOOPBACK, "0.0.0.0", "::") else host  # noqa: S104
        self.base = f"http://{reach}:{port}"
        self.client_id = f"{self.base}/"
        self.process: subprocess.Popen[bytes] | None = None
        self.token = ""
        self.started_at = 0.0
        """When the current process was started (``time.monotonic``)."""

    @property
    def http_configuration(self) -> str:
        """The ``http:`` block of configuration.yaml."""
        return f"http:\n  server_host: {self.host}\n  server_port: {self.port}\n"

    def prepare(
        self, extra_configuration: str = "", *, keep: bool = False, integration: Path | None = None
    ) -> None:
        """Create the configuration folder (fresh unless ``keep``) with V2X linked in.

        ``integration`` is the ``custom_components/v2x`` folder to link (this working
        tree's by default). A kept configuration.yaml is left as it is, except for the
        ``http:`` block the harness wrote, which follows ``host`` and ``port``.
        """
        if self.config_dir.exists() and not keep:
            shutil.rmtree(self.config_dir)
        (self.config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
        link = self.config_dir / "custom_components" / "v2x"
        if not link.exists():
            link.symlink_to(
                integration or ROOT / "custom_components" / "v2x", target_is_directory=True
            )
        _install_ui_files(self.config_dir)
        configuration = self.config_dir / "configuration.yaml"
        if not configuration.exists():
            base = (
                "# Written by the V2X harness; edit freely (./scripts/demo --keep reuses"
                " this folder).\n" + self.place.configuration() + "\n" + BASE_CONFIGURATION
            )
            if self.recorder_commit_s is not None:
                base = base.replace(
                    "recorder:\n", f"recorder:\n  commit_interval: {self.recorder_commit_s}\n"
                )
            configuration.write_text(
                base + self.http_configuration + extra_configuration,
                encoding="utf-8",
            )
            return
        text = configuration.read_text(encoding="utf-8")
        updated = _HTTP_BLOCK.sub(lambda _: self.http_configuration, text, count=1)
        if updated != text:
            configuration.write_text(updated, encoding="utf-8")
        self._check_stored_http()

    def _check_stored_http(self) -> None:
        """Fail clearly when a kept folder's stored ``http`` settings differ from ours.

        Home Assistant 2026 reads configuration.yaml's ``http:`` block only on the first
        start, then keeps the settings in ``.storage/http`` (version 2 or newer, with a
        ``stable`` and a ``pending`` slot) and ignores the YAML; the harness does not edit
        ``.storage``. Older releases follow the YAML at every start.
        """
        store = self.config_dir / ".storage" / "http"
        if not store.exists():
            return
        data = json.loads(store.read_text(encoding="utf-8")).get("data", {})
        if not data.get("yaml_migration_done"):
            return
        pending = data.get("pending")
        active = pending if pending and pending.get("error") is None else data.get("stable", {})
        port = int(active.get("server_port", 8123))
        hosts = active.get("server_host") or ["0.0.0.0"]  # noqa: S104 - HA's default
        if port != self.port or self.host not in hosts:
            raise HarnessError(
                f"{self.config_dir} keeps its HTTP settings in .storage/http (Home Assistant"
                f" 2026 moved them there from configuration.yaml): port {port}, host"
                f" {', '.join(hosts)}; start it with those, or afresh (without --keep)"
            )

    def start(self, timeout_s: float = 300) -> None:
        """Start Home Assistant and wait for its HTTP API (onboarded or not).

        The first start provisions the runtime (:meth:`HassRuntime.provision`; raises
        :class:`RuntimeUnavailableError` when this machine cannot provide it).
        """
        config_dir = self.config_dir.resolve()
        if self.runtime.below_root and not config_dir.is_relative_to(ROOT):
            raise HarnessError(
                f"{self.runtime.label} needs its configuration folder below {ROOT}"
                f" (e.g. {HASS_CACHE}/<name>), not {config_dir}"
            )
        if not self.where:
            self.where = self.runtime.provision()
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603
            [
                *self.runtime.python, "-m", "homeassistant", "--config", str(config_dir),
                "--skip-pip", "--log-file", str(config_dir / "home-assistant.log"),
            ],
            cwd=config_dir,
            env={**os.environ, "PYTHONPATH": ""},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=self.runtime.own_group,
        )  # fmt: skip
        wait_for(f"{self.base}/api/", timeout_s, self.process, any_status=True)

    def wait_running(self, timeout_s: float = 300) -> None:
        """Wait until Home Assistant has finished starting (core state ``RUNNING``)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise HarnessError("Home Assistant exited while starting")
            try:
                if self.api("/api/config").get("state") == "RUNNING":
                    return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise HarnessError(f"Home Assistant was not running within {timeout_s:.0f} s")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        """Stop Home Assistant (cleanly with SIGTERM, the default) and wait for its exit.

        For a supervised runtime (``own_group``) SIGTERM reaches Home Assistant once,
        through its supervisor, and SIGKILL the whole process group.
        """
        stop_process(self.process, "Home Assistant", sig=sig, group=self.runtime.own_group)

    def kill(self) -> None:
        """Kill Home Assistant at once (SIGKILL): no shutdown, no state saved.

        For the newest runtime this kills the supervisor and Home Assistant together
        (their process group); its mount namespace goes with them.
        """
        self.stop(signal.SIGKILL)

    def restart(
        self,
        sig: int = signal.SIGTERM,
        downtime_s: float = 0.0,
        *,
        during_downtime: Callable[[], None] | None = None,
        timeout_s: float = 300,
    ) -> Restart:
        """Stop, stay down, start again on the same configuration folder, log in again.

        ``sig`` stops the process (SIGTERM or SIGKILL); ``downtime_s`` counts from the
        signal to the new start. ``during_downtime`` runs once the old process has
        exited (e.g. to fast-forward a simulator); its time counts towards the downtime.
        """
        if self.process is None or self.process.poll() is not None:
            raise HarnessError("Home Assistant is not running")
        stopped_at = time.monotonic()
        self.stop(sig)
        exited_at = time.monotonic()
        if during_downtime is not None:
            during_downtime()
        time.sleep(max(0.0, stopped_at + downtime_s - time.monotonic()))
        self.start(timeout_s)
        started_at = self.started_at
        api_at = time.monotonic()
        self.onboard()
        return Restart(sig, stopped_at, exited_at, started_at, api_at)

    @property
    def pid(self) -> int:
        """The process id (for CPU measurements; the supervisor's for the newest runtime)."""
        if self.process is None:
            raise HarnessError("Home Assistant is not running")
        return self.process.pid

    # -- onboarding and authentication -------------------------------------------------

    def onboard(self) -> str:
        """Complete onboarding through the REST API; keep and return an access token.

        An instance onboarded before (a restart, ``--keep``) only logs the user in.
        """
        steps = self._onboarding_steps()
        if steps is None:
            self.token = self._login()
            return self.token
        if steps.get("user"):
            self.token = self._login()
        else:
            created = request(
                f"{self.base}/api/onboarding/users",
                data={
                    "client_id": self.client_id,
                    "name": "V2X Demo",
                    "username": USERNAME,
                    "password": PASSWORD,
                    "language": "en",
                },
            )
            self.token = self._token(created["auth_code"])
        for step in ("core_config", "analytics"):
            if not steps.get(step):
                self.api(f"/api/onboarding/{step}", data={})
        if not steps.get("integration"):
            self.api(
                "/api/onboarding/integration",
                data={
                    "client_id": self.client_id,
                    "redirect_uri": f"{self.client_id}?auth_callback=1",
                },
            )
        for entry in self.api("/api/config/config_entries/entry"):
            if entry["domain"] in ONBOARDING_EXTRAS:
                self.api(f"/api/config/config_entries/entry/{entry['entry_id']}", method="DELETE")
        self._confirm_http_config()
        return self.token

    def _confirm_http_config(self) -> None:
        """Confirm the ``http:`` settings Home Assistant now runs on, where it asks to.

        Since 2026 Home Assistant moves configuration.yaml's ``http:`` block into
        ``.storage/http`` as a *pending* configuration on the first start, and unless
        someone confirms it (Settings → System → Network, or the ``http/config/promote``
        command) within 5 minutes it restarts on the stored default (port 8123, every
        interface). Older releases do not know the command; then there is nothing to do.
        """
        http = self.websocket({"type": "http/config"})
        if not http.get("success") or not (http.get("result") or {}).get("pending"):
            return
        promoted = self.websocket({"type": "http/config/promote"})
        if not promoted.get("success"):
            raise HarnessError(f"could not confirm the http settings: {promoted}")

    def _onboarding_steps(self) -> dict[str, bool] | None:
        """The onboarding steps and whether each is done; None once onboarding is over.

        Home Assistant only serves ``/api/onboarding`` until onboarding is complete;
        afterwards it answers 404.
        """
        try:
            answer = request(f"{self.base}/api/onboarding")
        except urllib.error.HTTPError as err:
            if err.code == 404:
                return None
            raise
        return {step["step"]: step["done"] for step in answer}

    def _token(self, code: str) -> str:
        tokens = request(
            f"{self.base}/auth/token",
            data={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
            form=True,
        )
        return str(tokens["access_token"])

    def _login(self) -> str:
        flow = request(
            f"{self.base}/auth/login_flow",
            data={
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        result = request(
            f"{self.base}/auth/login_flow/{flow['flow_id']}",
            data={"client_id": self.client_id, "username": USERNAME, "password": PASSWORD},
        )
        return self._token(result["result"])

    # -- API ---------------------------------------------------------------------------

    def api(self, path: str, *, data: Any = None, method: str | None = None) -> Any:
        """An authenticated API call."""
        return request(f"{self.base}{path}", data=data, token=self.token, method=method)

    def websocket(self, message: dict[str, Any], timeout_s: float = 30.0) -> dict[str, Any]:
        """One command over Home Assistant's WebSocket API; its ``result`` message.

        Runs on a private event loop in a worker thread, so it works from any caller
        (Playwright's sync API keeps a loop of its own in this thread).
        """
        import aiohttp  # noqa: PLC0415 - only a few calls need it

        async def exchange() -> dict[str, Any]:
            client_timeout = aiohttp.ClientTimeout(total=timeout_s)
            async with (
                aiohttp.ClientSession(timeout=client_timeout) as session,
                session.ws_connect(f"{self.base}/api/websocket") as ws,
            ):
                await ws.receive_json()  # auth_required
                await ws.send_json({"type": "auth", "access_token": self.token})
                auth: dict[str, Any] = await ws.receive_json()
                if auth.get("type") != "auth_ok":
                    raise HarnessError(f"the WebSocket API refused the token: {auth}")
                await ws.send_json({"id": 1, **message})
                while True:
                    reply: dict[str, Any] = await ws.receive_json()
                    if reply.get("id") == 1 and reply.get("type") == "result":
                        return reply

        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as worker:
            return worker.submit(asyncio.run, exchange()).result(timeout=timeout_s + 5)

    def release(self) -> tuple[int, int]:
        """The running Home Assistant's release, (year, month)."""
        year, month = str(self.api("/api/config")["version"]).split(".")[:2]
        return int(year), int(month)

    def call_service(self, domain: str, service: str, data: dict[str, Any]) -> None:
        """Call a service and wait for it."""
        self.api(f"/api/services/{domain}/{service}", data=data)

    def state(self, entity_id: str) -> dict[str, Any]:
        """The state of one entity."""
        result: dict[str, Any] = self.api(f"/api/states/{entity_id}")
        return result

    def device_id(self, entity_id: str) -> str:
        """The device an entity belongs to (rendered as JSON by Home Assistant's template API)."""
        device = self.api(
            "/api/template", data={"template": f"{{{{ device_id('{entity_id}') | tojson }}}}"}
        )
        if not isinstance(device, str):
            raise HarnessError(f"{entity_id} belongs to no device")
        return device

    def entries(self, domain: str = "v2x") -> list[dict[str, Any]]:
        """The config entries of a domain."""
        entries: list[dict[str, Any]] = self.api(
            f"/api/config/config_entries/entry?domain={domain}"
        )
        return entries

    def flow(self, handler: str, steps: Sequence[dict[str, Any]]) -> dict[str, Any]:
        """Run a config flow through its steps (menu choices or form input)."""
        flows = "/api/config/config_entries/flow"
        result: dict[str, Any] = self.api(flows, data={"handler": handler})
        for step in steps:
            if result.get("type") not in ("form", "menu"):
                break
            result = self.api(f"{flows}/{result['flow_id']}", data=step)
        return result

    def add_v2x(self, menu_choice: str, *forms: dict[str, Any]) -> dict[str, Any]:
        """Add a V2X device or site through the config flow; return the created entry.

        ``menu_choice`` is what the user adds (charger, battery, site, v2b); a device's
        first form picks the product (``{"family": ...}``), the next gives its address.
        """
        result = self.flow("v2x", [{"next_step_id": menu_choice}, *forms])
        if result.get("type") == "abort" and result.get("reason") == "already_configured":
            return {"title": f"{menu_choice} (already configured)", "entry_id": None}
        if result.get("type") != "create_entry":
            raise HarnessError(f"the V2X config flow did not create an entry: {result}")
        entry: dict[str, Any] = result["result"]
        return entry

    def options_flow(self, entry_id: str, *steps: dict[str, Any]) -> None:
        """Run an entry's options flow through its menu choices and forms; it must finish."""
        flows = "/api/config/config_entries/options/flow"
        result: dict[str, Any] = self.api(flows, data={"handler": entry_id})
        for step in steps:
            result = self.api(f"{flows}/{result['flow_id']}", data=step)
        if result.get("type") != "create_entry":
            raise HarnessError(f"options were not accepted: {result}")

    def set_options(self, entry_id: str, options: dict[str, Any]) -> None:
        """Run an entry's one-form options flow with ``options``."""
        self.options_flow(entry_id, options)
