"""Typed errors raised by the device library.

Every error carries a ``translation_key`` so the Home Assistant layer can turn it
into a translated message without parsing strings.
"""

from __future__ import annotations


class DeviceError(Exception):
    """Base class of every error raised by the device library."""

    translation_key = "device_error"


class DeviceConnectionError(DeviceError):
    """The device could not be reached, or the connection dropped."""

    translation_key = "cannot_connect"


class DeviceTimeoutError(DeviceError):
    """The device did not answer within the request timeout."""

    translation_key = "timeout"


class DeviceProtocolError(DeviceError):
    """The device answered, but not with a valid reply to the request."""

    translation_key = "protocol_error"


class ModbusExceptionError(DeviceProtocolError):
    """The device answered with a Modbus exception response."""

    translation_key = "modbus_exception"

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

    translation_key = "value_out_of_range"

    def __init__(self, name: str, value: int | float, allowed: str) -> None:
        """Record the offending field, its value and the documented range."""
        super().__init__(f"{name}={value} is outside the documented range {allowed}")
        self.name = name
        self.value = value
        self.allowed = allowed


class WriteNotVerifiedError(DeviceError):
    """A value written to the device did not read back as written."""

    translation_key = "write_not_verified"

    def __init__(self, name: str, written: int, read_back: int) -> None:
        """Record what was written and what the device reports instead."""
        super().__init__(f"{name}: wrote {written}, device reports {read_back}")
        self.name = name
        self.written = written
        self.read_back = read_back


class ResponseImpossibleError(DeviceError):
    """The device answered that it cannot do this now (ECHONET Lite ``*_SNA``)."""

    translation_key = "response_impossible"


class LocalApiDisabledError(DeviceProtocolError):
    """The device refuses its local API until the user enables it (e.g. HTTP 401)."""

    translation_key = "local_api_disabled"


class CommandRefusedError(DeviceError):
    """A command was refused before anything was sent (e.g. it would pass the reserve)."""

    translation_key = "command_refused"

    def __init__(self, reason: str, message: str) -> None:
        """Record a machine-readable reason and a human-readable message."""
        super().__init__(message)
        self.reason = reason
