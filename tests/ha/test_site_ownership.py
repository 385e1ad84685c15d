"""Backup sites through restarts, unowned discharges and flaky sources (issue 13).

Every case runs the real integration against the simulated Quasar 1 and Zendure over
loopback; a Home Assistant restart is an unload of the site and the charger entries
without the charger being stopped (Home Assistant does not unload entries when it
stops), then a new set-up from the same stored state.
"""

from __future__ import annotations

import asyncio
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers.storage import Store
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.const import DOMAIN
from custom_components.v2x.controller import ChargerController
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.devices.quasar import MIN_POWER_W
from custom_components.v2x.models import ChargerRuntimeData
from custom_components.v2x.site import BackupSite
from custom_components.v2x.site_store import STORAGE_VERSION
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarTwin
from simulator.world import Simulation
from simulator.zendure import ZendureTwin

from .conftest import runtime, state_of
from .helpers import refresh_until, setup_entry
from .site_helpers import GRID, TRANSFER, _settle, _state, async_setup_site_entities, site_entry


async def _restart(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    """Home Assistant goes away and comes back: sessions in memory are lost."""
    with patch.object(ChargerController, "async_shutdown"):
        for entry in entries:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def _poll(hass: HomeAssistant, entry: MockConfigEntry, times: int = 1) -> None:
    for _ in range(times):
        await runtime(entry).status.async_refresh()
        await hass.async_block_till_done()


async def _until_supplying(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Poll until the charger reports discharging (it ramps at 3 kW/s from charging)."""
    await refresh_until(
        runtime(entry).status,
        lambda status: status is not None and status.supplying,
        what="the charger discharging",
    )
    await hass.async_block_till_done()


def _running(twin: QuasarTwin) -> bool:
    """Whether the charger runs a session (read through a call: no type narrowing)."""
    return bool(twin.running)


def _zendure(entry: MockConfigEntry) -> ZendureTwin:
    twin: ZendureTwin = entry.runtime_data.sim.zendures["zendure"]
    return twin


def _zendure_supplying(entry: MockConfigEntry) -> bool:
    """Whether the site has asked the battery to supply (its last output-limit write)."""
    limits = [w.value for w in _zendure(entry).writes if w.address == "outputLimit"]
    return bool(limits and limits[-1] > 0)


async def _on_car_power(
    hass: HomeAssistant, quasar: MockConfigEntry, zendure: MockConfigEntry, **options: float
) -> tuple[BackupSite, MockConfigEntry]:
    await async_setup_site_entities(hass)
    site_config = site_entry([quasar.entry_id, zendure.entry_id], None, **options)
    await setup_entry(hass, site_config, BackupSite)
    site: BackupSite = site_config.runtime_data
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert site.machine.active_source == quasar.entry_id
    return site, site_config


async def test_short_restart_readopts_the_discharging_car(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """Still discharging after the restart: taken over, never stopped, no fallback."""
    reserve = async_capture_events(hass, "v2x_reserve_reached")
    park = async_capture_events(hass, "v2x_elevator_park_requested")
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    assert twin.power_setpoint_w == -MIN_POWER_W
    await _restart(hass, site_config, init_integration)
    assert _running(twin)  # the charger carries on by itself while Home Assistant is away
    writes_before = len(twin.writes)
    # The site's entry comes up first: nothing is judged before the car has been read.
    await setup_entry(hass, site_config, BackupSite)
    site = site_config.runtime_data
    await _settle(hass, site)
    assert site.machine.active_source == init_integration.entry_id
    assert not _zendure_supplying(zendure_entry)
    await setup_entry(hass, init_integration, ChargerRuntimeData)
    await _settle(hass, site)
    controller = runtime(init_integration).controller
    assert controller.session is not None
    assert controller.session.mode is OperatingMode.BACKUP
    assert controller.owner == site.owner_key  # owned again: the floor is enforced
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    # Never stopped on the way: no stop (257 = 2) and no 0 W setpoint written.
    assert all(
        not (w.address == 257 and w.value == 2) and not (w.address == 260 and w.value == 0)
        for w in twin.writes[writes_before:]
    )
    assert twin.power_setpoint_w == -MIN_POWER_W
    assert not _zendure_supplying(zendure_entry)
    assert reserve == []
    assert park == []
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_long_restart_restarts_the_car_its_watchdog_stopped(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
    sim: Simulation,
) -> None:
    """Away longer than the watchdog: the car stopped itself and is started again."""
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    await _restart(hass, site_config, init_integration)
    sim.clock.advance(twin.watchdog_s + 20)  # no request for longer than the watchdog
    twin.advance()
    assert not _running(twin)
    assert twin.watchdog_expiries == 1
    await setup_entry(hass, init_integration, ChargerRuntimeData)
    await setup_entry(hass, site_config, BackupSite)
    site = site_config.runtime_data
    await _settle(hass, site)
    await _poll(hass, init_integration)
    assert site.machine.active_source == init_integration.entry_id
    assert _running(twin)
    assert twin.power_setpoint_w == -MIN_POWER_W
    assert not _zendure_supplying(zendure_entry)
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_restart_with_the_car_at_its_floor_hands_over(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """The car crossed the reserve while Home Assistant was away: stopped, battery on."""
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    await _restart(hass, site_config, init_integration)
    twin.set_soc(29.0)
    await setup_entry(hass, init_integration, ChargerRuntimeData)
    await _poll(hass, init_integration, times=4)  # the SoC jump must repeat to be believed
    await setup_entry(hass, site_config, BackupSite)
    site = site_config.runtime_data
    await _settle(hass, site, rounds=5)
    await _poll(hass, init_integration, times=2)
    assert site.machine.active_source == zendure_entry.entry_id
    assert _zendure_supplying(zendure_entry)
    assert not _running(twin)
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_unowned_discharge_is_stopped_while_on_grid(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
) -> None:
    """The grid came back while Home Assistant was away: the orphan is stopped at once."""
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    # The site's stored state says "on grid" (a copy from before the outage), as if
    # the return happened unseen: the car that still discharges belongs to nobody.
    await _until_supplying(hass, init_integration)
    await _restart(hass, site_config, init_integration)
    hass.states.async_set(GRID, "on")
    await hass.services.async_call("switch", "turn_off", {"entity_id": TRANSFER}, blocking=True)
    stored = Store[dict[str, Any]](hass, STORAGE_VERSION, f"{DOMAIN}.site.{site_config.entry_id}")
    await stored.async_save({"machine": {"state": "grid", "alarm": None, "session": None}})
    assert _running(twin)
    await setup_entry(hass, init_integration, ChargerRuntimeData)
    await setup_entry(hass, site_config, BackupSite)
    site = site_config.runtime_data
    await _settle(hass, site)
    await _poll(hass, init_integration, times=2)
    assert _state(site) is BackupState.GRID
    assert not _running(twin)  # nothing discharges with the switch on the grid
    await refresh_until(  # the charger ramps down at 3 kW/s
        runtime(init_integration).status,
        lambda status: status is not None and not status.supplying,
        what="the charger's discharge stopping",
    )
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_one_dropped_poll_keeps_the_car(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
    sim: Simulation,
) -> None:
    """One missed poll is not a failure: no event, no fallback."""
    failed = async_capture_events(hass, "v2x_source_failed")
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    twin.apply_fault(Fault(FaultKind.DROP))
    await sim.tick()
    await _poll(hass, init_integration)
    assert runtime(init_integration).status.health.failures == 1  # the poll did fail
    await _settle(hass, site)
    assert site.machine.active_source == init_integration.entry_id
    await asyncio.sleep(0.6)  # past the transport's first reconnection back-off
    await _poll(hass, init_integration)
    await _settle(hass, site)
    assert runtime(init_integration).status.last_update_success
    assert site.machine.active_source == init_integration.entry_id
    assert failed == []
    assert not _zendure_supplying(zendure_entry)
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_refused_connection_fails_over_and_the_stop_is_retried(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
    sim: Simulation,
) -> None:
    """A charger without a watchdog stops answering: battery on at once; the car is
    stopped once it answers; it is preferred again only after the recovery time."""
    failed = async_capture_events(hass, "v2x_source_failed")
    site, site_config = await _on_car_power(
        hass, init_integration, zendure_entry, source_recover_after_s=1.0
    )
    runtime(init_integration).charger.watchdog_s = 0  # nothing would stop it by itself
    twin.apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    await _poll(hass, init_integration, times=2)
    await _settle(hass, site)
    assert [e.data["reason"] for e in failed] == ["unavailable"]
    assert site.machine.active_source == zendure_entry.entry_id
    assert _zendure_supplying(zendure_entry)
    assert _running(twin)  # the stop could not reach it; its watchdog is not fed either
    twin.clear_faults()
    await sim.tick()
    await asyncio.sleep(0.6)
    await _poll(hass, init_integration)
    await _settle(hass, site)
    assert not _running(twin)  # stopped as soon as it answered: never two at once
    assert site.machine.active_source == zendure_entry.entry_id
    await asyncio.sleep(1.1)
    await _poll(hass, init_integration)
    await _settle(hass, site, rounds=5)
    assert site.machine.active_source == init_integration.entry_id  # back on the car
    assert twin.power_setpoint_w == -MIN_POWER_W
    assert _zendure(zendure_entry).settings["outputLimit"] == 0
    assert state_of(hass, "sensor.home_backup_state").state == "on_vehicle_power"
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_unreachable_charger_is_kept_while_its_watchdog_runs(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    twin: QuasarTwin,
    sim: Simulation,
) -> None:
    """The network to the car fails: the car goes on at its setpoint until its watchdog
    stops it, so the battery is not started beside it; after that time it takes over."""
    failed = async_capture_events(hass, "v2x_source_failed")
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    data = runtime(init_integration)
    await _until_supplying(hass, init_integration)
    data.charger.watchdog_s = 3  # as the site sees it (the twin keeps its 60 s)
    data.charger.transport.timeout_s = 0.3  # type: ignore[attr-defined]
    twin.apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    await _poll(hass, init_integration, times=3)
    await _settle(hass, site)
    assert data.status.health.consecutive_failures >= 3
    assert site.machine.active_source == init_integration.entry_id
    assert failed == []
    assert not _zendure_supplying(zendure_entry)
    assert _running(twin)  # really still supplying: only the network is gone
    await asyncio.sleep(4.1)  # past the watchdog time since its last answer
    await _poll(hass, init_integration)
    await _settle(hass, site)
    assert [e.data["reason"] for e in failed] == ["unavailable"]
    assert site.machine.active_source == zendure_entry.entry_id
    assert _zendure_supplying(zendure_entry)
    await hass.config_entries.async_unload(site_config.entry_id)


async def test_failed_source_reconnects_quickly(
    hass: HomeAssistant, init_integration: MockConfigEntry, zendure_entry: MockConfigEntry
) -> None:
    """A site's chargers reconnect within seconds, not after a 30 s back-off."""
    site, site_config = await _on_car_power(hass, init_integration, zendure_entry)
    transport = runtime(init_integration).charger.transport  # type: ignore[attr-defined]
    assert transport.backoff_max_s <= 3.0
    await hass.config_entries.async_unload(site_config.entry_id)
    assert site.machine.state is not None


async def _discharging_unowned(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """A discharge is running that no session owns (as after a restart)."""
    await _poll(hass, entry, times=3)  # the SoC is trusted after repeated reads
    controller = runtime(entry).controller
    await controller.async_start(OperatingMode.DISCHARGE, power_w=3000)
    await runtime(entry).full.async_refresh()  # reads "remote control" on
    await _until_supplying(hass, entry)
    controller.session = None


async def test_controller_stops_an_unowned_discharge_at_its_floor(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin, sim: Simulation
) -> None:
    """No site at all: a discharge nobody owns is stopped at the reserve, retried."""
    await _discharging_unowned(hass, init_integration)
    twin.set_soc(29.0)
    twin.apply_fault(Fault(FaultKind.EXCEPTION, code=4, duration_s=0.3))
    await sim.tick()
    await _poll(hass, init_integration, times=4)  # the SoC reading settles; writes refused
    await asyncio.sleep(0.35)
    await sim.tick()
    await _poll(hass, init_integration, times=4)
    assert not _running(twin)


async def test_controller_stops_an_orphan_after_its_grace(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    twin: QuasarTwin,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Above the reserve, a discharge nobody takes over is stopped after the grace time."""
    monkeypatch.setattr("custom_components.v2x.controller.ORPHAN_GRACE_S", 0.2)
    await _discharging_unowned(hass, init_integration)
    await _poll(hass, init_integration)
    assert _running(twin)  # within the grace: a site or a plan may take it over
    await asyncio.sleep(0.25)
    await _poll(hass, init_integration, times=2)
    assert not _running(twin)
