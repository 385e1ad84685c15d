"""The BiDiPro 10 twin on its own: the register map of protocols.md section 1.6, word by word.

The words below are written out by hand (big-endian, high word first, IEEE 754
float32, ASCII strings two characters a register), not produced by the twin's own
encoders; the writes go through the Modbus functions the server calls.
"""

from __future__ import annotations

from typing import Any

import pytest

from simulator.battery import Battery
from simulator.bidipro import BiDiProConfig, BiDiProTwin
from simulator.clock import SimClock
from simulator.faults import Fault, FaultKind
from simulator.modbus_server import ILLEGAL_DATA_ADDRESS, ILLEGAL_DATA_VALUE, ModbusError
from simulator.world import Grid


def _twin(wall: list[float], **config: Any) -> BiDiProTwin:
    clock = SimClock(wall=lambda: wall[0])
    return BiDiProTwin(BiDiProConfig(port=0, **config), clock, None)


def _advance(twin: BiDiProTwin, wall: list[float], seconds: float) -> None:
    wall[0] += seconds
    twin.advance()


def _int32(words: list[int]) -> int:
    raw = (words[0] << 16) | words[1]
    return raw - (1 << 32) if raw >> 31 else raw


def test_the_map_reads_as_documented() -> None:
    wall = [0.0]
    twin = _twin(wall, car=Battery(capacity_kwh=58.0, soc_pct=61.2))
    words = twin.read_holding(0, 36)
    assert words[:5] == [0x4543, 0x5034, 0x2032, 0x2E30, 0x2E37]  # "ECP4 2.0.7"
    assert words[5:16] == [0] * 11
    assert words[16:22] == [0x4244, 0x5031, 0x302D, 0x3030, 0x3030, 0x3432]  # "BDP10-000042"
    assert words[26:31] == [0x4269, 0x4469, 0x5072, 0x6F20, 0x3130]  # "BiDiPro 10"
    plug = twin.read_holding(100, 90)
    assert plug[0:2] == [0, 5]  # plugged in
    assert plug[10:12] == [0, 0]  # 0.0 W
    assert plug[12:14] == [0, 612]  # 61.2 % in per mille
    assert plug[14:16] == [0, 1]  # CCS
    assert plug[30:32] == [0x461C, 0x4000]  # 10000.0 W
    assert plug[58:60] == [0x4762, 0x9000]  # 58000.0 Wh
    assert plug[62:64] == [0x4535, 0x4000]  # 5 % of it: 2900.0 Wh
    assert plug[76:78] == [0x5756, 0x575A]  # "WVWZ..."
    assert plug[86:90] == [0, 0, 0, 0]  # setpoint 0, action stop
    assert twin.register(60) == 0  # a reserved address reads 0


def test_a_start_runs_at_the_setpoint_and_feeds_with_the_grid_down() -> None:
    wall = [0.0]
    twin = _twin(wall)
    grid = Grid()
    twin.grid = grid
    twin.write_multiple(186, [0xFFFF, 0xE890, 0, 1])  # -6000 W, start
    _advance(twin, wall, 2.0)
    assert twin.state_code() == 8
    assert _int32(twin.read_holding(186, 2)) == -6000
    assert twin.read_holding(110, 2) == [0xC5BB, 0x8000]  # -6000.0 W
    grid.available = False
    _advance(twin, wall, 1.0)
    assert twin.state_code() == 8  # the car feeds the house, grid or not
    twin.write_multiple(186, [0, 3000])
    _advance(twin, wall, 2.0)
    assert (twin.actual_power_w, twin.state_code()) == (0.0, 10)  # waits for the grid
    grid.available = True
    _advance(twin, wall, 2.0)
    assert twin.state_code() == 7


def test_a_full_car_reads_charging_end() -> None:
    wall = [0.0]
    twin = _twin(wall, car=Battery(soc_pct=97.0, charge_cap_pct=97.0))
    twin.write_multiple(186, [0, 3000, 0, 1])
    _advance(twin, wall, 2.0)
    assert twin.state_code() == 11


@pytest.mark.parametrize(
    ("address", "values", "code"),
    [
        (42, [0, 601], ILLEGAL_DATA_VALUE),  # timeout beyond 600 s
        (186, [0, 20001], ILLEGAL_DATA_VALUE),  # beyond +/-20000 W
        (188, [0, 2], ILLEGAL_DATA_VALUE),  # action neither 0 nor 1
        (187, [0, 1], ILLEGAL_DATA_ADDRESS),  # splits the setpoint
        (186, [0], ILLEGAL_DATA_ADDRESS),  # half a value
        (110, [0, 0], ILLEGAL_DATA_ADDRESS),  # read-only
    ],
)
def test_bad_writes_are_refused_and_change_nothing(
    address: int, values: list[int], code: int
) -> None:
    wall = [0.0]
    twin = _twin(wall)
    with pytest.raises(ModbusError) as refused:
        twin.write_multiple(address, values)
    assert refused.value.code == code
    assert (twin.idle_timeout_s, twin.setpoint_w, twin.action, twin.writes) == (0, 0, 0, [])


def test_a_request_that_is_partly_bad_applies_none_of_it() -> None:
    wall = [0.0]
    twin = _twin(wall)
    with pytest.raises(ModbusError):
        twin.write_multiple(186, [0, 3000, 0, 7])
    assert (twin.setpoint_w, twin.action) == (0, 0)


def test_single_register_writes_are_refused() -> None:
    twin = _twin([0.0])
    with pytest.raises(ModbusError) as refused:
        twin.write_single(188, 1)
    assert refused.value.code == ILLEGAL_DATA_ADDRESS


def test_a_strict_twin_refuses_reads_across_gaps() -> None:
    twin = _twin([0.0], strict_gaps=True)
    assert len(twin.read_holding(100, 2)) == 2
    with pytest.raises(ModbusError):
        twin.read_holding(100, 14)  # 102..109 are not in the map


def test_the_idle_timeout_stops_a_session() -> None:
    wall = [0.0]
    twin = _twin(wall)
    twin.write_multiple(42, [0, 20])
    twin.write_multiple(186, [0, 2000, 0, 1])
    _advance(twin, wall, 19.0)
    twin.on_request()
    _advance(twin, wall, 19.0)
    assert twin.running
    _advance(twin, wall, 2.0)
    assert (twin.running, twin.setpoint_w, twin.watchdog_expiries) == (False, 0, 1)


def test_unplugging_ends_the_session_and_a_start_without_a_car_is_ignored() -> None:
    wall = [0.0]
    twin = _twin(wall)
    twin.write_multiple(186, [0, 2000, 0, 1])
    twin.update_state({"plugged": False})
    assert (twin.running, twin.state_code(), twin.soc_register()) == (False, 1, 0)
    assert twin.read_holding(176, 2) == [0, 0]  # no car id
    twin.write_multiple(188, [0, 1])
    assert not twin.running
    twin.update_state({"plugged": True, "soc_pct": 45})
    assert twin.soc_register() == 450


@pytest.mark.parametrize("payload", [{"soc_pct": 101}, {"soc_pct": "x"}, {"plugged": "yes"}])
def test_bad_state_changes_are_refused(payload: dict[str, Any]) -> None:
    twin = _twin([0.0])
    with pytest.raises(ValueError, match="must be"):
        twin.update_state(payload)
    assert twin.plugged
    assert twin.battery.soc_pct == 60.0


def test_a_reboot_boots_then_reports_boot_then_comes_back_reset() -> None:
    wall = [0.0]
    twin = _twin(wall, reboot_boot_s=5.0, reboot_init_s=20.0)
    twin.write_multiple(42, [0, 60])
    twin.write_multiple(186, [0, 2000, 0, 1])
    twin.reboot()
    assert twin.booting
    _advance(twin, wall, 6.0)
    assert (twin.booting, twin.state_code()) == (False, 0)
    _advance(twin, wall, 20.0)
    assert twin.state_code() == 5
    assert (twin.idle_timeout_s, twin.setpoint_w, twin.action) == (0, 0, 0)


def test_faults_error_and_glitch() -> None:
    wall = [0.0]
    twin = _twin(wall)
    twin.apply_fault(Fault(FaultKind.ERROR, code=0x21))
    assert twin.state_code() == 12
    assert twin.read_holding(154, 4) == [0, 0, 0, 0x21]
    twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=1))
    assert twin.soc_register() == 10
    assert twin.soc_register() == 600
    twin.clear_faults()
    assert (twin.state_code(), twin.error_bits) == (5, 0)


def test_the_config_is_checked() -> None:
    for bad in ({"serial": "x" * 21}, {"max_power_w": 0}, {"ramp_w_per_s": 0}, {"model": "ü"}):
        with pytest.raises(ValueError, match="must"):
            BiDiProConfig(**bad)


def test_describe_and_banner() -> None:
    twin = _twin([0.0])
    described = twin.describe()
    assert described["kind"] == "bidipro"
    assert (described["state"], described["soc_pct"], described["plugged"]) == (5, 60.0, True)
    assert "unit 1" in twin.banner()
