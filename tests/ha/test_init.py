"""Setup, unload and startup failures."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.const import DOMAIN
from simulator.faults import Fault, FaultKind
from simulator.world import Simulation

from .conftest import SERIAL


async def test_setup_and_unload(
    hass: HomeAssistant, init_integration: MockConfigEntry, device_registry: dr.DeviceRegistry
) -> None:
    """The entry loads, creates one device with the charger's identity, and unloads."""
    assert init_integration.state is ConfigEntryState.LOADED
    device = device_registry.async_get_device(identifiers={(DOMAIN, SERIAL)})
    assert device is not None
    assert device.manufacturer == "Wallbox"
    assert device.model == "Quasar 1"
    assert device.sw_version == "5130"
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
