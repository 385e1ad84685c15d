"""ECHONET Lite EV charger/discharger (0x027E) profile against a loopback responder.

Property values are written as the big-endian hex of protocols.md 4.2 (uint32 W/Wh,
int32 W, uint8 codes); the responder answers from them with hand-built frames.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

import pytest

from custom_components.v2x.devices.echonet import EchonetClient, EchonetEndpoint
from custom_components.v2x.devices.echonet.ev_charger import (
    STATES,
    EchonetEvCharger,
    decode_product_code,
    decode_state,
)
from custom_components.v2x.devices.echonet.values import (
    decode_manufacturer,
    decode_standard_version,
)
from custom_components.v2x.devices.errors import (
    DeviceProtocolError,
    DeviceTimeoutError,
    ResponseImpossibleError,
    ValueOutOfRangeError,
    WriteNotVerifiedError,
)
from custom_components.v2x.devices.model import Charger, ChargerState, SocReading
from tests.core.devices.test_echonet_client import EV, NODE, Request, Responder, start_responder

NODE_IDENT = bytes.fromhex("FE00006C" + "4C45414632484F4D4530303031")
DEVICE_IDENT = bytes.fromhex("FE00006C" + "00000000000000000000000001")

EV_PROPERTIES: dict[int, bytes] = {
    0x80: bytes.fromhex("30"),
    0x82: bytes.fromhex("00005200"),  # Release R
    0x88: bytes.fromhex("42"),  # no fault
    0x89: bytes.fromhex("0000"),
    0x8A: bytes.fromhex("00006C"),  # Nichicon
    0x8C: b"EVPS-6KW\x00\x00\x00\x00",
    0xC0: bytes.fromhex("00009C40"),  # 40000 Wh
    0xC5: bytes.fromhex("00001770"),  # 6000 W
    0xC6: bytes.fromhex("00001388"),  # 5000 W
    0xC7: bytes.fromhex("43"),  # connected, chargeable and dischargeable
    0xCC: bytes.fromhex("22"),  # DC_AA charge/discharge
    0xD3: bytes.fromhex("00000000"),
    0xD6: bytes.fromhex("0001E240"),  # 123456 x 0.001 kWh
    0xD8: bytes.fromhex("0009FBF1"),  # 654321 x 0.001 kWh
    0xDA: bytes.fromhex("44"),  # standby
    0xDB: bytes.fromhex("00"),  # grid-connected
    0xDC: bytes.fromhex("01"),
    0xDD: bytes.fromhex("02"),
    0xE1: bytes.fromhex("44"),
    0xE2: bytes.fromhex("00005DC0"),  # 24000 Wh
    0xE4: bytes.fromhex("3C"),  # 60 %
    0xEB: bytes.fromhex("00000000"),
    0xEC: bytes.fromhex("00000000"),
}
SETTABLE = {0xCD, 0xDA, 0xDC, 0xDD, 0xEB, 0xEC}
VEHICLE_EPCS = (0xC0, 0xE2, 0xE4)


def property_map(epcs: Iterable[int]) -> bytes:
    """A property map after the documented rule (list below 16, bitmap from 16)."""
    epcs = sorted(set(epcs))
    if len(epcs) < 16:
        return bytes((len(epcs), *epcs))
    bitmap = [0] * 16
    for epc in epcs:
        bitmap[epc % 16] |= 1 << (epc // 16 - 8)
    return bytes((len(epcs), *bitmap))


class EvNode:
    """The responder dressed as a 0x027E unit; ``configure`` rebuilds the maps."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.properties = dict(EV_PROPERTIES)
        responder.objects[NODE] = {0x83: NODE_IDENT, 0x8A: bytes.fromhex("00006C")}
        responder.objects[EV] = self.properties
        responder.on_set = self._on_set
        self.configure()

    def configure(
        self,
        *,
        settable: Iterable[int] = SETTABLE,
        hidden: Iterable[int] = (),
        extra_gettable: Iterable[int] = (),
    ) -> None:
        """Set the maps: every stored EPC is gettable except ``hidden``."""
        settable = set(settable)
        gettable = (set(self.properties) | {0x9D, 0x9E, 0x9F} | set(extra_gettable)) - set(hidden)
        for epc in hidden:
            self.properties.pop(epc, None)
        self.properties[0x9E] = property_map(settable)
        self.properties[0x9F] = property_map(gettable)
        self.responder.settable[EV] = settable

    def unplug(self) -> None:
        self.properties[0xC7] = bytes.fromhex("30")
        for epc in VEHICLE_EPCS:
            self.properties.pop(epc, None)

    def _on_set(self, eoj: bytes, epc: int, edt: bytes) -> None:
        # 0xE0 in the V2G method also sets 0xDA (protocols.md 4.2).
        if epc == 0xE0 and bytes.fromhex("06") in (self.properties[0xDC], self.properties[0xDD]):
            value = int.from_bytes(edt, signed=True)
            mode = 0x42 if value > 0 else 0x43 if value < 0 else 0x44
            self.properties[0xDA] = bytes((mode,))

    @property
    def requests(self) -> list[Request]:
        return self.responder.requests

    def sent(self) -> list[tuple[int, list[tuple[int, bytes]]]]:
        """(ESV, properties) of every request so far, then forget them."""
        out = [(request.esv, request.properties) for request in self.requests]
        self.requests.clear()
        return out


@pytest.fixture
async def node(allow_loopback: None) -> AsyncIterator[EvNode]:
    responder, transport = await start_responder()
    yield EvNode(responder)
    transport.close()


def _charger(endpoint: EchonetEndpoint, node: EvNode, retries: int = 1) -> EchonetEvCharger:
    client = EchonetClient(
        endpoint, "127.0.0.1", node.responder.port, timeout_s=0.1, retries=retries
    )
    return EchonetEvCharger(client)


@pytest.fixture
async def charger(endpoint: EchonetEndpoint, node: EvNode) -> EchonetEvCharger:
    """A charger whose identity is read; the responder's log starts empty."""
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    return unit


GET, SETC = 0x62, 0x61
CONFIRM = (SETC, [(0xCD, b"\x10")])


# --- identity ---------------------------------------------------------------------------


async def test_identity(endpoint: EchonetEndpoint, node: EvNode) -> None:
    unit = _charger(endpoint, node)
    assert unit.capabilities.max_power_w == 0  # not final before identity
    identity = await unit.async_read_identity()
    assert identity.manufacturer == "Nichicon"
    assert identity.model == "EVPS-6KW"
    assert identity.serial_number == "FE00006C4C45414632484F4D4530303031"
    assert identity.firmware_version == "Release R"
    assert [request.deoj for request in node.requests] == [NODE, EV]
    assert node.requests[0].epcs == [0x83, 0x8A]
    assert unit.requests_sent == 2
    assert unit.connects == 1
    caps = unit.capabilities
    assert (caps.watchdog, caps.remote_control, caps.reports_vehicle) == (False, False, True)
    assert (caps.reports_grid, caps.energy_counters, caps.bidirectional) == (True, True, True)
    assert caps.max_power_w == 6000
    assert caps.vehicle_energy
    assert set(caps.states) == {
        ChargerState.NO_CAR,
        ChargerState.CHARGING,
        ChargerState.DISCHARGING,
        ChargerState.STANDBY,
        ChargerState.IDLE,
        ChargerState.STARTING,
        ChargerState.OTHER,
        ChargerState.ERROR,
    }
    assert unit.info is not None
    assert unit.info.set_map == SETTABLE
    assert unit.watchdog_s == 0


async def test_it_is_a_charger(endpoint: EchonetEndpoint, node: EvNode) -> None:
    unit: Charger = _charger(endpoint, node)
    for name in (
        "async_read_identity", "async_read_status", "async_read_snapshot",
        "async_take_control", "async_release_control", "async_set_power",
        "async_stop", "async_close",
    ):  # fmt: skip
        assert callable(getattr(unit, name))
    await unit.async_close()
    assert unit.requests_sent == 0


async def test_capabilities_follow_the_maps(endpoint: EchonetEndpoint, node: EvNode) -> None:
    node.properties[0xCC] = bytes.fromhex("21")  # DC_AA charge only
    node.configure(hidden=(0xDB, 0xD6, 0xE2))
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    caps = unit.capabilities
    assert (caps.reports_grid, caps.energy_counters, caps.bidirectional) == (False, False, False)
    assert not caps.vehicle_energy


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (0x00006C, "Nichicon"),
        (0x0000EB, "Nichicon"),
        (0x00003C, "Denso"),
        (0x000005, "Sharp"),
        (0x00000B, "Panasonic"),
        (0x000064, "OMRON"),
        (0x000099, "ECHONET Lite 0x000099"),
    ],
)
def test_manufacturer_names(code: int, name: str) -> None:
    assert decode_manufacturer(code) == name


def test_product_code_and_version_fallbacks() -> None:
    assert decode_product_code(None) == "EV charger/discharger"
    assert decode_product_code(b"\x00" * 12) == "EV charger/discharger"
    assert decode_product_code(b"  V2H-01    ") == "V2H-01"
    assert decode_standard_version(bytes.fromhex("00005000")) == "Release P"
    assert decode_standard_version(bytes.fromhex("00007201")) == "Release R"
    assert decode_standard_version(bytes.fromhex("00003100")) is None
    assert decode_standard_version(bytes.fromhex("000052")) is None
    assert decode_standard_version(None) is None


async def test_identity_falls_back_to_the_object(endpoint: EchonetEndpoint, node: EvNode) -> None:
    del node.responder.objects[NODE][0x83]
    node.properties[0x83] = DEVICE_IDENT
    del node.properties[0x8A]
    for epc in (0x8C, 0x82, 0x9E, 0xCC):
        del node.properties[epc]
    unit = _charger(endpoint, node)
    identity = await unit.async_read_identity()
    assert identity.serial_number == DEVICE_IDENT.hex().upper()
    assert identity.manufacturer == "Nichicon"  # the node profile's 0x8A
    assert identity.model == "EV charger/discharger"
    assert identity.firmware_version is None
    assert unit.info is not None
    assert unit.info.set_map == frozenset()
    assert unit.info.equipment_type is None


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ((0x83,), "no identification number"),
        ((0x8A,), "no manufacturer code"),
        ((0x9F,), "no Get property map"),
        ((0xC5,), "no rated power"),
        ((0xC6,), "no rated power"),
    ],
)
async def test_identity_needs_the_mandatory_properties(
    endpoint: EchonetEndpoint, node: EvNode, missing: tuple[int, ...], message: str
) -> None:
    for epc in missing:
        node.responder.objects[NODE].pop(epc, None)
        node.properties.pop(epc, None)
    with pytest.raises(DeviceProtocolError, match=message):
        await _charger(endpoint, node).async_read_identity()


async def test_a_different_device_at_the_address_is_refused(
    charger: EchonetEvCharger, node: EvNode
) -> None:
    await charger.async_read_identity()  # the same device again is fine
    node.responder.objects[NODE][0x83] = DEVICE_IDENT
    with pytest.raises(DeviceProtocolError, match="a different device"):
        await charger.async_read_identity()
    assert charger.connects == 2


async def test_identity_is_read_again_after_a_silence(
    charger: EchonetEvCharger, node: EvNode
) -> None:
    node.responder.drop = 2
    with pytest.raises(DeviceTimeoutError):
        await charger.async_read_status()
    node.requests.clear()
    status = await charger.async_read_status()
    assert status.state is ChargerState.STANDBY
    assert [request.deoj for request in node.requests] == [NODE, EV, EV, EV]
    assert charger.connects == 2


async def test_status_reads_identity_first_when_needed(
    endpoint: EchonetEndpoint, node: EvNode
) -> None:
    unit = _charger(endpoint, node)
    await unit.async_read_status()
    assert [(r.deoj, r.esv) for r in node.requests] == [
        (NODE, GET),
        (EV, GET),
        (EV, SETC),
        (EV, GET),
    ]
    assert unit.requests_sent == 4


# --- status ------------------------------------------------------------------------------


async def test_status_confirms_the_connection_before_reading_it(
    charger: EchonetEvCharger, node: EvNode
) -> None:
    status = await charger.async_read_status()
    sent = node.sent()
    assert sent[0] == CONFIRM
    assert sent[1][0] == GET
    assert [epc for epc, _ in sent[1][1]] == [0xC7, 0xE1, 0xD3, 0xE4, 0x88, 0x89, 0xDB]
    assert len(sent) == 2
    assert charger.requests_sent == 2 + 2  # identity, then the status poll
    assert status.state is ChargerState.STANDBY
    assert status.state_code == 0x44
    assert status.power_w == 0
    assert status.soc == SocReading(60.0)
    assert (status.connected, status.dischargeable, status.grid_available) == (True, True, True)
    assert not status.errors.active


async def test_status_is_one_request_without_confirmation(
    endpoint: EchonetEndpoint, node: EvNode
) -> None:
    node.properties[0xCC] = bytes.fromhex("13")  # AC_HLC charge/discharge
    node.configure(settable=SETTABLE - {0xCD})
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    await unit.async_read_status()
    assert [request.esv for request in node.requests] == [GET]


async def test_confirmation_when_the_set_map_lists_it(
    endpoint: EchonetEndpoint, node: EvNode
) -> None:
    node.properties[0xCC] = bytes.fromhex("13")
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    await unit.async_read_status()
    assert node.sent()[0] == CONFIRM


async def test_dc_aa_confirms_even_without_the_set_map(
    endpoint: EchonetEndpoint, node: EvNode
) -> None:
    node.configure(settable=SETTABLE - {0xCD})
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    status = await unit.async_read_status()  # the refused 0xCD is not an error
    assert node.sent()[0] == CONFIRM
    assert status.connected is True


async def test_no_car(charger: EchonetEvCharger, node: EvNode) -> None:
    node.unplug()
    node.responder.refuse = {0xCD}
    status = await charger.async_read_status()
    assert status.state is ChargerState.NO_CAR
    assert status.soc == SocReading(None)
    assert (status.connected, status.dischargeable, status.vehicle_connected) == (
        False,
        None,
        False,
    )
    snapshot = await charger.async_read_snapshot()
    assert (snapshot.vehicle_capacity_kwh, snapshot.vehicle_energy_kwh) == (None, None)


async def test_soc_kept_stale_while_the_vehicle_answers_none(
    charger: EchonetEvCharger, node: EvNode
) -> None:
    assert (await charger.async_read_status()).soc == SocReading(60.0)
    del node.properties[0xE4]
    assert (await charger.async_read_status()).soc == SocReading(60.0, stale=True)
    node.unplug()
    assert (await charger.async_read_status()).soc == SocReading(None)
    node.properties[0xC7] = bytes.fromhex("41")
    assert (await charger.async_read_status()).soc == SocReading(None)
    node.properties[0xE4] = bytes.fromhex("00")  # 0 %: no value (a car's BMS never gets there)
    assert (await charger.async_read_status()).soc == SocReading(None)
    node.properties[0xE4] = bytes.fromhex("2D")
    assert (await charger.async_read_status()).soc == SocReading(45.0)
    node.properties[0xE4] = bytes.fromhex("01")  # a 1 % glitch is not believed at once
    assert (await charger.async_read_status()).soc == SocReading(45.0, stale=True)


async def test_soc_out_of_range(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xE4] = bytes.fromhex("65")  # 101
    with pytest.raises(ValueOutOfRangeError, match="soc"):
        await charger.async_read_status()


@pytest.mark.parametrize(
    ("code", "connected", "dischargeable"),
    [
        (0x30, False, None),
        (0x40, True, False),
        (0x41, True, False),
        (0x42, True, True),
        (0x43, True, True),
        (0x44, None, None),
        (0xFF, None, None),
    ],
)
async def test_connection_codes(
    charger: EchonetEvCharger,
    node: EvNode,
    code: int,
    connected: bool | None,
    dischargeable: bool | None,
) -> None:
    node.properties[0xC7] = bytes((code,))
    status = await charger.async_read_status()
    assert (status.connected, status.dischargeable) == (connected, dischargeable)
    assert (status.state is ChargerState.NO_CAR) == (connected is False)


async def test_unknown_connection_code(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xC7] = bytes.fromhex("50")
    with pytest.raises(ValueOutOfRangeError, match="0xC7"):
        await charger.async_read_status()


@pytest.mark.parametrize(
    ("mode", "state"),
    [
        (0x42, ChargerState.CHARGING),
        (0x43, ChargerState.DISCHARGING),
        (0x44, ChargerState.STANDBY),
        (0x47, ChargerState.IDLE),
        (0x48, ChargerState.STARTING),
        (0x40, ChargerState.OTHER),
        (0x41, ChargerState.CHARGING),  # Releases D-F: rapid charge
        (0x45, ChargerState.OTHER),  # Releases D-F: test
    ],
)
async def test_every_mode(
    charger: EchonetEvCharger, node: EvNode, mode: int, state: ChargerState
) -> None:
    node.properties[0xE1] = bytes((mode,))
    status = await charger.async_read_status()
    assert status.state is state
    assert status.state_code == mode


@pytest.mark.parametrize("mode", [0x46, 0x49])
@pytest.mark.parametrize(
    ("power", "state"),
    [
        ("00000BB8", ChargerState.CHARGING),  # +3000 W
        ("FFFFF448", ChargerState.DISCHARGING),  # -3000 W
        ("00000000", ChargerState.STANDBY),
    ],
)
async def test_direction_from_the_power_sign(
    charger: EchonetEvCharger, node: EvNode, mode: int, power: str, state: ChargerState
) -> None:
    node.properties[0xE1] = bytes((mode,))
    node.properties[0xD3] = bytes.fromhex(power)
    status = await charger.async_read_status()
    assert status.state is state
    assert status.power_w == int.from_bytes(bytes.fromhex(power), signed=True)


def test_direction_unknown_without_power() -> None:
    assert decode_state(0x46, None) is ChargerState.STANDBY
    assert decode_state(0x49, -1) is ChargerState.DISCHARGING


async def test_negative_power_is_discharging(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xE1] = bytes.fromhex("43")
    node.properties[0xD3] = bytes.fromhex("FFFFFA24")  # -1500 W
    status = await charger.async_read_status()
    assert (status.state, status.power_w) == (ChargerState.DISCHARGING, -1500)
    assert status.discharging


async def test_unknown_mode(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xE1] = bytes.fromhex("4A")
    with pytest.raises(ValueOutOfRangeError, match="operation_mode=74") as err:
        await charger.async_read_status()
    assert err.value.allowed == "0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49"


async def test_mode_from_0xda_when_0xe1_is_missing(endpoint: EchonetEndpoint, node: EvNode) -> None:
    node.properties[0xDA] = bytes.fromhex("42")
    node.configure(hidden=(0xE1, 0xD3, 0xDB, 0x88, 0x89))
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    status = await unit.async_read_status()
    assert node.requests[1].epcs == [0xC7, 0xDA, 0xE4]
    assert not status.errors.active
    assert (status.state, status.power_w, status.grid_available) == (
        ChargerState.CHARGING,
        0,
        None,
    )


async def test_no_mode_while_connected(charger: EchonetEvCharger, node: EvNode) -> None:
    del node.properties[0xE1]
    with pytest.raises(DeviceProtocolError, match="no operation mode"):
        await charger.async_read_status()


async def test_no_mode_and_no_car_is_fine(charger: EchonetEvCharger, node: EvNode) -> None:
    del node.properties[0xE1]
    node.unplug()
    status = await charger.async_read_status()
    assert (status.state, status.state_code) == (ChargerState.NO_CAR, 0)


async def test_unknown_connection_falls_back_to_the_mode(
    charger: EchonetEvCharger, node: EvNode
) -> None:
    del node.properties[0xC7]
    node.properties[0xE1] = bytes.fromhex("42")
    status = await charger.async_read_status()
    assert (status.state, status.connected) == (ChargerState.CHARGING, None)


@pytest.mark.parametrize(
    ("description", "hidden", "code"),
    [("0102", (), 0x0102), ("0000", (), 1), ("0102", (0x89,), 1)],
)
async def test_fault(
    endpoint: EchonetEndpoint,
    node: EvNode,
    description: str,
    hidden: tuple[int, ...],
    code: int,
) -> None:
    node.properties[0x88] = bytes.fromhex("41")
    node.properties[0x89] = bytes.fromhex(description)
    node.properties[0xE1] = bytes.fromhex("42")
    node.configure(hidden=hidden)
    status = await _charger(endpoint, node).async_read_status()
    assert status.state is ChargerState.ERROR
    assert status.errors.unrecoverable == code
    assert status.in_error
    assert status.state_code == 0x42


async def test_fault_status_out_of_range(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0x88] = bytes.fromhex("43")
    with pytest.raises(ValueOutOfRangeError, match="0x88"):
        await charger.async_read_status()


@pytest.mark.parametrize(("code", "grid"), [(0x00, True), (0x01, False), (0x02, True)])
async def test_grid(charger: EchonetEvCharger, node: EvNode, code: int, grid: bool) -> None:
    node.properties[0xDB] = bytes((code,))
    assert (await charger.async_read_status()).grid_available is grid


async def test_grid_out_of_range(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xDB] = bytes.fromhex("03")
    with pytest.raises(ValueOutOfRangeError, match="0xDB"):
        await charger.async_read_status()


async def test_wrong_data_size(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xD3] = bytes.fromhex("0BB8")
    with pytest.raises(DeviceProtocolError, match=r"EPC 0xD3: expected 4 bytes, got 2"):
        await charger.async_read_status()


# --- snapshot ----------------------------------------------------------------------------


async def test_snapshot(charger: EchonetEvCharger, node: EvNode) -> None:
    snapshot = await charger.async_read_snapshot()
    sent = node.sent()
    assert len(sent) == 2
    assert sent[0] == CONFIRM
    assert [epc for epc, _ in sent[1][1]] == [
        0xC7, 0xE1, 0xD3, 0xE4, 0x88, 0x89, 0xDB,
        0xDA, 0xEB, 0xEC, 0xC5, 0xC6, 0xD6, 0xD8, 0xC0, 0xE2, 0xDC, 0xDD,
    ]  # fmt: skip
    assert snapshot.status.state is ChargerState.STANDBY
    assert (snapshot.control, snapshot.locked) == (None, None)
    assert snapshot.power_setpoint_w == 0
    assert snapshot.max_available_power_w == 6000
    assert (snapshot.max_charge_power_w, snapshot.max_discharge_power_w) == (6000, 5000)
    assert snapshot.charged_energy_kwh == pytest.approx(654.321)
    assert snapshot.discharged_energy_kwh == pytest.approx(123.456)
    assert snapshot.vehicle_capacity_kwh == pytest.approx(40.0)
    assert snapshot.vehicle_energy_kwh == pytest.approx(24.0)


async def test_snapshot_without_optional_properties(
    endpoint: EchonetEndpoint, node: EvNode
) -> None:
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.configure(hidden=(0xD6, 0xD8, 0xEB, 0xEC, 0xC5, 0xC6))  # after identity
    node.properties[0xDA] = bytes.fromhex("42")
    snapshot = await unit.async_read_snapshot()
    assert (snapshot.charged_energy_kwh, snapshot.discharged_energy_kwh) == (None, None)
    assert (snapshot.max_charge_power_w, snapshot.max_discharge_power_w) == (6000, 5000)
    assert snapshot.power_setpoint_w == 0  # 0xEB listed but not answered


@pytest.mark.parametrize(
    ("mode", "eb", "ec", "setpoint"),
    [
        ("42", "00000BB8", "000007D0", 3000),
        ("43", "00000BB8", "000007D0", -2000),
        ("44", "00000BB8", "000007D0", 0),
        ("47", "00000BB8", "000007D0", 0),
    ],
)
async def test_setpoint_from_0xeb_0xec_and_the_mode(
    charger: EchonetEvCharger, node: EvNode, mode: str, eb: str, ec: str, setpoint: int
) -> None:
    node.properties.update(
        {0xDA: bytes.fromhex(mode), 0xEB: bytes.fromhex(eb), 0xEC: bytes.fromhex(ec)}
    )
    assert (await charger.async_read_snapshot()).power_setpoint_w == setpoint


E0_SETTABLE = {0xCD, 0xDA, 0xDC, 0xDD, 0xE0}


@pytest.mark.parametrize(
    ("mode", "e0", "methods", "setpoint"),
    [
        ("43", "FFFFF63C", ("02", "06"), -2500),  # V2G discharge
        ("42", "00000BB8", ("06", "02"), 3000),
        ("42", "FFFFF63C", ("06", "06"), 0),  # sign does not match the mode
        ("43", "FFFFF63C", ("01", "02"), 0),  # no V2G method: 0xE0 is ignored
        ("43", "FFFFF63C", None, -2500),  # methods not reported: trust 0xE0
        ("44", "FFFFF63C", ("06", "06"), 0),
    ],
)
async def test_setpoint_from_0xe0(
    endpoint: EchonetEndpoint,
    node: EvNode,
    mode: str,
    e0: str,
    methods: tuple[str, str] | None,
    setpoint: int,
) -> None:
    node.properties[0xE0] = bytes.fromhex(e0)
    node.properties[0xDA] = bytes.fromhex(mode)
    if methods is None:
        node.configure(settable=E0_SETTABLE, hidden=(0xDC, 0xDD, 0xEB, 0xEC))
    else:
        node.properties[0xDC] = bytes.fromhex(methods[0])
        node.properties[0xDD] = bytes.fromhex(methods[1])
        node.configure(settable=E0_SETTABLE, hidden=(0xEB, 0xEC))
    unit = _charger(endpoint, node)
    assert (await unit.async_read_snapshot()).power_setpoint_w == setpoint


async def test_setpoint_when_nothing_sets_power(endpoint: EchonetEndpoint, node: EvNode) -> None:
    """With no power EPC settable, the readable ones still tell the setpoint."""
    node.properties[0xDA] = bytes.fromhex("43")
    node.properties[0xEC] = bytes.fromhex("000003E8")
    node.configure(settable={0xDA})
    assert (await _charger(endpoint, node).async_read_snapshot()).power_setpoint_w == -1000
    node.configure(settable={0xDA}, hidden=(0xEB, 0xEC))
    node.properties[0xE0] = bytes.fromhex("FFFFFC18")
    node.configure(settable={0xDA})
    assert (await _charger(endpoint, node).async_read_snapshot()).power_setpoint_w == 0
    node.properties[0xDD] = bytes.fromhex("06")  # 0xE0 acts in V2G only
    assert (await _charger(endpoint, node).async_read_snapshot()).power_setpoint_w == -1000


# --- commands ----------------------------------------------------------------------------


def _u32(value: int) -> bytes:
    return value.to_bytes(4, "big")


@pytest.mark.parametrize(
    ("asked", "setpoint", "epc", "mode"),
    [
        (3000, 3000, 0xEB, 0x42),
        (9000, 6000, 0xEB, 0x42),  # clamped to 0xC5
        (-2000, -2000, 0xEC, 0x43),
        (-9000, -5000, 0xEC, 0x43),  # clamped to 0xC6
    ],
)
async def test_set_power_with_0xeb_0xec(
    charger: EchonetEvCharger, node: EvNode, asked: int, setpoint: int, epc: int, mode: int
) -> None:
    assert await charger.async_set_power(asked) == setpoint
    assert node.sent() == [
        (SETC, [(epc, _u32(abs(setpoint)))]),
        (GET, [(epc, b"")]),
        (SETC, [(0xDA, bytes((mode,)))]),
        (GET, [(0xDA, b"")]),
    ]
    assert node.properties[epc] == _u32(abs(setpoint))
    assert node.properties[0xDA] == bytes((mode,))


async def test_set_power_zero_is_standby(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xDA] = bytes.fromhex("42")
    assert await charger.async_set_power(0) == 0
    assert node.sent() == [(SETC, [(0xDA, b"\x44")]), (GET, [(0xDA, b"")])]


async def test_set_power_with_0xe0_in_v2g(endpoint: EchonetEndpoint, node: EvNode) -> None:
    node.properties[0xE0] = bytes.fromhex("00000000")
    node.configure(settable=E0_SETTABLE, hidden=(0xEB, 0xEC))
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    assert await unit.async_set_power(-2500) == -2500
    assert node.sent() == [
        (SETC, [(0xDC, b"\x06")]),
        (SETC, [(0xDD, b"\x06")]),
        (SETC, [(0xE0, bytes.fromhex("FFFFF63C"))]),  # -2500 as int32
        (GET, [(0xDC, b""), (0xDD, b""), (0xE0, b"")]),
        (SETC, [(0xDA, b"\x43")]),
        (GET, [(0xDA, b"")]),
    ]
    assert (await unit.async_read_snapshot()).power_setpoint_w == -2500
    assert await unit.async_set_power(4000) == 4000
    assert node.properties[0xE0] == bytes.fromhex("00000FA0")
    assert node.properties[0xDA] == b"\x42"


async def test_set_power_with_0xe0_when_methods_are_fixed(
    endpoint: EchonetEndpoint, node: EvNode
) -> None:
    node.properties[0xE0] = bytes.fromhex("00000000")
    node.properties[0xDD] = bytes.fromhex("06")
    node.configure(settable={0xDA, 0xE0}, hidden=(0xEB, 0xEC))
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    assert await unit.async_set_power(1000) == 1000
    assert [esv for esv, _ in node.sent()] == [SETC, GET, SETC, GET]


async def test_set_power_with_the_mode_only(endpoint: EchonetEndpoint, node: EvNode) -> None:
    node.configure(settable={0xDA})
    unit = _charger(endpoint, node)
    await unit.async_read_identity()
    node.requests.clear()
    assert await unit.async_set_power(-1000) == -1000
    assert node.sent() == [(SETC, [(0xDA, b"\x43")]), (GET, [(0xDA, b"")])]


async def test_power_write_that_does_not_stick(charger: EchonetEvCharger, node: EvNode) -> None:
    node.responder.ignore_writes = {0xEB}
    with pytest.raises(WriteNotVerifiedError, match=r"charging_power \(0xEB\): wrote 3000") as err:
        await charger.async_set_power(3000)
    assert (err.value.written, err.value.read_back) == (3000, 0)
    # The mode was never touched after the failed power write.
    assert node.properties[0xDA] == b"\x44"
    assert [esv for esv, _ in node.sent()] == [SETC, GET]


async def test_mode_write_that_does_not_stick(charger: EchonetEvCharger, node: EvNode) -> None:
    node.responder.ignore_writes = {0xDA}
    with pytest.raises(WriteNotVerifiedError, match=r"operation_mode \(0xDA\)") as err:
        await charger.async_set_power(-1000)
    assert (err.value.written, err.value.read_back) == (0x43, 0x44)


async def test_signed_write_that_does_not_stick(endpoint: EchonetEndpoint, node: EvNode) -> None:
    node.properties[0xE0] = bytes.fromhex("FFFFFF9C")  # -100
    node.configure(settable=E0_SETTABLE, hidden=(0xEB, 0xEC))
    node.responder.ignore_writes = {0xE0}
    with pytest.raises(WriteNotVerifiedError) as err:
        await _charger(endpoint, node).async_set_power(-2500)
    assert (err.value.written, err.value.read_back) == (-2500, -100)


async def test_write_that_cannot_be_read_back(endpoint: EchonetEndpoint, node: EvNode) -> None:
    def forget(eoj: bytes, epc: int, edt: bytes) -> None:
        node.properties.pop(epc, None)  # accepted, but never readable

    node.responder.on_set = forget
    with pytest.raises(WriteNotVerifiedError) as err:
        await _charger(endpoint, node).async_set_power(-1000)
    assert err.value.read_back == -1


async def test_discharge_refused_with_no_car(charger: EchonetEvCharger, node: EvNode) -> None:
    node.unplug()
    node.responder.refuse = {0xDA}
    with pytest.raises(ResponseImpossibleError, match="0xDA"):
        await charger.async_set_power(-3000)


async def test_stop_and_release(charger: EchonetEvCharger, node: EvNode) -> None:
    node.properties[0xDA] = bytes.fromhex("43")
    await charger.async_stop()
    assert node.properties[0xDA] == b"\x44"
    assert node.sent() == [(SETC, [(0xDA, b"\x44")]), (GET, [(0xDA, b"")])]
    node.properties[0xDA] = bytes.fromhex("42")
    await charger.async_release_control()
    assert node.properties[0xDA] == b"\x44"
    node.responder.ignore_writes = {0xDA}
    node.properties[0xDA] = bytes.fromhex("42")
    with pytest.raises(WriteNotVerifiedError):
        await charger.async_stop()


async def test_take_control_checks_that_the_unit_answers(
    charger: EchonetEvCharger, node: EvNode
) -> None:
    await charger.async_take_control()
    assert node.sent() == [(GET, [(0xDA, b"")])]
    del node.properties[0xDA]
    with pytest.raises(DeviceProtocolError, match="operation mode"):
        await charger.async_take_control()
    node.responder.drop = 5
    with pytest.raises(DeviceTimeoutError):
        await charger.async_take_control()


def test_states_tuple() -> None:
    assert len(STATES) == len(set(STATES)) == 8
