"""Portable batteries end to end: Zendure (HTTP) and Bluetti (Modbus) against their twins."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from ipaddress import ip_address
from typing import Any, cast
from unittest.mock import AsyncMock, patch

from homeassistant.components.number.const import ATTR_VALUE, SERVICE_SET_VALUE
from homeassistant.config_entries import SOURCE_ZEROCONF, ConfigEntryState
from homeassistant.const import (
    ATTR_ENTITY_ID,
    CONF_HOST,
    CONF_PORT,
    SERVICE_TURN_OFF,
    SERVICE_TURN_ON,
    STATE_UNAVAILABLE,
)
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.service_info.zeroconf import ZeroconfServiceInfo
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
import voluptuous as vol

from custom_components.v2x.const import (
    CONF_CAPACITY,
    CONF_FAMILY,
    CONF_KIND,
    CONF_POLL_INTERVAL,
    DOMAIN,
)
from custom_components.v2x.models import BatteryRuntimeData
from simulator.faults import Fault, FaultKind
from simulator.world import Simulation

from .conftest import device_with, state_of
from .families import (
    BLUETTI_SN,
    ZENDURE_SN,
    B,
    Z,
    battery_entry,
    bluetti_twin,
    device_id_of,
    zendure_twin,
)
from .flows import FAMILY_BLUETTI, FAMILY_ZENDURE, open_device_form
from .helpers import setup_entry, unload_entries


async def test_zendure_values_and_controls(hass: HomeAssistant, bsim: Simulation) -> None:
    """Readings; the output switch, limits and SoC window write and verify."""
    entry = battery_entry(bsim, FAMILY_ZENDURE)
    await setup_entry(hass, entry, BatteryRuntimeData)
    twin = zendure_twin(bsim)
    assert state_of(hass, f"sensor.{Z}_battery_level").state == "70.0"
    assert state_of(hass, f"sensor.{Z}_battery_power").state == "-200"
    assert state_of(hass, f"sensor.{Z}_pack_1_state_of_charge").state == "70"
    assert state_of(hass, f"binary_sensor.{Z}_grid_present").state == "on"
    assert state_of(hass, f"switch.{Z}_ac_output").state == "on"
    await hass.services.async_call(
        "number",
        SERVICE_SET_VALUE,
        {ATTR_ENTITY_ID: f"number.{Z}_output_limit", ATTR_VALUE: 500},
        blocking=True,
    )
    assert twin.settings["outputLimit"] == 500
    assert state_of(hass, f"number.{Z}_output_limit").state == "500"
    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: f"switch.{Z}_ac_output"}, blocking=True
    )
    assert twin.settings["outputLimit"] == 0
    assert state_of(hass, f"switch.{Z}_ac_output").state == "off"
    await hass.services.async_call(
        "switch", SERVICE_TURN_ON, {ATTR_ENTITY_ID: f"switch.{Z}_ac_output"}, blocking=True
    )
    assert twin.settings["outputLimit"] == 500
    for key, value, setting in (
        ("input_limit", 300, "inputLimit"),
        ("minimum_state_of_charge", 20, "minSoc"),
        ("maximum_state_of_charge", 90, "socSet"),
    ):
        await hass.services.async_call(
            "number",
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: f"number.{Z}_{key}", ATTR_VALUE: value},
            blocking=True,
        )
        assert twin.settings[setting] == value
    await unload_entries(hass, entry)


async def test_zendure_write_not_verified_is_translated(
    hass: HomeAssistant, bsim: Simulation
) -> None:
    """A limit the device clamps does not stick: a translated error says so."""
    entry = battery_entry(bsim, FAMILY_ZENDURE)
    await setup_entry(hass, entry, BatteryRuntimeData)
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            "number",
            SERVICE_SET_VALUE,
            {ATTR_ENTITY_ID: f"number.{Z}_output_limit", ATTR_VALUE: 2000},
            blocking=True,
        )
    assert err.value.translation_key == "write_not_verified"
    await unload_entries(hass, entry)


async def test_set_output_service(hass: HomeAssistant, bsim: Simulation) -> None:
    """v2x.set_output on both families, with every validation."""
    zendure, bluetti = battery_entry(bsim, FAMILY_ZENDURE), battery_entry(bsim, FAMILY_BLUETTI)
    await setup_entry(hass, zendure, BatteryRuntimeData)
    await setup_entry(hass, bluetti, BatteryRuntimeData)
    z_id, b_id = device_id_of(hass, ZENDURE_SN), device_id_of(hass, BLUETTI_SN)

    async def call(device_id: str, **data: Any) -> None:
        await hass.services.async_call(
            DOMAIN, "set_output", {"device_id": device_id, **data}, blocking=True
        )

    await call(z_id, enabled=True, output_limit_w=650)
    assert zendure_twin(bsim).settings["outputLimit"] == 650
    await call(z_id, enabled=False)
    assert zendure_twin(bsim).settings["outputLimit"] == 0
    await call(b_id, enabled=False)
    assert bluetti_twin(bsim).ac_on is False
    assert state_of(hass, f"sensor.{B}_output_power").state == "0"
    await call(b_id, enabled=True)
    assert bluetti_twin(bsim).ac_on is True
    cases = [
        (b_id, {"enabled": True, "output_limit_w": 300}, "output_limit_not_supported"),
        (z_id, {"enabled": True, "output_limit_w": 3000}, "power_above_maximum"),
        (z_id, {"enabled": False, "output_limit_w": 300}, "limit_without_output"),
    ]
    before = len(zendure_twin(bsim).writes)
    for device_id, data, key in cases:
        with pytest.raises(ServiceValidationError) as err:
            await call(device_id, **data)
        assert err.value.translation_key == key
    for flag in (True, False):  # a boolean is not a limit of 1 W or 0 W
        with pytest.raises(vol.Invalid, match="boolean"):
            await call(z_id, enabled=True, output_limit_w=flag)
    assert len(zendure_twin(bsim).writes) == before
    assert zendure_twin(bsim).settings["outputLimit"] == 0
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "stop", {"device_id": z_id}, blocking=True)
    assert err.value.translation_key == "not_a_charger"
    await unload_entries(hass, zendure, bluetti)


async def test_set_output_on_a_charger_is_refused(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A vehicle charger has no battery output to switch."""
    device = device_with(hass, (DOMAIN, "20240117"))
    assert device is not None
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, "set_output", {"device_id": device.id, "enabled": True}, blocking=True
        )
    assert err.value.translation_key == "not_a_battery"


async def test_bluetti_switches(hass: HomeAssistant, bsim: Simulation) -> None:
    """AC and DC switches write 57001/57005; grid charging is read-only on an AC500."""
    entry = battery_entry(bsim, FAMILY_BLUETTI)
    await setup_entry(hass, entry, BatteryRuntimeData)
    twin = bluetti_twin(bsim)
    await hass.services.async_call(
        "switch", SERVICE_TURN_OFF, {ATTR_ENTITY_ID: f"switch.{B}_dc_output"}, blocking=True
    )
    assert twin.dc_on is False
    assert state_of(hass, f"switch.{B}_dc_output").state == "off"
    assert state_of(hass, f"binary_sensor.{B}_grid_charging").state == "on"
    assert hass.states.get(f"switch.{B}_grid_charging") is None
    assert state_of(hass, f"sensor.{B}_minimum_state_of_charge").state == "30.0"
    await unload_entries(hass, entry)


@pytest.mark.parametrize("bluetti_model", ["EP500P"])
async def test_ep500pro_grid_charging_switch(hass: HomeAssistant, bsim: Simulation) -> None:
    """On an EP500Pro grid charging is a switch."""
    entry = battery_entry(bsim, FAMILY_BLUETTI)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    prefix = "bluetti_ac500_2237000012345"
    await hass.services.async_call(
        "switch",
        SERVICE_TURN_OFF,
        {ATTR_ENTITY_ID: f"switch.{prefix}_grid_charging"},
        blocking=True,
    )
    assert bluetti_twin(bsim).grid_charge == 0
    await unload_entries(hass, entry)


@pytest.mark.parametrize(
    ("family", "fault"),
    [
        (FAMILY_ZENDURE, Fault(FaultKind.EXCEPTION, code=500)),
        (FAMILY_ZENDURE, Fault(FaultKind.GARBAGE)),
        (FAMILY_ZENDURE, Fault(FaultKind.REFUSE)),
        (FAMILY_BLUETTI, Fault(FaultKind.REFUSE)),
        (FAMILY_BLUETTI, Fault(FaultKind.GARBAGE)),
    ],
)
async def test_unavailable_then_recovered(
    hass: HomeAssistant,
    bsim: Simulation,
    caplog: pytest.LogCaptureFixture,
    family: str,
    fault: Fault,
) -> None:
    """A failing battery turns unavailable (logged once) and recovers."""
    entry = battery_entry(bsim, family)
    data = await setup_entry(hass, entry, BatteryRuntimeData)
    entity = f"sensor.{Z if family == FAMILY_ZENDURE else B}_battery_level"
    bsim.devices[family].apply_fault(fault)
    await bsim.tick()
    caplog.clear()
    for _ in range(2):
        await data.coordinator.async_refresh()
        transport = getattr(data.battery, "transport", None)
        if transport is not None:
            transport.set_backoff_max(0.0)  # no wait before it reconnects
    assert state_of(hass, entity).state == STATE_UNAVAILABLE
    assert sum("Error fetching" in r.getMessage() for r in caplog.records) == 1
    bsim.devices[family].clear_faults()
    await bsim.tick()
    await data.coordinator.async_refresh()
    assert state_of(hass, entity).state != STATE_UNAVAILABLE
    await unload_entries(hass, entry)


async def test_energy_and_options(hass: HomeAssistant, bsim: Simulation) -> None:
    """Discharge energy integrates; options change the interval and capacity live."""
    entry = battery_entry(bsim, FAMILY_ZENDURE)
    data = await setup_entry(hass, entry, BatteryRuntimeData)
    bsim.clock.set_speed(1)
    await asyncio.sleep(1.0)
    await data.coordinator.async_refresh()
    assert 0.00003 <= data.energy.discharged_kwh <= 0.0002  # 200 W for about a second
    assert data.energy.charged_kwh == 0
    hass.config_entries.async_update_entry(
        entry, options={CONF_POLL_INTERVAL: 15, CONF_CAPACITY: 5.0}
    )
    await hass.async_block_till_done()
    assert data.coordinator.update_interval is not None
    assert data.coordinator.update_interval.total_seconds() == 15
    assert data.coordinator.data.state.capacity_kwh == 5.0
    await unload_entries(hass, entry)


async def test_setup_retry_when_unreachable(hass: HomeAssistant, bsim: Simulation) -> None:
    """Unreachable at startup: setup-retry, for both families."""
    for family in (FAMILY_ZENDURE, FAMILY_BLUETTI):
        bsim.devices[family].apply_fault(Fault(FaultKind.REFUSE))
    await bsim.tick()
    for family in (FAMILY_ZENDURE, FAMILY_BLUETTI):
        entry = battery_entry(bsim, family)
        entry.add_to_hass(hass)
        await hass.config_entries.async_setup(entry.entry_id)
        assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_first_poll_failure_retries(hass: HomeAssistant, bsim: Simulation) -> None:
    """Identity fine, first poll broken: setup-retry and the connection is closed."""
    twin = bluetti_twin(bsim)
    original = twin.read_holding

    def broken_after_identity(address: int, count: int) -> list[int]:
        return (
            original(address, count) if address >= 50200 and address < 50300 else [0xFFFF] * count
        )

    twin.read_holding = broken_after_identity  # type: ignore[method-assign]
    entry = battery_entry(bsim, FAMILY_BLUETTI)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY


async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    bsim: Simulation,
    snapshot: SnapshotAssertion,
) -> None:
    """Battery diagnostics, serial numbers and host redacted."""
    entry = battery_entry(bsim, FAMILY_ZENDURE)
    await setup_entry(hass, entry, BatteryRuntimeData)
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert ZENDURE_SN not in str(diagnostics)
    entry_data = cast("dict[str, Any]", diagnostics["entry"])["data"]
    assert entry_data.pop("port") == zendure_twin(bsim).port
    assert diagnostics == snapshot
    await unload_entries(hass, entry)


# -- config flow -----------------------------------------------------------------------


@pytest.fixture
def mock_setup_entry() -> Iterator[AsyncMock]:
    """Only the flow is under test."""
    with patch("custom_components.v2x.async_setup_entry", return_value=True) as mock:
        yield mock


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("family", "serial", "title"),
    [
        (FAMILY_ZENDURE, ZENDURE_SN, f"Zendure SolarFlow 800 Pro {ZENDURE_SN}"),
        (FAMILY_BLUETTI, BLUETTI_SN, f"Bluetti AC500 {BLUETTI_SN}"),
    ],
)
async def test_user_flow(
    hass: HomeAssistant, bsim: Simulation, family: str, serial: str, title: str
) -> None:
    """Menu -> form; an error recovers; the entry carries the right data."""
    port = zendure_twin(bsim).port if family == FAMILY_ZENDURE else bluetti_twin(bsim).server.port
    result = await open_device_form(hass, family)
    bsim.devices[family].apply_fault(Fault(FaultKind.REFUSE))
    await bsim.tick()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["errors"] == {CONF_HOST: "cannot_connect"}
    bsim.devices[family].clear_faults()
    await bsim.tick()
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title
    assert result["result"].unique_id == serial
    assert result["data"] == {
        CONF_KIND: "battery",
        CONF_FAMILY: family,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: port,
    }


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zendure_local_api_disabled(hass: HomeAssistant, bsim: Simulation) -> None:
    """HTTP 401: the form explains how to enable the local API."""
    zendure_twin(bsim).apply_fault(Fault(FaultKind.EXCEPTION, code=401))
    result = await open_device_form(hass, FAMILY_ZENDURE)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: zendure_twin(bsim).port}
    )
    assert result["errors"] == {"base": "local_api_disabled"}


def _discovery(port: int, host: str = "127.0.0.1") -> ZeroconfServiceInfo:
    address = ip_address(host)
    return ZeroconfServiceInfo(
        ip_address=address,
        ip_addresses=[address],
        hostname="Zendure-SolarFlow800Pro-AABBCCDDEEFF.local.",
        name="Zendure-SolarFlow800Pro-AABBCCDDEEFF._zendure._tcp.local.",
        port=port,
        properties={},
        type="_zendure._tcp.local.",
    )


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_discovery(hass: HomeAssistant, bsim: Simulation) -> None:
    """A discovered device is confirmed, then created with its serial as unique id."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(zendure_twin(bsim).port)
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "zeroconf_confirm"
    assert result["description_placeholders"] == {
        "name": f"Zendure SolarFlow 800 Pro {ZENDURE_SN}",
        "host": "127.0.0.1",
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["result"].unique_id == ZENDURE_SN
    assert result["options"] == {CONF_POLL_INTERVAL: 10}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_updates_moved_device(hass: HomeAssistant, bsim: Simulation) -> None:
    """A known device seen at a new address: the entry's address is updated."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=ZENDURE_SN,
        data={CONF_FAMILY: FAMILY_ZENDURE, CONF_HOST: "192.0.2.44", CONF_PORT: 80},
    )
    entry.add_to_hass(hass)
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(zendure_twin(bsim).port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"
    assert entry.data[CONF_HOST] == "127.0.0.1"
    assert entry.data[CONF_PORT] == zendure_twin(bsim).port


@pytest.mark.usefixtures("mock_setup_entry")
async def test_zeroconf_unreachable_aborts(hass: HomeAssistant, bsim: Simulation) -> None:
    """A discovery that cannot be probed aborts without touching anything."""
    zendure_twin(bsim).apply_fault(Fault(FaultKind.REFUSE))
    await bsim.tick()
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_ZEROCONF}, data=_discovery(zendure_twin(bsim).port)
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "cannot_connect"


@pytest.mark.usefixtures("mock_setup_entry")
async def test_battery_options_and_reconfigure(hass: HomeAssistant, bsim: Simulation) -> None:
    """Battery options (interval, capacity); reconfigure keeps the family's fields."""
    entry = battery_entry(bsim, FAMILY_BLUETTI)
    entry.add_to_hass(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "battery"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_POLL_INTERVAL: 45, CONF_CAPACITY: 6.5}
    )
    assert entry.options == {CONF_POLL_INTERVAL: 45, CONF_CAPACITY: 6.5}
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_POLL_INTERVAL: 30}
    )
    assert entry.options == {CONF_POLL_INTERVAL: 30}
    result = await entry.start_reconfigure_flow(hass)
    schema = result["data_schema"]
    assert schema is not None
    assert [str(key) for key in schema.schema] == [CONF_HOST, CONF_PORT]
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_HOST: "127.0.0.1", CONF_PORT: bluetti_twin(bsim).server.port}
    )
    assert result["reason"] == "reconfigure_successful"


async def test_battery_command_translates_refusals(hass: HomeAssistant, bsim: Simulation) -> None:
    """A refusal from the device layer becomes a translated validation error."""
    from custom_components.v2x.devices.errors import CommandRefusedError
    from custom_components.v2x.helpers import async_battery_command

    entry = battery_entry(bsim, FAMILY_ZENDURE)
    data = await setup_entry(hass, entry, BatteryRuntimeData)

    async def refuse() -> None:
        raise CommandRefusedError("not_supported", "no such thing")

    with pytest.raises(ServiceValidationError) as err:
        await async_battery_command(data.coordinator, refuse())
    assert err.value.translation_key == "refused_not_supported"
    await unload_entries(hass, entry)


@pytest.mark.parametrize("family", [FAMILY_ZENDURE, FAMILY_BLUETTI])
async def test_a_drill_puts_the_battery_back_as_it_was(
    hass: HomeAssistant, bsim: Simulation, family: str
) -> None:
    """Its AC output was on before a drill: so it is after it, and it stays on.

    (The site used to switch a Zendure's output off 7 s after a drill, for good.) The
    device's own settings are compared as the twin holds them, before and after.
    """
    from .site_helpers import (
        _settle,
        _site,
        _state,
        async_setup_site_entities,
        run_drill,
        site_entry,
    )

    entry = battery_entry(bsim, family, poll_s=1)
    data = await setup_entry(hass, entry, BatteryRuntimeData)

    def settings() -> object:
        if family == FAMILY_ZENDURE:
            twin = zendure_twin(bsim)
            return {key: twin.settings[key] for key in ("acMode", "outputLimit", "inputLimit")}
        bluetti = bluetti_twin(bsim)
        return (bluetti.ac_on, bluetti.dc_on, bluetti.grid_charge)

    before = settings()
    await async_setup_site_entities(hass)
    site = await _site(hass, site_entry([entry.entry_id]))
    await run_drill(hass, site, 1)
    assert entry.entry_id in site.book.started  # the site switched its output on
    await asyncio.sleep(1.05)
    await _settle(hass, site)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _state(site).value == "grid"
    assert settings() == before
    for _ in range(3):  # not taken for a source left discharging: it stays as it was
        await asyncio.sleep(0.3)
        await data.coordinator.async_refresh()
        await _settle(hass, site)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert settings() == before
    assert site.book.started == set()
    await hass.config_entries.async_unload(site.entry.entry_id)
    await unload_entries(hass, entry)
