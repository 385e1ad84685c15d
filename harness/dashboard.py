"""The example dashboard (``dashboards/``), installed into a configuration folder.

The dashboard is a YAML-mode Lovelace dashboard ("V2X" in the sidebar, at
``/v2x-demo``) made of built-in cards only. Its power-flow card draws its values over
``power-flow-house.svg``, served from ``<config>/www/v2x/`` as ``/local/v2x/``.
"""

from __future__ import annotations

from pathlib import Path
import shutil

ROOT = Path(__file__).resolve().parent.parent
DASHBOARDS = ROOT / "dashboards"
DASHBOARD_FILE = "v2x-demo.yaml"
IMAGES = ("power-flow-house.svg",)

LOVELACE_CONFIGURATION = f"""
lovelace:
  dashboards:
    v2x-demo:
      mode: yaml
      title: V2X
      icon: mdi:car-electric
      show_in_sidebar: true
      filename: {DASHBOARD_FILE}
"""
"""The configuration.yaml text that registers the dashboard."""


def install_dashboard(config_dir: Path) -> None:
    """Copy the dashboard and its images into a configuration folder (always fresh)."""
    shutil.copyfile(DASHBOARDS / DASHBOARD_FILE, config_dir / DASHBOARD_FILE)
    images = config_dir / "www" / "v2x"
    images.mkdir(parents=True, exist_ok=True)
    for image in IMAGES:
        shutil.copyfile(DASHBOARDS / image, images / image)
