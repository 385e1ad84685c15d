"""An ECHONET Lite unit's announcements reach its entities and a site at once.

The simulated Nichicon announces (INF) to the ECHONET Lite group on the port the
shared endpoint listens on; the endpoint binds the wildcard address and joins the
group on loopback, as it does on a real network. The charger polls every 60 s here,
so anything that happens within the test came from an announcement.
"""

from __future__ import annotations

import asyncio
from typing import cast

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x import echonet_support
from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.echonet_support import EchonetShared
from custom_components.v2x.models import ChargerRuntimeData
from simulator.faults import Fault, FaultKind
from simulator.world import Simulation

from .conftest import state_of
from .families import charger_entry, echonet_twin
from .flows import FAMILY_ECHONET
from .helpers import setup_entry, unload_entries, wait_until
from .site_helpers import TRANSFER, _site, _state, async_setup_site_entities, site_entry

GRID_SENSOR = "binary_sensor.leaf_to_home_grid_present"


async def _unit(
    hass: HomeAssistant, csim: Simulation, echonet_on_loopback: EchonetShared
) -> ChargerRuntimeData:
    """The Nichicon, set up, its twin announcing to the endpoint's port by the group."""
    echonet_on_loopback.local_host = "0.0.0.0"  # noqa: S104 - the group needs the wildcard
    data = await setup_entry(hass, charger_entry(csim, FAMILY_ECHONET), ChargerRuntimeData)
    endpoint = echonet_support.shared(hass).endpoint
    assert endpoint is not None
    assert endpoint.multicast_joined
    twin = echonet_twin(csim)
    twin.config.announce_port = endpoint.local_address[1]
    return data


async def test_a_grid_cut_is_shown_without_waiting_for_the_poll(
    hass: HomeAssistant, csim: Simulation, echonet_on_loopback: EchonetShared
) -> None:
    data = await _unit(hass, csim, echonet_on_loopback)
    twin = echonet_twin(csim)
    assert state_of(hass, GRID_SENSOR).state == "on"
    requests = len(twin.requests)
    # Replies now take 3 s: what is shown sooner came from the announcement itself.
    twin.apply_fault(Fault(FaultKind.STALL, duration_s=60, delay_s=3.0))
    csim.set_grid(False)
    await csim.tick()  # the unit notices and announces 0xDB = independent
    # Not wait_until: waiting for every task would wait for the stalled poll, too.
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 1.5
    while state_of(hass, GRID_SENSOR).state != "off":
        assert loop.time() < deadline, "the grid sensor did not follow the announcement"
        await asyncio.sleep(0.01)
    assert data.status.announcements >= 1
    twin.clear_faults()
    # The announcement also asked for a poll at once, which confirms it.
    await wait_until(hass, lambda: len(twin.requests) > requests, seconds=5, what="a re-poll")
    assert data.status.data is not None
    assert data.status.data.grid_available is False
    await unload_entries(hass, cast("MockConfigEntry", data.status.config_entry))


async def test_a_site_switches_on_the_units_announcement(
    hass: HomeAssistant, csim: Simulation, echonet_on_loopback: EchonetShared
) -> None:
    data = await _unit(hass, csim, echonet_on_loopback)
    unit = data.status.config_entry
    assert unit is not None
    await async_setup_site_entities(hass)
    site = await _site(
        hass, site_entry([unit.entry_id], {"grid_device": unit.entry_id, "grid_entity": None})
    )
    assert _state(site) is BackupState.GRID
    csim.set_grid(False)
    await csim.tick()
    await wait_until(
        hass,
        lambda: state_of(hass, TRANSFER).state == "on",
        seconds=5,
        what="the switch to vehicle power",
    )
    await wait_until(
        hass, lambda: echonet_twin(csim).operation_mode == 0x43, seconds=5, what="discharging"
    )
    await hass.config_entries.async_unload(site.entry.entry_id)
    await unload_entries(hass, cast("MockConfigEntry", unit))


async def test_an_announcement_does_not_revive_a_silent_unit(
    hass: HomeAssistant, csim: Simulation, echonet_on_loopback: EchonetShared
) -> None:
    """A unit that stopped answering stays unavailable until a poll gets through."""
    data = await _unit(hass, csim, echonet_on_loopback)
    twin = echonet_twin(csim)
    twin.apply_fault(Fault(FaultKind.DROP, count=1000))  # requests go unanswered
    await data.status.async_refresh()
    assert state_of(hass, GRID_SENSOR).state == STATE_UNAVAILABLE
    seen = data.status.announcements
    csim.set_grid(False)
    await csim.tick()  # announcements still go out
    await wait_until(
        hass, lambda: data.status.announcements > seen, seconds=5, what="an announcement"
    )
    await hass.async_block_till_done()
    assert state_of(hass, GRID_SENSOR).state == STATE_UNAVAILABLE
    twin.clear_faults()
    await data.status.async_refresh()
    assert state_of(hass, GRID_SENSOR).state == "off"
    await unload_entries(hass, cast("MockConfigEntry", data.status.config_entry))
