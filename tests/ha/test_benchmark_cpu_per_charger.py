"""The side-by-side benchmark's own parts: core modbus's YAML and the report's arithmetic."""

from __future__ import annotations

from homeassistant.util.yaml import parse_yaml
import pytest

from benchmarks.cpu_per_charger import REGISTERS, Size, Window, from_log, modbus_yaml


def test_core_modbus_yaml_is_what_core_accepts() -> None:
    """One hub per charger, a sensor per register, each at a 1 s scan: core's own
    schema accepts it, so the comparison is with a configuration a user could load."""
    modbus = pytest.importorskip(
        "homeassistant.components.modbus",
        reason="core modbus of this Home Assistant needs a library the test run does not "
        "install; the benchmark runs on Home Assistant 2025.4.4",
    )
    config = modbus.CONFIG_SCHEMA(parse_yaml(modbus_yaml([5020, 5021])))
    hubs = config["modbus"]
    assert [hub["port"] for hub in hubs] == [5020, 5021]
    for hub in hubs:
        sensors = hub["sensors"]
        assert [sensor["address"] for sensor in sensors] == [r[1] for r in REGISTERS]
        assert {sensor["scan_interval"] for sensor in sensors} == {1}


LOG = """\
[02:07:17] 2 chargers, charging, V2X: 0.50 % of a core, 2.6 requests/s
[02:08:32] 2 chargers, charging, core modbus: 0.70 % of a core, 16.0 requests/s
[02:09:47] 2 chargers, charging, none: 0.10 % of a core, 0.0 requests/s
[02:11:02] 2 chargers, charging, V2X: 0.30 % of a core, 2.6 requests/s
[02:12:17] 2 chargers, charging, none: 0.30 % of a core, 0.0 requests/s
[02:13:32] 2 chargers, charging, core modbus: 0.90 % of a core, 16.0 requests/s
[02:13:40] 2 chargers: 2 of 2 cars discharging 3 s after
[02:14:47] 2 chargers + building: 1.25 % of a core
"""


def test_report_from_a_log() -> None:
    """Medians over the windows; per charger above none's median."""
    (size,) = from_log(LOG)
    assert size.chargers == 2
    assert size.cpu("V2X", "charging") == [0.5, 0.3]
    assert size.per_charger("V2X", "charging") == pytest.approx((0.4 - 0.2) / 2)
    assert size.per_charger("core modbus", "charging") == pytest.approx((0.8 - 0.2) / 2)
    assert size.requests("core modbus", "charging") == 16.0
    assert size.building == [1.25]
    assert size.notes == ["2 of 2 cars discharging 3 s after"]


def test_windows_of_other_modes_do_not_mix() -> None:
    size = Size(1, [Window("V2X", "idle", 1.0, 1.3), Window("V2X", "charging", 9.0, 1.3)])
    assert size.cpu("V2X", "idle") == [1.0]
