"""Entities made or not made by what the device has, and each entry kind's diagnostics.

Each platform's entities are snapshotted in its own module (``test_sensor.py``,
``test_switch.py``, ...). Here: what starts disabled, what a device without some
registers does not get, and the diagnostics of every entry kind, snapshotted. The
simulated car charges at a steady 7400 W at 60 % (instant ramp) and polling is
slowed to once a minute, so every value in the snapshots is deterministic. For the
diagnostics, a battery whose physics stand still, a backup site on the battery just
after the grid came back and a building planning the charger at a fixed weekday 14:05
join it; what a real run makes different each time (loopback ports, entry ids,
counters and energy integrated over wall-clock time) is recorded by type only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any
from unittest.mock import patch

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.types import PropertyPath

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.building import BuildingManager
from custom_components.v2x.const import (
    CONF_FULL_INTERVAL,
    CONF_STATUS_INTERVAL,
    DEFAULT_OPTIONS,
)
from custom_components.v2x.site import BackupSite
from simulator.quasar import QuasarConfig

from .building_helpers import METER, _now, v2b_entry
from .helpers import setup_entry, unload_entries, wait_for_plan
from .site_helpers import GRID, _settle, async_setup_site_entities, site_entry


@pytest.fixture
def quasar_config() -> QuasarConfig:
    """A charger whose power steps instantly, so readings are steady."""
    return QuasarConfig(port=0, ramp_w_per_s=1e9)


@pytest.fixture
def entry_options() -> dict[str, float]:
    """Poll once a minute so nothing changes during the test."""
    return {**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60}


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


# Values that differ on every run by nature, recorded by their type.
VOLATILE_KEYS = frozenset(
    {
        "port",  # a free loopback port
        "requests_sent",  # how many polls ran before the snapshot
        "connects",
        "charged_kwh",  # integrated over wall-clock time
        "discharged_kwh",
        "started_at",  # a monotonic clock reading
        "solve_ms",  # how long the solve took
    }
)


def _volatile(*, data: Any, path: PropertyPath) -> Any:
    """The type in place of a value that differs on every run."""
    if path and path[-1][0] in VOLATILE_KEYS and data is not None:
        return f"<{type(data).__name__}>"
    return data


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """The building's clock fixed at a weekday 14:05, in the peak-price window."""
    clock = [_now()]
    with patch("custom_components.v2x.building.local_now", side_effect=lambda: clock[0]):
        yield clock


def _ids_as_names(diagnostics: Any, names: dict[str, str]) -> Any:
    """Entry ids, random per run, replaced by what they are (as keys and values)."""
    if isinstance(diagnostics, dict):
        return {
            names.get(key, key): _ids_as_names(value, names) for key, value in diagnostics.items()
        }
    if isinstance(diagnostics, list):
        return [_ids_as_names(value, names) for value in diagnostics]
    if isinstance(diagnostics, str):
        return names.get(diagnostics, diagnostics)
    return diagnostics


@pytest.fixture
async def entries(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    zendure_entry: MockConfigEntry,
    frozen_clock: list[datetime],
) -> AsyncIterator[dict[str, MockConfigEntry]]:
    """One loaded entry of each kind, keyed by kind."""
    await async_setup_site_entities(hass)
    site = site_entry([zendure_entry.entry_id])  # the charger is left to the building
    backup = await setup_entry(hass, site, BackupSite)
    hass.states.async_set(GRID, "off")
    await _settle(hass, backup)
    assert backup.machine.state is BackupState.ON_VEHICLE_POWER
    hass.states.async_set(GRID, "on")  # back, but the site waits for it to stay
    await _settle(hass, backup)

    hass.states.async_set(METER, "50", {"unit_of_measurement": "kW", "device_class": "power"})
    office = v2b_entry(init_integration.entry_id)
    manager = await setup_entry(hass, office, BuildingManager)
    await wait_for_plan(hass, manager)
    yield {
        "charger": init_integration,
        "battery": zendure_entry,
        "site": site,
        "building": office,
    }
    await unload_entries(hass, office, site)


@pytest.mark.parametrize("kind", ["charger", "battery", "site", "building"])
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    entries: dict[str, MockConfigEntry],
    snapshot: SnapshotAssertion,
    kind: str,
) -> None:
    """Each kind's diagnostics, as the download button gives them."""
    names = {entry.entry_id: f"<{name} entry id>" for name, entry in entries.items()}
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entries[kind])
    assert _ids_as_names(diagnostics, names) == snapshot(matcher=_volatile)
