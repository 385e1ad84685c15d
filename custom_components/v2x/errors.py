"""Device errors as Home Assistant shows them: one translation key per error type.

The device library (``devices/``) raises typed errors and knows nothing of
translations. This module is the one place that maps each error type to its key
under ``exceptions`` in strings.json, and builds the exception Home Assistant
expects where a device error surfaces:

* a coordinator update: :func:`update_failed` (``UpdateFailed``);
* setting up an entry: :func:`not_ready` (``ConfigEntryNotReady``);
* an entity action or a service: :func:`device_error` (``HomeAssistantError``) and
  :func:`refused` (``ServiceValidationError``: the request itself was refused), or
  both at once with the :func:`device_action` decorator.

A type without an entry of its own takes its nearest base's key (the lookup walks
the method resolution order), so a new error subclass in the library is always
translated, at worst generically.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
import functools
from types import MappingProxyType
from typing import Any, Final

from homeassistant.exceptions import (
    ConfigEntryNotReady,
    HomeAssistantError,
    ServiceValidationError,
)
from homeassistant.helpers.update_coordinator import UpdateFailed

from .const import DOMAIN
from .devices.errors import (
    CommandRefusedError,
    DeviceConnectionError,
    DeviceError,
    DeviceProtocolError,
    DeviceTimeoutError,
    LocalApiDisabledError,
    ModbusExceptionError,
    ResponseImpossibleError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from .devices.family import UnknownFamilyError

TRANSLATION_KEYS: Final[Mapping[type, str]] = MappingProxyType(
    {
        DeviceError: "device_error",
        DeviceConnectionError: "cannot_connect",
        DeviceTimeoutError: "timeout",
        DeviceProtocolError: "protocol_error",
        ModbusExceptionError: "modbus_exception",
        ValueOutOfRangeError: "value_out_of_range",
        WriteNotVerifiedError: "write_not_verified",
        ResponseImpossibleError: "response_impossible",
        CommandRefusedError: "command_refused",
        UnknownFamilyError: "unknown_family",
        LocalApiDisabledError: "local_api_disabled",
    }
)
"""Device error type -> translation key (``exceptions`` in strings.json)."""


def translation_key(err: DeviceError) -> str:
    """The key of the error's own type, else of its nearest base that has one."""
    return next(TRANSLATION_KEYS[cls] for cls in type(err).__mro__ if cls in TRANSLATION_KEYS)


def _translated[ErrorT: HomeAssistantError](kind: type[ErrorT], err: DeviceError) -> ErrorT:
    """``err`` as Home Assistant's ``kind``, with its key and the device's own words."""
    return kind(
        translation_domain=DOMAIN,
        translation_key=translation_key(err),
        translation_placeholders={"error": str(err)},
    )


def device_error(err: DeviceError) -> HomeAssistantError:
    """A device error met while carrying out an action, for the user."""
    return _translated(HomeAssistantError, err)


def refused(err: CommandRefusedError) -> ServiceValidationError:
    """A refused command (a bad or unsafe request), for the user: ``refused_<reason>``."""
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key=f"refused_{err.reason}",
        translation_placeholders={"reason": str(err)},
    )


def update_failed(err: DeviceError) -> UpdateFailed:
    """A device error met while polling, for a coordinator."""
    return _translated(UpdateFailed, err)


def not_ready(err: DeviceError) -> ConfigEntryNotReady:
    """A device error met while setting up an entry: Home Assistant retries later."""
    return _translated(ConfigEntryNotReady, err)


def device_action[**P, R](
    func: Callable[P, Coroutine[Any, Any, R]],
) -> Callable[P, Coroutine[Any, Any, R]]:
    """Decorate an action (an entity method, a service handler) that talks to a device.

    A refused command becomes a :class:`ServiceValidationError` (:func:`refused`),
    any other device error a :class:`HomeAssistantError` (:func:`device_error`).
    """

    @functools.wraps(func)
    async def action(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await func(*args, **kwargs)
        except CommandRefusedError as err:
            raise refused(err) from err
        except DeviceError as err:
            raise device_error(err) from err

    return action
