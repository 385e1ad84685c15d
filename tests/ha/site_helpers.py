"""Building blocks for backup-site tests: switches made of Home Assistant parts."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.const import (
    CONF_CONFIRM_TIMEOUT,
    CONF_CRITICAL_LOADS,
    CONF_GRID_ENTITY,
    CONF_KIND,
    CONF_OUTAGE_DEBOUNCE,
    CONF_RESTORE_DELAY,
    CONF_SHEDDABLE_LOADS,
    CONF_SITE_TYPE,
    CONF_SOURCES,
    CONF_TRANSFER_SWITCH,
    DEFAULT_SITE_OPTIONS,
    DOMAIN,
    SITE_HOUSE,
)
from custom_components.v2x.models import EntryKind
from custom_components.v2x.site import BackupSite

GRID = "binary_sensor.grid"
TRANSFER = "switch.transfer"
HEATER = "switch.heater"
ELEVATOR = "switch.elevator"


def _template_switch(name: str, *, broken: bool = False) -> dict[str, Any]:
    target = {"entity_id": f"input_boolean.{name}"}
    turn_on: list[dict[str, Any]] = (
        [] if broken else [{"action": "input_boolean.turn_on", "target": target}]
    )
    return {
        "name": name,
        "state": f"{{{{ is_state('input_boolean.{name}', 'on') }}}}",
        "turn_on": turn_on or [{"delay": 0}],
        "turn_off": [{"action": "input_boolean.turn_off", "target": target}],
    }


async def async_setup_site_entities(hass: HomeAssistant, *, broken_switch: bool = False) -> None:
    """A grid sensor, a transfer switch, a heater and an elevator, all real HA entities."""
    assert await async_setup_component(
        hass,
        "input_boolean",
        {
            "input_boolean": {
                "transfer": {},
                "heater": {"initial": True},
                "elevator": {"initial": True},
            }
        },
    )
    assert await async_setup_component(
        hass,
        "template",
        {
            "template": [
                {
                    "switch": [
                        _template_switch("transfer", broken=broken_switch),
                        _template_switch("heater"),
                        _template_switch("elevator"),
                    ]
                }
            ]
        },
    )
    hass.states.async_set(GRID, "on", {"device_class": "power"})
    await hass.async_block_till_done()


def site_entry(
    sources: list[str], data: dict[str, Any] | None = None, **options: Any
) -> MockConfigEntry:
    """A backup site over the given source entries, with fast timings for tests."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home",
        unique_id=f"site_{TRANSFER}",
        data={
            CONF_KIND: EntryKind.SITE.value,
            CONF_SITE_TYPE: SITE_HOUSE,
            CONF_GRID_ENTITY: GRID,
            CONF_SOURCES: sources,
            CONF_TRANSFER_SWITCH: TRANSFER,
            CONF_CRITICAL_LOADS: [ELEVATOR],
            CONF_SHEDDABLE_LOADS: [HEATER],
            **(data or {}),
        },
        options={
            **DEFAULT_SITE_OPTIONS,
            CONF_OUTAGE_DEBOUNCE: 0,
            CONF_RESTORE_DELAY: 0.5,
            CONF_CONFIRM_TIMEOUT: 2,
            **options,
        },
    )


def _state(site: BackupSite) -> BackupState:
    """The machine's state, read through a call so type checkers do not narrow it."""
    return site.machine.state


async def _settle(hass: HomeAssistant, site: BackupSite, rounds: int = 3) -> None:
    for _ in range(rounds):
        site.async_step()
        await hass.async_block_till_done()


async def _site(hass: HomeAssistant, entry: MockConfigEntry) -> BackupSite:
    """Set up a site entry; its site."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    site: BackupSite = entry.runtime_data
    return site


def site_device_id(hass: HomeAssistant, site: BackupSite) -> str:
    """The device id of a site (what its services take)."""
    from .conftest import device_with

    device = device_with(hass, (DOMAIN, f"site_{site.entry.entry_id}"))
    assert device is not None
    return device.id


async def run_drill(hass: HomeAssistant, site: BackupSite, seconds: float) -> None:
    """Start a drill of ``seconds`` on ``site`` (v2x.run_drill) and let it switch over."""
    await hass.services.async_call(
        DOMAIN,
        "run_drill",
        {"device_id": site_device_id(hass, site), "duration": {"seconds": seconds}},
        blocking=True,
    )
    await _settle(hass, site)
    assert site.machine.drill
