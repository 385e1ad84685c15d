"""Fixtures for the Home Assistant tests: a real simulator on loopback and a config entry."""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT, MAJOR_VERSION
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.v2x import echonet_support
from custom_components.v2x.building import (
    BuildingManager,
)
from custom_components.v2x.const import (
    CONF_FAMILY,
    CONF_UNIT_ID,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.echonet_support import EchonetShared
from custom_components.v2x.models import ChargerRuntimeData
from custom_components.v2x.site import BackupSite
from harness.deprecations import is_deprecation_about_v2x
from simulator.quasar import QuasarTwin
from simulator.world import Simulation, parse_scenario

from .building_helpers import (
    METER,
    MakeBuilding,
    _now,
    building_entry,
    v2b_entry,
)
from .flows import FAMILY_QUASAR1
from .helpers import wait_for_plan
from .site_helpers import async_setup_site_entities, site_entry

SERIAL = "20240117"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/v2x in every test."""


@pytest.fixture(autouse=True)
def no_deprecation_about_v2x(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fail any test during which Home Assistant says V2X uses something deprecated."""
    yield
    found = [
        record.getMessage()
        for when in ("setup", "call", "teardown")
        for record in caplog.get_records(when)
        if is_deprecation_about_v2x(record.getMessage())
    ]
    assert not found, f"Home Assistant reports deprecated use by V2X: {found}"


class SnapshotsPerRelease(HomeAssistantSnapshotExtension):
    """Home Assistant's snapshot format, one set per release line.

    Home Assistant 2026 serialises registry entries differently (new fields, aliases
    and attribute keys in another form) while no entity id, name, state or unit
    changed, so its snapshots live beside, in ``snapshots_ha2026`` (not below: syrupy
    would count the other set as unused): each release is checked against its own
    set, neither is updated blindly.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """``snapshots`` for 2025.x, ``snapshots_ha2026`` from 2026 on."""
        base = Path(super().dirname(test_location=test_location))
        return str(base if MAJOR_VERSION < 2026 else base.with_name("snapshots_ha2026"))


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots next to the tests, in Home Assistant's format, per release line."""
    return snapshot.use_extension(SnapshotsPerRelease)


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create disabled-by-default entities enabled."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
    ):
        yield


@pytest.fixture
def twin(sim: Simulation) -> QuasarTwin:
    """The simulated Quasar."""
    return sim.quasars["quasar"]


@pytest.fixture
def entry_options() -> dict[str, float]:
    """Options of the test entry (override to change)."""
    return dict(DEFAULT_OPTIONS)


@pytest.fixture
def config_entry(sim: Simulation, entry_options: dict[str, float]) -> MockConfigEntry:
    """A config entry pointing at the simulated Quasar."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Wallbox Quasar 1 {SERIAL}",
        unique_id=SERIAL,
        data={
            CONF_FAMILY: FAMILY_QUASAR1,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: sim.quasars["quasar"].server.port,
            CONF_UNIT_ID: 1,
        },
        options=entry_options,
    )


def device_with(hass: HomeAssistant, identifier: tuple[str, str]) -> dr.DeviceEntry | None:
    """The device with ``identifier``, looked up the same way on every release.

    Home Assistant 2026 deprecates ``async_get_device``: identifiers are unique only
    within a config entry. Each entry's own devices are searched instead.
    """
    registry = dr.async_get(hass)
    for entry in hass.config_entries.async_entries():
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id):
            if identifier in device.identifiers:
                return device
    return None


def state_of(hass: HomeAssistant, entity_id: str) -> State:
    """The state of an entity that must exist."""
    state = hass.states.get(entity_id)
    assert state is not None, f"{entity_id} does not exist"
    return state


def runtime(entry: MockConfigEntry) -> ChargerRuntimeData:
    """The typed runtime data of a loaded entry."""
    data: ChargerRuntimeData = entry.runtime_data
    return data


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> AsyncIterator[MockConfigEntry]:
    """Set up the integration against the simulator; unload it afterwards."""
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    await hass.async_block_till_done()
    yield config_entry
    if config_entry.state.recoverable:
        await hass.config_entries.async_unload(config_entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
async def site(hass: HomeAssistant, init_integration: MockConfigEntry) -> AsyncIterator[BackupSite]:
    """A house protected by the simulated Quasar."""
    await async_setup_site_entities(hass)
    entry = site_entry([init_integration.entry_id])
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    backup_site: BackupSite = entry.runtime_data
    yield backup_site
    await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@pytest.fixture
async def zendure_entry(
    hass: HomeAssistant, allow_loopback: None
) -> AsyncIterator[MockConfigEntry]:
    """A loaded Zendure battery (second source), its twin's physics standing still."""
    from homeassistant.const import CONF_HOST, CONF_PORT

    from custom_components.v2x.const import CONF_FAMILY, CONF_POLL_INTERVAL
    from simulator.world import Simulation, parse_scenario

    from .flows import FAMILY_ZENDURE

    scenario = {"speed": 1e-6, "zendure": [{"port": 0}], "control": {"port": 0}}
    sim = Simulation(parse_scenario(scenario))
    await sim.start()
    entry = MockConfigEntry(
        domain=DOMAIN,
        title="Zendure",
        unique_id="HOA1NAH4N123456",
        data={
            CONF_FAMILY: FAMILY_ZENDURE,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: sim.zendures["zendure"].port,
        },
        options={CONF_POLL_INTERVAL: 60},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    entry.runtime_data.sim = sim
    yield entry
    await hass.config_entries.async_unload(entry.entry_id)
    await sim.stop()


@pytest.fixture
def bluetti_model() -> str:
    """The simulated Bluetti model (override to change)."""
    return "AC500"


@pytest.fixture
async def bsim(allow_loopback: None, bluetti_model: str) -> AsyncIterator[Simulation]:
    """A Zendure SolarFlow and a Bluetti station on free loopback ports.

    Simulated time stands (almost) still, so readings are steady; tests that need
    physics to move set the speed themselves.
    """
    sim = Simulation(
        parse_scenario(
            {
                "speed": 1e-6,
                "zendure": [{"port": 0}],
                "bluetti": [{"port": 0, "model": bluetti_model}],
            }
        ),
        control_port=0,
    )
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
async def csim(allow_loopback: None) -> AsyncIterator[Simulation]:
    """A SunSpec charger and a Nichicon (ECHONET Lite) unit on free loopback ports."""
    sim = Simulation(
        parse_scenario(
            {
                "sunspec": [{"port": 0, "car": {"soc_pct": 70, "capacity_kwh": 60}}],
                "echonet": [{"port": 0, "car": {"soc_pct": 75, "capacity_kwh": 40}}],
            }
        ),
        control_port=0,
    )
    await sim.start()
    yield sim
    await sim.stop()


@pytest.fixture
def echonet_on_loopback(hass: HomeAssistant) -> EchonetShared:
    """The shared ECHONET Lite endpoint binds a free loopback port in tests."""
    state = echonet_support.shared(hass)
    state.local_host, state.local_port = "127.0.0.1", 0
    return state


@pytest.fixture
def devices(
    config_entry: MockConfigEntry,
    csim: Simulation,
    bsim: Simulation,
    echonet_on_loopback: EchonetShared,
) -> tuple[MockConfigEntry, Simulation, Simulation]:
    """Every family's device: the Quasar's entry, the chargers' and batteries' simulations."""
    return config_entry, csim, bsim


@pytest.fixture
def frozen_clock() -> Iterator[list[datetime]]:
    """The planner's clock, fixed (tests move it by changing the list's item)."""
    clock: list[datetime] = []
    with patch("custom_components.v2x.building.local_now", side_effect=lambda: clock[0]):
        yield clock


@pytest.fixture
async def building(
    hass: HomeAssistant, init_integration: MockConfigEntry, frozen_clock: list[datetime]
) -> AsyncIterator[BuildingManager]:
    """The building, planned once, with the simulated Quasar as its only car."""
    frozen_clock.append(_now())
    hass.states.async_set(METER, "50", {"unit_of_measurement": "kW", "device_class": "power"})
    entry = v2b_entry(init_integration.entry_id)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    manager: BuildingManager = entry.runtime_data
    await wait_for_plan(hass, manager)
    yield manager
    if entry.state is ConfigEntryState.LOADED:
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()


@pytest.fixture
def mock_recorder_before_hass(request: pytest.FixtureRequest) -> None:
    """Prepare the recorder's database before Home Assistant, for tests that use it."""
    if "recorder_mock" in request.fixturenames:
        request.getfixturevalue("recorder_db_url")


@pytest.fixture
async def make_building(
    hass: HomeAssistant, init_integration: MockConfigEntry, frozen_clock: list[datetime]
) -> AsyncIterator[MakeBuilding]:
    """Set up a building of one's own (unloaded afterwards)."""
    frozen_clock.append(_now())
    hass.states.async_set(METER, "50", {"unit_of_measurement": "kW", "device_class": "power"})
    entries: list[MockConfigEntry] = []

    async def make(
        vehicles: list[str] | None = None,
        data: dict[str, Any] | None = None,
        entry: MockConfigEntry | None = None,
        **options: Any,
    ) -> BuildingManager:
        entry = entry or building_entry(vehicles or [init_integration.entry_id], data, **options)
        entry.add_to_hass(hass)
        entries.append(entry)
        assert await hass.config_entries.async_setup(entry.entry_id)
        manager: BuildingManager = entry.runtime_data
        await wait_for_plan(hass, manager)
        return manager

    yield make
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
