"""The V2X integration: vehicle-to-home and vehicle-to-building for Home Assistant.

Importing this package runs no Home Assistant code, so the core below it (devices/,
planner/, backup/) imports, and is tested, without Home Assistant installed (see
docs/core.md). The Home Assistant layer's entry points live in integration.py: the
functions here import it on first use, in Home Assistant's import executor as the
loader does for the package itself (never on the event loop), and hand over to it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    from typing import Protocol

    from homeassistant.core import HomeAssistant
    from homeassistant.helpers.typing import ConfigType
    import voluptuous as vol

    from . import integration
    from .runtime import V2XConfigEntry

    class _Layer(Protocol):
        """What this module calls in integration.py."""

        async def async_setup(self, hass: HomeAssistant, config: ConfigType) -> bool: ...
        async def async_migrate_entry(self, hass: HomeAssistant, entry: V2XConfigEntry) -> bool: ...
        async def async_setup_entry(self, hass: HomeAssistant, entry: V2XConfigEntry) -> bool: ...
        async def async_unload_entry(self, hass: HomeAssistant, entry: V2XConfigEntry) -> bool: ...
        async def async_remove_entry(self, hass: HomeAssistant, entry: V2XConfigEntry) -> None: ...

    _checked: _Layer = integration  # integration.py keeps these signatures

__all__ = [
    "CONFIG_SCHEMA",
    "async_migrate_entry",
    "async_remove_entry",
    "async_setup",
    "async_setup_entry",
    "async_unload_entry",
]

_LAYER = f"{__name__}.integration"
_LOADED: dict[str, _Layer] = {}

# Config entries only. Declared here for hassfest and the type checker; its value comes
# from __getattr__ below, the first time Home Assistant asks (before async_setup).
CONFIG_SCHEMA: vol.Schema


def __getattr__(name: str) -> Any:
    """Build CONFIG_SCHEMA when first read (Home Assistant has imported its helpers)."""
    if name != "CONFIG_SCHEMA":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from homeassistant.helpers import config_validation as cv  # noqa: PLC0415

    from .const import DOMAIN  # noqa: PLC0415

    schema = cv.config_entry_only_config_schema(DOMAIN)
    globals()[name] = schema
    return schema


async def _async_layer(hass: HomeAssistant) -> _Layer:
    """integration.py, imported in Home Assistant's import executor the first time.

    Kept once the import has finished: another thread's import in progress already
    shows in sys.modules, half initialised, so that is no test.
    """
    if (layer := _LOADED.get(_LAYER)) is None:
        module = await hass.async_add_import_executor_job(importlib.import_module, _LAYER)
        layer = _LOADED[_LAYER] = cast("_Layer", module)
    return layer


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the services once (ECHONET Lite discovery starts with an ECHONET entry)."""
    return await (await _async_layer(hass)).async_setup(hass, config)


async def async_migrate_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Bring an entry stored by an earlier version up to date."""
    return await (await _async_layer(hass)).async_migrate_entry(hass, entry)


async def async_setup_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Connect to the device (or start the site or building) and set up its platforms."""
    return await (await _async_layer(hass)).async_setup_entry(hass, entry)


async def async_unload_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> bool:
    """Stop what runs, unload the platforms, then close the connection."""
    return await (await _async_layer(hass)).async_unload_entry(hass, entry)


async def async_remove_entry(hass: HomeAssistant, entry: V2XConfigEntry) -> None:
    """A removed entry puts back what it changed (a site: the chargers it still runs)."""
    await (await _async_layer(hass)).async_remove_entry(hass, entry)
