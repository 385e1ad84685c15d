"""Device-registry helpers on the shape of each Home Assistant release."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x import registry
from custom_components.v2x.const import DOMAIN


def test_entries_of_a_device_on_either_release() -> None:
    """2026: one entry per device (config_entry_id); 2025.4: the config_entries set."""
    newer = cast("dr.DeviceEntry", SimpleNamespace(config_entry_id="a", config_entries={"a"}))
    older = cast("dr.DeviceEntry", SimpleNamespace(config_entries={"b", "c"}))
    assert registry.device_entry_ids(newer) == ["a"]
    assert sorted(registry.device_entry_ids(older)) == ["b", "c"]


async def test_parent_link_on_either_release(
    hass: HomeAssistant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """By identifier where DeviceInfo has via_device, by registry id where it has via_device_id."""
    entry = MockConfigEntry(domain=DOMAIN)
    entry.add_to_hass(hass)
    parent = dr.async_get(hass).async_get_or_create(
        config_entry_id=entry.entry_id, identifiers={(DOMAIN, "parent")}, name="Parent"
    )
    assert registry.entry_device(hass, entry.entry_id, (DOMAIN, "parent")) == parent
    assert registry.entry_device(hass, entry.entry_id, (DOMAIN, "other")) is None
    monkeypatch.setattr(registry, "_VIA_BY_ID", False)
    info = registry.link_to_parent(
        dr.DeviceInfo(name="Child"), hass, entry.entry_id, (DOMAIN, "parent")
    )
    assert info["via_device"] == (DOMAIN, "parent")
    monkeypatch.setattr(registry, "_VIA_BY_ID", True)
    holder: Any = SimpleNamespace()
    registry.link_to_parent(holder, hass, entry.entry_id, (DOMAIN, "parent"))
    assert holder.via_device_id == parent.id
    as_mapping: Any = {}  # the TypedDict form of Home Assistant 2026.10 and before
    registry.link_to_parent(as_mapping, hass, entry.entry_id, (DOMAIN, "parent"))
    assert as_mapping == {"via_device_id": parent.id}
    orphan: Any = SimpleNamespace()
    registry.link_to_parent(orphan, hass, entry.entry_id, (DOMAIN, "missing"))
    assert not hasattr(orphan, "via_device_id")  # no parent registered: no link at all
