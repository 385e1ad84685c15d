"""A site's grid poll below one second, for grid devices that do not push (SunSpec).

The SunSpec charger's own status poll is slowed to 60 s: whatever the site sees of
a grid cut comes from its grid poll, which runs the charger's status poll at the
site's rate when that is faster.
"""

from __future__ import annotations

import asyncio
from typing import cast

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
import voluptuous as vol

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.const import CONF_GRID_POLL, MIN_GRID_POLL_S
from custom_components.v2x.models import ChargerRuntimeData
from simulator.world import Simulation

from .conftest import state_of
from .families import charger_entry
from .flows import FAMILY_SUNSPEC
from .helpers import setup_entry, unload_entries
from .site_helpers import TRANSFER, _site, _state, async_setup_site_entities, site_entry


async def _sunspec_site(
    hass: HomeAssistant, csim: Simulation, poll_s: float
) -> tuple[ChargerRuntimeData, MockConfigEntry]:
    data = await setup_entry(hass, charger_entry(csim, FAMILY_SUNSPEC), ChargerRuntimeData)
    unit = cast("MockConfigEntry", data.status.config_entry)
    await async_setup_site_entities(hass)
    entry = site_entry(
        [unit.entry_id], {"grid_device": unit.entry_id, "grid_entity": None}, grid_poll_s=poll_s
    )
    await _site(hass, entry)
    return data, unit


async def _seconds_to_vehicle_power(hass: HomeAssistant, csim: Simulation) -> float:
    """Cut the grid; real seconds until the transfer switch is on."""
    loop = asyncio.get_running_loop()
    start = loop.time()
    csim.set_grid(False)
    while state_of(hass, TRANSFER).state != "on":
        assert loop.time() - start < 5, "no switchover"
        await asyncio.sleep(0.02)
    return loop.time() - start


async def test_a_fast_grid_poll_reads_the_charger_at_its_rate(
    hass: HomeAssistant, csim: Simulation
) -> None:
    data, unit = await _sunspec_site(hass, csim, 0.25)
    before = data.charger.requests_sent
    await data.status.async_refresh()
    per_poll = data.charger.requests_sent - before
    assert per_poll >= 1
    before = data.charger.requests_sent
    await asyncio.sleep(2.0)
    # About four status polls a second, not one a minute.
    # (a loaded CI machine may lose a few; its own 60 s poll would give none)
    assert 4 <= (data.charger.requests_sent - before) / per_poll <= 10
    elapsed = await _seconds_to_vehicle_power(hass, csim)
    assert elapsed < 1.0  # one 0.25 s poll, the test's 0 s debounce, the switch (not 60 s)
    site = hass.config_entries.async_entries("v2x")[-1].runtime_data
    assert _state(site) is not BackupState.GRID
    await hass.config_entries.async_unload(site.entry.entry_id)
    await unload_entries(hass, unit)


async def test_a_slow_grid_poll_leaves_the_charger_at_its_own_rate(
    hass: HomeAssistant, csim: Simulation
) -> None:
    data, unit = await _sunspec_site(hass, csim, 30)
    polls = data.charger.requests_sent
    await asyncio.sleep(1.0)
    assert data.charger.requests_sent == polls  # its status is fresh enough
    await unload_entries(hass, unit)


async def test_the_grid_poll_goes_down_to_its_minimum(
    hass: HomeAssistant, csim: Simulation
) -> None:
    _, unit = await _sunspec_site(hass, csim, 1)
    site_entry_id = hass.config_entries.async_entries("v2x")[-1].entry_id
    result = await hass.config_entries.options.async_init(site_entry_id)
    assert result["step_id"] == "site"
    schema = result["data_schema"].schema  # type: ignore[union-attr]
    (key,) = [k for k in schema if k == CONF_GRID_POLL]
    selector = schema[key]
    assert selector.config["min"] == MIN_GRID_POLL_S == 0.2
    assert selector(0.2) == 0.2
    try:
        selector(0.1)
    except vol.Invalid:
        pass
    else:
        raise AssertionError("0.1 s was accepted")
    hass.config_entries.options.async_abort(result["flow_id"])
    await unload_entries(hass, unit)


async def test_a_new_grid_poll_interval_applies_at_once(
    hass: HomeAssistant, csim: Simulation
) -> None:
    """Changing the option reschedules the poll: no reload, no restart needed."""
    data, unit = await _sunspec_site(hass, csim, 30)
    site_entry_ = hass.config_entries.async_entries("v2x")[-1]
    hass.config_entries.async_update_entry(
        site_entry_, options={**site_entry_.options, CONF_GRID_POLL: 0.25}
    )
    await hass.async_block_till_done()
    before = data.charger.requests_sent
    await asyncio.sleep(1.0)
    assert data.charger.requests_sent > before  # polled at the new rate
    await hass.config_entries.async_unload(site_entry_.entry_id)
    await asyncio.sleep(0.3)  # a poll the timer started just before may still finish
    await hass.async_block_till_done()
    stopped = data.charger.requests_sent
    await asyncio.sleep(0.6)
    assert data.charger.requests_sent == stopped  # the poll ended with the site
    await unload_entries(hass, unit)
