"""The action forms as a person fills them in: what the fields accept, what each refuses
(always with a translated error), and which devices each picker offers.

Issue 18 found the power field refusing 1000, 3000 and 7400 W (min 1, step 10: the
browser accepts only 1, 11, 21 …), a raw voluptuous message for -500 W, and every V2X
device offered for every action.
"""

from __future__ import annotations

import json
from pathlib import Path
import string
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr, entity_registry as er, selector
from homeassistant.util.yaml import load_yaml_dict
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.const import DOMAIN
from custom_components.v2x.site import BackupSite

from .families import quasar_device_id
from .site_helpers import site_device_id

COMPONENT = Path(__file__).parents[2] / "custom_components" / "v2x"
SERVICES = load_yaml_dict(COMPONENT / "services.yaml")
MESSAGES = {
    language: json.loads((COMPONENT / "translations" / f"{language}.json").read_text("utf-8"))[
        "exceptions"
    ]
    for language in ("en", "ja")
}


def _field(service: str, field: str) -> dict[str, Any]:
    config: dict[str, Any] = SERVICES[service]["fields"][field]["selector"]
    return config


@pytest.mark.parametrize("service", ["charge", "discharge"])
@pytest.mark.parametrize("power", [1, 1000, 3000, 3700, 7400, 11000, 22000])
def test_the_power_field_takes_round_numbers(service: str, power: int) -> None:
    """What the browser accepts: min ≤ value ≤ max and (value - min) a multiple of step."""
    number = _field(service, "power_w")["number"]
    assert number["min"] <= power <= number["max"]
    assert (power - number["min"]) % number["step"] == 0
    assert selector.NumberSelector(number)(power) == power


def _translated(err: ServiceValidationError) -> None:
    """The key exists in both languages and every placeholder it names is given."""
    assert err.translation_domain == DOMAIN
    for language, messages in MESSAGES.items():
        message = messages[err.translation_key]["message"]
        names = {name for _, name, _, _ in string.Formatter().parse(message) if name}
        assert names <= set(err.translation_placeholders or {}), (language, names)
        message.format(**(err.translation_placeholders or {}))


REFUSED = [
    ("charge", {"power_w": -500}, "power_not_positive"),
    ("discharge", {"power_w": 0}, "power_not_positive"),
    ("discharge", {"power_w": 150_000}, "value_out_of_range"),
    ("charge", {"power_w": 3000, "until_soc_pct": 150}, "value_out_of_range"),
    ("discharge", {"power_w": 3000, "until_soc_pct": 0}, "value_out_of_range"),
    ("charge", {"power_w": 3000, "duration": {"seconds": 0}}, "duration_out_of_range"),
    ("set_output", {"enabled": True, "output_limit_w": -1}, "value_out_of_range"),
    ("run_drill", {"duration": {"hours": 5}}, "duration_out_of_range"),
    ("run_drill", {"duration": {"minutes": -5}}, "duration_out_of_range"),
    ("set_departure", {"target_soc_pct": 5}, "value_out_of_range"),
    ("set_departure", {"target_soc_pct": 101}, "value_out_of_range"),
]


@pytest.mark.parametrize(("service", "data", "key"), REFUSED)
async def test_a_value_out_of_range_is_a_translated_error(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    service: str,
    data: dict[str, Any],
    key: str,
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, service, {"device_id": quasar_device_id(hass), **data}, blocking=True
        )
    assert err.value.translation_key == key
    _translated(err.value)
    assert init_integration.runtime_data.controller.session is None


def test_every_refusal_names_its_field() -> None:
    messages = MESSAGES["en"]
    assert "{field}" in messages["value_out_of_range"]["message"]
    assert "v2x.stop" in messages["power_not_positive"]["message"]
    assert "v2x.stop" in MESSAGES["ja"]["power_not_positive"]["message"]


WRONG_DEVICE = [
    ("start_backup", "not_a_site"),
    ("end_backup", "not_a_site"),
    ("run_drill", "not_a_site"),
    ("set_output", "not_a_battery"),
    ("get_plan", "not_a_v2b_vehicle"),
    ("set_departure", "not_a_v2b_vehicle"),
]


@pytest.mark.parametrize(("service", "key"), WRONG_DEVICE)
async def test_the_wrong_kind_of_device_is_a_translated_error(
    hass: HomeAssistant, init_integration: MockConfigEntry, service: str, key: str
) -> None:
    data: dict[str, Any] = {"device_id": quasar_device_id(hass)}
    if service == "set_output":
        data["enabled"] = True
    if service == "set_departure":
        data["target_soc_pct"] = 80
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=service == "get_plan"
        )
    assert err.value.translation_key == key
    _translated(err.value)


@pytest.mark.parametrize("service", ["charge", "discharge", "stop"])
async def test_a_site_given_to_a_charger_action_is_a_translated_error(
    hass: HomeAssistant, site: BackupSite, service: str
) -> None:
    data: dict[str, Any] = {"device_id": site_device_id(hass, site)}
    if service != "stop":
        data["power_w"] = 1000
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, service, data, blocking=True)
    assert err.value.translation_key == "not_a_charger"
    _translated(err.value)


async def test_an_unknown_device_is_a_translated_error(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(DOMAIN, "stop", {"device_id": "nope"}, blocking=True)
    assert err.value.translation_key == "device_not_found"
    _translated(err.value)


def _v2x_devices(hass: HomeAssistant) -> list[dr.DeviceEntry]:
    """Every device of every V2X entry, once."""
    registry = dr.async_get(hass)
    found = {
        device.id: device
        for entry in hass.config_entries.async_entries(DOMAIN)
        for device in dr.async_entries_for_config_entry(registry, entry.entry_id)
    }
    return list(found.values())


def _offered(hass: HomeAssistant, service: str) -> set[str]:
    """The V2X devices a device picker with the service's filter offers.

    The frontend's rule: the device belongs to the integration and has at least one
    entity matching one of the entity filters (integration, domain, device class).
    """
    config = _field(service, "device_id")["device"]
    filters = config["entity"]
    entities = er.async_get(hass)
    offered = set()
    for device in _v2x_devices(hass):
        for entry in er.async_entries_for_device(entities, device.id):
            for wanted in filters:
                if entry.platform != wanted["integration"]:
                    continue
                if entry.domain != wanted["domain"]:
                    continue
                device_class = entry.device_class or entry.original_device_class
                if "device_class" in wanted and device_class != wanted["device_class"]:
                    continue
                offered.add(device.id)
    return offered


async def test_each_picker_offers_the_devices_its_action_takes(
    hass: HomeAssistant, site: BackupSite, zendure_entry: MockConfigEntry
) -> None:
    quasar = quasar_device_id(hass)
    home = site_device_id(hass, site)
    (zendure_device,) = dr.async_entries_for_config_entry(
        dr.async_get(hass), zendure_entry.entry_id
    )
    zendure = zendure_device.id
    expected = {
        "charge": {quasar},
        "discharge": {quasar},
        "stop": {quasar},
        "set_output": {zendure},
        "start_backup": {home},
        "end_backup": {home},
        "run_drill": {home},
        "get_plan": set(),
        "set_departure": set(),
    }
    assert set(expected) == set(SERVICES)
    for service, devices in expected.items():
        assert _offered(hass, service) == devices, service


async def test_the_building_pickers(hass: HomeAssistant, building: Any) -> None:
    """The plan's picker offers the building and its car bays; the departure's, the bays."""
    entry_id = building.entry.entry_id
    devices = {
        device.id: device
        for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    }
    whole = {
        d for d, device in devices.items() if (DOMAIN, f"v2b_{entry_id}") in device.identifiers
    }
    bays = {
        d
        for d, device in devices.items()
        if any(ident.startswith(f"v2b_{entry_id}_") for _, ident in device.identifiers)
    }
    assert whole
    assert bays
    assert _offered(hass, "get_plan") == whole | bays
    assert _offered(hass, "set_departure") == bays
