"""A backup site puts every source it used back as it was (issue 17, item 1).

Against the simulator's twins over real sockets: a Quasar under its own logic is
recharged to its SoC before the outage at the site's recharge power and handed back to
the app; a person's discharge session comes back as the very same session; a car
that gave nothing is not charged. The other families: ``test_more_chargers.py``
(SunSpec, ECHONET Lite) and ``test_battery.py`` (Zendure, Bluetti).
"""

from __future__ import annotations

import asyncio

from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.backup.restore import ChargerBefore
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.devices.quasar import MIN_POWER_W
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarTwin

from .conftest import runtime
from .families import believed_soc, quasar_service
from .helpers import settle
from .site_helpers import GRID, _settle, _site, _state, async_setup_site_entities, site_entry

RESTORE_WAIT_S = 0.6
"""The test site's restore delay (0.5 s), and a little."""


async def _grid_back(hass: HomeAssistant, site: object) -> None:
    hass.states.async_set(GRID, "on")
    await asyncio.sleep(RESTORE_WAIT_S)
    await _settle(hass, site)  # type: ignore[arg-type]
    await settle(hass)


async def test_a_car_that_gave_energy_is_recharged_and_handed_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The Quasar charged on its own (the app) at 60 %; the outage took it to 48 %.

    After it: charged at the site's 3 kW back to 60 %, then handed back to the app.
    """
    assert (twin.remote, twin.autostart) == (0, 1)  # factory state: the app's
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id], recharge_power_w=3000))
    await believed_soc(hass, init_integration, twin, 60.0)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert site.book.before[init_integration.entry_id] == ChargerBefore(soc_pct=60.0, remote=False)
    await believed_soc(hass, init_integration, twin, 48.0)
    await _grid_back(hass, site)
    assert _state(site) is BackupState.GRID
    controller = runtime(init_integration).controller
    session = controller.session
    assert session is not None, (
        controller.last_end_reason,
        twin.battery.soc_pct,
        runtime(init_integration).status.data,
    )
    assert (session.mode, session.power_w, session.until_soc_pct) == (
        OperatingMode.CHARGE,
        3000,
        60.0,
    )
    assert (twin.remote, twin.power_setpoint_w) == (1, 3000)
    assert site.book.release_pending == {init_integration.entry_id}
    # At 60 % the recharge ends, and the charger goes back to the app.
    await believed_soc(hass, init_integration, twin, 60.0)
    await _settle(hass, site)
    await settle(hass)
    assert controller.session is None
    assert twin.remote == 0
    assert site.book.release_pending == set()
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_persons_discharge_comes_back_as_it_was(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A person had the car discharge at 3 kW: after the outage, that session again.

    Not a full-power charge (what the site did before): the very same session, so
    whoever started it still owns it.
    """
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id]))
    await believed_soc(hass, init_integration, twin, 70.0)
    await quasar_service(hass, "discharge", power_w=3000)
    controller = runtime(init_integration).controller
    theirs = controller.session
    assert theirs is not None
    assert twin.power_setpoint_w == -3000
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert controller.session is not theirs  # the site's backup session
    assert twin.power_setpoint_w == -MIN_POWER_W  # the house's 1 kW, at the minimum
    await believed_soc(hass, init_integration, twin, 62.0)
    await _grid_back(hass, site)
    assert controller.session is theirs
    assert controller.owner is None
    assert twin.power_setpoint_w == -3000
    assert site.book.release_pending == set()
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_car_that_gave_nothing_is_left_alone(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """The Zendure carried the outage alone: the car behind it is not charged after it."""
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([zendure_entry.entry_id, init_integration.entry_id]))
    await quasar_service(hass, "stop")  # the car idle under remote control, at 0 W
    writes = len(twin.writes)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert site.machine.active_source == zendure_entry.entry_id
    await _grid_back(hass, site)
    assert _state(site) is BackupState.GRID
    assert init_integration.entry_id not in site.book.before
    assert runtime(init_integration).controller.session is None
    assert twin.power_setpoint_w == 0
    assert twin.writes[writes:] == []  # nothing sent to it at all
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_site_removed_while_it_recharges_hands_the_car_back(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Removing the site mid-recharge must not leave the Quasar under remote control.

    Found by benchmarks/outage_switchover: a site deleted while it recharged the car
    left it stopped under remote control, so (a Quasar reports no SoC while idle) the
    next site could not use it.
    """
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id], recharge_power_w=3000))
    await believed_soc(hass, init_integration, twin, 60.0)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    await believed_soc(hass, init_integration, twin, 48.0)
    await _grid_back(hass, site)
    controller = runtime(init_integration).controller
    owner_before, remote_before = controller.owner, twin.remote
    assert (owner_before, remote_before) == (site.owner_key, 1)  # recharging for the site
    await hass.config_entries.async_remove(site.entry.entry_id)
    await hass.async_block_till_done()
    assert controller.session is None
    assert (controller.owner, twin.remote) == (None, 0)  # the app's again


async def test_removing_a_site_leaves_other_sessions_alone(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id]))
    await quasar_service(hass, "charge", power_w=3000)
    controller = runtime(init_integration).controller
    session = controller.session
    assert session is not None
    await hass.config_entries.async_remove(site.entry.entry_id)
    await hass.async_block_till_done()
    assert controller.session is session  # a person's session is not the site's to end


async def test_a_site_removed_while_its_charger_is_silent_says_so(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The hand-back cannot reach the charger: a warning, and the removal goes on.

    A source entry that no longer exists is skipped.
    """
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id, "a-removed-entry"]))
    await believed_soc(hass, init_integration, twin, 60.0)
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert runtime(init_integration).controller.owner == site.owner_key
    twin.apply_fault(Fault(FaultKind.EXCEPTION, duration_s=60))  # every request refused
    await hass.config_entries.async_remove(site.entry.entry_id)
    await hass.async_block_till_done()
    assert "handing Wallbox Quasar 1" in caplog.text
    assert "back failed" in caplog.text
    assert hass.config_entries.async_get_entry(site.entry.entry_id) is None
    twin.clear_faults()


async def test_removing_a_charger_entry_is_plain(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Only a site has something to put back when it is removed."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.config_entries.async_remove(config_entry.entry_id)
    await hass.async_block_till_done()
    assert hass.config_entries.async_get_entry(config_entry.entry_id) is None
