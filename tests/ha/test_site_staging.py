"""Critical loads back one by one after switchover, and a load that trips the supply (issue 17,
item 3), through real Home Assistant switches and the simulated Quasar."""

from __future__ import annotations

import asyncio

from homeassistant.core import Event, EventStateChangedData, HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.backup.machine import BackupState, ReportLoadLeftOff
from custom_components.v2x.const import CONF_CRITICAL_LOADS, CONF_SHEDDABLE_LOADS, DOMAIN
from custom_components.v2x.site_actions import async_carry_out
from simulator.quasar import QuasarTwin

from .conftest import runtime, state_of
from .families import believed_soc
from .helpers import refresh_until
from .site_helpers import (
    ELEVATOR,
    GRID,
    HEATER,
    _settle,
    _site,
    _state,
    async_setup_site_entities,
    site_entry,
)

RESTORE_WAIT_S = 0.6


def _watch(hass: HomeAssistant, entity_id: str) -> list[str]:
    """Every state ``entity_id`` takes from now on."""
    seen: list[str] = []

    def _changed(event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        seen.append(new.state if new is not None else "gone")

    async_track_state_change_event(hass, entity_id, _changed)
    return seen


async def test_critical_loads_come_back_one_by_one_after_switchover(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The elevator comes back with the car, the second critical load the gap later."""
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    entry = site_entry(
        [init_integration.entry_id],
        {CONF_CRITICAL_LOADS: [ELEVATOR, HEATER], CONF_SHEDDABLE_LOADS: []},
        load_restore_gap_s=0.3,
    )
    site = await _site(hass, entry)
    elevator, heater = _watch(hass, ELEVATOR), _watch(hass, HEATER)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert twin.power_setpoint_w < 0
    assert (elevator, heater) == (["off", "on"], ["off"])  # the elevator first, at once
    await asyncio.sleep(0.35)  # the gap; and the next load waits for the car to discharge
    # (it was charging before the cut and ramps down at 3 kW/s)
    await refresh_until(
        runtime(init_integration).status,
        lambda status: status is not None and status.power_w < 0,
        what="the car discharging",
    )
    await _settle(hass, site)
    assert heater == ["off", "on"]
    hass.states.async_set(GRID, "on")
    await asyncio.sleep(RESTORE_WAIT_S)
    await _settle(hass, site)
    assert _state(site) is BackupState.GRID
    assert state_of(hass, ELEVATOR).state == state_of(hass, HEATER).state == "on"
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_without_staging_critical_loads_stay_on(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id], stage_critical_loads=False))
    elevator = _watch(hass, ELEVATOR)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert elevator == []  # never switched
    assert state_of(hass, HEATER).state == "off"  # the sheddable load is shed as ever
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_load_left_off_is_a_repair_issue_until_the_next_outage(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id]))
    issue_id = f"load_left_off_{site.entry.entry_id}_{ELEVATOR}"
    await async_carry_out(site, ReportLoadLeftOff(ELEVATOR, 3))
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "load_left_off"
    assert issue.translation_placeholders == {"site": "Home", "load": "elevator", "trips": "3"}
    await async_carry_out(site, ReportLoadLeftOff(None))
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    await hass.config_entries.async_unload(site.entry.entry_id)
