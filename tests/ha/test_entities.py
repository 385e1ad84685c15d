"""Every entity of every platform, snapshotted against a steady simulated charger.

The simulated car charges at a steady 7400 W at 60 % (instant ramp) and polling is
slowed to once a minute, so every value in the snapshots is deterministic.
"""

from __future__ import annotations

from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.v2x.const import (
    CONF_FULL_INTERVAL,
    CONF_STATUS_INTERVAL,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.models import ChargerRuntimeData
from simulator.quasar import QuasarConfig

from .conftest import SERIAL, device_with


@pytest.fixture
def quasar_config() -> QuasarConfig:
    """A charger whose power steps instantly, so readings are steady."""
    return QuasarConfig(port=0, ramp_w_per_s=1e9)


@pytest.fixture
def entry_options() -> dict[str, float]:
    """Poll once a minute so nothing changes during the test."""
    return {**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}


@pytest.mark.parametrize(
    "platform",
    [Platform.BINARY_SENSOR, Platform.NUMBER, Platform.SELECT, Platform.SENSOR, Platform.SWITCH],
)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_entities(
    hass: HomeAssistant,
    config_entry: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
    snapshot: SnapshotAssertion,
    platform: Platform,
) -> None:
    """Registry entries and states of one platform; all on the charger's device."""
    config_entry.add_to_hass(hass)
    with patch.object(ChargerRuntimeData, "platforms", (platform,)):
        assert await hass.config_entries.async_setup(config_entry.entry_id)
        await hass.async_block_till_done()
    await snapshot_platform(hass, entity_registry, snapshot, config_entry.entry_id)
    device = device_with(hass, (DOMAIN, SERIAL))
    assert device is not None
    for entity in er.async_entries_for_config_entry(entity_registry, config_entry.entry_id):
        assert entity.device_id == device.id
    await hass.config_entries.async_unload(config_entry.entry_id)


async def test_disabled_by_default_and_gated(
    hass: HomeAssistant, config_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """The community AC measurements exist but start disabled."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    entry = entity_registry.async_get("sensor.wallbox_quasar_1_20240117_ac_voltage")
    assert entry is not None
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert hass.states.get("sensor.wallbox_quasar_1_20240117_ac_voltage") is None
    await hass.config_entries.async_unload(config_entry.entry_id)


@pytest.mark.parametrize("quasar_config", [QuasarConfig(port=0, strict_gaps=True)])
async def test_missing_community_registers_create_no_entity(
    hass: HomeAssistant, config_entry: MockConfigEntry, entity_registry: er.EntityRegistry
) -> None:
    """A charger without registers 519/522 gets no AC voltage or current entity."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    assert entity_registry.async_get("sensor.wallbox_quasar_1_20240117_ac_voltage") is None
    assert entity_registry.async_get("sensor.wallbox_quasar_1_20240117_ac_current") is None
    assert entity_registry.async_get("sensor.wallbox_quasar_1_20240117_power") is not None
    await hass.config_entries.async_unload(config_entry.entry_id)
