"""Helpers shared by the platforms: translated exceptions and battery commands."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .const import DOMAIN
from .devices.errors import CommandRefusedError, DeviceError

if TYPE_CHECKING:
    from .coordinator import BatteryCoordinator


def device_error(err: DeviceError) -> HomeAssistantError:
    """Translate a device-layer error for the user."""
    return HomeAssistantError(
        translation_domain=DOMAIN,
        translation_key=err.translation_key,
        translation_placeholders={"error": str(err)},
    )


def refused(err: CommandRefusedError) -> ServiceValidationError:
    """Translate a refused command (bad or unsafe request) for the user."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=f"refused_{err.reason}",
        translation_placeholders={"reason": str(err)},
    )


async def async_battery_command(coordinator: BatteryCoordinator, command: Awaitable[None]) -> None:
    """Run a verified battery command, translate its errors, then refresh at once."""
    try:
        await command
    except CommandRefusedError as err:
        raise refused(err) from err
    except DeviceError as err:
        raise device_error(err) from err
    await coordinator.async_refresh()
