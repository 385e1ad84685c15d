"""Each blueprint is loaded by Home Assistant's blueprint engine and run on a real site."""

from __future__ import annotations

from pathlib import Path
import shutil

from homeassistant.components.automation.config import (
    AUTOMATION_BLUEPRINT_SCHEMA as BLUEPRINT_SCHEMA,
)
from homeassistant.components.blueprint import models
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_capture_events, async_mock_service

from custom_components.v2x.const import DOMAIN
from custom_components.v2x.site import BackupSite

from .conftest import device_with, state_of
from .site_helpers import GRID, _settle

BLUEPRINTS = Path(__file__).resolve().parents[2] / "blueprints" / "automation" / "v2x"


def _install(hass: HomeAssistant) -> None:
    target = Path(hass.config.path("blueprints", "automation", "v2x"))
    target.mkdir(parents=True, exist_ok=True)
    for blueprint in BLUEPRINTS.glob("*.yaml"):
        shutil.copy(blueprint, target / blueprint.name)


def _site_device(hass: HomeAssistant, site: BackupSite) -> str:
    device = device_with(hass, (DOMAIN, f"site_{site.entry.entry_id}"))
    assert device is not None
    return device.id


async def _automation(hass: HomeAssistant, path: str, inputs: dict[str, object]) -> None:
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"use_blueprint": {"path": f"v2x/{path}", "input": inputs}}},
    )
    await hass.async_block_till_done()


def test_blueprints_are_valid() -> None:
    """Every blueprint file parses as an automation blueprint with its inputs."""
    from homeassistant.util.yaml import load_yaml_dict

    files = sorted(BLUEPRINTS.glob("*.yaml"))
    assert [f.name for f in files] == [
        "backup_notify.yaml",
        "elevator_park.yaml",
        "shed_loads.yaml",
    ]
    for path in files:
        blueprint = models.Blueprint(
            load_yaml_dict(path), expected_domain="automation", schema=BLUEPRINT_SCHEMA
        )
        assert blueprint.inputs
        assert blueprint.metadata["source_url"].endswith(path.name)


async def test_notify_blueprint(hass: HomeAssistant, site: BackupSite) -> None:
    """Outage and return each produce a message with the runtime left."""
    _install(hass)
    calls = async_mock_service(hass, "test", "notify")
    await _automation(
        hass,
        "backup_notify.yaml",
        {
            "site": _site_device(hass, site),
            "notify": [{"action": "test.notify", "data": {"message": "{{ message }}"}}],
        },
    )
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    await hass.async_block_till_done()
    assert len(calls) == 1
    message = " ".join(calls[0].data["message"].split())
    # 40 kWh car at 60 %, 30 % reserve: 12 kWh at the 1 kW house estimate = 12 h
    assert message == "Grid lost at Home: on vehicle power, about 12 h 0 min left."
    await hass.services.async_call(
        DOMAIN, "end_backup", {"device_id": _site_device(hass, site)}, blocking=True
    )
    await _settle(hass, site)
    await hass.async_block_till_done()
    assert "The grid is back at Home" in calls[1].data["message"]


async def test_notify_blueprint_default_action(hass: HomeAssistant, site: BackupSite) -> None:
    """Without a notification input, a persistent notification appears."""
    from homeassistant.components import persistent_notification

    _install(hass)
    assert await async_setup_component(hass, "persistent_notification", {})
    await _automation(hass, "backup_notify.yaml", {"site": _site_device(hass, site)})
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    await hass.async_block_till_done()
    notifications = persistent_notification._async_get_or_create_notifications(hass)
    assert [n["title"] for n in notifications.values()] == ["Backup power"]


async def test_elevator_park_blueprint(hass: HomeAssistant, site: BackupSite) -> None:
    """A park request from the site runs the park actions with the reason."""
    _install(hass)
    calls = async_mock_service(hass, "test", "park")
    await _automation(
        hass,
        "elevator_park.yaml",
        {
            "site": _site_device(hass, site),
            "park_actions": [{"action": "test.park", "data": {"why": "{{ reason }}"}}],
        },
    )
    hass.bus.async_fire(
        "v2x_elevator_park_requested",
        {"device_id": _site_device(hass, site), "reason": "energy_low", "runtime_minutes": 8},
    )
    hass.bus.async_fire(
        "v2x_elevator_park_requested", {"device_id": "another-site", "reason": "energy_low"}
    )
    await hass.async_block_till_done()
    assert [call.data["why"] for call in calls] == ["energy_low"]


async def test_shed_loads_blueprint(hass: HomeAssistant, site: BackupSite) -> None:
    """Loads go off in order on backup and on again in reverse afterwards.

    The elevator is the site's critical load: the site is told not to stage it, or the
    two would switch it against each other (the blueprint is for other loads).
    """
    hass.config_entries.async_update_entry(
        site.entry, options={**site.entry.options, "stage_critical_loads": False}
    )
    await hass.async_block_till_done()
    site = site.entry.runtime_data
    assert not site.machine.config.stage_critical
    _install(hass)
    await _automation(
        hass,
        "shed_loads.yaml",
        {"site": _site_device(hass, site), "loads": ["switch.elevator"], "pause": 0},
    )
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    await hass.async_block_till_done()
    assert state_of(hass, "switch.elevator").state == "off"
    ended = async_capture_events(hass, "v2x_backup_ended")
    await hass.services.async_call(
        DOMAIN, "end_backup", {"device_id": _site_device(hass, site)}, blocking=True
    )
    await _settle(hass, site)
    await hass.async_block_till_done()
    assert len(ended) == 1
    assert state_of(hass, "switch.elevator").state == "on"
