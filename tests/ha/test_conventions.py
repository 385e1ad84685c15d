"""Home Assistant and HACS conventions (the layering rules: tests/core/test_layers.py)."""

from __future__ import annotations

import importlib.metadata
import json
from pathlib import Path
import re
from typing import Any

import homeassistant
from homeassistant.components.binary_sensor import (
    BinarySensorDeviceClass,
    BinarySensorEntityDescription,
)
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util.yaml import load_yaml_dict
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from custom_components.v2x import binary_sensor, building_entities
from custom_components.v2x.const import DOMAIN

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "v2x"
HACS_KEYS = {
    "name", "content_in_root", "zip_release", "filename", "hide_default_branch",
    "country", "homeassistant", "hacs", "persistent_directory", "render_readme",
}  # fmt: skip


def _json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _paths(tree: Any, prefix: str = "") -> dict[str, str]:
    """Flatten nested translation dicts into {'a.b.c': text}."""
    if isinstance(tree, dict):
        flat: dict[str, str] = {}
        for key, value in tree.items():
            flat |= _paths(value, f"{prefix}.{key}" if prefix else key)
        return flat
    return {prefix: tree}


def test_manifest_keys_sorted_and_complete() -> None:
    """domain, name, then alphabetical (hassfest); HACS's required keys present."""
    manifest = _json(INTEGRATION / "manifest.json")
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    for key in ("codeowners", "documentation", "issue_tracker", "version", "iot_class",
                "integration_type", "config_flow", "loggers", "requirements"):  # fmt: skip
        assert key in manifest, key
    assert manifest["domain"] == DOMAIN == INTEGRATION.name
    assert manifest["iot_class"] == "local_polling"
    assert "pymodbus>=3.8.3,<4" in manifest["requirements"]
    assert all(" " not in requirement for requirement in manifest["requirements"])


def test_hacs_json_has_only_known_keys() -> None:
    """HACS's schema refuses unknown keys."""
    hacs = _json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS
    assert hacs["homeassistant"] == "2025.4.0"
    assert hacs["name"]


def test_translations_complete() -> None:
    """strings.json is en.json; ja.json has every key with the same placeholders."""
    strings = _json(INTEGRATION / "strings.json")
    english = _paths(_json(INTEGRATION / "translations" / "en.json"))
    japanese = _paths(_json(INTEGRATION / "translations" / "ja.json"))
    assert _paths(strings) == english
    assert set(japanese) == set(english)
    for key, text in english.items():
        assert japanese[key].strip(), key
        assert set(re.findall(r"{\w+}", text)) == set(re.findall(r"{\w+}", japanese[key])), key


def test_an_enum_s_options_read_as_its_states() -> None:
    """The more-info dialog lists an enum sensor's or a select's ``options`` attribute
    through the attribute's value translations: they are the entity's own states (else
    it reads "grid, outage, on_vehicle_power"), in every language."""
    for path in (INTEGRATION / "strings.json", *(INTEGRATION / "translations").glob("*.json")):
        entities = _json(path)["entity"]
        for platform in ("sensor", "select"):
            for key, entity in entities[platform].items():
                if "state" in entity:
                    options = entity["state_attributes"]["options"]
                    assert options["state"] == entity["state"], f"{path.name} {platform}.{key}"


def test_a_binary_sensor_without_a_device_class_says_more_than_on_and_off() -> None:
    """ "Discharging: On", "Plan feasible: On": a binary sensor whose device class does
    not name its states has its own translated ones, in every language."""
    descriptions = [
        value
        for module in (binary_sensor, building_entities)
        for item in vars(module).values()
        for value in (item if isinstance(item, tuple) else (item,))
        # by name: Home Assistant's frozen-dataclass shim makes a class of its own
        if any(
            cls.__name__ == BinarySensorEntityDescription.__name__ for cls in type(value).__mro__
        )
    ]
    plain = {
        d.translation_key
        for d in descriptions
        if d.device_class in (None, BinarySensorDeviceClass.POWER)  # power: "On"/"Off"
    }
    assert {"discharging", "plan_feasible", "on_vehicle_power", "ready"} <= plain
    for path in (INTEGRATION / "strings.json", *(INTEGRATION / "translations").glob("*.json")):
        entities = _json(path)["entity"]["binary_sensor"]
        for key in plain:
            assert set(entities[key].get("state", {})) == {"on", "off"}, f"{path.name} {key}"


def test_icons_refer_to_translated_entities() -> None:
    """Every icon belongs to an entity translation key or a service."""
    icons = _json(INTEGRATION / "icons.json")
    strings = _json(INTEGRATION / "strings.json")
    for platform, keys in icons["entity"].items():
        for key in keys:
            assert key in strings["entity"][platform], f"{platform}.{key}"
    assert set(icons["services"]) == set(strings["services"])


async def test_services_yaml_matches_registered_services(hass: HomeAssistant) -> None:
    """services.yaml, strings.json and the registered services agree."""
    assert await async_setup_component(hass, DOMAIN, {})
    described = load_yaml_dict(INTEGRATION / "services.yaml")
    strings = _json(INTEGRATION / "strings.json")["services"]
    registered = set(hass.services.async_services()[DOMAIN])
    assert set(described) == registered == set(strings)
    for service, spec in described.items():
        assert set(spec["fields"]) == set(strings[service]["fields"]), service


def test_quality_scale_lists_every_rule() -> None:
    """Every rule is done or exempt (exemptions with a reason)."""
    rules = load_yaml_dict(INTEGRATION / "quality_scale.yaml")
    assert len(rules["rules"]) == 52
    for rule, status in rules["rules"].items():
        if isinstance(status, dict):
            assert status["status"] in {"done", "exempt"}, rule
            assert status["comment"], rule
        else:
            assert status == "done", rule


def test_workflows_run_the_test_command_hassfest_and_hacs() -> None:
    workflows = ROOT / ".github" / "workflows"
    tests = load_yaml_dict(str(workflows / "tests.yml"))
    steps = [step for job in tests["jobs"].values() for step in job["steps"]]
    assert any(
        step.get("name") == "./scripts/test" and step.get("run", "").endswith("./scripts/test")
        for step in steps
    )
    # Both Home Assistants, as a matrix: the oldest we support and the newest.
    job = tests["jobs"]["test"]
    assert job["strategy"]["matrix"]["ha"] == ["oldest", "newest"]
    assert job["env"]["V2X_TEST_HA"] == "${{ matrix.ha }}"
    validate = load_yaml_dict(str(workflows / "validate.yml"))
    uses = {step.get("uses", "") for job in validate["jobs"].values() for step in job["steps"]}
    assert "home-assistant/actions/hassfest@master" in uses
    hacs = next(
        step
        for job in validate["jobs"].values()
        for step in job["steps"]
        if step.get("uses", "").startswith("hacs/action")
    )
    assert hacs["with"] == {"category": "integration"}


BUILT_IN_CARDS = frozenset(
    {"entities", "gauge", "glance", "history-graph", "logbook", "markdown", "picture-elements"}
)
BUILT_IN_ELEMENTS = frozenset({"state-label", "state-icon", "icon", "image", "service-button"})


def test_example_dashboard_uses_built_in_cards_and_its_image() -> None:
    """The example dashboard needs no custom card; its power-flow image is shipped."""
    dashboard = load_yaml_dict(str(ROOT / "dashboards" / "v2x-demo.yaml"))
    views = dashboard["views"]
    assert [view["path"] for view in views] == ["home", "apartment", "office"]
    cards = [card for view in views for card in view["cards"]]
    assert {card["type"] for card in cards} <= BUILT_IN_CARDS
    flow = next(card for card in cards if card["type"] == "picture-elements")
    assert {element["type"] for element in flow["elements"]} <= BUILT_IN_ELEMENTS
    image = flow["image"].removeprefix("/local/v2x/")
    assert (ROOT / "dashboards" / image).is_file()
    markdown = next(card for card in cards if card["type"] == "markdown")
    assert "state_attr(s, 'grid_kw')" in markdown["content"]


def _pins(constraints: str) -> dict[str, Version]:
    """``name==version`` lines of a package_constraints.txt, by canonical name."""
    pins: dict[str, Version] = {}
    for line in constraints.splitlines():
        text = line.split("#", 1)[0].strip()
        if not text or ";" in text:
            continue
        requirement = Requirement(text)
        exact = [s.version for s in requirement.specifier if s.operator == "=="]
        if len(exact) == 1:
            pins[canonicalize_name(requirement.name)] = Version(exact[0])
    return pins


def test_manifest_requirements_never_fight_home_assistants_pins() -> None:
    """Every manifest requirement is a range, and holds the version this Home Assistant
    pins (run on the oldest and the newest release, so both are proven)."""
    core = Path(homeassistant.__file__).parent
    pins = _pins((core / "package_constraints.txt").read_text(encoding="utf-8"))
    # Its own modbus integration pins pymodbus (package_constraints has it from 2026 on).
    modbus = _json(core / "components" / "modbus" / "manifest.json")["requirements"]
    pins |= _pins("\n".join(modbus))
    assert "pymodbus" in pins
    for text in _json(INTEGRATION / "manifest.json")["requirements"]:
        requirement = Requirement(text)
        assert not any(s.operator == "==" for s in requirement.specifier), (
            f"{text}: an exact pin would fight other integrations; use a tested range"
        )
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is not None:
            assert requirement.specifier.contains(pinned), f"{text} excludes HA's {pinned}"
        installed = Version(importlib.metadata.version(requirement.name))
        assert requirement.specifier.contains(installed), f"{text} excludes tested {installed}"
