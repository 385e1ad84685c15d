"""*Ready for an outage* and the drill report: a site checks what an outage will need.

Against the simulated Quasar over a real socket: ready with the car plugged in and read;
not ready, with the reason, when the car is unplugged, the switch does not answer, the
energy would not last, or the switch is a cloud integration's (an outage takes the
internet with it); a repair issue once it stays not ready.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.v2x.const import DOMAIN
from simulator.quasar import QuasarTwin

from .conftest import state_of
from .families import believed_soc, quasar_service
from .helpers import refresh_until
from .site_helpers import (
    GRID,
    TRANSFER,
    _settle,
    _site,
    async_setup_site_entities,
    run_drill,
    site_device_id,
    site_entry,
)

READY = "binary_sensor.home_ready_for_an_outage"


async def test_ready_and_why_not(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    # 40 kWh x (80 % - 30 %) = 20 kWh over the house's 1 kW: 20 h.
    site = await _site(hass, site_entry([init_integration.entry_id], ready_hours=12))
    await _settle(hass, site)
    ready = state_of(hass, READY)
    assert ready.state == "on"
    assert ready.attributes["problems"] == []
    assert ready.attributes["runtime_h"] == 20.0
    assert ready.attributes["wanted_h"] == 12
    # The car leaves: not ready, and which source.
    twin.plug(False)
    await init_integration.runtime_data.status.async_refresh()
    await _settle(hass, site)
    ready = state_of(hass, READY)
    assert ready.state == "off"
    assert ready.attributes["problems"] == ["source_unavailable"]
    assert ready.attributes["sources_unavailable"] == [init_integration.title]
    twin.plug(True)
    await believed_soc(hass, init_integration, twin, 80.0)
    # The switch stops answering.
    hass.states.async_set(TRANSFER, "unavailable")
    await _settle(hass, site)
    assert state_of(hass, READY).attributes["problems"] == ["switch_unavailable"]
    hass.states.async_set(TRANSFER, "off")
    await _settle(hass, site)
    assert state_of(hass, READY).state == "on"
    # Wanting more than the car holds.
    hass.config_entries.async_update_entry(
        site.entry, options={**site.entry.options, "ready_hours": 24}
    )
    await hass.async_block_till_done()
    site = site.entry.runtime_data
    await _settle(hass, site)
    assert state_of(hass, READY).attributes["problems"] == ["energy_short"]
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_cloud_switch_is_not_ready(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A transfer switch from a cloud integration (Tuya: cloud_push) will not answer in
    an outage: the site says so, and a repair issue follows once it lasts."""
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    cloud = er.async_get(hass).async_get_or_create("switch", "tuya", "relay-1")
    hass.states.async_set(cloud.entity_id, "off")
    entry = site_entry([init_integration.entry_id], {"transfer_switch": cloud.entity_id})
    with patch("custom_components.v2x.repairs.NOT_READY_REPAIR_S", 0.0):
        site = await _site(hass, entry)
        site._async_check_repairs()  # as every minute: the chain checked, then the issue
        await hass.async_block_till_done()
        await _settle(hass, site)
        ready = state_of(hass, READY)
        assert ready.state == "off"
        assert ready.attributes["problems"] == ["needs_internet"]
        assert ready.attributes["needs_internet"] == [cloud.entity_id]
        site._async_check_repairs()
        await hass.async_block_till_done()
        issue = ir.async_get(hass).async_get_issue(DOMAIN, f"not_ready_{entry.entry_id}")
        assert issue is not None
        assert issue.translation_placeholders == {"site": "Home", "problems": "needs_internet"}
    await hass.config_entries.async_unload(entry.entry_id)


async def test_no_issue_while_ready_or_in_an_outage(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """Ready: no issue; in an outage the site does what it is for: no issue either."""
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    with patch("custom_components.v2x.repairs.NOT_READY_REPAIR_S", 0.0):
        site = await _site(hass, site_entry([init_integration.entry_id]))
        for _ in range(2):
            site._async_check_repairs()
            await hass.async_block_till_done()
        issue_id = f"not_ready_{site.entry.entry_id}"
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        hass.states.async_set(GRID, "off")
        await _settle(hass, site)
        for _ in range(2):
            site._async_check_repairs()
            await hass.async_block_till_done()
        assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
        assert site.not_ready_since is None
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_an_idle_car_is_not_drained_by_the_estimate(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """A Quasar held idle reports no SoC; watched idle, the car is taken to keep its energy.

    Only the time nobody watched (here 10 minutes, as after a restart) counts as if the
    car had discharged at full power: the estimate drops by that once, then holds, so
    an idle car does not drift to its reserve and the site stays ready.
    """
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id]))
    await _settle(hass, site)
    await quasar_service(hass, "stop")  # held at 0 W: the Quasar reads no SoC
    status = init_integration.runtime_data.status
    await refresh_until(status, lambda data: data is not None and data.soc.stale)
    source = init_integration.entry_id
    clock = [time.time()]
    site.book.soc_memory[source] = (80.0, clock[0] - 600)  # 10 minutes unwatched
    site.book.idle_seen.pop(source, None)
    estimates = []
    # The site's wall clock moves 10 minutes between looks: watched idle all along.
    with patch("custom_components.v2x.backup_sources.time", SimpleNamespace(time=lambda: clock[0])):
        for _ in range(4):
            await init_integration.runtime_data.status.async_refresh()
            await _settle(hass, site)
            sources = state_of(hass, "sensor.home_energy_available_above_reserve").attributes[
                "sources"
            ]
            estimates.append(sources[0]["soc_pct"])
            clock[0] += 600
    # 10 minutes at 7.4 kW of a 40 kWh car: 3.1 points, once; then it holds.
    assert estimates[0] == pytest.approx(80.0 - 7.4 / 6 / 40 * 100, abs=0.1)
    assert max(estimates) - min(estimates) <= 0.1
    assert state_of(hass, READY).state == "on"
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_drill_reports_what_it_measured(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """*Run drill*: ``v2x_drill_report`` with the switch, supply and discharge times."""
    reports = async_capture_events(hass, "v2x_drill_report")
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([init_integration.entry_id]))
    await run_drill(hass, site, 1.5)
    # The car is seen discharging at the next status poll.
    await refresh_until(
        init_integration.runtime_data.status,
        lambda data: data is not None and data.discharging,
    )
    await _settle(hass, site)
    assert reports == []  # not before it is over
    await asyncio.sleep(1.6)
    await _settle(hass, site)
    await hass.async_block_till_done()
    assert len(reports) == 1
    report = reports[0].data
    assert report["device_id"] == site_device_id(hass, site)
    assert report["source"] == init_integration.title
    assert report["passed"] is True
    assert report["alarm"] is None
    assert 0 <= report["switch_s"] <= report["supplying_s"] < report["discharging_s"] < 1.5
    assert 1.5 <= report["duration_s"] < 10
    await hass.config_entries.async_unload(site.entry.entry_id)


async def test_a_building_needs_a_source_for_the_elevators_peak(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin
) -> None:
    """The elevator's motor draws 8 kW at start (the default); a Quasar gives 7.4 kW."""
    await believed_soc(hass, init_integration, twin, 80.0)
    await async_setup_site_entities(hass)
    site = await _site(
        hass, site_entry([init_integration.entry_id], {"site_type": "building"}, ready_hours=0)
    )
    await _settle(hass, site)
    ready = state_of(hass, READY)
    assert ready.state == "off"
    assert ready.attributes["problems"] == ["supply_too_small"]
    assert (ready.attributes["supply_w"], ready.attributes["peak_load_w"]) == (7400, 8000)
    hass.config_entries.async_update_entry(
        site.entry, options={**site.entry.options, "elevator_peak_w": 7000}
    )
    await hass.async_block_till_done()
    site = site.entry.runtime_data
    await _settle(hass, site)
    assert state_of(hass, READY).state == "on"
    await hass.config_entries.async_unload(site.entry.entry_id)
