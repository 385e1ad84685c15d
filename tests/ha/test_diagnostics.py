"""Diagnostics of every entry kind leak no serial number the simulator knows, anywhere.

The devices come from the simulator's own default scenario (every supported family),
the entries from the real config flow (so titles carry serials exactly as users see
them), a backup site runs on vehicle power (its active source is named) and a
vehicle-to-building entry plans two office cars (named after their chargers).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
import json
from pathlib import Path
from typing import Any

from homeassistant.components.diagnostics import REDACTED
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.v2x.backup.machine import BackupState
from custom_components.v2x.building import BuildingManager
from custom_components.v2x.const import (
    CONF_BUILDING_POWER,
    CONF_KIND,
    CONF_METER_INCLUDES_VEHICLES,
    CONF_UNIT_ID,
    CONF_VEHICLES,
    DOMAIN,
)
from custom_components.v2x.device_flow import TITLE_SERIAL_TAIL
from custom_components.v2x.diagnostics import known_serials, redact
from custom_components.v2x.models import EntryKind
from custom_components.v2x.site import BackupSite
from simulator.bluetti import BluettiConfig
from simulator.echonet import EchonetConfig
from simulator.quasar import QuasarConfig
from simulator.sunspec import SunSpecConfig
from simulator.world import Simulation, load_scenario
from simulator.zendure import ZendureConfig

from .flows import (
    FAMILY_BLUETTI,
    FAMILY_ECHONET,
    FAMILY_QUASAR1,
    FAMILY_SUNSPEC,
    FAMILY_ZENDURE,
    open_device_form,
)
from .helpers import wait_for_plan
from .site_helpers import GRID, _settle, async_setup_site_entities, site_entry

pytestmark = pytest.mark.usefixtures("echonet_on_loopback")

SCENARIO = Path(__file__).resolve().parents[2] / "simulator" / "scenarios" / "default.toml"
METER = "sensor.office_power"
OFFICE_BAYS = ("office_bay_1", "office_bay_2")


@pytest.fixture
async def world(allow_loopback: None) -> AsyncIterator[Simulation]:
    """The default scenario of the simulator, every device on a free loopback port."""
    config = load_scenario(SCENARIO)
    devices: list[QuasarConfig | SunSpecConfig | EchonetConfig | ZendureConfig | BluettiConfig]
    devices = [*config.quasars, *config.sunspecs, *config.echonets, *config.zendures]
    for device in [*devices, *config.bluettis]:
        device.port = 0
    config.control_port = None  # no control API: nothing but the devices listens
    sim = Simulation(config)
    await sim.start()
    yield sim
    await sim.stop()


def simulated_serials(sim: Simulation) -> dict[str, set[str]]:
    """Every serial number the simulator's twins report, by device name."""
    serials: dict[str, set[str]] = {}
    for name, quasar in sim.quasars.items():
        serials[name] = {str(quasar.config.serial)}
    for name, sunspec in sim.sunspecs.items():
        serials[name] = {sunspec.config.serial}
    for name, echonet in sim.echonets.items():
        full = echonet.config.identification.hex()
        serials[name] = {full, full[-TITLE_SERIAL_TAIL:]}  # titles show the tail
    for name, zendure in sim.zendures.items():
        report = zendure.report()
        serials[name] = {report["sn"], *(pack["sn"] for pack in report["packData"])}
    for name, bluetti in sim.bluettis.items():
        serials[name] = {str(bluetti.config.serial)}
    return serials


def _port(sim: Simulation, name: str) -> int:
    if name in sim.quasars:
        return sim.quasars[name].server.port
    if name in sim.sunspecs:
        return sim.sunspecs[name].server.port
    if name in sim.echonets:
        return sim.echonets[name].port
    if name in sim.zendures:
        return sim.zendures[name].port
    return sim.bluettis[name].server.port


async def _add_through_flow(
    hass: HomeAssistant, sim: Simulation, family: str, name: str
) -> ConfigEntry:
    """Add a device the way a user does; the entry is set up afterwards."""
    result = await open_device_form(hass, family)
    user_input: dict[str, Any] = {CONF_HOST: "127.0.0.1", CONF_PORT: _port(sim, name)}
    if family in (FAMILY_QUASAR1, FAMILY_SUNSPEC):
        user_input[CONF_UNIT_ID] = 1
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.CREATE_ENTRY, result
    await hass.async_block_till_done()
    entry: ConfigEntry = result["result"]
    return entry


async def test_no_serial_number_in_any_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, world: Simulation
) -> None:
    """Search the whole JSON of every entry kind for every serial of the simulator."""
    devices = {
        "quasar": FAMILY_QUASAR1,
        "sunspec": FAMILY_SUNSPEC,
        "nichicon": FAMILY_ECHONET,
        "zendure": FAMILY_ZENDURE,
        "bluetti": FAMILY_BLUETTI,
        **dict.fromkeys(OFFICE_BAYS, FAMILY_QUASAR1),
    }
    entries = {
        name: await _add_through_flow(hass, world, family, name) for name, family in devices.items()
    }
    await async_setup_site_entities(hass)
    site_config = site_entry([entries[name].entry_id for name in ("quasar", "nichicon", "zendure")])
    site_config.add_to_hass(hass)
    assert await hass.config_entries.async_setup(site_config.entry_id)
    await hass.async_block_till_done()
    site: BackupSite = site_config.runtime_data
    hass.states.async_set(GRID, "off")
    await _settle(hass, site)
    assert site.machine.state is BackupState.ON_VEHICLE_POWER
    assert site.data is not None
    assert site.data.active_source is not None  # a title that carries a serial

    hass.states.async_set(METER, "50", {"unit_of_measurement": "kW", "device_class": "power"})
    office = MockConfigEntry(
        domain=DOMAIN,
        title="Office",
        data={
            CONF_KIND: EntryKind.BUILDING.value,
            CONF_VEHICLES: [entries[name].entry_id for name in OFFICE_BAYS],
            CONF_BUILDING_POWER: METER,
            CONF_METER_INCLUDES_VEHICLES: False,
        },
    )
    office.add_to_hass(hass)
    assert await hass.config_entries.async_setup(office.entry_id)
    manager: BuildingManager = office.runtime_data
    await wait_for_plan(hass, manager)

    serials = simulated_serials(world)
    every_serial = {serial.casefold() for names in serials.values() for serial in names}
    # The premise: the serials are really there, in the titles and the registry.
    titles = " ".join(entry.title for entry in entries.values()).casefold()
    assert all(str(world.quasars[name].config.serial) in titles for name in OFFICE_BAYS)
    registry = dr.async_get(hass)
    assert any(
        device.serial_number
        for entry in hass.config_entries.async_entries(DOMAIN)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
    )

    leaks: dict[str, list[str]] = {}
    for entry in [*entries.values(), site_config, office]:
        diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, entry)
        text = json.dumps(diagnostics).casefold()
        assert REDACTED.casefold() in text
        if leaked := sorted(serial for serial in every_serial if serial in text):
            leaks[entry.title] = leaked
    assert leaks == {}

    await hass.config_entries.async_unload(office.entry_id)
    await hass.config_entries.async_unload(site_config.entry_id)
    for entry in entries.values():
        await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


@dataclass
class _Pack:
    serial_number: str
    label: str


async def test_redaction_reaches_every_container(hass: HomeAssistant) -> None:
    """Keys at any depth, tuples, sets, dataclasses, dict keys, numbers and substrings."""
    assert redact(hass, {"host": "h", "name": "SERIAL-0042"}) == {  # no entry: no serial
        "host": REDACTED,
        "name": "SERIAL-0042",
    }
    MockConfigEntry(domain=DOMAIN, unique_id="SERIAL-0042").add_to_hass(hass)
    MockConfigEntry(domain=DOMAIN, unique_id="abc").add_to_hass(hass)  # too short to matter
    MockConfigEntry(domain=DOMAIN, unique_id="20240117").add_to_hass(hass)
    assert known_serials(hass) == {"SERIAL-0042", "20240117"}
    data = {
        "host": "10.0.0.7",
        "empty_host": {"host": ""},
        "nested": ({"sn": "x", "note": "pack serial-0042 is warm"}, {"serial-0042": 1}),
        "set": {"SERIAL-0042"},
        "number": 20240117,
        "other_number": 7,
        "flag": True,
        "name": "Wallbox Quasar 1 20240117",
        "abc": "abc stays",
        "none": None,
        "pack": _Pack("other", "in SERIAL-0042"),
    }
    assert redact(hass, data) == {
        "host": REDACTED,
        "empty_host": {"host": ""},
        "nested": [{"sn": REDACTED, "note": f"pack {REDACTED} is warm"}, {REDACTED: 1}],
        "set": [REDACTED],
        "number": REDACTED,
        "other_number": 7,
        "flag": True,
        "name": f"Wallbox Quasar 1 {REDACTED}",
        "abc": "abc stays",
        "none": None,
        "pack": {"serial_number": REDACTED, "label": f"in {REDACTED}"},
    }
