"""What the ``test_<platform>`` modules share: one platform of one family, snapshotted.

Each platform module takes its two tests from :func:`entities_test` and
:func:`no_entities_test`: that platform's entities and states for every family that
has some (the Quasar of ``conftest.py``, the SunSpec and ECHONET Lite chargers of
``csim``, the Zendure and Bluetti batteries of ``bsim``), and none for every other
family (capability gating). The Quasar's power steps at once and every device is
polled once a minute, so every value in the snapshots is the same on every run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Final
from unittest.mock import patch

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from custom_components.v2x.const import (
    CONF_FULL_INTERVAL,
    CONF_STATUS_INTERVAL,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.models import BatteryRuntimeData, ChargerRuntimeData
from simulator.quasar import QuasarConfig
from simulator.world import Simulation

from .conftest import SERIAL, device_with
from .families import battery_entry, charger_entry
from .flows import FAMILY_BLUETTI, FAMILY_ECHONET, FAMILY_QUASAR1, FAMILY_SUNSPEC, FAMILY_ZENDURE
from .helpers import setup_entry, unload_entries

FAMILIES: Final = (FAMILY_QUASAR1, FAMILY_SUNSPEC, FAMILY_ECHONET, FAMILY_ZENDURE, FAMILY_BLUETTI)
BATTERIES: Final = frozenset({FAMILY_ZENDURE, FAMILY_BLUETTI})

type Devices = tuple[MockConfigEntry, Simulation, Simulation]
"""The Quasar's entry and the chargers' and batteries' simulations (``devices`` fixture)."""


def steady(families: tuple[str, ...]) -> pytest.MarkDecorator:
    """Parametrise a test over ``families``, the conftest Quasar made steady.

    Its power steps at once and it is polled once a minute (the parameters override
    the ``quasar_config`` and ``entry_options`` fixtures); the others poll once a
    minute already.
    """
    return pytest.mark.parametrize(
        ("family", "quasar_config", "entry_options"),
        [
            (
                family,
                QuasarConfig(port=0, ramp_w_per_s=1e9),
                {**DEFAULT_OPTIONS, CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60},
            )
            for family in families
        ],
        ids=list(families),
    )


def without(*families: str) -> tuple[str, ...]:
    """Every family but ``families``."""
    return tuple(family for family in FAMILIES if family not in families)


async def _set_up(
    hass: HomeAssistant,
    family: str,
    quasar: MockConfigEntry,
    csim: Simulation,
    bsim: Simulation,
    platform: Platform,
) -> MockConfigEntry:
    runtime: type[Any]
    if family == FAMILY_QUASAR1:
        entry, runtime = quasar, ChargerRuntimeData
    elif family in BATTERIES:
        entry, runtime = battery_entry(bsim, family), BatteryRuntimeData
    else:
        entry, runtime = charger_entry(csim, family), ChargerRuntimeData
    with patch.object(runtime, "platforms", (platform,)):
        await setup_entry(hass, entry, runtime)
    return entry


async def snapshot_family(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    family: str,
    devices: Devices,
    platform: Platform,
) -> None:
    """``family``'s entities of ``platform`` and their states; all on its one device."""
    entry = await _set_up(hass, family, *devices, platform)
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
    entities = er.async_entries_for_config_entry(entity_registry, entry.entry_id)
    assert len({entity.device_id for entity in entities}) == 1
    if family == FAMILY_QUASAR1:
        device = device_with(hass, (DOMAIN, SERIAL))
        assert device is not None
        assert entities[0].device_id == device.id
    await unload_entries(hass, entry)


async def has_none(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    family: str,
    devices: Devices,
    platform: Platform,
) -> None:
    """``family``'s devices support nothing of ``platform``: no entity is made."""
    entry = await _set_up(hass, family, *devices, platform)
    assert er.async_entries_for_config_entry(entity_registry, entry.entry_id) == []
    await unload_entries(hass, entry)


def entities_test(platform: Platform, families: tuple[str, ...]) -> Callable[..., Awaitable[None]]:
    """The test that snapshots ``platform`` for each of ``families``."""

    @steady(families)
    @pytest.mark.usefixtures("entity_registry_enabled_by_default")
    async def test_entities(
        hass: HomeAssistant,
        entity_registry: er.EntityRegistry,
        snapshot: SnapshotAssertion,
        devices: Devices,
        family: str,
    ) -> None:
        """Each family gets exactly the entities of the platform its device supports."""
        await snapshot_family(hass, entity_registry, snapshot, family, devices, platform)

    return test_entities


def no_entities_test(
    platform: Platform, families: tuple[str, ...]
) -> Callable[..., Awaitable[None]]:
    """The test that ``families`` get nothing of ``platform``."""

    @steady(families)
    @pytest.mark.usefixtures("entity_registry_enabled_by_default")
    async def test_families_without(
        hass: HomeAssistant, entity_registry: er.EntityRegistry, devices: Devices, family: str
    ) -> None:
        """A family whose devices have none of the platform gets none."""
        await has_none(hass, entity_registry, family, devices, platform)

    return test_families_without
