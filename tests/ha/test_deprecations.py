"""The check that fails a test when Home Assistant reports deprecated use by V2X."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.deprecations import deprecations_in_log, is_deprecation_about_v2x


@pytest.mark.parametrize(
    "message",
    [
        (
            "Detected that custom integration 'v2x' has an update listener and should use it "
            "for scheduling a reload at custom_components/v2x/config_flow.py, line 275. This "
            "will stop working in Home Assistant 2026.12.0, please report it to the author"
        ),
        "Detected that custom integration 'v2x' calls device_registry.async_get_device",
        (
            "SOME_CONSTANT was used from v2x, this is a deprecated constant which will be "
            "removed in HA Core 2026.1"
        ),
        "Detected code that uses a deprecated helper at custom_components/v2x/site.py",
    ],
)
def test_deprecation_lines_are_recognised(message: str) -> None:
    assert is_deprecation_about_v2x(message)


@pytest.mark.parametrize(
    "message",
    [
        "Detected that custom integration 'hacs' calls a deprecated helper",
        "The discharge session ended: reserve_reached",
        "Setting up v2x.sensor",
    ],
)
def test_other_lines_are_not(message: str) -> None:
    assert not is_deprecation_about_v2x(message)


def test_log_file(tmp_path: Path) -> None:
    log = tmp_path / "home-assistant.log"
    assert deprecations_in_log(log) == []
    log.write_text(
        "2026-12-01 INFO Setting up v2x\n"
        "2026-12-01 WARNING Detected that custom integration 'v2x' calls "
        "async_get_device, which is deprecated\n",
        encoding="utf-8",
    )
    assert len(deprecations_in_log(log)) == 1
