"""Setting up a backup site in the UI: every branch, options and diagnostics."""

from __future__ import annotations

from typing import Any, cast

from homeassistant.components.device_automation import DeviceAutomationType
from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_get_device_automations,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.v2x.const import (
    CONF_CRITICAL_LOADS,
    CONF_FAMILY,
    CONF_GRID_DEVICE,
    CONF_GRID_ENTITY,
    CONF_KIND,
    CONF_SHEDDABLE_LOADS,
    CONF_SITE_TYPE,
    CONF_SOURCES,
    CONF_TRANSFER_SWITCH,
    DOMAIN,
)
from custom_components.v2x.models import EntryKind
from custom_components.v2x.site import BackupSite, site_device_identifier

from .conftest import device_with
from .site_helpers import (
    ELEVATOR,
    GRID,
    HEATER,
    TRANSFER,
    async_setup_site_entities,
    site_entry,
)


async def _site_flow(hass: HomeAssistant, **first: Any) -> ConfigFlowResult:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "site"}
    )
    if result["type"] is not FlowResultType.FORM:
        return result
    assert result["step_id"] == "site"
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {"name": "Tower", "site_type": "building", "grid_signal": "entity"} | first,
    )


async def test_no_sources_aborts(hass: HomeAssistant) -> None:
    """A site needs a V2X charger or battery first."""
    result = await _site_flow(hass)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "no_sources"


async def test_site_flow_creates_building(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """Name, kind, grid entity, power layout (with validation errors) -> entry."""
    await async_setup_site_entities(hass)
    result = await _site_flow(hass)
    assert result["step_id"] == "site_grid_entity"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_GRID_ENTITY: GRID}
    )
    assert result["step_id"] == "site_power"
    source = init_integration.entry_id
    base = {"primary_source": source, CONF_TRANSFER_SWITCH: TRANSFER}
    for bad, error in (
        ({"second_source": source}, {"second_source": "duplicate_source"}),
        ({CONF_CRITICAL_LOADS: [TRANSFER]}, {CONF_TRANSFER_SWITCH: "switch_is_a_load"}),
        (
            {CONF_CRITICAL_LOADS: [HEATER], CONF_SHEDDABLE_LOADS: [HEATER]},
            {CONF_SHEDDABLE_LOADS: "load_twice"},
        ),
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], base | bad)
        assert result["errors"] == error
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        base
        | {
            CONF_CRITICAL_LOADS: [ELEVATOR],
            CONF_SHEDDABLE_LOADS: [HEATER],
            "switch_confirm": "input_boolean.transfer",
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Tower"
    assert result["data"] == {
        CONF_KIND: EntryKind.SITE.value,
        CONF_SITE_TYPE: "building",
        CONF_GRID_ENTITY: GRID,
        CONF_SOURCES: [source],
        CONF_TRANSFER_SWITCH: TRANSFER,
        CONF_CRITICAL_LOADS: [ELEVATOR],
        CONF_SHEDDABLE_LOADS: [HEATER],
        "switch_confirm": "input_boolean.transfer",
    }
    assert result["options"]["elevator_trips_per_hour"] == 20
    await hass.async_block_till_done()
    site = cast("BackupSite", result["result"].runtime_data)
    # 40 kWh car at 60 % over a 30 % reserve = 12 kWh; elevator 250 W + 60 Wh x 20/h
    assert site.data.runtime_min == pytest.approx(12_000 / 1450 * 60)
    # The same transfer switch cannot protect two sites.
    result = await _site_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_GRID_ENTITY: GRID}
    )
    result = await hass.config_entries.flow.async_configure(result["flow_id"], base)
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_device_grid_signal_choice(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """No V2X device reports the grid: the flow falls back to an entity."""
    await async_setup_site_entities(hass)
    result = await _site_flow(hass, grid_signal="device")
    assert result["step_id"] == "site_grid_entity"


async def test_device_grid_signal_with_zendure(
    hass: HomeAssistant, init_integration: MockConfigEntry, allow_loopback: None
) -> None:
    """A Zendure reports gridState: it can be the site's grid signal."""
    from homeassistant.const import CONF_HOST, CONF_PORT

    from custom_components.v2x.const import CONF_POLL_INTERVAL
    from simulator.world import Simulation, parse_scenario

    from .flows import FAMILY_ZENDURE

    await async_setup_site_entities(hass)
    sim = Simulation(parse_scenario({"zendure": [{"port": 0}]}), control_port=0)
    await sim.start()
    try:
        zendure = MockConfigEntry(
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
        zendure.add_to_hass(hass)
        assert await hass.config_entries.async_setup(zendure.entry_id)
        result = await _site_flow(hass, grid_signal="device", site_type="house")
        assert result["step_id"] == "site_grid_device"
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_GRID_DEVICE: zendure.entry_id}
        )
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"],
            {"primary_source": zendure.entry_id, CONF_TRANSFER_SWITCH: TRANSFER},
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        assert result["data"][CONF_GRID_DEVICE] == zendure.entry_id
        assert "elevator_trips_per_hour" not in result["options"]
        entry = result["result"]
        # Options: the grid poll instead of a voltage threshold; the house load.
        options = await hass.config_entries.options.async_init(entry.entry_id)
        assert options["step_id"] == "site"
        keys = [str(key) for key in options["data_schema"].schema]  # type: ignore[union-attr]
        assert "grid_poll_s" in keys
        assert "house_load_w" in keys
        assert "park_warning_min" not in keys  # an elevator's, not a house's
        options = await hass.config_entries.options.async_configure(
            options["flow_id"],
            {
                "reserve_soc_pct": 40,
                "restore_delay_s": 120,
                "outage_debounce_s": 1,
                "confirm_timeout_s": 15,
                "house_load_w": 800,
                "grid_poll_s": 2,
                "source_failed_polls": 3,
                "source_failed_after_s": 20,
                "source_recover_after_s": 45,
            },
        )
        assert entry.options["reserve_soc_pct"] == 40
        site = cast("BackupSite", entry.runtime_data)
        assert site.reserve_soc_pct == 40
        assert site.machine.config.restore_delay_s == 120
        assert site.machine.config.recover_after_s == 45
        assert site.failure_rule.failed_polls == 3
        assert site.failure_rule.failed_after_s == 20
        await hass.config_entries.async_unload(entry.entry_id)
        await hass.config_entries.async_unload(zendure.entry_id)
    finally:
        await sim.stop()


async def test_site_options_for_a_house(hass: HomeAssistant, site: BackupSite) -> None:
    """A house on a binary grid sensor: the house load; no voltage threshold, no elevator."""
    options = await hass.config_entries.options.async_init(site.entry.entry_id)
    keys = [str(key) for key in options["data_schema"].schema]  # type: ignore[union-attr]
    assert {"house_load_w", "share_load"} <= set(keys)
    for absent in ("grid_min_voltage", "elevator_standby_w", "park_warning_min"):
        assert absent not in keys


@pytest.mark.parametrize(
    ("site_type", "grid_entity", "present", "absent"),
    [
        (
            "building",
            "binary_sensor.grid",
            {"park_warning_min", "elevator_standby_w", "elevator_trips_per_hour"},
            {"house_load_w", "grid_min_voltage"},
        ),
        ("house", "sensor.grid_voltage", {"grid_min_voltage"}, {"park_warning_min"}),
    ],
)
async def test_site_options_follow_the_site(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    site_type: str,
    grid_entity: str,
    present: set[str],
    absent: set[str],
) -> None:
    """Options by kind of site and grid signal: an elevator's for a building, the voltage
    threshold for a voltage sensor."""
    await async_setup_site_entities(hass)
    entry = site_entry(
        [init_integration.entry_id],
        {CONF_SITE_TYPE: site_type, CONF_GRID_ENTITY: grid_entity},
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    options = await hass.config_entries.options.async_init(entry.entry_id)
    keys = {str(key) for key in options["data_schema"].schema}  # type: ignore[union-attr]
    assert present <= keys
    assert not absent & keys
    # The elevator's trigger too: a building's site offers it, a house's does not.
    device = device_with(hass, site_device_identifier(entry.entry_id))
    assert device is not None
    triggers = await async_get_device_automations(hass, DeviceAutomationType.TRIGGER, device.id)
    kinds = {trigger["type"] for trigger in triggers if trigger["domain"] == DOMAIN}
    assert ("elevator_park_requested" in kinds) is (site_type == "building")
    assert "backup_started" in kinds
    await hass.config_entries.async_unload(entry.entry_id)


async def test_recharge_power_option_set_and_emptied(hass: HomeAssistant, site: BackupSite) -> None:
    """*Recharge power after an outage*: set, it reaches the sources; emptied, full power.

    The gap between loads coming back and *Share the load* reach the machine, and stay
    when left out.
    """
    answers = {
        key: site.entry.options[key]
        for key in (
            "reserve_soc_pct",
            "restore_delay_s",
            "outage_debounce_s",
            "confirm_timeout_s",
            "house_load_w",
            "source_failed_polls",
            "source_failed_after_s",
            "source_recover_after_s",
        )
    }
    assert site.machine.config.load_restore_gap_s == 2.0  # the default: one by one
    assert site.machine.config.share_load is False  # the default: one source at a time
    for given, expected in (
        ({"recharge_power_w": 2500, "load_restore_gap_s": 5, "share_load": True}, 2500),
        ({}, None),
    ):
        options = await hass.config_entries.options.async_init(site.entry.entry_id)
        keys = [str(key) for key in options["data_schema"].schema]  # type: ignore[union-attr]
        assert "recharge_power_w" in keys
        await hass.config_entries.options.async_configure(options["flow_id"], {**answers, **given})
        await hass.async_block_till_done()
        site = cast("BackupSite", site.entry.runtime_data)
        assert site.recharge_power_w == expected
        assert site.machine.config.load_restore_gap_s == 5.0  # kept when left out
        assert site.machine.config.share_load is True
        assert ("recharge_power_w" in site.entry.options) is (expected is not None)


async def test_site_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, site: BackupSite
) -> None:
    """The machine's snapshot and status, nothing identifying."""
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, site.entry)
    assert diagnostics["machine"] == {"state": "grid", "alarm": None, "session": None}
    status = cast("dict[str, Any]", diagnostics["status"])
    assert status["state"] == "grid"
    assert status["automatic"] is True
    assert cast("dict[str, Any]", diagnostics["entry"])["title"] == "**REDACTED**"


async def test_reconfigure_site(hass: HomeAssistant, site: BackupSite) -> None:
    """Sources, switch and loads change in place: same entry and device, reloaded."""
    entry = site.entry
    device = device_with(hass, site_device_identifier(entry.entry_id))
    assert device is not None
    MockConfigEntry(
        domain=DOMAIN,
        title="Garage",
        unique_id="site_switch.garage_transfer",
        data={CONF_KIND: EntryKind.SITE.value, CONF_TRANSFER_SWITCH: "switch.garage_transfer"},
    ).add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure_site"
    suggested = {
        str(key): key.description["suggested_value"]
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested["primary_source"] == site.sources[0]
    assert suggested[CONF_GRID_ENTITY] == GRID
    assert suggested[CONF_SHEDDABLE_LOADS] == [HEATER]
    base = {CONF_GRID_ENTITY: GRID, "primary_source": site.sources[0]}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], base | {CONF_TRANSFER_SWITCH: "switch.garage_transfer"}
    )
    assert result["errors"] == {CONF_TRANSFER_SWITCH: "switch_in_use"}
    assert entry.data[CONF_TRANSFER_SWITCH] == TRANSFER  # nothing changed
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        base
        | {
            CONF_TRANSFER_SWITCH: HEATER,
            CONF_CRITICAL_LOADS: [ELEVATOR],
            "load_sensor": "sensor.protected_load",
        },
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()
    assert entry.unique_id == f"site_{HEATER}"
    assert entry.data == {
        CONF_KIND: EntryKind.SITE.value,
        CONF_SITE_TYPE: "house",
        CONF_GRID_ENTITY: GRID,
        CONF_SOURCES: site.sources,
        CONF_TRANSFER_SWITCH: HEATER,
        CONF_CRITICAL_LOADS: [ELEVATOR],
        CONF_SHEDDABLE_LOADS: [],
        "load_sensor": "sensor.protected_load",
    }
    reloaded = cast("BackupSite", entry.runtime_data)
    assert reloaded is not site
    assert reloaded.transfer_switch == HEATER
    assert device_with(hass, site_device_identifier(entry.entry_id)) == device


async def test_reconfigure_site_with_a_grid_device(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """A site whose grid signal is a device keeps offering that device."""
    await async_setup_site_entities(hass)
    entry = site_entry([init_integration.entry_id], {CONF_GRID_DEVICE: init_integration.entry_id})
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure_site"
    keys = [str(key) for key in result["data_schema"].schema]  # type: ignore[union-attr]
    assert CONF_GRID_DEVICE in keys
    assert CONF_GRID_ENTITY not in keys
