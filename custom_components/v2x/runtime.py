"""What the platforms, services and diagnostics see of a loaded entry.

Every entry's ``runtime_data`` is an :class:`EntryRuntime`: it names its kind and
platforms, applies new options, stops and closes. What differs per kind is reached
through a :class:`RuntimeVisitor`, so no caller asks which class it holds.

Nothing that this module names imports it back: the runtimes (``models``,
``site``, ``building``) know nothing of the platforms that read them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol, cast

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import Platform

from .models import EntryKind, of_kind

if TYPE_CHECKING:
    from .building import BuildingManager
    from .models import BatteryRuntimeData, ChargerRuntimeData
    from .site import BackupSite


class EntryRuntime(Protocol):
    """What every loaded entry owns and can do."""

    kind: ClassVar[EntryKind]
    platforms: ClassVar[tuple[Platform, ...]]

    async def async_apply_options(self) -> None:
        """Apply changed options at once, without reconnecting."""

    async def async_stop(self) -> None:
        """Stop what runs (sessions, a backup); the entities are still there."""

    async def async_close(self) -> None:
        """Close connections once the platforms are unloaded."""


type V2XConfigEntry = ConfigEntry[EntryRuntime]


class RuntimeVisitor[T]:
    """Something done differently per kind of entry.

    Override the kinds that matter; the others get :meth:`otherwise`.
    """

    def otherwise(self, runtime: EntryRuntime) -> T:
        """What kinds without their own method get."""
        raise NotImplementedError(f"nothing to do for a {runtime.kind} entry")

    def charger(self, runtime: ChargerRuntimeData) -> T:
        """A charger entry."""
        return self.otherwise(runtime)

    def battery(self, runtime: BatteryRuntimeData) -> T:
        """A portable-battery entry."""
        return self.otherwise(runtime)

    def site(self, runtime: BackupSite) -> T:
        """A backup-site entry."""
        return self.otherwise(runtime)

    def building(self, runtime: BuildingManager) -> T:
        """A vehicle-to-building entry."""
        return self.otherwise(runtime)


def visit[T](runtime: EntryRuntime, visitor: RuntimeVisitor[T]) -> T:
    """Call the visitor's method for the runtime's kind (each class names its own)."""
    match runtime.kind:
        case EntryKind.CHARGER:
            return visitor.charger(cast("ChargerRuntimeData", runtime))
        case EntryKind.BATTERY:
            return visitor.battery(cast("BatteryRuntimeData", runtime))
        case EntryKind.SITE:
            return visitor.site(cast("BackupSite", runtime))
        case EntryKind.BUILDING:
            return visitor.building(cast("BuildingManager", runtime))


class EntityVisitor[EntityT](RuntimeVisitor[list[EntityT]]):
    """The entities of one platform per kind of entry; kinds without any get none."""

    def otherwise(self, runtime: EntryRuntime) -> list[EntityT]:
        """No entities of this platform for this kind."""
        return []


def loaded(entry: ConfigEntry[Any]) -> EntryRuntime | None:
    """The runtime of an entry, or None while it is not loaded."""
    runtime = getattr(entry, "runtime_data", None)
    return cast("EntryRuntime | None", runtime)


def as_charger(runtime: EntryRuntime | None) -> ChargerRuntimeData | None:
    """The charger runtime, or None for any other kind (or nothing loaded)."""
    return cast("ChargerRuntimeData", runtime) if of_kind(runtime, EntryKind.CHARGER) else None


def as_battery(runtime: EntryRuntime | None) -> BatteryRuntimeData | None:
    """The portable-battery runtime, or None for any other kind."""
    return cast("BatteryRuntimeData", runtime) if of_kind(runtime, EntryKind.BATTERY) else None


def as_site(runtime: EntryRuntime | None) -> BackupSite | None:
    """The backup site, or None for any other kind."""
    return cast("BackupSite", runtime) if of_kind(runtime, EntryKind.SITE) else None


def as_building(runtime: EntryRuntime | None) -> BuildingManager | None:
    """The building, or None for any other kind."""
    return cast("BuildingManager", runtime) if of_kind(runtime, EntryKind.BUILDING) else None
