"""The shape of the integration: no import cycle, no entry-kind switch, families in one place.

These read the source (``ast``), so they fail on the line that breaks the rule.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re

from custom_components.v2x.devices.family import DeviceKind
from custom_components.v2x.devices.registry import FAMILIES

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "v2x"
PACKAGE = "custom_components.v2x"
# The runtime types of the four kinds of entry; asking which one an entry holds is the
# job of runtime.visit, which dispatches on the kind each class names.
RUNTIME_TYPES = {"ChargerRuntimeData", "BatteryRuntimeData", "BackupSite", "BuildingManager"}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in sorted(INTEGRATION.rglob("*.py"))}


def _imports(name: str, path: Path) -> set[str]:
    """Every module of the package that ``name`` imports, type-checking imports included."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if target in MODULES:
                found.add(target)
            found.update(
                f"{target}.{alias.name}"
                for alias in node.names
                if f"{target}.{alias.name}" in MODULES
            )
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in MODULES)
    found.discard(name)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph[node]:
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in graph:
        if node not in index:
            connect(node)
    return groups


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The check below can fail: a two-module and a three-module cycle are found."""
    graph = {"a": {"b"}, "b": {"a"}, "c": {"d"}, "d": {"e"}, "e": {"c"}, "f": {"a"}}
    assert sorted(_cycles(graph)) == [["a", "b"], ["c", "d", "e"]]


def test_no_import_cycle_in_the_integration() -> None:
    """No module imports, even for type checking only, a module that imports it back."""
    graph = {name: _imports(name, path) for name, path in MODULES.items()}
    assert graph[f"{PACKAGE}.config_flow"], "the import graph was not read"
    assert _cycles(graph) == []


def _ha_layer() -> dict[str, Path]:
    """The Home Assistant layer: every module but the pure cores."""
    cores = (f"{PACKAGE}.devices", f"{PACKAGE}.planner", f"{PACKAGE}.backup")
    return {name: path for name, path in MODULES.items() if not name.startswith(cores)}


def test_no_platform_or_service_asks_which_kind_an_entry_is() -> None:
    """``isinstance(x, <a runtime type>)`` nowhere: runtime.visit dispatches on the kind."""
    offenders = []
    for name, path in _ha_layer().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and ast.unparse(node.func) == "isinstance"):
                continue
            named = set(re.findall(r"\w+", ast.unparse(node.args[1])))
            if named & RUNTIME_TYPES:
                offenders.append(f"{name}:{node.lineno}: {ast.unparse(node)}")
    assert offenders == []


def test_the_home_assistant_layer_names_no_device_family() -> None:
    """Families are found through the registry: no key, no profile module named outside it."""
    profiles = {
        name
        for name, path in MODULES.items()
        if name.startswith(f"{PACKAGE}.devices.") and "\nFAMILY: Final = " in path.read_text()
    }
    assert {name.removeprefix(f"{PACKAGE}.devices.") for name in profiles} == {
        "quasar",
        "sunspec.charger",
        "echonet.ev_charger",
        "echonet.storage_battery",
        "bidipro",
        "zendure",
        "bluetti",
    }
    offenders = []
    for name, path in _ha_layer().items():
        source = path.read_text(encoding="utf-8")
        offenders += [f"{name}: {key!r}" for key in FAMILIES if f'"{key}"' in source]
        offenders += [
            f"{name} imports {imported}"
            for imported in _imports(name, path)
            if imported in profiles
        ]
    assert offenders == []


def test_every_family_is_registered_with_its_labels_and_discovery() -> None:
    """Each family: a kind, a product label in every language, its zeroconf types declared."""
    assert set(FAMILIES) == {
        "quasar1",
        "sunspec",
        "echonet_lite",
        "echonet_storage",
        "bidipro",
        "zendure",
        "bluetti",
    }
    assert {family.kind for family in FAMILIES.values()} == set(DeviceKind)
    for path in (
        INTEGRATION / "strings.json",
        *sorted((INTEGRATION / "translations").glob("*.json")),
    ):
        labels = json.loads(path.read_text(encoding="utf-8"))["selector"]["product"]["options"]
        assert set(labels) == set(FAMILIES), path.name
        assert all(label.strip() for label in labels.values()), path.name
    manifest = json.loads((INTEGRATION / "manifest.json").read_text(encoding="utf-8"))
    announced = {item["type"] for item in manifest.get("zeroconf", [])}
    assert announced == {kind for family in FAMILIES.values() for kind in family.zeroconf}
    for family in FAMILIES.values():
        if family.kind is DeviceKind.BATTERY:
            assert family.poll is not None
            assert 0 < family.poll.min_s <= family.poll.default_s
        assert 0 < family.default_port < 65536
        assert family.products
