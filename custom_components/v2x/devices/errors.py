"""Typed errors raised by the device library.

The type says what went wrong (unreachable, too slow, a wrong answer, a refusal...)
and the message says where; callers branch on the type, never on the message. The
library knows nothing of how an application presents them: the Home Assistant layer
maps each type to its translated message (``custom_components/v2x/errors.py``).
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base class of every error raised by the device library."""


class DeviceConnectionError(DeviceError):
    """The device could not be reached, or the connection dropped."""


class DeviceTimeoutError(DeviceError):
    """The device did not answer within the request timeout."""


class DeviceProtocolError(DeviceError):
    """The device answered, but not with a valid reply to the request."""


class ModbusExceptionError(DeviceProtocolError):
    """The device answered with a Modbus exception response."""

    ILLEGAL_FUNCTION = 1
    ILLEGAL_DATA_ADDRESS = 2
    ILLEGAL_DATA_VALUE = 3
    SERVER_DEVICE_FAILURE = 4
    ACKNOWLEDGE = 5
    SERVER_DEVICE_BUSY = 6

    def __init__(self, function_code: int, exception_code: int, address: int) -> None:
        """Record which request failed and with which exception code."""
        super().__init__(
            f"function {function_code:#04x} at address {address}: "
            f"Modbus exception code {exception_code}"
        )
        self.function_code = function_code
        self.exception_code = exception_code
        self.address = address


class ValueOutOfRangeError(DeviceProtocolError):
    """A register or field held a value outside its documented range."""

    def __init__(self, name: str, value: int | float, allowed: str) -> None:
        """Record the offending field, its value and the documented range."""
        super().__init__(f"{name}={value} is outside the documented range {allowed}")
        self.name = name
        self.value = value
        self.allowed = allowed


class WriteNotVerifiedError(DeviceError):
    """A value written to the device did not read back as written."""

    def __init__(self, name: str, written: int, read_back: int) -> None:
        """Record what was written and what the device reports instead."""
        super().__init__(f"{name}: wrote {written}, device reports {read_back}")
        self.name = name
        self.written = written
        self.read_back = read_back


class ResponseImpossibleError(DeviceError):
    """The device answered that it cannot do this now (ECHONET Lite ``*_SNA``)."""


class LocalApiDisabledError(DeviceProtocolError):
    """The device refuses its local API until the user enables it (e.g. HTTP 401)."""


class CommandRefusedError(DeviceError):
    """A command was refused before anything was sent (e.g. it would pass the reserve)."""

    def __init__(self, reason: str, message: str) -> None:
        """Record a machine-readable reason and a human-readable message."""
        super().__init__(message)
        self.reason = reason
