"""The device-family registry: what a family must declare, and how one is found."""

from __future__ import annotations

import pytest

from custom_components.v2x.devices import quasar, zendure
from custom_components.v2x.devices.family import (
    Connection,
    DeviceFamily,
    DeviceKind,
    PollLimits,
    UnknownFamilyError,
)
from custom_components.v2x.devices.registry import FAMILIES, by_zeroconf, families, family


def test_every_profile_is_found_once_in_a_stable_order() -> None:
    """The walk finds each profile's FAMILY; chargers and batteries apart."""
    assert list(FAMILIES) == sorted(FAMILIES)
    assert family("quasar1") is quasar.FAMILY
    assert [each.key for each in families(DeviceKind.BATTERY)] == ["bluetti", "zendure"]
    assert {each.key for each in families(DeviceKind.CHARGER)} == {
        "bidipro",
        "echonet_lite",
        "echonet_storage",
        "quasar1",
        "sunspec",
    }
    assert len(families()) == len(FAMILIES)
    with pytest.raises(UnknownFamilyError):
        family("ecoflow")


def test_zeroconf_finds_the_family_that_announces_itself() -> None:
    """A trailing dot does not matter; an unknown service type is no family."""
    assert by_zeroconf("_zendure._tcp.local.") is zendure.FAMILY
    assert by_zeroconf("_zendure._tcp.local") is zendure.FAMILY
    assert by_zeroconf("_printer._tcp.local.") is None


def _build(connection: Connection) -> quasar.Quasar1:  # pragma: no cover - never called
    raise AssertionError


def test_a_family_builds_exactly_one_kind_and_a_battery_says_how_often_to_poll() -> None:
    """Neither builder, both, or a battery without poll limits: refused at import."""
    common = {"key": "x", "title": "X", "products": ("X",), "default_port": 1}
    with pytest.raises(ValueError, match="charger or a battery"):
        DeviceFamily(**common)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="charger or a battery"):
        DeviceFamily(**common, build_charger=_build, build_battery=_build)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="poll limits"):
        DeviceFamily(**common, build_battery=_build)  # type: ignore[arg-type]
    battery = DeviceFamily(
        **common,  # type: ignore[arg-type]
        build_battery=_build,  # type: ignore[arg-type]
        poll=PollLimits(default_s=10, min_s=2),
    )
    assert battery.kind is DeviceKind.BATTERY


def test_an_http_family_needs_the_shared_session() -> None:
    """Built without Home Assistant's session: a clear error, nothing opened."""
    with pytest.raises(ValueError, match="session"):
        zendure.FAMILY.create_battery(Connection(host="h", port=80))
