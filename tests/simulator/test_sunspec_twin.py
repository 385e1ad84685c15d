"""The SunSpec twin against protocols.md section 3, with addresses written out by hand.

Absolute addresses come from the example contiguous layout of section 3.1 (base 40000:
model 1 at 40002, 701 at 40070, 702 at 40225, 703 at 40277, 704 at 40296, 713 at
40363, end at 40372) plus the point offsets of the section 3.2-3.6 tables. The
decoding helpers below are written here, independently of the twin's own encoder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import math
from typing import Any

import pytest

from simulator.battery import Battery
from simulator.clock import SimClock
from simulator.faults import Fault, FaultKind
from simulator.modbus_server import ModbusDevice, ModbusError, handle_pdu
from simulator.sunspec import NOT_IMPLEMENTED, Slot, SunSpecConfig, SunSpecTwin, decode, encode
from simulator.world import Grid, SimDevice

N16 = 0xFFFF  # uint16 / enum16 / bitfield16 "not implemented"
NS = 0x8000  # int16 / sunssf "not implemented"


class Rig:
    """A twin on a hand-driven clock (simulated and wall time)."""

    def __init__(self, grid: Grid | None = None, **config: Any) -> None:
        self.wall = [0.0]
        self.clock = SimClock(wall=lambda: self.wall[0])
        self.grid = grid
        self.twin = SunSpecTwin(SunSpecConfig(port=0, **config), self.clock, grid)

    def read(self, address: int, count: int = 1) -> list[int]:
        return self.twin.read_holding(address, count)

    def one(self, address: int) -> int:
        return self.read(address)[0]

    def write(self, address: int, *values: int) -> None:
        if len(values) == 1:
            assert self.twin.write_single(address, values[0]) == address
        else:
            self.twin.write_multiple(address, list(values))

    def run(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.twin.advance()

    def command(self, wset_raw: int, *, mod: int = 1) -> None:
        """WSetMod, WSet (two registers, high word first), WSetEna = 1 as a client would."""
        self.write(40319, mod)
        self.write(40320, *_words32(wset_raw))
        self.write(40318, 1)


def _words32(value: int) -> tuple[int, int]:
    value &= 0xFFFFFFFF
    return value >> 16, value & 0xFFFF


def s16(word: int) -> int:
    return word - 0x10000 if word >= 0x8000 else word


def u32(words: list[int]) -> int:
    return (words[0] << 16) | words[1]


def s32(words: list[int]) -> int:
    value = u32(words)
    return value - (1 << 32) if value >= 1 << 31 else value


def u64(words: list[int]) -> int:
    return (words[0] << 48) | (words[1] << 32) | (words[2] << 16) | words[3]


def text(words: list[int]) -> str:
    return b"".join(w.to_bytes(2, "big") for w in words).rstrip(b"\0").decode("ascii")


def _listening(twin: SunSpecTwin) -> bool:
    """A function, so that mypy does not narrow the property between awaits."""
    return twin.server.listening


def code_of(call: Callable[..., object], *args: object) -> int:
    with pytest.raises(ModbusError) as err:
        call(*args)
    return err.value.code


# -- the register image --------------------------------------------------------------


def _walk_chain(rig: Rig, base: int) -> list[tuple[int, int, int]]:
    """Follow the model chain as a SunSpec client does: (address, ID, L) per model."""
    assert rig.read(base, 2) == [0x5375, 0x6E53]  # "SunS"
    chain = []
    address = base + 2
    while True:
        model_id, length = rig.read(address, 2)
        chain.append((address, model_id, length))
        if model_id == 0xFFFF:
            return chain
        address += 2 + length


@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_model_chain_at_every_base(base: int) -> None:
    rig = Rig(base_address=base)
    assert _walk_chain(rig, base) == [
        (base + 2, 1, 66),
        (base + 70, 701, 153),
        (base + 225, 702, 50),
        (base + 277, 703, 17),
        (base + 296, 704, 65),
        (base + 363, 713, 7),
        (base + 372, 0xFFFF, 0),
    ]
    # a few points at their documented offsets, whatever the base
    assert rig.one(base + 70 + 10) == 0  # 701 W
    assert rig.one(base + 70 + 116) == 1  # 701 W_SF
    assert rig.one(base + 296 + 55) == 1  # 704 WSet_SF
    assert rig.one(base + 363 + 4) == 600  # 713 SoC 60.0 %
    assert code_of(rig.read, base - 1 if base else base + 374, 1) == 2
    assert code_of(rig.read, base + 373, 2) == 2


def test_other_bases_do_not_answer_at_40000() -> None:
    """A client probing 40000 first gets exception 2 from a device based at 0 or 50000."""
    for base in (0, 50000):
        assert code_of(Rig(base_address=base).read, 40000, 2) == 2


def test_common_model() -> None:
    rig = Rig()
    assert rig.read(40002, 2) == [1, 66]
    assert text(rig.read(40004, 16)) == "V2X Simulated"
    mn = rig.read(40004, 16)
    assert mn[6] == ord("d") << 8  # "d" then NUL padding
    assert mn[7:] == [0] * 9
    assert text(rig.read(40020, 16)) == "BiDi DC 11"
    assert text(rig.read(40036, 8)) == "V2H"
    assert text(rig.read(40044, 8)) == "1.4.2"
    assert text(rig.read(40052, 16)) == "SS11-000123"
    assert rig.one(40068) == 1  # DA
    assert rig.one(40069) == 0  # Pad


def test_701_idle_values_and_scale_factors() -> None:
    rig = Rig()
    assert rig.read(40070, 2) == [701, 153]
    assert rig.read(40072, 4) == [0, 1, 7, 1]  # single phase, ON, STANDBY, CONNECTED
    assert rig.read(40076, 2) == [0, 0]  # Alrm
    assert rig.read(40080, 3) == [0, 0, 0]  # W, VA, Var
    assert rig.one(40084) == 0  # A
    assert rig.one(40086) == 2300  # LNV 230.0 V
    assert u32(rig.read(40087, 2)) == 5000  # Hz 50.00
    assert u64(rig.read(40089, 4)) == 0  # TotWhInj
    assert u64(rig.read(40093, 4)) == 0  # TotWhAbs
    # A_SF V_SF Hz_SF W_SF PF_SF VA_SF Var_SF TotWh_SF TotVarh_SF Tmp_SF
    assert [s16(w) for w in rig.read(40183, 10)] == [
        -2,
        -1,
        -2,
        1,
        s16(NS),
        1,
        1,
        1,
        -32768,
        -32768,
    ]
    assert rig.read(40193, 32) == [0] * 32  # MnAlrmInfo
    assert rig.one(40117) == 2300  # VL1
    assert rig.read(40224, 2) == [0, 702]  # last register of 701, then 702's ID


def test_not_implemented_points() -> None:
    rig = Rig()
    assert rig.read(40078, 2) == [N16, N16]  # 701 DERMode bitfield32
    assert rig.one(40083) == NS  # PF int16
    assert rig.one(40085) == N16  # LLV uint16 (single phase)
    assert rig.read(40097, 8) == [N16] * 8  # TotVarhInj / TotVarhAbs uint64
    assert rig.read(40105, 6) == [NS] * 6  # temperatures int16
    assert rig.one(40114) == NS  # PFL1
    assert rig.one(40116) == N16  # VL1L2
    assert rig.read(40134, 23) == [NS] * 5 + [N16] * 18  # the whole L2 block
    assert rig.one(40180) == N16  # ThrotPct
    assert rig.read(40181, 2) == [N16, N16]  # ThrotSrc
    assert rig.read(40228, 4) == [N16] * 4  # 702 WOvrExtRtg .. WUndExtRtgPF
    assert rig.read(40246, 2) == [N16, N16]  # NorOpCatRtg / AbnOpCatRtg
    assert rig.one(40250) == N16  # IntIslandCatRtg
    assert rig.one(40252) == N16  # WMaxOvrExt
    assert rig.read(40279, 17) == [N16] * 15 + [NS] * 2  # all of 703 after ID/L
    assert rig.read(40298, 12) == [N16] * 12  # PF enable groups (enum16, uint32)
    assert rig.read(40331, 3) == [N16] * 3  # VarSetEna, VarSetMod, VarSetPri
    assert rig.read(40334, 4) == [NS, 0, NS, 0]  # VarSet / VarSetRvrt int32
    assert rig.one(40347) == N16  # VarRmp
    assert rig.one(40349) == NS  # 704 PF_SF
    assert rig.read(40353, 2) == [NS, NS]  # VarSet_SF, VarSetPct_SF
    assert rig.read(40355, 8) == [N16] * 8  # PF groups


def test_702_ratings_and_settings() -> None:
    rig = Rig()
    assert rig.read(40225, 2) == [702, 50]
    assert rig.one(40227) == 1100  # WMaxRtg 11000 W with W_SF 1
    assert rig.one(40232) == 1100  # VAMaxRtg
    assert rig.read(40235, 2) == [1100, 1100]  # WChaRteMaxRtg, WDisChaRteMaxRtg
    assert rig.read(40239, 4) == [2300, 2530, 2070, 4783]  # VNom, VMax, VMin, AMax
    assert rig.read(40248, 2) == [0, 0b11]  # CtrlModes MAX_W | FIXED_W
    assert rig.one(40251) == 1100  # WMax
    assert rig.read(40259, 2) == [1100, 1100]  # WChaRteMax, WDisChaRteMax
    assert [s16(w) for w in rig.read(40270, 7)] == [1, -32768, 1, -32768, -1, -2, -32768]


def test_704_defaults() -> None:
    rig = Rig()
    assert rig.read(40296, 2) == [704, 65]
    assert rig.read(40310, 8) == [0, 1000, 1000, 0, 0, 0, 0, 0]  # WMaxLimPct group
    assert rig.read(40318, 13) == [0] * 13  # WSetEna .. WSetRvrtRem
    assert rig.read(40345, 2) == [27, 1]  # WRmp 27 %/s of WMax, WRmpRef W_MAX
    assert rig.one(40348) == 1  # AntiIslEna
    assert [s16(w) for w in rig.read(40350, 3)] == [-1, 1, -1]  # WMaxLimPct/WSet/WSetPct SF


def test_713_storage_and_no_car() -> None:
    rig = Rig()
    assert rig.read(40363, 9) == [713, 7, 6000, 3600, 600, 1000, 0, 1, 0xFFFF]
    assert rig.read(40372, 2) == [0xFFFF, 0]
    rig.twin.update_state({"plugged": False})
    assert rig.read(40365, 5) == [N16, N16, N16, N16, 0]


def test_reads_span_models() -> None:
    rig = Rig()
    words = rig.read(40054, 21)
    assert text(words[:14]) == "-000123"  # the tail of SN, NUL padded
    assert words[14:18] == [1, 0, 701, 153]  # DA, Pad, then 701's ID and L
    assert words[-1] == 7  # InvSt
    assert rig.read(40369, 5) == [0, 1, 0xFFFF, 0xFFFF, 0]


def test_register_helpers() -> None:
    rig = Rig()
    device: SimDevice = rig.twin  # mypy checks both protocols here
    modbus: ModbusDevice = rig.twin
    assert device.name == "sunspec"
    assert modbus.accepts_unit(1)
    assert not modbus.accepts_unit(0)
    assert rig.twin.is_readable(40373)
    assert not rig.twin.is_readable(40374)
    assert rig.twin.register(40000) == 0x5375
    with pytest.raises(ValueError, match="outside"):
        rig.twin.register(39999)


def test_encode_and_decode() -> None:
    assert encode(Slot("x", "int64", 0, 4), None) == [0x8000, 0, 0, 0]
    assert encode(Slot("x", "acc32", 0, 2), None) == [0, 0]
    assert encode(Slot("x", "int32", 0, 2), -2) == [0xFFFF, 0xFFFE]
    assert encode(Slot("x", "string", 0, 2), "abc") == [0x6162, 0x6300]
    assert NOT_IMPLEMENTED["uint64"] == 2**64 - 1
    with pytest.raises(ValueError, match="fit"):
        encode(Slot("x", "int16", 0, 1), 40000)
    with pytest.raises(ValueError, match="fit"):
        encode(Slot("x", "uint16", 0, 1), -1)
    with pytest.raises(ValueError, match="longer"):
        encode(Slot("x", "string", 0, 1), "abc")
    assert decode(Slot("x", "int32", 0, 2), [0xFFFF, 0xFE0C]) == -500
    assert decode(Slot("x", "uint32", 0, 2), [0xFFFF, 0xFE0C]) == 0xFFFFFE0C


@pytest.mark.parametrize(
    "config",
    [
        {"base_address": 65300},
        {"base_address": -1},
        {"unit_id": 0},
        {"rated_charge_w": 0},
        {"nominal_v": 0.0},
        {"ramp_w_per_s": 0.0},
        {"reboot_boot_s": -1.0},
        {"manufacturer": "x" * 33},
        {"serial": "Ü"},
        {"rated_discharge_w": 1_000_000},
        {"a_sf": -4},
        {"pct_sf": -3},
        {"wsetpct_sf": -3},
        {"wset_sf": -6},
        {"car": Battery(capacity_kwh=1000.0)},
    ],
)
def test_config_validation(config: dict[str, object]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - several messages
        SunSpecConfig(**config)  # type: ignore[arg-type]


# -- writes ------------------------------------------------------------------------


def test_writes_are_stored_and_recorded() -> None:
    rig = Rig()
    rig.clock.advance(3)
    rig.write(40319, 1)  # WSetMod WATTS
    rig.write(40320, 0xFFFF, 0xFE0C)  # WSet -500 -> -5000 W
    assert rig.read(40319, 3) == [1, 0xFFFF, 0xFE0C]
    assert s32(rig.read(40320, 2)) == -500
    rig.write(40318, 1, 1, 0, 300)  # WSetEna, WSetMod, WSet in one request
    assert rig.read(40318, 4) == [1, 1, 0, 300]
    assert [(w.address, w.value) for w in rig.twin.writes] == [
        (40319, 1),
        (40320, -500),
        (40318, 1),
        (40319, 1),
        (40320, 300),
    ]
    assert rig.twin.writes[0].sim_time == 3.0
    assert all(w.applied for w in rig.twin.writes)


def test_other_writable_points() -> None:
    rig = Rig()
    rig.write(40251, 900)  # 702 WMax
    rig.write(40259, 500, 400)  # WChaRteMax, WDisChaRteMax
    rig.write(40322, *_words32(-100))  # WSetRvrt
    rig.write(40324, 0xFE0C, 250)  # WSetPct -50.0 %, WSetPctRvrt 25.0 %
    rig.write(40326, 1)  # WSetEnaRvrt
    rig.write(40327, 0, 30)  # WSetRvrtTms
    rig.write(40345, 50, 0)  # WRmp, WRmpRef
    rig.write(40348, 0)  # AntiIslEna
    assert rig.one(40251) == 900
    assert rig.read(40259, 2) == [500, 400]
    assert rig.read(40322, 7) == [0xFFFF, 0xFF9C, 0xFE0C, 250, 1, 0, 30]
    assert rig.read(40345, 4) == [50, 0, N16, 0]


def test_device_address_is_writable() -> None:
    rig = Rig()
    assert rig.twin.accepts_unit(1)
    rig.write(40068, 7)
    assert rig.one(40068) == 7
    assert rig.twin.accepts_unit(7)
    assert not rig.twin.accepts_unit(1)


@pytest.mark.parametrize(
    ("address", "values", "code"),
    [
        (40080, [0], 2),  # 701 W is read-only
        (40002, [1], 2),  # a model ID
        (40000, [0x5375], 2),  # the marker
        (40069, [0], 2),  # Pad
        (40004, [0x4142], 2),  # Mn
        (40227, [1000], 2),  # WMaxRtg is a rating
        (40252, [0], 2),  # WMaxOvrExt: not in the section 3.4 table
        (40279, [1], 2),  # 703 ES
        (40298, [1], 2),  # 704 PFWInjEna: not in the section 3.5 table
        (40329, [0, 0], 2),  # WSetRvrtRem is read-only
        (40367, [500], 2),  # 713 SoC
        (40372, [0], 2),  # end marker
        (40374, [0], 2),  # past the image
        (39999, [0], 2),  # before the image
        (40373, [0, 0], 2),  # runs past the end
        (40317, [0, 1], 2),  # starts on WMaxLimPctRvrtRem (read-only)
        (40318, [2], 3),  # WSetEna 0/1 only
        (40319, [2], 3),  # WSetMod 0/1 only
        (40326, [2], 3),  # WSetEnaRvrt
        (40310, [3], 3),  # WMaxLimPctEna
        (40311, [1001], 3),  # WMaxLimPct above 100.0 %
        (40320, [0, 1101], 3),  # WSet beyond the discharge rating
        (40320, [0xFFFF, 0xFBB3], 3),  # WSet -1101: beyond the charge rating
        (40322, [0, 1101], 3),  # WSetRvrt
        (40324, [0xFC17], 3),  # WSetPct -100.1 %
        (40259, [1101], 3),  # WChaRteMax above its rating
        (40260, [1101], 3),  # WDisChaRteMax above its rating
        (40251, [1101], 3),  # WMax above WMaxRtg
        (40068, [0], 3),  # DA 0
        (40068, [248], 3),  # DA 248
        (40346, [2], 3),  # WRmpRef
        (40320, [0], 3),  # the high half of WSet alone
        (40321, [0], 3),  # the low half of WSet alone
        (40327, [0], 3),  # half of WSetRvrtTms
        (40319, [1, 0], 3),  # WSetMod plus half of WSet
        (40321, [0, 0, 0], 3),  # low half of WSet plus WSetRvrt
        (40318, [1, 2], 3),  # WSetEna fine, WSetMod out of range: nothing changes
    ],
)
def test_write_exceptions(address: int, values: list[int], code: int) -> None:
    rig = Rig()
    before = rig.read(40000, 125) + rig.read(40125, 125) + rig.read(40250, 124)
    call = rig.twin.write_multiple if len(values) > 1 else rig.twin.write_single
    arg: object = values if len(values) > 1 else values[0]
    assert code_of(call, address, arg) == code
    assert rig.read(40000, 125) + rig.read(40125, 125) + rig.read(40250, 124) == before
    assert rig.twin.writes == []


# -- physics ----------------------------------------------------------------------


def test_charging_ramp_sign_and_states() -> None:
    rig = Rig()
    soc = rig.twin.battery.soc_pct
    rig.command(-500)  # SunSpec sign: negative = charging 5000 W
    assert rig.one(40074) == 2  # STARTING
    rig.run(0.5)
    assert rig.twin.actual_power_w == 0.0
    assert rig.one(40074) == 2
    rig.run(0.5)
    assert rig.one(40074) == 7  # started, nothing flowing yet
    rig.run(1.0)
    assert rig.twin.actual_power_w == pytest.approx(3000.0)
    assert rig.one(40074) == 3  # RUNNING
    assert s16(rig.one(40080)) == -300  # W in tens of W, negative = absorbing
    assert s16(rig.one(40081)) == -300  # VA
    assert s16(rig.one(40084)) == -1304  # A: -13.04 A
    assert s16(rig.one(40111)) == -300  # WL1
    rig.run(1.0)
    assert rig.twin.actual_power_w == pytest.approx(5000.0)
    assert s16(rig.one(40080)) == -500
    assert rig.twin.battery.soc_pct > soc
    start = rig.twin.absorbed_wh
    rig.run(360)
    assert rig.twin.absorbed_wh - start == pytest.approx(500.0)
    assert u64(rig.read(40093, 4)) == math.floor(rig.twin.absorbed_wh / 10)
    assert u64(rig.read(40089, 4)) == 0
    assert rig.read(40367, 1) == [round(rig.twin.battery.soc_pct * 10)]
    rig.write(40318, 0)  # disable: ramps back to idle
    rig.run(1.0)
    assert rig.twin.actual_power_w == pytest.approx(2000.0)
    rig.run(1.0)
    assert rig.twin.actual_power_w == 0.0
    assert rig.one(40074) == 7


def test_power_starts_exactly_one_second_after_enable() -> None:
    """The end of STARTING falls inside a physics step: the ramp starts at t = 1 s."""
    rig = Rig()
    rig.command(-1100)
    rig.run(0.3)
    rig.run(2.0)
    assert rig.twin.actual_power_w == pytest.approx(3000.0 * 1.3)


def test_discharging_and_energy_injected() -> None:
    rig = Rig()
    rig.command(400)  # positive = injection: -4000 W in our sign
    rig.run(5)
    assert rig.twin.actual_power_w == pytest.approx(-4000.0)
    assert s16(rig.one(40080)) == 400
    assert s16(rig.one(40084)) == 1739  # 17.39 A
    start = rig.twin.injected_wh
    rig.run(360)
    assert rig.twin.injected_wh - start == pytest.approx(400.0)
    assert u64(rig.read(40089, 4)) == math.floor(rig.twin.injected_wh / 10)
    assert u64(rig.read(40093, 4)) == math.floor(rig.twin.absorbed_wh / 10)
    assert u64(rig.read(40118, 4)) == math.floor(rig.twin.injected_wh / 10)  # TotWhInjL1


def test_watts_mode_must_be_selected() -> None:
    """WSetMod defaults to W_MAX_PCT: WSet alone does nothing."""
    rig = Rig()
    rig.write(40320, *_words32(-500))
    rig.write(40318, 1)
    rig.run(10)
    assert rig.twin.actual_power_w == 0.0


def test_percent_mode() -> None:
    rig = Rig()
    rig.write(40324, 0xFE0C)  # WSetPct -50.0 % of WMax
    rig.write(40318, 1)
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(5500.0)


@pytest.mark.parametrize(
    ("writes", "wset", "expected_w"),
    [
        ([(40259, 300)], -1100, 3000.0),  # WChaRteMax 3000 W
        ([(40260, 200)], 1100, -2000.0),  # WDisChaRteMax 2000 W
        ([(40251, 150)], 1100, -1500.0),  # WMax limits injection
        ([(40251, 150)], -1100, 11000.0),  # ... not charging
        ([(40311, 500), (40310, 1)], 1100, -5500.0),  # WMaxLimPct 50.0 %
        ([(40311, 500)], 1100, -11000.0),  # limit disabled
    ],
)
def test_clamps(writes: list[tuple[int, int]], wset: int, expected_w: float) -> None:
    rig = Rig()
    for address, value in writes:
        rig.write(address, value)
    rig.command(wset)
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(expected_w)


def test_battery_limits() -> None:
    rig = Rig(car=Battery(capacity_kwh=60.0, soc_pct=97.0))
    rig.command(-500)
    rig.run(10)
    assert rig.twin.actual_power_w == 0.0
    rig.twin.update_state({"soc_pct": 5.0})
    rig.command(500)
    rig.run(10)
    assert rig.twin.actual_power_w == 0.0


def test_grid_outage() -> None:
    grid = Grid()
    rig = Rig(grid=grid)
    rig.command(-500)
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(5000.0)
    grid.available = False
    rig.run(0.1)
    assert rig.twin.actual_power_w == 0.0  # charging stops at once
    assert rig.one(40075) == 0  # ConnSt DISCONNECTED
    assert rig.one(40086) == 0  # LNV
    assert rig.read(40087, 2) == [0, 0]  # Hz
    assert rig.one(40117) == 0  # VL1
    rig.write(40320, *_words32(300))  # discharging works off-grid
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(-3000.0)
    assert rig.twin.describe()["conn_st"] == 0
    grid.available = True
    assert rig.read(40075, 1) == [1]
    assert rig.one(40086) == 2300


def test_unplugged_car() -> None:
    rig = Rig(plugged=False)
    rig.command(-500)
    assert rig.one(40074) == 7  # no car: STANDBY, not STARTING
    rig.run(10)
    assert rig.twin.actual_power_w == 0.0
    rig.twin.update_state({"plugged": True})
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(5000.0)
    rig.twin.update_state({"plugged": False})
    assert rig.twin.actual_power_w == 0.0
    assert rig.one(40080) == 0


# -- the reversion timer ----------------------------------------------------------


def test_reversion_after_silence() -> None:
    rig = Rig()
    rig.write(40327, 0, 10)  # WSetRvrtTms 10 s
    rig.command(-500)
    assert u32(rig.read(40329, 2)) == 10
    rig.run(4)
    assert u32(rig.read(40329, 2)) == 6
    rig.write(40320, *_words32(-500))  # a fresh setpoint restarts the timer
    assert u32(rig.read(40329, 2)) == 10
    rig.run(9.5)
    assert rig.one(40318) == 1
    assert u32(rig.read(40329, 2)) == 1  # rounded up
    rig.run(0.5)
    assert rig.read(40318, 4) == [0, 1, 0, 0]  # WSetEna := 0, WSet := 0
    assert rig.twin.reversions == 1
    assert u32(rig.read(40329, 2)) == 0
    rig.run(5)
    assert rig.twin.actual_power_w == 0.0
    rig.run(100)
    assert rig.twin.reversions == 1


def test_reversion_in_one_long_jump() -> None:
    """The timer fires at its deadline even when the clock jumps far past it."""
    rig = Rig()
    rig.clock.advance(0.5)  # events fall inside the 1 s physics steps
    rig.write(40327, 0, 10)
    rig.command(-500)
    rig.run(1000)
    assert rig.twin.reversions == 1
    # 1 s starting, then a ramp up, 5 kW, and a ramp down from t = 10 s: about 9 s at 5 kW
    assert rig.twin.absorbed_wh == pytest.approx(5000 * 9 / 3600, rel=0.05)
    assert rig.twin.actual_power_w == 0.0


def test_reversion_to_enabled_values() -> None:
    rig = Rig()
    rig.write(40322, *_words32(200))  # WSetRvrt 2000 W injection
    rig.write(40325, 100)  # WSetPctRvrt 10.0 %
    rig.write(40326, 1)  # WSetEnaRvrt ENABLED
    rig.write(40327, 0, 5)
    rig.command(-500)
    rig.run(5)
    assert rig.twin.reversions == 1
    assert rig.one(40318) == 1
    assert s32(rig.read(40320, 2)) == 200
    assert rig.one(40324) == 100
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(-2000.0)
    assert u32(rig.read(40329, 2)) == 0  # the timer stopped
    rig.run(100)
    assert rig.twin.reversions == 1


def test_no_reversion_without_time_or_when_disabled() -> None:
    rig = Rig()
    rig.command(-500)
    rig.run(1000)
    assert rig.twin.reversions == 0
    assert rig.twin.actual_power_w == pytest.approx(5000.0)
    rig.write(40327, 0, 10)  # arms from now
    rig.write(40318, 0)
    assert u32(rig.read(40329, 2)) == 0  # not running while disabled
    rig.run(20)
    assert rig.twin.reversions == 0
    rig.write(40327, 0, 0)
    assert rig.twin.describe()["rvrt_rem_s"] == 0


def test_limit_reversion() -> None:
    rig = Rig()
    rig.write(40314, 0, 5)  # WMaxLimPctRvrtTms
    rig.write(40311, 200)  # WMaxLimPct 20.0 %
    rig.write(40310, 1)
    assert u32(rig.read(40316, 2)) == 5
    rig.run(5)
    assert rig.read(40310, 2) == [0, 1000]
    assert rig.twin.limit_reversions == 1
    rig.write(40310, 1)
    rig.write(40310, 0)
    rig.run(10)
    assert rig.twin.limit_reversions == 1


# -- faults -----------------------------------------------------------------------


async def test_network_faults(allow_loopback: None) -> None:
    rig = Rig()
    twin = rig.twin
    await twin.start()
    try:
        twin.apply_fault(Fault(FaultKind.REFUSE, duration_s=10))
        await twin.housekeeping()
        assert not _listening(twin)
        twin.apply_fault(Fault(FaultKind.STALL, duration_s=10, delay_s=3))
        twin.apply_fault(Fault(FaultKind.EXCEPTION, duration_s=10, code=6))
        twin.apply_fault(Fault(FaultKind.SHORT, duration_s=10))
        twin.apply_fault(Fault(FaultKind.DROP))
        faults = twin.server.faults
        assert (faults.stall_s, faults.exception_code, faults.short_reads, faults.drop_next) == (
            3,
            6,
            True,
            True,
        )
        rig.wall[0] = 11.0
        await twin.housekeeping()
        assert _listening(twin)
        assert (faults.stall_s, faults.exception_code, faults.short_reads) == (0, 0, False)
        twin.clear_faults()
        assert not faults.drop_next
    finally:
        await twin.stop()


def test_garbage_reads() -> None:
    rig = Rig()
    clean = rig.read(40000, 100)
    rig.twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=5))
    assert rig.twin.describe()["faults"]["garbage"]
    assert rig.read(40000, 100) != clean
    rig.wall[0] = 5.0
    assert rig.read(40000, 100) == clean
    rig.twin.apply_fault(Fault(FaultKind.GARBAGE))
    rig.twin.clear_faults()
    assert rig.read(40000, 100) == clean


async def test_garbage_expires_in_housekeeping(allow_loopback: None) -> None:
    rig = Rig()
    rig.twin.apply_fault(Fault(FaultKind.GARBAGE, duration_s=5))
    try:
        rig.wall[0] = 1.0
        await rig.twin.housekeeping()
        assert rig.twin.garbage_until == 5.0
        rig.wall[0] = 6.0
        await rig.twin.housekeeping()
        assert rig.twin.garbage_until == 0.0
    finally:
        await rig.twin.stop()


async def test_reboot(allow_loopback: None) -> None:
    rig = Rig()
    twin = rig.twin
    await twin.start()
    try:
        rig.write(40259, 800)  # a 702 setting survives the reboot
        rig.write(40327, 0, 60)
        rig.write(40314, 0, 60)
        rig.command(-500)
        rig.run(10)
        assert twin.actual_power_w == pytest.approx(5000.0)
        twin.apply_fault(Fault(FaultKind.REBOOT))
        assert twin.actual_power_w == 0.0
        assert twin.booting
        assert twin.values()["701.St"] == 0
        assert twin.values()["701.InvSt"] == 0
        await twin.housekeeping()
        assert not _listening(twin)
        rig.clock.advance(5)
        await twin.housekeeping()
        assert _listening(twin)
        assert rig.read(40318, 13) == [0] * 13  # 704 defaults: WSetEna, WSetMod, WSet, ...
        assert rig.read(40314, 2) == [0, 0]
        assert rig.one(40259) == 800
        assert rig.read(40073, 2) == [1, 7]
        rig.run(100)
        assert twin.actual_power_w == 0.0
        assert twin.reversions == 0
    finally:
        await twin.stop()


def test_soc_glitch() -> None:
    rig = Rig()
    rig.twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=2))
    assert rig.read(40365, 2) == [6000, 3600]  # other reads do not use it up
    assert rig.one(40367) == 0
    assert rig.twin.describe()["faults"]["soc_glitch_reads"] == 1
    assert rig.read(40363, 9)[4] == 0
    assert rig.one(40367) == 600
    rig.twin.apply_fault(Fault(FaultKind.SOC_GLITCH, count=5))
    rig.twin.update_state({"plugged": False})
    assert rig.one(40367) == N16  # no car: not implemented, the glitch waits
    rig.twin.clear_faults()
    rig.twin.update_state({"plugged": True})
    assert rig.one(40367) == 600


def test_error_fault() -> None:
    rig = Rig()
    rig.command(-500)
    rig.run(10)
    rig.twin.apply_fault(Fault(FaultKind.ERROR, code=42))
    assert rig.twin.actual_power_w == 0.0
    assert rig.read(40073, 2) == [0, 6]  # St OFF, InvSt FAULT
    assert rig.read(40076, 2) == [0x0001, 0x0000]  # bit 16 MANUFACTURER_ALRM
    assert text(rig.read(40193, 32)) == "ERROR 42"
    rig.run(10)
    assert rig.twin.actual_power_w == 0.0
    assert rig.twin.describe()["faults"]["error"] == 42
    rig.twin.clear_faults()
    rig.run(10)
    assert rig.twin.actual_power_w == pytest.approx(5000.0)
    assert rig.read(40073, 5) == [1, 3, 1, 0, 0]  # St ON, RUNNING, CONNECTED, no alarm


# -- describe and update_state ---------------------------------------------------


def test_describe() -> None:
    rig = Rig()
    rig.write(40327, 0, 30)
    rig.command(-500)
    rig.run(10)
    info = rig.twin.describe()
    assert info["kind"] == "sunspec"
    assert rig.twin.name == "sunspec"
    assert info["port"] == 0
    assert not info["listening"]
    assert info["plugged"] is True
    assert info["actual_power_w"] == 5000.0
    assert info["wset_w"] == -5000.0
    assert info["wset_ena"] == 1
    assert info["wset_mod"] == 1
    assert info["rvrt_tms"] == 30
    assert info["rvrt_rem_s"] == 20
    assert info["reversions"] == 0
    assert info["conn_st"] == 1
    assert info["inv_st"] == 3
    assert info["wcha_rte_max_w"] == 11000.0
    assert info["faults"] == {
        "error": 0,
        "garbage": False,
        "soc_glitch_reads": 0,
        "rebooting": False,
    }
    assert info["writes"] == 4
    assert info["soc_pct"] > 60


def test_update_state() -> None:
    rig = Rig()
    rig.twin.update_state({"soc_pct": 80, "plugged": True})
    assert rig.twin.battery.soc_pct == 80.0
    assert rig.one(40367) == 800
    assert rig.one(40366) == 4800  # WHAvail 48 kWh
    rig.twin.update_state({})
    assert rig.twin.plugged


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ({"plugged": "yes"}, "plugged"),
        ({"plugged": 1}, "plugged"),
        ({"soc_pct": 101}, "soc_pct"),
        ({"soc_pct": -1}, "soc_pct"),
        ({"soc_pct": True}, "soc_pct"),
        ({"soc_pct": "50"}, "soc_pct"),
        ({"soc_pct": math.nan}, "soc_pct"),
        ({"plugged": False, "soc_pct": 150}, "soc_pct"),
        ({"plugged": False, "colour": "red"}, "unknown"),
    ],
)
def test_update_state_validation(payload: dict[str, object], match: str) -> None:
    rig = Rig()
    with pytest.raises(ValueError, match=match):
        rig.twin.update_state(payload)
    assert rig.twin.plugged
    assert rig.twin.battery.soc_pct == 60.0


# -- Modbus TCP over loopback, frames written by hand -----------------------------


async def _exchange(port: int, frame: bytes, expect: int) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(frame)
        await writer.drain()
        return await asyncio.wait_for(reader.readexactly(expect), 2)
    finally:
        writer.close()
        await writer.wait_closed()


def _hex(frame: str) -> bytes:
    return bytes.fromhex(frame.replace(" ", ""))


async def test_modbus_tcp_frames(allow_loopback: None) -> None:
    rig = Rig()
    await rig.twin.start()
    port = rig.twin.server.port
    assert port != 0
    try:
        # FC 03 at 40000 (0x9C40), 4 registers: "SunS", model 1, L 66
        reply = await _exchange(port, _hex("0001 0000 0006 01 03 9C40 0004"), 17)
        assert reply == _hex("0001 0000 000B 01 03 08 5375 6E53 0001 0042")
        # FC 06 WSetMod (40319 = 0x9D7F) = 1: echo
        request = _hex("0002 0000 0006 01 06 9D7F 0001")
        assert await _exchange(port, request, 12) == request
        # FC 16 WSet (40320 = 0x9D80), 2 registers, -500 = 0xFFFF 0xFE0C
        reply = await _exchange(port, _hex("0003 0000 000B 01 10 9D80 0002 04 FFFF FE0C"), 12)
        assert reply == _hex("0003 0000 0006 01 10 9D80 0002")
        # FC 06 on half of WSet: exception 3; on 701 W (40080 = 0x9C90): exception 2
        reply = await _exchange(port, _hex("0004 0000 0006 01 06 9D80 0000"), 9)
        assert reply == _hex("0004 0000 0003 01 86 03")
        reply = await _exchange(port, _hex("0005 0000 0006 01 06 9C90 0000"), 9)
        assert reply == _hex("0005 0000 0003 01 86 02")
        # FC 03 past the end marker (40373 = 0x9DB5, 2 registers): exception 2
        reply = await _exchange(port, _hex("0006 0000 0006 01 03 9DB5 0002"), 9)
        assert reply == _hex("0006 0000 0003 01 83 02")
        # FC 03 WSetMod + WSet read back
        reply = await _exchange(port, _hex("0007 0000 0006 01 03 9D7F 0003"), 15)
        assert reply == _hex("0007 0000 0009 01 03 06 0001 FFFF FE0C")
    finally:
        await rig.twin.stop()
    assert handle_pdu(rig.twin, _hex("03 9C40 0002")) == _hex("03 04 5375 6E53")
