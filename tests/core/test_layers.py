"""The layering rules of the repository, checked by walking every import with ast.

The core (devices/, planner/, backup/ under custom_components/v2x) is the part that
needs no Home Assistant: each of its three packages imports only the standard library,
itself and a few PyPI packages, never another core package and never the Home
Assistant layer (every other module of the integration, its ``__init__`` included).
These tests import no Home Assistant themselves, so they run in both environments.
"""

from __future__ import annotations

import ast
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[2]
INTEGRATION = ROOT / "custom_components" / "v2x"
PACKAGE = "custom_components.v2x"
CORE = ("devices", "planner", "backup")
# The PyPI packages each core package may import (requirements_newest_pymodbus.txt
# installs them next to the tests, without Home Assistant).
THIRD_PARTY = {
    "devices": {"aiohttp", "pymodbus"},
    "planner": {"highspy", "numpy"},
    "backup": set[str](),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    """Every module that a file imports, relative imports resolved to absolute names
    (``from . import x`` counts as the module ``x`` when it is one); imports under
    ``if TYPE_CHECKING:`` count too."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            modules.add(module)
            for alias in node.names:
                name = f"{module}.{alias.name}"
                if _source(name) is not None:
                    modules.add(name)
    return modules


def _source(module: str) -> Path | None:
    """The file of a first-party module, if it is one."""
    path = ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _layer(module: str) -> str | None:
    """'devices', 'planner', 'backup', 'ha' (the rest of the integration), or None."""
    if module != PACKAGE and not module.startswith(f"{PACKAGE}."):
        return None
    sub = module.removeprefix(PACKAGE).lstrip(".").split(".")[0]
    return sub if sub in CORE else "ha"


def _files(folder: Path) -> list[Path]:
    return sorted(folder.glob("**/*.py"))


def test_imports_resolve_relative_imports() -> None:
    """The walker sees what it must: relative imports and imported submodules."""
    imports = _imports(INTEGRATION / "devices" / "zendure.py")
    assert f"{PACKAGE}.devices.family" in imports
    assert "aiohttp" in imports
    imports = _imports(INTEGRATION / "config_flow.py")
    assert f"{PACKAGE}.building_flow" in imports  # from . import building_flow
    assert _layer(f"{PACKAGE}.building_flow") == "ha"
    assert _layer(PACKAGE) == "ha"
    assert _layer(f"{PACKAGE}.planner.lp") == "planner"
    assert _layer("numpy") is None


def test_core_packages_import_only_themselves_the_standard_library_and_their_packages() -> None:
    """devices/, planner/ and backup/ import nothing from each other or from the Home
    Assistant layer, never Home Assistant, and no PyPI package but their own."""
    for layer in CORE:
        files = _files(INTEGRATION / layer)
        assert files, layer
        for path in files:
            for module in _imports(path):
                top = module.split(".")[0]
                if top == "custom_components":
                    assert _layer(module) == layer, f"{path.relative_to(ROOT)} imports {module}"
                else:
                    assert top in sys.stdlib_module_names or top in THIRD_PARTY[layer], (
                        f"{path.relative_to(ROOT)} imports {module}"
                    )


def test_pure_layers_never_import_home_assistant() -> None:
    """devices/, planner/ and backup/ stay free of Home Assistant."""
    for layer in CORE:
        for path in (INTEGRATION / layer).glob("**/*.py"):
            assert not any(m.split(".")[0] == "homeassistant" for m in _imports(path)), path


def test_simulator_is_independent() -> None:
    """The simulator never imports the integration, and the integration never the simulator."""
    for path in (ROOT / "simulator").glob("**/*.py"):
        assert not any(m.startswith("custom_components") for m in _imports(path)), path
    for path in INTEGRATION.glob("**/*.py"):
        assert not any(m.startswith("simulator") for m in _imports(path)), path


def test_integration_never_imports_the_harness_or_the_test_tools() -> None:
    """harness/ (the demo's and the process tests' Home Assistant runner), tests/ and
    benchmarks/ stay outside what HACS installs."""
    for path in _files(INTEGRATION):
        for module in _imports(path):
            assert module.split(".")[0] not in {"harness", "tests", "benchmarks"}, (
                f"{path.relative_to(ROOT)} imports {module}"
            )


def test_importing_the_core_runs_no_home_assistant() -> None:
    """A fresh interpreter that imports every core module has loaded no Home Assistant
    (nor voluptuous) and nothing of the integration but the core and its ``__init__``."""
    modules = [_module_name(path) for layer in CORE for path in _files(INTEGRATION / layer)]
    script = "\n".join(
        [
            "import importlib, sys",
            f"for name in {modules!r}:",
            "    importlib.import_module(name)",
            "print('\\n'.join(sorted(sys.modules)))",
        ]
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, a fixed script
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.split())
    assert set(modules) <= loaded
    assert not {m for m in loaded if m.split(".")[0] in {"homeassistant", "voluptuous"}}
    integration = {m for m in loaded if _layer(m) == "ha"}
    assert integration == {PACKAGE}, integration


def test_core_tests_need_no_home_assistant() -> None:
    """tests/core runs in the environment without Home Assistant too."""
    for path in _files(ROOT / "tests" / "core"):
        for module in _imports(path):
            assert module.split(".")[0] not in {
                "homeassistant",
                "pytest_homeassistant_custom_component",
                "voluptuous",
            }, f"{path.relative_to(ROOT)} imports {module}"
            assert not module.startswith("tests.ha"), f"{path.relative_to(ROOT)} imports {module}"
