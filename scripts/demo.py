"""Run the demo: the simulator plus a real Home Assistant with V2X already set up.

Started by ``./scripts/demo``. Everything is configured through Home Assistant's own
HTTP APIs, exactly as a person would do it in the browser: onboarding (owner user,
location, analytics, integration step), then the V2X config flow for the simulated
Quasar. Nothing is written into ``.storage`` by hand.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import shutil
import signal
import subprocess
import sys
import time
from typing import Any
import urllib.error
import urllib.parse
import urllib.request

ROOT = Path(__file__).resolve().parent.parent
CLIENT_ID = "http://127.0.0.1:8123/"
USERNAME = "demo"
PASSWORD = "v2x-demo-2025"  # noqa: S105 - a throwaway local demo account, printed to the user

CONFIGURATION_YAML = """\
# Written by ./scripts/demo; edit freely (use --keep to reuse this folder).
homeassistant:
  name: V2X demo
  unit_system: metric
  time_zone: Asia/Tokyo
  currency: JPY
  country: JP
  latitude: 35.4437
  longitude: 139.3624
  elevation: 30

frontend:
config:
energy:
history:
logbook:
recorder:
  purge_keep_days: 3
system_health:
logger:
  default: warning
  logs:
    custom_components.v2x: info
"""


class DemoError(Exception):
    """The demo could not be started."""


def _request(
    url: str,
    *,
    data: dict[str, Any] | None = None,
    token: str | None = None,
    form: bool = False,
    method: str | None = None,
) -> Any:
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
    request = urllib.request.Request(url, data=body, headers=headers, method=method)  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - loopback only
        text = reply.read().decode()
    return json.loads(text) if text else None


def _wait_for(url: str, timeout_s: float, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"the process behind {url} exited with code {process.returncode}")
        try:
            _request(url)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.5)
        except json.JSONDecodeError:
            return
        else:
            return
    raise DemoError(f"{url} did not answer within {timeout_s:.0f} s")


def prepare_config(config_dir: Path, *, keep: bool) -> None:
    """Create the Home Assistant configuration folder with V2X linked in."""
    if config_dir.exists() and not keep:
        shutil.rmtree(config_dir)
    (config_dir / "custom_components").mkdir(parents=True, exist_ok=True)
    link = config_dir / "custom_components" / "v2x"
    if not link.exists():
        link.symlink_to(ROOT / "custom_components" / "v2x", target_is_directory=True)
    configuration = config_dir / "configuration.yaml"
    if not configuration.exists():
        configuration.write_text(CONFIGURATION_YAML, encoding="utf-8")


def onboard(base: str) -> str:
    """Complete onboarding through the REST API; return an access token."""
    steps = {step["step"]: step["done"] for step in _request(f"{base}/api/onboarding")}
    if steps.get("user"):
        token = _login(base)
    else:
        created = _request(
            f"{base}/api/onboarding/users",
            data={
                "client_id": CLIENT_ID,
                "name": "V2X Demo",
                "username": USERNAME,
                "password": PASSWORD,
                "language": "en",
            },
        )
        token = _token(base, created["auth_code"])
    if not steps.get("core_config"):
        _request(f"{base}/api/onboarding/core_config", data={}, token=token)
    if not steps.get("analytics"):
        _request(f"{base}/api/onboarding/analytics", data={}, token=token)
    if not steps.get("integration"):
        _request(
            f"{base}/api/onboarding/integration",
            data={"client_id": CLIENT_ID, "redirect_uri": f"{CLIENT_ID}?auth_callback=1"},
            token=token,
        )
    return token


def _token(base: str, code: str) -> str:
    tokens = _request(
        f"{base}/auth/token",
        data={"grant_type": "authorization_code", "code": code, "client_id": CLIENT_ID},
        form=True,
    )
    return str(tokens["access_token"])


def _login(base: str) -> str:
    flow = _request(
        f"{base}/auth/login_flow",
        data={
            "client_id": CLIENT_ID,
            "handler": ["homeassistant", None],
            "redirect_uri": CLIENT_ID,
        },
    )
    result = _request(
        f"{base}/auth/login_flow/{flow['flow_id']}",
        data={"client_id": CLIENT_ID, "username": USERNAME, "password": PASSWORD},
    )
    return _token(base, result["result"])


# Onboarding adds these integrations; they need Internet access or packages the demo
# does not install, so the demo removes them to keep the instance about V2X.
ONBOARDING_EXTRAS = frozenset({"met", "radio_browser", "google_translate"})


def remove_onboarding_extras(base: str, token: str) -> None:
    """Delete the config entries onboarding created for weather, radio and TTS."""
    for entry in _request(f"{base}/api/config/config_entries/entry", token=token):
        if entry["domain"] in ONBOARDING_EXTRAS:
            _request(
                f"{base}/api/config/config_entries/entry/{entry['entry_id']}",
                token=token,
                method="DELETE",
            )


# What the demo adds through the V2X config flow: menu choice and form input.
DEMO_DEVICES = (
    ("quasar1", {"host": "127.0.0.1", "port": 5020, "unit_id": 1}),
    ("zendure", {"host": "127.0.0.1", "port": 8081}),
    ("bluetti", {"host": "127.0.0.1", "port": 5021}),
)


def add_device(base: str, token: str, family: str, form: dict[str, Any]) -> str:
    """Add one simulated device through the V2X config flow; return the entry title."""
    flows = f"{base}/api/config/config_entries/flow"
    flow = _request(flows, data={"handler": "v2x"}, token=token)
    step = _request(f"{flows}/{flow['flow_id']}", data={"next_step_id": family}, token=token)
    result = _request(f"{flows}/{step['flow_id']}", data=form, token=token)
    if result.get("type") == "abort" and result.get("reason") == "already_configured":
        return f"{family} (already configured)"
    if result.get("type") != "create_entry":
        raise DemoError(f"the V2X config flow did not create an entry: {result}")
    return str(result["title"])


def _stop(process: subprocess.Popen[bytes] | None, name: str) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in 30 s; killing it")
        process.kill()
        process.wait()


def main() -> int:
    """Start both, configure, wait for Ctrl-C, stop both."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config-dir", type=Path, default=ROOT / "demo-config")
    parser.add_argument("--scenario", type=Path, default=ROOT / "simulator/scenarios/default.toml")
    parser.add_argument("--port", type=int, default=8123, help="Home Assistant HTTP port")
    parser.add_argument("--keep", action="store_true", help="reuse the existing demo-config")
    args = parser.parse_args()
    base = f"http://127.0.0.1:{args.port}"
    simulator: subprocess.Popen[bytes] | None = None
    hass: subprocess.Popen[bytes] | None = None
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        prepare_config(args.config_dir, keep=args.keep)
        print("==> starting the simulator")
        simulator = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "simulator", "--config", str(args.scenario)],
            cwd=ROOT,
        )
        _wait_for("http://127.0.0.1:8099/state", 30, simulator)
        print(f"==> starting Home Assistant on {base} (logs: {args.config_dir}/home-assistant.log)")
        hass = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "homeassistant",
                "--config",
                str(args.config_dir),
                "--skip-pip",
                "--log-file",
                str(args.config_dir / "home-assistant.log"),
            ],
            cwd=args.config_dir,
            env={**os.environ, "PYTHONPATH": ""},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(f"{base}/api/onboarding", 300, hass)
        print("==> onboarding through the REST API")
        token = onboard(base)
        remove_onboarding_extras(base, token)
        titles = [add_device(base, token, family, form) for family, form in DEMO_DEVICES]
        print(
            f"\nV2X demo is running.\n"
            f"  Home Assistant:  {base}\n"
            f"  user / password: {USERNAME} / {PASSWORD}\n"
            f"  devices:         {', '.join(titles)} (all simulated)\n"
            f"  simulator API:   http://127.0.0.1:8099/state\n"
            f"  unplug the car:  curl -X POST 127.0.0.1:8099/devices/quasar/car "
            f"-d '{{\"plugged\": false}}'\n"
            f"Press Ctrl-C to stop.\n",
            flush=True,
        )
        while hass.poll() is None and simulator.poll() is None:
            time.sleep(0.5)
    except KeyboardInterrupt:
        print("\nstopping")
        return 0
    except (DemoError, urllib.error.URLError) as err:
        print(f"demo failed: {err}", file=sys.stderr)
        return 1
    else:
        print("a process exited; stopping the demo")
        return 1
    finally:
        _stop(hass, "Home Assistant")
        _stop(simulator, "the simulator")


if __name__ == "__main__":
    sys.exit(main())
