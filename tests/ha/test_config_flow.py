"""Every config-flow branch, against the simulator; each error recovers to an entry."""

from __future__ import annotations

from collections.abc import Iterator
import dataclasses
from http import HTTPStatus
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.translation import async_get_translations
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.v2x.const import (
    CONF_CAPACITY,
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_KIND,
    CONF_MAX_DISCHARGE_POWER,
    CONF_RESERVE_SOC,
    CONF_STATUS_INTERVAL,
    CONF_UNIT_ID,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.devices import quasar
from custom_components.v2x.helpers import OUT_OF_RANGE
from simulator.faults import Fault, FaultKind
from simulator.quasar import QuasarConfig
from simulator.world import Simulation
from tests.conftest import start_simulation

from .conftest import SERIAL
from .flows import FAMILY_QUASAR1, open_device_form


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Do not set the entry up after the flow: only the flow is under test."""
    with patch("custom_components.v2x.async_setup_entry", return_value=True) as mock:
        yield mock


async def _start(hass: HomeAssistant, family: str = "quasar1") -> ConfigFlowResult:
    """Open the user flow and pick a device type from the menu, then the product."""
    return await open_device_form(hass, family)


def _input(sim: Simulation, **changes: object) -> dict[str, object]:
    return {
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sim.quasars["quasar"].server.port,
        CONF_UNIT_ID: 1,
    } | changes


def _entry_data(sim: Simulation) -> dict[str, object]:
    return {CONF_KIND: "charger", CONF_FAMILY: FAMILY_QUASAR1, **_input(sim)}


async def test_user_flow_creates_entry(hass: HomeAssistant, sim: Simulation) -> None:
    """Host, port and unit id; the serial becomes the unique id."""
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], _input(sim, **{CONF_HOST: " 127.0.0.1 "})
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Wallbox Quasar 1 {SERIAL}"
    assert result["data"] == {
        CONF_KIND: "charger",
        CONF_FAMILY: FAMILY_QUASAR1,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: sim.quasars["quasar"].server.port,
        CONF_UNIT_ID: 1,
    }
    assert result["options"] == DEFAULT_OPTIONS
    assert result["result"].unique_id == SERIAL


async def _fault_then_recover(
    hass: HomeAssistant, sim: Simulation, fault: Fault | None, user_input: dict[str, object]
) -> dict[str, str]:
    """Submit once under a fault, return the errors, then recover to an entry."""
    twin = sim.quasars["quasar"]
    if fault is not None:
        twin.apply_fault(fault)
        await sim.tick()
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    errors = dict(result["errors"] or {})
    twin.clear_faults()
    await sim.tick()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    return errors


async def test_cannot_connect_then_recover(hass: HomeAssistant, sim: Simulation) -> None:
    """Connection refused -> cannot_connect on the host field."""
    errors = await _fault_then_recover(hass, sim, Fault(FaultKind.REFUSE), _input(sim))
    assert errors == {CONF_HOST: "cannot_connect"}


async def test_wrong_unit_id_times_out_then_recover(hass: HomeAssistant, sim: Simulation) -> None:
    """The Quasar ignores other unit ids -> timeout."""
    impatient = dataclasses.replace(quasar.FAMILY, timeout_s=0.3)
    with patch("custom_components.v2x.config_flow.device_family", return_value=impatient):
        errors = await _fault_then_recover(hass, sim, None, _input(sim, **{CONF_UNIT_ID: 5}))
    assert errors == {CONF_HOST: "timeout"}


async def test_exception_reply_is_invalid_response_then_recover(
    hass: HomeAssistant, sim: Simulation
) -> None:
    """A Modbus exception to the identity read -> invalid_response."""
    errors = await _fault_then_recover(hass, sim, Fault(FaultKind.EXCEPTION, code=4), _input(sim))
    assert errors == {"base": "invalid_response"}


async def test_unexpected_error_then_recover(hass: HomeAssistant, sim: Simulation) -> None:
    """Anything unexpected -> unknown (the only branch that mocks our device layer)."""
    with patch("custom_components.v2x.device_flow.async_probe", side_effect=RuntimeError("boom")):
        result = await _start(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["errors"] == {"base": "unknown"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unknown_device_error_maps_to_cannot_connect(
    hass: HomeAssistant, sim: Simulation
) -> None:
    """A device error that is neither connection, timeout nor protocol -> cannot_connect."""
    from custom_components.v2x.devices.errors import WriteNotVerifiedError

    with patch(
        "custom_components.v2x.device_flow.async_probe",
        side_effect=WriteNotVerifiedError("x", 1, 0),
    ):
        result = await _start(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["errors"] == {"base": "cannot_connect"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_already_configured(hass: HomeAssistant, sim: Simulation) -> None:
    """The same serial cannot be added twice."""
    MockConfigEntry(domain=DOMAIN, unique_id=SERIAL, data=_entry_data(sim)).add_to_hass(hass)
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_reconfigure_same_device(hass: HomeAssistant, sim: Simulation) -> None:
    """The address can change as long as the serial stays the same."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=SERIAL,
        data={CONF_FAMILY: FAMILY_QUASAR1, CONF_HOST: "192.0.2.7", CONF_PORT: 502, CONF_UNIT_ID: 1},
    )
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    # First an unreachable address: the form comes back with an error.
    sim.quasars["quasar"].apply_fault(Fault(FaultKind.REFUSE))
    await sim.tick()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["errors"] == {CONF_HOST: "cannot_connect"}
    sim.quasars["quasar"].clear_faults()
    await sim.tick()
    result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(sim))
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_HOST] == "127.0.0.1"
    assert entry.data[CONF_PORT] == sim.quasars["quasar"].server.port


async def test_reconfigure_to_other_device_aborts(hass: HomeAssistant, sim: Simulation) -> None:
    """Pointing an entry at a charger with another serial is refused."""
    other = await start_simulation(QuasarConfig(port=0, serial=99887766))
    try:
        entry = MockConfigEntry(domain=DOMAIN, unique_id=SERIAL, data=_entry_data(sim))
        entry.add_to_hass(hass)
        result = await entry.start_reconfigure_flow(hass)
        result = await hass.config_entries.flow.async_configure(result["flow_id"], _input(other))
        assert result["type"] is FlowResultType.ABORT
        assert result["reason"] == "wrong_device"
        assert entry.data[CONF_PORT] == sim.quasars["quasar"].server.port
    finally:
        await other.stop()


async def test_options_flow(hass: HomeAssistant, sim: Simulation) -> None:
    """Options are validated (watchdog vs poll interval) and saved."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=SERIAL, data=_entry_data(sim), options=dict(DEFAULT_OPTIONS)
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    too_short = {
        CONF_STATUS_INTERVAL: 10,
        CONF_FULL_INTERVAL: 30,
        CONF_RESERVE_SOC: 40,
        CONF_WATCHDOG: 20,
        CONF_CAPACITY: 20,  # a Nissan Sakura
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], too_short)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_WATCHDOG: "watchdog_too_short"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], too_short | {CONF_WATCHDOG: 30, CONF_MAX_DISCHARGE_POWER: 3000.0}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == {
        CONF_STATUS_INTERVAL: 10,
        CONF_FULL_INTERVAL: 30,
        CONF_RESERVE_SOC: 40,
        CONF_WATCHDOG: 30,
        CONF_MAX_DISCHARGE_POWER: 3000,
        CONF_CAPACITY: 20.0,
    }


async def test_a_number_out_of_range_gets_a_translated_error_and_changes_nothing(
    hass: HomeAssistant, sim: Simulation, hass_client: ClientSessionGenerator
) -> None:
    """A reserve of 150 % typed into the options: what the frontend gets is the key
    ``out_of_range`` for that field (translated in English and Japanese), not
    voluptuous's English; the options stay as they were and the form can be fixed."""
    entry = MockConfigEntry(
        domain=DOMAIN, unique_id=SERIAL, data=_entry_data(sim), options=dict(DEFAULT_OPTIONS)
    )
    entry.add_to_hass(hass)
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    flows = "/api/config/config_entries/options/flow"
    response = await client.post(flows, json={"handler": entry.entry_id})
    flow_id = (await response.json())["flow_id"]
    form = {
        CONF_STATUS_INTERVAL: 10,
        CONF_FULL_INTERVAL: 30,
        CONF_RESERVE_SOC: 150,
        CONF_WATCHDOG: 30,
        CONF_CAPACITY: 20,
    }
    response = await client.post(f"{flows}/{flow_id}", json=form)
    assert response.status == HTTPStatus.BAD_REQUEST
    assert await response.json() == {"errors": {CONF_RESERVE_SOC: OUT_OF_RANGE}}
    assert entry.options == DEFAULT_OPTIONS
    for language in ("en", "ja"):
        texts = await async_get_translations(hass, language, "options", [DOMAIN])
        assert texts[f"component.{DOMAIN}.options.error.{OUT_OF_RANGE}"]
        texts = await async_get_translations(hass, language, "config", [DOMAIN])
        assert texts[f"component.{DOMAIN}.config.error.{OUT_OF_RANGE}"]
    response = await client.post(f"{flows}/{flow_id}", json=form | {CONF_RESERVE_SOC: 95})
    assert (await response.json())["type"] == FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_RESERVE_SOC] == 95
