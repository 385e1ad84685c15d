"""The device-family registry: every ``FAMILY`` declared by a module of this package.

Adding a family is adding a profile module that declares ``FAMILY``; nothing here
or in the Home Assistant layer names it. The package is walked once, at import
(Home Assistant imports integrations in an executor thread, so this never blocks
the event loop).
"""

from __future__ import annotations

from collections.abc import Mapping
import importlib
import pkgutil
from types import MappingProxyType

from .family import DeviceFamily, DeviceKind, UnknownFamilyError


def _discover() -> dict[str, DeviceFamily]:
    package = importlib.import_module(__package__ or "")
    found: dict[str, DeviceFamily] = {}
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        family = getattr(importlib.import_module(info.name), "FAMILY", None)
        if not isinstance(family, DeviceFamily) or found.get(family.key) is family:
            continue
        if family.key in found:
            raise ValueError(f"two device families are called {family.key!r}")
        found[family.key] = family
    return dict(sorted(found.items()))


FAMILIES: Mapping[str, DeviceFamily] = MappingProxyType(_discover())


def family(key: str) -> DeviceFamily:
    """The family stored as ``key`` in a config entry."""
    try:
        return FAMILIES[key]
    except KeyError:
        raise UnknownFamilyError(f"unknown device family {key!r}") from None


def families(kind: DeviceKind | None = None) -> list[DeviceFamily]:
    """Every family (of one kind), in a stable order."""
    return [each for each in FAMILIES.values() if kind is None or each.kind is kind]


def network_scanned() -> list[DeviceFamily]:
    """The families whose devices a scan of the local network finds (ECHONET Lite)."""
    return [each for each in FAMILIES.values() if each.network_scan]


def by_network_scan() -> DeviceFamily:
    """The first network-scanned family (what a discovery without a family meant)."""
    return network_scanned()[0]


def by_zeroconf(service_type: str) -> DeviceFamily | None:
    """The family announcing itself with ``service_type``, if any."""
    wanted = service_type.rstrip(".")
    for each in FAMILIES.values():
        if any(announced.rstrip(".") == wanted for announced in each.zeroconf):
            return each
    return None
