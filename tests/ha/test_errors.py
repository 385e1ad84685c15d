"""The one mapping from device error types to translation keys, and its decorator."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest

from custom_components.v2x.const import DOMAIN
from custom_components.v2x.devices import family
from custom_components.v2x.devices.errors import (
    CommandRefusedError,
    DeviceError,
    DeviceTimeoutError,
    ModbusExceptionError,
    WriteNotVerifiedError,
)
from custom_components.v2x.errors import (
    TRANSLATION_KEYS,
    device_action,
    not_ready,
    translation_key,
    update_failed,
)

STRINGS = Path(__file__).parents[2] / "custom_components" / "v2x" / "strings.json"


def _exceptions() -> dict[str, object]:
    exceptions: dict[str, object] = json.loads(STRINGS.read_text(encoding="utf-8"))["exceptions"]
    return exceptions


def _all_subclasses(cls: type[DeviceError]) -> set[type[DeviceError]]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_every_mapped_key_is_translated() -> None:
    assert family.UnknownFamilyError in TRANSLATION_KEYS  # the registry's own error, too
    for cls, key in TRANSLATION_KEYS.items():
        assert issubclass(cls, DeviceError), cls
        assert key in _exceptions(), key


def test_every_library_error_gets_a_translated_key() -> None:
    for cls in _all_subclasses(DeviceError):
        if cls.__module__.startswith("custom_components.v2x.devices"):
            assert translation_key(cls.__new__(cls)) in _exceptions(), cls


def test_a_subclass_takes_its_nearest_base_key() -> None:
    class BusyError(ModbusExceptionError):
        pass

    class OddError(DeviceError):
        pass

    assert translation_key(BusyError(3, 6, 88)) == "modbus_exception"
    assert translation_key(OddError("?")) == "device_error"
    assert translation_key(DeviceTimeoutError("slow")) == "timeout"


def test_setup_and_updates_carry_key_and_message() -> None:
    err = WriteNotVerifiedError("WSet", 10, 0)
    for translated in (update_failed(err), not_ready(err)):
        assert translated.translation_domain == DOMAIN
        assert translated.translation_key == "write_not_verified"
        assert translated.translation_placeholders == {"error": "WSet: wrote 10, device reports 0"}


async def test_device_action() -> None:
    @device_action
    async def act(error: DeviceError | None) -> int:
        if error is not None:
            raise error
        return 7

    assert await act(None) == 7
    with pytest.raises(ServiceValidationError) as refused:
        await act(CommandRefusedError("at_reserve", "at the reserve"))
    assert refused.value.translation_key == "refused_at_reserve"
    assert refused.value.translation_placeholders == {"reason": "at the reserve"}
    with pytest.raises(HomeAssistantError) as failed:
        await act(DeviceTimeoutError("no answer"))
    assert not isinstance(failed.value, ServiceValidationError)
    assert failed.value.translation_key == "timeout"
    assert failed.value.translation_placeholders == {"error": "no answer"}
    assert act.__name__ == "act"
