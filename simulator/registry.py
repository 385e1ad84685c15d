"""The twin registry: every device family the simulator can serve.

Each twin module registers its family once, at import time::

    KIND = register(TwinKind("quasar", "quasars", QuasarConfig, QuasarTwin, parse=...))

and :mod:`simulator.twins` imports every twin module. The world
(:mod:`simulator.world`) and the control API (:mod:`simulator.control_api`) only
iterate :func:`twin_kinds`: scenario tables, building the twins, their part of
``GET /state`` and their own control-API endpoints all come from here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from .twin import ChargerTwin, DeviceEndpoint, Twin, TwinConfig

if TYPE_CHECKING:
    from .clock import SimClock
    from .world import Grid

RESERVED_TABLES = frozenset(("speed", "control", "grid", "site", "sites"))
"""Top-level scenario keys the world itself reads."""
COMMON_ENDPOINTS = frozenset(("state", "car", "fault", "writes"))
"""Paths under ``/devices/{name}/`` the control API serves for every device."""


@dataclass(frozen=True, slots=True)
class TwinKind[ConfigT: TwinConfig, TwinT: Twin[Any]]:
    """One device family.

    ``table`` is its scenario table (``[[quasar]]``); ``group`` the name of its list of
    configs on a ScenarioConfig and of its dict of twins on a Simulation
    (``quasars``, also a ``ScenarioConfig(quasars=[...])`` keyword). ``parse`` turns one
    scenario table entry into a config (default: the entry as keyword arguments).
    """

    table: str
    group: str
    config_type: type[ConfigT]
    twin_type: type[TwinT]
    parse: Callable[[dict[str, Any]], ConfigT] | None = field(default=None, compare=False)

    @property
    def charger(self) -> bool:
        """Whether the family charges cars (its power counts for a site; a site source)."""
        return issubclass(self.twin_type, ChargerTwin)

    @property
    def endpoints(self) -> tuple[DeviceEndpoint[Any], ...]:
        """The family's own control-API endpoints."""
        return self.twin_type.endpoints

    def config(self, entry: dict[str, Any]) -> ConfigT:
        """One scenario table entry as a config (ValueError or TypeError when invalid)."""
        if self.parse is not None:
            return self.parse(dict(entry))
        return self.config_type(**entry)

    def build(self, config: ConfigT, clock: SimClock, grid: Grid) -> TwinT:
        """The twin of one config, attached to the world; nothing listens yet."""
        return self.twin_type(config, clock, grid)

    def configs(self, by_table: dict[str, list[Any]]) -> list[ConfigT]:
        """This family's configs in a ScenarioConfig's ``device_configs``."""
        return cast("list[ConfigT]", by_table.setdefault(self.table, []))

    def twins(self, by_table: dict[str, dict[str, Any]]) -> dict[str, TwinT]:
        """This family's twins in a Simulation's ``twins_by_table``."""
        return cast("dict[str, TwinT]", by_table.setdefault(self.table, {}))


_KINDS: dict[str, TwinKind[Any, Any]] = {}


def register[KindT: TwinKind[Any, Any]](kind: KindT) -> KindT:
    """Add a family (once, from its module); the families keep the order of registration."""
    for other in _KINDS.values():
        if kind.table in (other.table, other.group) or kind.group in (other.table, other.group):
            raise ValueError(f"twin family {kind.table!r} clashes with {other.table!r}")
    if {kind.table, kind.group} & RESERVED_TABLES:
        raise ValueError(f"{kind.table!r}/{kind.group!r}: reserved scenario key")
    for endpoint in kind.endpoints:
        if endpoint.path.split("/")[0] in COMMON_ENDPOINTS:
            raise ValueError(f"endpoint {endpoint.path!r} shadows a common device endpoint")
    _KINDS[kind.table] = kind
    return kind


def unregister(table: str) -> None:
    """Remove a family (tests that register a family of their own)."""
    del _KINDS[table]


def twin_kinds() -> tuple[TwinKind[Any, Any], ...]:
    """Every registered family, in the order of registration."""
    from . import twins  # noqa: F401, PLC0415 - importing it registers the shipped twins

    return tuple(_KINDS.values())


def kind_by_group(group: str) -> TwinKind[Any, Any] | None:
    """The family whose ``group`` is ``group`` (``"quasars"``), if any."""
    for kind in twin_kinds():
        if kind.group == group:
            return kind
    return None
