"""The ECHONET Lite storage battery (0x027D) end to end, against its twin.

A tribrid node (an EV charger/discharger and a storage battery under one node
profile) is offered as two devices; the battery's entities name a battery, not a
vehicle; it is a backup site's only source and its grid signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, cast
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x import echonet_support
from custom_components.v2x.const import (
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_KIND,
    CONF_STATUS_INTERVAL,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.device_flow import async_validate
from custom_components.v2x.devices.echonet.storage_battery import FAMILY as STORAGE
from custom_components.v2x.models import ChargerRuntimeData
from simulator.echonet import EchonetConfig, EchonetTwin
from simulator.echonet_storage import StorageConfig
from simulator.world import ScenarioConfig, Simulation

from .conftest import state_of
from .helpers import setup_entry, unload_entries

pytestmark = pytest.mark.usefixtures("echonet_on_loopback")

NODE_ID = "FE00006C455650532D53494D2D30303031"  # the twin's default identification
BATTERY_ID = f"{NODE_ID}-027D01"
PREFIX = "nichicon_evps_sim_battery"


@pytest.fixture
async def tsim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """A tribrid node: a 40 kWh Leaf's charger and a 9.8 kWh storage battery at 80 %."""
    node = EchonetConfig(name="tribrid", port=0, storage=StorageConfig(soc_pct=80.0))
    sim = Simulation(ScenarioConfig(control_port=0, echonets=[node]))
    await sim.start()
    yield sim
    await sim.stop()


def _twin(sim: Simulation) -> EchonetTwin:
    return sim.echonets["tribrid"]


def _entry(sim: Simulation) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Nichicon EVPS-SIM battery",
        unique_id=BATTERY_ID,
        data={
            CONF_KIND: "charger",
            CONF_FAMILY: STORAGE.key,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: _twin(sim).port,
        },
        options={**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60},
    )


async def _discovery_flows(hass: HomeAssistant, count: int) -> list[Any]:
    for _ in range(100):
        await hass.async_block_till_done()
        flows = list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))
        if len(flows) >= count:
            return flows
        await asyncio.sleep(0.05)
    return list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))


async def test_a_tribrid_node_is_offered_as_two_devices(
    hass: HomeAssistant, tsim: Simulation
) -> None:
    """One scan, one node: its EV charger and its storage battery, each its own entry."""
    shared = echonet_support.shared(hass)
    with (
        patch.object(shared, "discovery_targets", [("127.0.0.1", _twin(tsim).port)]),
        patch.object(shared, "scan_wait_s", 0.5),
        patch("custom_components.v2x.async_setup_entry", return_value=True),
    ):
        await echonet_support.async_scan_and_offer(hass)
        flows = await _discovery_flows(hass, 2)
        assert sorted(flow["context"]["unique_id"] for flow in flows) == [NODE_ID, BATTERY_ID]
        entries = []
        for flow in flows:
            assert flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
            result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
            assert result["type"] is FlowResultType.CREATE_ENTRY
            entries.append(result["result"])
        families = sorted(entry.data[CONF_FAMILY] for entry in entries)
        assert families == ["echonet_lite", "echonet_storage"]
        # Found again: nothing new is offered for either.
        await echonet_support.async_scan_and_offer(hass)
        await hass.async_block_till_done()
        assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_the_battery_is_named_a_battery(hass: HomeAssistant, tsim: Simulation) -> None:
    """State of charge, energy and capacity of a battery; no vehicle, no watchdog option."""
    data = await setup_entry(hass, _entry(tsim), ChargerRuntimeData)
    entry = cast("MockConfigEntry", data.full.config_entry)
    assert data.identity.serial_number == BATTERY_ID
    soc = state_of(hass, f"sensor.{PREFIX}_state_of_charge")
    assert soc.attributes["friendly_name"] == "Nichicon EVPS-SIM battery State of charge"
    assert float(soc.state) == 80.0
    assert state_of(hass, f"sensor.{PREFIX}_battery_capacity").state == "9.8"
    assert float(state_of(hass, f"sensor.{PREFIX}_energy_in_battery").state) == pytest.approx(7.84)
    assert state_of(hass, f"binary_sensor.{PREFIX}_grid_present").state == "on"
    ids = {
        e.entity_id for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    }
    assert not [i for i in ids if "vehicle" in i]
    assert f"switch.{PREFIX}_remote_control" not in ids
    result = await hass.config_entries.options.async_init(entry.entry_id)
    schema = result["data_schema"]
    assert schema is not None
    assert CONF_WATCHDOG not in {str(key) for key in schema.schema}
    hass.config_entries.options.async_abort(result["flow_id"])
    await unload_entries(hass, entry)


async def test_the_battery_alone_protects_a_site(hass: HomeAssistant, tsim: Simulation) -> None:
    """Its own 0xDB is the outage signal and it is the only source: it powers the house."""
    from .site_helpers import TRANSFER, _settle, _state, async_setup_site_entities, site_entry

    data = await setup_entry(hass, _entry(tsim), ChargerRuntimeData)
    unit = cast("MockConfigEntry", data.full.config_entry)
    await async_setup_site_entities(hass)
    site_config = site_entry([unit.entry_id], {"grid_device": unit.entry_id, "grid_entity": None})
    site_config.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_config.entry_id)
    await hass.async_block_till_done()
    site = site_config.runtime_data
    storage = _twin(tsim).storage
    assert storage is not None
    before = storage.operation_mode
    tsim.set_grid(False)
    await data.status.async_refresh()
    await _settle(hass, site)
    assert state_of(hass, TRANSFER).state == "on"
    assert _state(site).value == "on_vehicle_power"
    assert storage.operation_mode == 0x43  # discharging
    await asyncio.sleep(1.5)  # its preparation, then the ramp
    await data.status.async_refresh()
    assert float(state_of(hass, f"sensor.{PREFIX}_power").state) < 0
    tsim.set_grid(True)
    await data.status.async_refresh()
    await asyncio.sleep(0.6)  # the test site's restore delay
    await _settle(hass, site)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(site).value == "grid"
    assert storage.operation_mode == before != 0x43
    await hass.config_entries.async_unload(site_config.entry_id)
    await unload_entries(hass, unit)


async def test_probes_at_once_share_the_endpoint(hass: HomeAssistant, tsim: Simulation) -> None:
    """A tribrid's discovered devices are probed together: none closes the shared
    endpoint under the others (the first one done used to, and the rest then failed
    with "cannot connect"; six at once make the overlap certain)."""
    port = _twin(tsim).port
    data = [
        {CONF_KIND: "charger", CONF_FAMILY: key, CONF_HOST: "127.0.0.1", CONF_PORT: port}
        for key in ("echonet_lite", STORAGE.key) * 3
    ]
    results = await asyncio.gather(*(async_validate(hass, each) for each in data))
    assert [errors for _, errors in results] == [{}] * 6
    identities = [identity for identity, _ in results]
    assert [i.serial_number if i else None for i in identities] == [NODE_ID, BATTERY_ID] * 3
    assert echonet_support.shared(hass).endpoint is None  # the last one closed it
