"""ECHONET Lite codec, byte for byte against protocols.md sections 4.1 and 4.2.

Every frame below is written out by hand from the Format 1 layout
(EHD1 0x10, EHD2 0x81, TID, SEOJ, DEOJ, ESV, OPC, then EPC/PDC/EDT), never produced
by our encoder.
"""

from __future__ import annotations

import pytest

from custom_components.v2x.devices import echonet
from custom_components.v2x.devices.echonet import (
    CONTROLLER,
    ESV_GET,
    ESV_GET_RES,
    ESV_GET_SNA,
    ESV_SET_RES,
    ESV_SETC,
    ESV_SETC_SNA,
    NODE_PROFILE,
    SNA_CODES,
    DiscoveredNode,
    Eoj,
    Frame,
    Property,
    decode_frame,
    decode_identification,
    decode_instance_list,
    decode_manufacturer_code,
    decode_property_map,
    encode_frame,
    encode_property_map,
    esv_name,
)
from custom_components.v2x.devices.errors import DeviceProtocolError

EV = Eoj(0x02, 0x7E, 0x01)

# Get of 0xE4 (SoC) from the controller 05FF01 to the EV charger 027E01, TID 1.
GET_SOC = bytes.fromhex("1081 0001 05FF01 027E01 62 01 E400")
# Its Get_Res: SoC 0x50 = 80 %.
GET_RES_SOC = bytes.fromhex("1081 0001 027E01 05FF01 72 01 E40150")
# Get_SNA: no vehicle, the SoC is answered with PDC = 0.
GET_SNA_SOC = bytes.fromhex("1081 0001 027E01 05FF01 52 01 E400")
# SetC of the operation mode 0xDA = 0x43 (discharge), TID 0x1234.
SETC_DISCHARGE = bytes.fromhex("1081 1234 05FF01 027E01 61 01 DA0143")
# Its Set_Res (PDC 0) and its SetC_SNA (the refused value echoed back).
SET_RES_DISCHARGE = bytes.fromhex("1081 1234 027E01 05FF01 71 01 DA00")
SETC_SNA_DISCHARGE = bytes.fromhex("1081 1234 027E01 05FF01 51 01 DA0143")
# Get_Res with three properties: 0xC7 = 0x43, 0xE4 = 0x50, 0xD3 = -1500 W (int32).
GET_RES_STATUS = bytes.fromhex("1081 FFFF 027E01 05FF01 72 03 C70143 E40150 D304FFFFFA24")

# Get map of 18 EPCs as a bitmap: byte i, bit j set => EPC (j + 8) * 0x10 + i.
BITMAP_EPCS = frozenset(
    {
        0x80, 0x81, 0x82, 0x83, 0x88, 0x8A, 0x8C, 0x9D, 0x9E, 0x9F,
        0xC5, 0xC6, 0xC7, 0xCC, 0xD3, 0xDA, 0xE1, 0xE4,
    }
)  # fmt: skip
BITMAP = bytes.fromhex(
    "12"  # count 18
    "01"  # byte 0: 0x80 (bit 0)
    "41"  # byte 1: 0x81 (bit 0), 0xE1 (bit 6)
    "01"  # byte 2: 0x82
    "21"  # byte 3: 0x83 (bit 0), 0xD3 (bit 5)
    "40"  # byte 4: 0xE4 (bit 6)
    "10"  # byte 5: 0xC5 (bit 4)
    "10"  # byte 6: 0xC6
    "10"  # byte 7: 0xC7
    "01"  # byte 8: 0x88
    "00"  # byte 9
    "21"  # byte 10: 0x8A (bit 0), 0xDA (bit 5)
    "00"  # byte 11
    "11"  # byte 12: 0x8C (bit 0), 0xCC (bit 4)
    "02"  # byte 13: 0x9D (bit 1)
    "02"  # byte 14: 0x9E
    "02"  # byte 15: 0x9F
)


def test_get_request_bytes() -> None:
    frame = Frame(1, CONTROLLER, EV, ESV_GET, (Property(0xE4),))
    assert encode_frame(frame) == GET_SOC
    assert decode_frame(GET_SOC) == frame


def test_get_res_with_soc() -> None:
    frame = decode_frame(GET_RES_SOC)
    assert (frame.tid, frame.seoj, frame.deoj, frame.esv) == (1, EV, CONTROLLER, ESV_GET_RES)
    assert frame.properties == (Property(0xE4, b"\x50"),)
    assert frame.epcs == (0xE4,)
    assert frame.esv not in SNA_CODES
    assert encode_frame(frame) == GET_RES_SOC


def test_get_sna_with_pdc_zero() -> None:
    frame = decode_frame(GET_SNA_SOC)
    assert frame.esv == ESV_GET_SNA
    assert frame.esv in SNA_CODES
    assert frame.properties == (Property(0xE4, b""),)


def test_setc_of_operation_mode() -> None:
    frame = Frame(0x1234, CONTROLLER, EV, ESV_SETC, (Property(0xDA, b"\x43"),))
    assert encode_frame(frame) == SETC_DISCHARGE
    assert decode_frame(SET_RES_DISCHARGE).properties == (Property(0xDA, b""),)
    assert decode_frame(SET_RES_DISCHARGE).esv == ESV_SET_RES
    sna = decode_frame(SETC_SNA_DISCHARGE)
    assert (sna.esv, sna.properties) == (ESV_SETC_SNA, (Property(0xDA, b"\x43"),))


def test_multi_property_reply_keeps_order_and_signed_bytes() -> None:
    frame = decode_frame(GET_RES_STATUS)
    assert frame.tid == 0xFFFF
    assert frame.epcs == (0xC7, 0xE4, 0xD3)
    assert int.from_bytes(frame.properties[2].edt, "big", signed=True) == -1500
    assert encode_frame(frame) == GET_RES_STATUS


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bytes.fromhex("1082 0001 027E01 05FF01 72 01 E40150"), "wrong EHD 0x1082"),
        (bytes.fromhex("1181 0001 027E01 05FF01 72 01 E40150"), "wrong EHD 0x1181"),
        (bytes.fromhex("1081 0001 027E01 05FF01 72"), "truncated frame: 11 bytes"),
        (b"", "truncated frame: 0 bytes"),
        (bytes.fromhex("1081 0001 027E01 05FF01 72 01 E40250"), "PDC 2 runs 1 bytes past"),
        (bytes.fromhex("1081 0001 027E01 05FF01 72 01 E40150 00"), "1 trailing bytes"),
        (bytes.fromhex("1081 0001 027E01 05FF01 72 00 E400"), "2 trailing bytes"),
        (bytes.fromhex("1081 0001 027E01 05FF01 72 02 E40150"), "OPC mismatch: OPC is 2"),
        (bytes.fromhex("1081 0001 027E01 05FF01 72 02 E40150 C7"), "has no PDC byte"),
        (bytes.fromhex("1081 0001 027E01 05FF01 7E 01 DA00"), "SetGet_Res frames"),
        (bytes.fromhex("1081 0001 05FF01 027E01 6E 01 DA0143"), "SetGet frames"),
    ],
)
def test_malformed_frames_raise(data: bytes, message: str) -> None:
    with pytest.raises(DeviceProtocolError, match=message):
        decode_frame(data)


def test_header_only_frame_with_no_properties() -> None:
    frame = decode_frame(bytes.fromhex("1081 0007 0EF001 05FF01 72 00"))
    assert (frame.tid, frame.seoj, frame.properties) == (7, NODE_PROFILE, ())


def test_property_map_list_form() -> None:
    assert decode_property_map(bytes.fromhex("03 80 9F E4")) == {0x80, 0x9F, 0xE4}
    assert encode_property_map([0xE4, 0x80, 0x9F]) == bytes.fromhex("03 80 9F E4")
    assert encode_property_map([]) == b"\x00"
    assert decode_property_map(b"\x00") == frozenset()


def test_property_map_fifteen_is_still_a_list() -> None:
    epcs = list(range(0x80, 0x8F))
    assert encode_property_map(epcs) == bytes((15, *epcs))
    assert decode_property_map(bytes((15, *epcs))) == set(epcs)


def test_property_map_bitmap_form() -> None:
    assert decode_property_map(BITMAP) == BITMAP_EPCS
    assert encode_property_map(BITMAP_EPCS) == BITMAP


def test_property_map_full_bitmap() -> None:
    every = bytes.fromhex("80" + "FF" * 16)
    assert decode_property_map(every) == set(range(0x80, 0x100))
    assert encode_property_map(range(0x80, 0x100)) == every


@pytest.mark.parametrize(
    ("edt", "message"),
    [
        (b"", "empty property map"),
        (bytes.fromhex("03 80 9F"), "lists 2 EPCs but its count byte says 3"),
        (bytes.fromhex("02 80 80"), "lists an EPC twice"),
        (bytes.fromhex("01 7F"), "below 0x80"),
        (bytes.fromhex("12 01 41"), "needs a 16-byte bitmap, got 2 bytes"),
        (bytes.fromhex("11") + BITMAP[1:], "has 18 bits set but its count byte says 17"),
    ],
)
def test_property_map_errors(edt: bytes, message: str) -> None:
    with pytest.raises(DeviceProtocolError, match=message):
        decode_property_map(edt)


def test_property_map_encoder_rejects_low_epcs() -> None:
    with pytest.raises(ValueError, match=r"0x80\.\.0xFF"):
        encode_property_map([0x7F])


def test_instance_list() -> None:
    assert decode_instance_list(bytes.fromhex("02 027E01 027D01")) == (
        EV,
        Eoj(0x02, 0x7D, 0x01),
    )
    assert decode_instance_list(b"\x00") == ()
    with pytest.raises(DeviceProtocolError, match="empty instance list"):
        decode_instance_list(b"")
    with pytest.raises(DeviceProtocolError, match="says 2 instances but holds 3 bytes"):
        decode_instance_list(bytes.fromhex("02 027E01"))


def test_identification_and_manufacturer_code() -> None:
    edt = bytes.fromhex("FE00006C" + "0102030405060708090A0B0C0D")
    assert decode_identification(edt) == "FE00006C0102030405060708090A0B0C0D"
    with pytest.raises(DeviceProtocolError, match="17 bytes, got 16"):
        decode_identification(edt[:16])
    assert decode_manufacturer_code(bytes.fromhex("00006C")) == 0x6C
    with pytest.raises(DeviceProtocolError, match="3 bytes, got 2"):
        decode_manufacturer_code(b"\x00\x6c")


def test_eoj() -> None:
    assert str(EV) == "027E01"
    assert EV.class_id == 0x027E
    assert EV.to_bytes() == b"\x02\x7e\x01"
    assert Eoj.from_bytes(b"\x0e\xf0\x01") == NODE_PROFILE
    with pytest.raises(DeviceProtocolError, match="3 bytes"):
        Eoj.from_bytes(b"\x0e\xf0")
    with pytest.raises(ValueError, match="single bytes"):
        Eoj(0x02, 0x17E, 0x01)


def test_constructor_validation() -> None:
    with pytest.raises(ValueError, match="EPC must be a single byte"):
        Property(0x100)
    with pytest.raises(ValueError, match="exceeds 255 bytes"):
        Property(0xE4, bytes(256))
    with pytest.raises(ValueError, match="TID"):
        Frame(0x10000, CONTROLLER, EV, ESV_GET)
    with pytest.raises(ValueError, match="ESV"):
        Frame(1, CONTROLLER, EV, 0x100)
    with pytest.raises(ValueError, match="at most 255"):
        Frame(1, CONTROLLER, EV, ESV_GET, tuple(Property(0x80) for _ in range(256)))


def test_largest_property_round_trips() -> None:
    frame = Frame(2, CONTROLLER, EV, ESV_GET_RES, (Property(0xE6, bytes(range(255))),))
    data = encode_frame(frame)
    assert data[12:14] == b"\xe6\xff"
    assert decode_frame(data) == frame


def test_esv_codes_are_the_documented_ones() -> None:
    """protocols.md 4.1: requests 0x6x, responses 0x7x, "not possible" 0x5x."""
    assert {code: echonet.esv_name(code) for code in echonet.ESV_NAMES} == {
        0x60: "SetI", 0x61: "SetC", 0x62: "Get", 0x63: "INF_REQ", 0x6E: "SetGet",
        0x71: "Set_Res", 0x72: "Get_Res", 0x73: "INF", 0x74: "INFC", 0x7A: "INFC_Res",
        0x7E: "SetGet_Res", 0x50: "SetI_SNA", 0x51: "SetC_SNA", 0x52: "Get_SNA",
        0x53: "INF_SNA", 0x5E: "SetGet_SNA",
    }  # fmt: skip
    documented = {
        "SNA": {0x50, 0x51, 0x52, 0x53, 0x5E},
        "requests": (0x61, 0x62),
        "replies": (0x71, 0x72, 0x51, 0x52),
        "objects": (Eoj(0x0E, 0xF0, 0x01), Eoj(0x05, 0xFF, 0x01)),
    }
    ours = {
        "SNA": echonet.SNA_CODES,
        "requests": (echonet.ESV_SETC, echonet.ESV_GET),
        "replies": (
            echonet.ESV_SET_RES, echonet.ESV_GET_RES, echonet.ESV_SETC_SNA, echonet.ESV_GET_SNA,
        ),
        "objects": (echonet.NODE_PROFILE, echonet.CONTROLLER),
    }  # fmt: skip
    assert ours == documented


def test_esv_names() -> None:
    assert esv_name(0x62) == "Get"
    assert esv_name(0x52) == "Get_SNA"
    assert esv_name(0x99) == "ESV 0x99"


def test_discovered_node_lists_ev_chargers() -> None:
    node = DiscoveredNode("192.0.2.1", 3610, (Eoj(0x02, 0x7D, 0x01), EV, Eoj(0x02, 0x7E, 2)))
    assert node.ev_chargers == (EV, Eoj(0x02, 0x7E, 2))
