"""SunSpec and ECHONET Lite chargers end to end, against their simulator twins.

The same entities, services and backup sites as for the Quasar, created only for what
each device supports; plus the grid state each of them reports.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import socket
from typing import Any, cast
from unittest.mock import patch

from homeassistant.config_entries import (
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntryState,
)
from homeassistant.const import CONF_HOST, CONF_PORT, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x import echonet_support
from custom_components.v2x.const import (
    CONF_FAMILY,
    CONF_KIND,
    CONF_STATUS_INTERVAL,
    CONF_WATCHDOG,
    DOMAIN,
)
from custom_components.v2x.devices.model import OperatingMode
from custom_components.v2x.devices.sunspec import SunSpecCharger
from custom_components.v2x.models import ChargerRuntimeData
from simulator.echonet import EchonetTwin
from simulator.faults import Fault, FaultKind
from simulator.sunspec import SunSpecTwin
from simulator.world import Simulation

from .conftest import state_of
from .families import (
    ECHONET_ID,
    SUNSPEC_SERIAL,
    charger_data,
    charger_entry,
    device_id_of,
    echonet_twin,
    refresh_charger,
    sunspec_twin,
)
from .flows import FAMILY_ECHONET, FAMILY_SUNSPEC, open_device_form
from .helpers import setup_entry, unload_entries

pytestmark = pytest.mark.usefixtures("echonet_on_loopback")


async def test_sunspec_reads_scaled_values(hass: HomeAssistant, csim: Simulation) -> None:
    """Scale factors, the 701 sign and the device's own energy counters reach the entities."""
    data = await setup_entry(hass, charger_entry(csim, FAMILY_SUNSPEC), ChargerRuntimeData)
    assert data.identity.serial_number == SUNSPEC_SERIAL
    assert data.charger.capabilities.watchdog
    assert state_of(hass, "sensor.bidi_vehicle_state_of_charge").state == "70.0"
    assert state_of(hass, "sensor.bidi_charger_state").state == "standby"
    assert state_of(hass, "binary_sensor.bidi_grid_present").state == "on"
    assert state_of(hass, "sensor.bidi_vehicle_battery_capacity").state == "60.0"
    assert state_of(hass, "sensor.bidi_energy_in_vehicle").state == "42.0"
    assert state_of(hass, "sensor.bidi_energy_charged").state == "0.0"
    assert hass.states.get("binary_sensor.bidi_vehicle_connected") is None
    twin = sunspec_twin(csim)
    twin.absorbed_wh = 12_340.0  # the device's own counter
    twin.injected_wh = 560.0
    await refresh_charger(data)
    assert state_of(hass, "sensor.bidi_energy_charged").state == "12.34"
    assert state_of(hass, "sensor.bidi_energy_discharged").state == "0.56"
    await unload_entries(hass, data.full.config_entry)  # type: ignore[arg-type]


async def test_sunspec_discharge_keepalive_and_reversion(
    hass: HomeAssistant, csim: Simulation
) -> None:
    """A discharge holds through polls; without Home Assistant the device reverts by itself."""
    entry = charger_entry(csim, FAMILY_SUNSPEC, **{CONF_WATCHDOG: 30})
    data = await setup_entry(hass, entry, ChargerRuntimeData)
    # The keep-alive counts in the same (simulated) seconds as the device's timer.
    cast("SunSpecCharger", data.charger).clock = csim.clock.now
    twin = sunspec_twin(csim)
    await hass.services.async_call(
        DOMAIN,
        "discharge",
        {"device_id": device_id_of(hass, SUNSPEC_SERIAL), "power_w": 4000},
        blocking=True,
    )
    assert twin.describe()["wset_ena"] == 1
    csim.clock.advance(5)
    await refresh_charger(data)
    assert data.status.data.power_w == pytest.approx(-4000, abs=100)
    assert state_of(hass, "sensor.bidi_charger_state").state == "discharging"
    assert state_of(hass, "switch.bidi_remote_control").state == "on"
    # Polls keep the 704 reversion timer from expiring...
    for _ in range(4):
        csim.clock.advance(20)
        await data.status.async_refresh()
    assert twin.reversions == 0
    assert data.status.data.power_w < -3000
    # ...until Home Assistant goes silent: the device stops by itself.
    await unload_entries(hass, entry)
    csim.clock.advance(31)
    twin.advance()
    assert twin.reversions == 1
    assert twin.describe()["wset_ena"] == 0


async def test_echonet_vehicle_states(hass: HomeAssistant, csim: Simulation) -> None:
    """No car is a normal state (no error, SoC unknown); vehicle data come back with it."""
    data = await setup_entry(hass, charger_entry(csim, FAMILY_ECHONET), ChargerRuntimeData)
    assert data.identity.serial_number == ECHONET_ID
    assert data.identity.manufacturer == "Nichicon"
    assert not data.charger.capabilities.watchdog
    assert hass.states.get("switch.leaf_to_home_remote_control") is None
    assert state_of(hass, "binary_sensor.leaf_to_home_vehicle_connected").state == "on"
    assert state_of(hass, "sensor.leaf_to_home_vehicle_state_of_charge").state == "75.0"
    assert state_of(hass, "sensor.leaf_to_home_energy_in_vehicle").state == "30.0"
    assert state_of(hass, "binary_sensor.leaf_to_home_grid_present").state == "on"
    twin = echonet_twin(csim)
    twin.update_state({"plugged": False})
    await refresh_charger(data)
    assert state_of(hass, "binary_sensor.leaf_to_home_vehicle_connected").state == "off"
    assert state_of(hass, "sensor.leaf_to_home_charger_state").state == "no_car"
    assert state_of(hass, "sensor.leaf_to_home_vehicle_state_of_charge").state == "unknown"
    assert state_of(hass, "binary_sensor.leaf_to_home_error").state == "off"
    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            DOMAIN,
            "discharge",
            {"device_id": device_id_of(hass, ECHONET_ID), "power_w": 3000},
            blocking=True,
        )
    assert twin.operation_mode == 0x44  # nothing changed
    twin.update_state({"plugged": True})
    await refresh_charger(data)
    assert state_of(hass, "sensor.leaf_to_home_vehicle_state_of_charge").state == "75.0"
    await unload_entries(hass, data.full.config_entry)  # type: ignore[arg-type]


async def test_echonet_discharge_and_grid_cut(hass: HomeAssistant, csim: Simulation) -> None:
    """A discharge goes through preparation; a grid cut shows as independent operation."""
    data = await setup_entry(hass, charger_entry(csim, FAMILY_ECHONET), ChargerRuntimeData)
    twin = echonet_twin(csim)
    await hass.services.async_call(
        DOMAIN,
        "discharge",
        {"device_id": device_id_of(hass, ECHONET_ID), "power_w": 3000},
        blocking=True,
    )
    assert (twin.operation_mode, twin.discharge_setpoint_w) == (0x43, 3000)
    await refresh_charger(data)
    assert state_of(hass, "sensor.leaf_to_home_charger_state").state == "starting"
    csim.clock.advance(5)
    await refresh_charger(data)
    assert state_of(hass, "sensor.leaf_to_home_charger_state").state == "discharging"
    assert state_of(hass, "sensor.leaf_to_home_power").state == "-3000"
    csim.set_grid(False)
    await refresh_charger(data)
    assert state_of(hass, "binary_sensor.leaf_to_home_grid_present").state == "off"
    await hass.services.async_call(
        DOMAIN, "stop", {"device_id": device_id_of(hass, ECHONET_ID)}, blocking=True
    )
    assert twin.operation_mode == 0x44
    await unload_entries(hass, data.full.config_entry)  # type: ignore[arg-type]


@pytest.mark.parametrize("family", [FAMILY_SUNSPEC, FAMILY_ECHONET])
async def test_faults_and_recovery(hass: HomeAssistant, csim: Simulation, family: str) -> None:
    """A device error shows; an unreachable device goes unavailable and comes back."""
    data = await setup_entry(hass, charger_entry(csim, family), ChargerRuntimeData)
    twin: SunSpecTwin | EchonetTwin = (
        sunspec_twin(csim) if family == FAMILY_SUNSPEC else echonet_twin(csim)
    )
    prefix = "bidi" if family == FAMILY_SUNSPEC else "leaf_to_home"
    twin.apply_fault(Fault(FaultKind.ERROR, code=7))
    await refresh_charger(data)
    assert state_of(hass, f"binary_sensor.{prefix}_error").state == "on"
    assert state_of(hass, f"sensor.{prefix}_charger_state").state == "error"
    twin.clear_faults()
    twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=30))
    await csim.tick()
    await refresh_charger(data)
    assert state_of(hass, f"sensor.{prefix}_power").state == STATE_UNAVAILABLE
    twin.clear_faults()
    await csim.tick()
    for _ in range(20):  # the Modbus transport backs off before it reconnects
        await refresh_charger(data)
        if data.status.last_update_success:
            break
        await asyncio.sleep(0.2)
    assert state_of(hass, f"sensor.{prefix}_power").state != STATE_UNAVAILABLE
    assert state_of(hass, f"binary_sensor.{prefix}_error").state == "off"
    await unload_entries(hass, data.full.config_entry)  # type: ignore[arg-type]


async def test_user_flows(hass: HomeAssistant, csim: Simulation) -> None:
    """Both families are offered in the menu and identified by their own identity."""
    with patch("custom_components.v2x.async_setup_entry", return_value=True):
        for family, serial in ((FAMILY_SUNSPEC, SUNSPEC_SERIAL), (FAMILY_ECHONET, ECHONET_ID)):
            result = await open_device_form(hass, family)
            user_input = {
                k: v
                for k, v in charger_data(csim, family).items()
                if k not in (CONF_KIND, CONF_FAMILY)
            }
            result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
            assert result["type"] is FlowResultType.CREATE_ENTRY
            assert result["result"].unique_id == serial
            assert result["data"] == charger_data(csim, family)
        titles = sorted(entry.title for entry in hass.config_entries.async_entries(DOMAIN))
    assert titles == [
        f"Nichicon EVPS-SIM {ECHONET_ID[-6:]}",
        f"V2X Simulated BiDi DC 11 {SUNSPEC_SERIAL}",
    ]


async def _discovery_flows(hass: HomeAssistant, wait_s: float = 5.0) -> list[Any]:
    """Discovery flows start in the background: wait for them (or for ``wait_s``)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while True:
        await hass.async_block_till_done()
        flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flows or asyncio.get_running_loop().time() > deadline:
            return list(flows)
        await asyncio.sleep(0.05)


async def test_echonet_discovery(hass: HomeAssistant, csim: Simulation) -> None:
    """The background scan offers the unit; confirming adds it; a move updates the host."""
    shared = echonet_support.shared(hass)
    twin = echonet_twin(csim)
    with (
        patch.object(shared, "discovery_targets", [("127.0.0.1", twin.port)]),
        patch("custom_components.v2x.async_setup_entry", return_value=True),
    ):
        await echonet_support.async_scan_and_offer(hass)
        flows = await _discovery_flows(hass)
        assert len(flows) == 1
        assert flows[0]["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
        assert flows[0]["step_id"] == "zeroconf_confirm"
        result = await hass.config_entries.flow.async_configure(flows[0]["flow_id"], {})
        assert result["type"] is FlowResultType.CREATE_ENTRY
        entry = result["result"]
        assert entry.unique_id == ECHONET_ID
        assert entry.options[CONF_STATUS_INTERVAL] == 1
        # The same unit again: nothing new is offered.
        await echonet_support.async_scan_and_offer(hass)
        assert not await _discovery_flows(hass, wait_s=0.5)
        # It moved (new address): the entry follows it.
        result = await hass.config_entries.flow.async_init(
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={
                CONF_HOST: "127.0.0.2",
                CONF_PORT: twin.port,
                echonet_support.CONF_IDENTIFICATION: ECHONET_ID,
            },
        )
        assert result["type"] is FlowResultType.ABORT
        assert entry.data[CONF_HOST] == "127.0.0.2"


async def test_opening_the_echonet_form_looks_for_units(
    hass: HomeAssistant, csim: Simulation
) -> None:
    """With no ECHONET entry yet nothing scans by itself; the form scans once."""
    shared = echonet_support.shared(hass)
    twin = echonet_twin(csim)
    with (
        patch.object(shared, "discovery_targets", [("127.0.0.1", twin.port)]),
        patch.object(shared, "scan_wait_s", 0.3),
    ):
        assert not echonet_support.shared(hass).discovery_running
        await open_device_form(hass, FAMILY_ECHONET)
        found: list[Any] = []
        for _ in range(100):  # the scan listens for replies in the background
            await hass.async_block_till_done()
            found = [
                flow
                for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
                if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
            ]
            if found:
                break
            await asyncio.sleep(0.05)
        assert len(found) == 1
        assert found[0]["context"]["unique_id"] == ECHONET_ID
        # Opening the form again while that scan is done starts one more, not a flood.
        echonet_support.async_request_scan(hass)
        echonet_support.async_request_scan(hass)
        assert echonet_support.shared(hass).discovery_running
        await hass.async_block_till_done(wait_background_tasks=True)
        assert not echonet_support.shared(hass).discovery_running
        assert len(hass.config_entries.flow.async_progress_by_handler(DOMAIN)) == 2


async def test_echonet_discovery_finds_nothing_quietly(
    hass: HomeAssistant, allow_loopback: None
) -> None:
    """A silent network (or no socket) is not an error."""
    shared = echonet_support.shared(hass)
    with (
        patch.object(shared, "discovery_targets", [("127.0.0.1", 9)]),
        patch.object(shared, "scan_wait_s", 0.2),
    ):
        assert await echonet_support.async_scan(hass) == []
    with patch.object(shared, "local_host", "203.0.113.7"):  # not this machine's
        assert await echonet_support.async_scan(hass) == []


async def test_echonet_unit_protects_a_site(hass: HomeAssistant, csim: Simulation) -> None:
    """The unit's own 0xDB (independent operation) is the outage signal; it powers the site."""
    from .site_helpers import TRANSFER, _settle, _state, async_setup_site_entities, site_entry

    data = await setup_entry(hass, charger_entry(csim, FAMILY_ECHONET), ChargerRuntimeData)
    unit = data.full.config_entry
    assert unit is not None
    await async_setup_site_entities(hass)
    site_config = site_entry([unit.entry_id], {"grid_device": unit.entry_id, "grid_entity": None})
    site_config.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_config.entry_id)
    await hass.async_block_till_done()
    site = site_config.runtime_data
    assert state_of(hass, "binary_sensor.home_grid_present").state == "on"
    twin = echonet_twin(csim)
    before = twin.operation_mode
    csim.set_grid(False)
    await data.status.async_refresh()
    await _settle(hass, site)
    assert state_of(hass, TRANSFER).state == "on"
    assert _state(site).value == "on_vehicle_power"
    assert (twin.operation_mode, twin.discharge_setpoint_w) == (0x43, 1000)
    csim.set_grid(True)
    await data.status.async_refresh()
    await asyncio.sleep(0.6)  # the test site's restore delay
    await _settle(hass, site)
    assert _state(site).value == "grid"
    # The car gave less than a percent in this short outage: not recharged, the unit
    # back in the mode it was in.
    assert twin.operation_mode == before != 0x43
    await hass.config_entries.async_unload(site_config.entry_id)
    await unload_entries(hass, cast("MockConfigEntry", unit))


def _endpoint_open(hass: HomeAssistant) -> bool:
    endpoint = echonet_support.shared(hass).endpoint
    return endpoint is not None and not endpoint.closed


async def test_echonet_scanner_runs_only_with_an_echonet_entry(
    hass: HomeAssistant, csim: Simulation
) -> None:
    """Started with the first ECHONET entry (scan after a delay); its unload stops it all."""
    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    twin = echonet_twin(csim)
    shared = echonet_support.shared(hass)
    with patch.object(shared, "discovery_targets", [("127.0.0.1", twin.port)]):
        entry = charger_entry(csim, FAMILY_ECHONET)
        await setup_entry(hass, entry, ChargerRuntimeData)
        assert _endpoint_open(hass) is True
        assert echonet_support.shared(hass).discovery_running
        echonet_support.async_start_discovery(hass, entry.entry_id)  # again: nothing new
        assert len(shared.cancel_scan) == 2
        echonet_support.async_start_discovery(hass, "second unit")
        await echonet_support.async_stop_discovery(hass, "second unit")
        assert echonet_support.shared(hass).discovery_running  # the first still holds it
        other = MockConfigEntry(domain=DOMAIN, unique_id="other-unit")
        other.add_to_hass(hass)  # a second (unrelated) unit found by the scan
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=echonet_support.FIRST_SCAN_DELAY_S + 1)
        )
        await hass.async_block_till_done()
        assert shared.scan_task is not None
        await unload_entries(hass, entry)
    assert _endpoint_open(hass) is False
    assert not echonet_support.shared(hass).discovery_running
    assert shared.cancel_scan == []
    assert shared.cancel_stop is None


async def test_stop_during_a_scan_leaves_nothing_running(
    hass: HomeAssistant, csim: Simulation
) -> None:
    """Home Assistant stops while a scan listens: the scan task is cancelled at once."""
    from homeassistant.const import EVENT_HOMEASSISTANT_STOP
    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    shared = echonet_support.shared(hass)
    with (
        patch.object(shared, "discovery_targets", [("127.0.0.1", 9)]),  # silence
        patch.object(shared, "scan_wait_s", 30.0),
    ):
        entry = charger_entry(csim, FAMILY_ECHONET)
        await setup_entry(hass, entry, ChargerRuntimeData)
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=echonet_support.FIRST_SCAN_DELAY_S + 1)
        )
        await asyncio.sleep(0.05)
        task = shared.scan_task
        assert task is not None
        assert not task.done()
        async_fire_time_changed(hass, dt_util.utcnow() + echonet_support.SCAN_INTERVAL * 1.1)
        await asyncio.sleep(0)
        assert shared.scan_task is task  # one scan at a time
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
        await asyncio.sleep(0)
        assert task.cancelled()
        assert not echonet_support.shared(hass).discovery_running
        await unload_entries(hass, entry)
    assert _endpoint_open(hass) is False


async def test_nothing_listens_without_an_echonet_entry(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A Quasar only: no ECHONET socket, no scan timer, not even at the old 30 s mark."""
    from homeassistant.util import dt as dt_util
    from pytest_homeassistant_custom_component.common import async_fire_time_changed

    with patch("custom_components.v2x.devices.echonet.EchonetEndpoint.async_open") as open_endpoint:
        async_fire_time_changed(
            hass, dt_util.utcnow() + timedelta(seconds=echonet_support.FIRST_SCAN_DELAY_S + 1)
        )
        async_fire_time_changed(hass, dt_util.utcnow() + echonet_support.SCAN_INTERVAL * 1.1)
        await hass.async_block_till_done()
    open_endpoint.assert_not_called()
    assert not echonet_support.shared(hass).discovery_running
    assert _endpoint_open(hass) is False


async def test_echonet_unreachable_names_and_sockets(
    hass: HomeAssistant, csim: Simulation, allow_loopback: None
) -> None:
    """A name that does not resolve is skipped; no socket means the entry retries later."""
    shared = echonet_support.shared(hass)
    # The resolver answers "no such name" (the test plugin of newer releases blocks
    # DNS with its own RuntimeError, which no real resolver raises).
    no_such_name = socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    with (
        patch.object(shared, "discovery_targets", [("no-such-host.invalid", 3610)]),
        patch.object(shared, "scan_wait_s", 0.2),
        patch.object(hass.loop, "getaddrinfo", side_effect=no_such_name),
    ):
        assert await echonet_support.async_scan(hass) == []
    entry = charger_entry(csim, FAMILY_ECHONET)
    entry.add_to_hass(hass)
    with patch.object(shared, "local_host", "203.0.113.7"):
        await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_echonet_multicast_scan_never_raises(
    hass: HomeAssistant, allow_loopback: None
) -> None:
    """The real multicast scan from a loopback socket finds nothing, quietly."""
    shared = echonet_support.shared(hass)
    with patch.object(shared, "scan_wait_s", 0.2):
        assert await echonet_support.async_scan(hass) == []


async def test_echonet_scan_survives_a_closing_endpoint(
    hass: HomeAssistant, allow_loopback: None
) -> None:
    """If the shared socket goes away in the middle of a scan, the scan just ends."""
    from custom_components.v2x.devices.errors import DeviceConnectionError

    async def closed(*_args: Any, **_kwargs: Any) -> list[Any]:
        raise DeviceConnectionError("the ECHONET Lite endpoint is closed")

    with patch.object(echonet_support, "async_discover", closed):
        assert await echonet_support.async_scan(hass) == []
    # The endpoint is released again: the next user gets a fresh one.
    endpoint = await echonet_support.async_acquire_endpoint(hass, "test")
    again = await echonet_support.async_acquire_endpoint(hass, "other")
    assert endpoint is again
    echonet_support.async_release_endpoint(hass, "test")
    assert not endpoint.closed
    echonet_support.async_release_endpoint(hass, "other")
    assert endpoint.closed


@pytest.mark.parametrize("family", [FAMILY_SUNSPEC, FAMILY_ECHONET])
async def test_a_drill_puts_the_charger_back_as_it_was(
    hass: HomeAssistant, csim: Simulation, family: str
) -> None:
    """Before a drill the charger stands idle; after it, it stands so again.

    The device's own control state is compared as the twin holds it, before and after:
    SunSpec 704's points, all but the two V2X sets once to control it (WSetMod in watts,
    WSetRvrtTms its watchdog), inert while WSetEna is 0; ECHONET Lite's operation mode
    (its power settings keep their last value, inert outside charge and discharge).
    """
    from .site_helpers import (
        _settle,
        _site,
        _state,
        async_setup_site_entities,
        run_drill,
        site_entry,
    )

    data = await setup_entry(hass, charger_entry(csim, family), ChargerRuntimeData)
    unit = data.full.config_entry
    assert unit is not None

    def control() -> object:
        if family == FAMILY_SUNSPEC:
            kept = ("704.WSetMod", "704.WSetRvrtTms")
            points = sunspec_twin(csim).points.items()
            return {k: v for k, v in points if k.startswith("704.") and k not in kept}
        return echonet_twin(csim).operation_mode

    before = control()
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([unit.entry_id]))
    await run_drill(hass, site, 1)
    session = data.controller.session
    assert session is not None
    assert session.mode is OperatingMode.BACKUP  # it supplies
    assert control() != before
    await asyncio.sleep(1.05)
    await _settle(hass, site)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(site).value == "grid"
    assert control() == before
    assert data.controller.session is None
    await hass.config_entries.async_unload(site.entry.entry_id)
    await unload_entries(hass, cast("MockConfigEntry", unit))
