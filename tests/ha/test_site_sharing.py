"""Two cars carry one building's load together (issue 17, item 2).

A Nichicon (ECHONET Lite, 6 kW) first and a Quasar (Modbus, 7.4 kW) second, each
behind its simulator twin over real sockets, supply a building whose elevator draws
more than either alone: the Nichicon runs at its limit, the Quasar gives the rest,
the stray guard leaves both alone; standing, the Quasar stands by for the next start
while the load keeps both at their minimums, and stops below that.
"""

from __future__ import annotations

from typing import cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.const import CONF_LOAD_SENSOR, CONF_SITE_TYPE, SITE_BUILDING
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.devices.quasar import MIN_POWER_W
from custom_components.v2x.models import ChargerRuntimeData
from custom_components.v2x.site import BackupSite
from simulator.quasar import QuasarTwin
from simulator.world import Simulation

from .conftest import state_of
from .families import believed_soc, charger_entry, echonet_twin
from .flows import FAMILY_ECHONET
from .helpers import settle, setup_entry, unload_entries
from .site_helpers import GRID, _settle, _site, _state, async_setup_site_entities, site_entry

pytestmark = pytest.mark.usefixtures("echonet_on_loopback")

LOAD = "sensor.building_load"
READY = "binary_sensor.home_ready_for_an_outage"
STATE = "sensor.home_backup_state"


def _load(hass: HomeAssistant, watts: float) -> None:
    hass.states.async_set(LOAD, str(watts), {"unit_of_measurement": "W"})


async def _cut_at_9_kw(
    hass: HomeAssistant,
    quasar: MockConfigEntry,
    twin: QuasarTwin,
    csim: Simulation,
    *,
    share: bool,
) -> tuple[BackupSite, ChargerRuntimeData, list[str]]:
    """The building, its readiness checked, on vehicle power at 9 kW; the source names."""
    unit = await setup_entry(hass, charger_entry(csim, FAMILY_ECHONET), ChargerRuntimeData)
    nichicon = cast("MockConfigEntry", unit.full.config_entry)
    await believed_soc(hass, quasar, twin, 80.0)
    await async_setup_site_entities(hass)
    _load(hass, 1000)
    site = await _site(
        hass,
        site_entry(
            [nichicon.entry_id, quasar.entry_id],
            {CONF_SITE_TYPE: SITE_BUILDING, CONF_LOAD_SENSOR: LOAD},
            share_load=share,
            ready_hours=0,
        ),
    )
    await _settle(hass, site)
    ready = state_of(hass, READY)
    # The elevator's 8 kW start: more than either gives alone, less than both together.
    assert ready.attributes["supply_w"] == (13400 if share else 7400)
    assert (ready.state == "on") is share, ready.attributes["problems"]
    _load(hass, 9000)
    hass.states.async_set(GRID, "off")
    await _step(hass, site)
    assert _state(site) is BackupState.ON_VEHICLE_POWER
    assert unit.controller.session is not None
    assert unit.controller.session.mode is OperatingMode.BACKUP
    assert echonet_twin(csim).discharge_setpoint_w == 6000
    return site, unit, [nichicon.title, quasar.title]


async def _step(hass: HomeAssistant, site: BackupSite) -> None:
    await _settle(hass, site)
    await settle(hass)


async def _unload(hass: HomeAssistant, site: BackupSite, unit: ChargerRuntimeData) -> None:
    await hass.config_entries.async_unload(site.entry.entry_id)
    await unload_entries(hass, cast("MockConfigEntry", unit.full.config_entry))


async def test_two_cars_share_an_elevators_start(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin, csim: Simulation
) -> None:
    """9 kW: the Nichicon at 6 kW and the Quasar 3 kW; 2 kW: the Quasar stands by for
    the elevator's start; 1.5 kW: the Nichicon alone."""
    site, unit, names = await _cut_at_9_kw(hass, init_integration, twin, csim, share=True)
    unit_twin = echonet_twin(csim)
    assert state_of(hass, STATE).attributes["supplying_sources"] == names
    assert twin.power_setpoint_w == -3000
    for _ in range(3):  # the stray guard leaves both alone
        await _step(hass, site)
    assert (unit_twin.discharge_setpoint_w, twin.power_setpoint_w) == (6000, -3000)
    # More than both can give: the repair issue names both, with what they give together.
    _load(hass, 15000)
    await _settle(hass, site)
    issue = _issue(hass, f"supply_short_{site.entry.entry_id}")
    assert issue.translation_placeholders == {
        "site": "Home",
        "source": " + ".join(names),
        "available": "13400",
        "load": "15000",
    }
    _load(hass, 9000)
    await _settle(hass, site)
    assert f"supply_short_{site.entry.entry_id}" not in _repairs(hass)
    # The elevator has started: 6.2 kW. The Quasar at its minimum, the Nichicon the rest.
    _load(hass, 6200)
    await _step(hass, site)
    assert twin.power_setpoint_w == -MIN_POWER_W
    assert unit_twin.discharge_setpoint_w == 6200 - MIN_POWER_W
    # Standing at 2 kW: the Quasar stands by at its minimum for the next 8 kW start.
    _load(hass, 2000)
    await _step(hass, site)
    assert (unit_twin.discharge_setpoint_w, twin.power_setpoint_w) == (620, -MIN_POWER_W)
    assert state_of(hass, STATE).attributes["supplying_sources"] == names
    # 1.5 kW cannot keep both at their minimums (the Quasar would feed the Nichicon):
    # the Nichicon alone; the Quasar stops.
    _load(hass, 1500)
    await _step(hass, site)
    assert unit_twin.discharge_setpoint_w == 1500
    assert twin.power_setpoint_w == 0
    assert state_of(hass, STATE).attributes["supplying_sources"] == names[:1]
    await _unload(hass, site, unit)


async def test_without_sharing_one_car_and_the_shortfall_said(
    hass: HomeAssistant, init_integration: MockConfigEntry, twin: QuasarTwin, csim: Simulation
) -> None:
    """*Share the load* off (the default): the Nichicon alone, at its limit, and a repair."""
    site, unit, names = await _cut_at_9_kw(hass, init_integration, twin, csim, share=False)
    assert state_of(hass, STATE).attributes["supplying_sources"] == names[:1]
    assert twin.power_setpoint_w == 0  # the Quasar is not asked
    issue = _issue(hass, f"supply_short_{site.entry.entry_id}")
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["source"] == names[0]
    await _unload(hass, site, unit)


def _repairs(hass: HomeAssistant) -> list[str]:
    return [issue_id for (domain, issue_id) in ir.async_get(hass).issues if domain == "v2x"]


def _issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry:
    issue = ir.async_get(hass).async_get_issue("v2x", issue_id)
    assert issue is not None, _repairs(hass)
    return issue
