"""Setup, unload and startup failures."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

import custom_components.v2x as package
from custom_components.v2x.const import (
    CONF_FAMILY,
    CONF_KIND,
    CONF_UNIT_ID,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig
from simulator.world import Simulation
from tests.conftest import start_simulation

from .conftest import SERIAL, device_with
from .flows import FAMILY_QUASAR1


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """The entry loads, creates one device with the charger's identity, and unloads."""
    assert init_integration.state is ConfigEntryState.LOADED
    device = device_with(hass, (DOMAIN, SERIAL))
    assert device is not None
    assert device.manufacturer == "Wallbox"
    assert device.model == "Quasar 1"
    assert device.sw_version == "5.13.0"  # register 1 = 5130
    assert device.serial_number == SERIAL
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert init_integration.state.value == ConfigEntryState.NOT_LOADED.value


async def test_unreachable_at_startup_retries(
    hass: HomeAssistant, sim: Simulation, config_entry: MockConfigEntry
) -> None:
    """A charger that refuses connections puts the entry in setup-retry."""
    sim.devices["quasar"].apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_first_poll_failure_retries(
    hass: HomeAssistant, sim: Simulation, config_entry: MockConfigEntry
) -> None:
    """Identity reads fine but the first full poll returns garbage: setup-retry."""
    twin = sim.quasars["quasar"]
    original = twin.read_holding

    def garbage_after_identity(address: int, count: int) -> list[int]:
        values = original(address, count)
        return values if address < 10 else [0xFFFF] * count

    twin.read_holding = garbage_after_identity  # type: ignore[method-assign]
    config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_reconfigure_reloads_a_loaded_entry_options_do_not(
    hass: HomeAssistant, sim: Simulation
) -> None:
    """The charger moved: after the flow the entry runs on the new address (its update
    listener reloads it); a change of options applies without a reload."""
    moved = await start_simulation(QuasarConfig(port=0, serial=int(SERIAL)))
    try:
        entry = MockConfigEntry(
            domain=DOMAIN,
            unique_id=SERIAL,
            data={
                CONF_FAMILY: FAMILY_QUASAR1,
                CONF_HOST: "127.0.0.1",
                CONF_PORT: sim.quasars["quasar"].server.port,
                CONF_UNIT_ID: 1,
            },
            options=dict(DEFAULT_OPTIONS),
        )
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        before = entry.runtime_data
        result = await hass.config_entries.options.async_init(entry.entry_id)
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**DEFAULT_OPTIONS, "reserve_soc_pct": 45}
        )
        await hass.async_block_till_done()
        assert entry.runtime_data is before  # options: applied in place
        assert entry.runtime_data.controller.reserve_soc_pct == 45
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {
                CONF_HOST: "127.0.0.1",
                CONF_PORT: moved.quasars["quasar"].server.port,
                CONF_UNIT_ID: 1,
            },
        )
        assert result["reason"] == "reconfigure_successful"
        await hass.async_block_till_done()
        assert entry.runtime_data is not before  # new data: reloaded
        assert entry.runtime_data.charger.transport.port == moved.quasars["quasar"].server.port
        await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await moved.stop()


async def test_entry_points_import_the_home_assistant_layer_in_the_import_executor(
    hass: HomeAssistant,
    sim: Simulation,
    config_entry: MockConfigEntry,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The package shows Home Assistant its entry points without importing Home
    Assistant itself; their first call imports integration.py in Home Assistant's
    import executor, once, and YAML under v2x: is refused as before."""
    assert set(package.__all__) == {
        "CONFIG_SCHEMA",
        "async_migrate_entry",
        "async_remove_entry",
        "async_setup",
        "async_setup_entry",
        "async_unload_entry",
    }
    assert all(hasattr(package, name) for name in package.__all__)
    assert package.CONFIG_SCHEMA is package.CONFIG_SCHEMA
    for missing in ("async_remove_config_entry_device", "PLATFORMS"):
        assert not hasattr(package, missing), missing
    monkeypatch.setattr(package, "_LOADED", {})
    imports: list[tuple[Any, ...]] = []
    original = hass.async_add_import_executor_job

    def import_job(target: Callable[..., Any], *args: Any) -> Any:
        imports.append((target, *args))
        return original(target, *args)

    monkeypatch.setattr(hass, "async_add_import_executor_job", import_job)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {}})
    assert "The v2x integration does not support YAML setup" in caplog.text
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert await hass.config_entries.async_unload(config_entry.entry_id)
    ours = [args for args in imports if "custom_components.v2x.integration" in args]
    assert len(ours) == 1, imports


async def test_a_version_1_1_charger_entry_is_migrated_to_store_its_kind(
    hass: HomeAssistant, config_entry: MockConfigEntry
) -> None:
    """Entries made before 1.2 have only a family: setting up adds the kind, once."""
    assert (config_entry.version, config_entry.minor_version) == (1, 1)
    config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(config_entry.entry_id)
    assert config_entry.state is ConfigEntryState.LOADED
    assert config_entry.minor_version == 2
    assert config_entry.data[CONF_KIND] == "charger"
    assert config_entry.data[CONF_FAMILY] == FAMILY_QUASAR1
    assert await hass.config_entries.async_unload(config_entry.entry_id)


@pytest.mark.parametrize(("family", "kind"), [("site", "site"), ("v2b", "building")])
async def test_a_version_1_1_system_entry_loses_the_family_it_never_was(
    hass: HomeAssistant, family: str, kind: str
) -> None:
    """Sites and buildings stored family "site"/"v2b": now a kind, and no family."""
    entry = MockConfigEntry(domain=DOMAIN, data={CONF_FAMILY: family, "other": 1})
    entry.add_to_hass(hass)
    assert await package.async_migrate_entry(hass, entry)
    assert dict(entry.data) == {CONF_KIND: kind, "other": 1}
    assert entry.minor_version == 2


@pytest.mark.parametrize(
    ("data", "version"),
    [({CONF_FAMILY: "ecoflow"}, 1), ({CONF_FAMILY: FAMILY_QUASAR1}, 2)],
    ids=["unknown family", "made by a newer version"],
)
async def test_an_entry_that_cannot_be_migrated_fails_and_is_left_alone(
    hass: HomeAssistant, data: dict[str, Any], version: int
) -> None:
    """A family this version does not know, or a newer version's entry: not touched."""
    entry = MockConfigEntry(domain=DOMAIN, data=data, version=version)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id) is False
    assert entry.state is ConfigEntryState.MIGRATION_ERROR
    assert dict(entry.data) == data
