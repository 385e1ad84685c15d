"""Session decisions: what is refused, what each status leads to; safety as properties."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.v2x.devices.control import (
    EXPECTED_STATES,
    SOC_PROBE_POWER_W,
    SOC_PROBE_TIMEOUT_S,
    Decision,
    EndReason,
    Limits,
    Session,
    check_request,
    decide,
    needs_apply,
)
from custom_components.v2x.devices.echonet import EchonetEndpoint
from custom_components.v2x.devices.echonet.ev_charger import EchonetEvCharger
from custom_components.v2x.devices.errors import CommandRefusedError
from custom_components.v2x.devices.family import Connection, UnknownFamilyError
from custom_components.v2x.devices.model import (
    ChargerState,
    ChargerStatus,
    OperatingMode,
    SocReading,
)
from custom_components.v2x.devices.registry import family
from custom_components.v2x.devices.sunspec import SunSpecCharger

LIMITS = Limits(reserve_soc_pct=30, max_charge_power_w=7400, max_discharge_power_w=6000)


def _status(soc: float | None, state: ChargerState = ChargerState.PAUSED) -> ChargerStatus:
    return ChargerStatus(state=state, state_code=0, power_w=0, soc=SocReading(soc))


def _session(mode: OperatingMode, power: int = 5000, **kwargs: float | None) -> Session:
    return Session(mode=mode, power_w=power, started_at=0.0, **kwargs)


@pytest.mark.parametrize(
    ("session", "status", "reason"),
    [
        (_session(OperatingMode.IDLE), _status(50), "invalid_mode"),
        (_session(OperatingMode.CHARGE, power=0), _status(50), "invalid_power"),
        (_session(OperatingMode.DISCHARGE), _status(50, ChargerState.NO_CAR), "no_vehicle"),
        (_session(OperatingMode.DISCHARGE, until_soc_pct=20), _status(50), "until_below_reserve"),
        (_session(OperatingMode.DISCHARGE), _status(30), "at_reserve"),
        (_session(OperatingMode.BACKUP), _status(12), "at_reserve"),
        (_session(OperatingMode.DISCHARGE, until_soc_pct=50), _status(50), "at_reserve"),
        (_session(OperatingMode.CHARGE, until_soc_pct=80), _status(80), "target_reached"),
    ],
)
def test_refusals(session: Session, status: ChargerStatus, reason: str) -> None:
    """Each unsafe or pointless request is refused with its reason."""
    with pytest.raises(CommandRefusedError) as err:
        check_request(session, status, LIMITS)
    assert err.value.reason == reason


def test_accepted_requests() -> None:
    """Safe requests pass, including a discharge with unknown SoC (it will be probed)."""
    check_request(_session(OperatingMode.DISCHARGE), _status(50), LIMITS)
    check_request(_session(OperatingMode.DISCHARGE), _status(None), LIMITS)
    check_request(_session(OperatingMode.CHARGE, until_soc_pct=90), _status(None), LIMITS)


@pytest.mark.parametrize(
    ("mode", "until"),
    [
        (OperatingMode.DISCHARGE, 99.0),
        (OperatingMode.DISCHARGE, 40.0),
        (OperatingMode.BACKUP, None),
    ],
)
def test_unknown_soc_refused_when_it_cannot_be_probed(
    mode: OperatingMode, until: float | None
) -> None:
    """A stop SoC cannot be checked against an unknown SoC; a backup never probes."""
    with pytest.raises(CommandRefusedError) as err:
        check_request(_session(mode, until_soc_pct=until), _status(None), LIMITS)
    assert err.value.reason == "soc_unknown"


def test_backup_holds_still_when_the_soc_is_lost() -> None:
    """Mid-backup the SoC goes: hold 0 W (never charge from the vehicle's own circuit)."""
    backup = _session(OperatingMode.BACKUP)
    assert decide(backup, _status(None), LIMITS, 1) == Decision(0)
    assert decide(backup, _status(None), LIMITS, SOC_PROBE_TIMEOUT_S + 1).ended is (
        EndReason.SOC_UNAVAILABLE
    )


def test_decisions() -> None:
    """Setpoints clamp to the limits; sessions end for the right reason."""
    charge = _session(OperatingMode.CHARGE, power=9000, until_soc_pct=80)
    assert decide(charge, _status(50), LIMITS, 1).setpoint_w == 7400
    assert decide(charge, _status(80), LIMITS, 1).ended is EndReason.TARGET_REACHED
    discharge = _session(OperatingMode.DISCHARGE, power=9000, ends_at=100)
    assert decide(discharge, _status(50), LIMITS, 1).setpoint_w == -6000
    assert decide(discharge, _status(30), LIMITS, 1).ended is EndReason.RESERVE_REACHED
    assert decide(discharge, _status(50), LIMITS, 100).ended is EndReason.DURATION_ELAPSED
    gone = _status(50, ChargerState.NO_CAR)
    assert decide(discharge, gone, LIMITS, 1).ended is EndReason.VEHICLE_DISCONNECTED
    assert decide(discharge, _status(None), LIMITS, 1).setpoint_w == SOC_PROBE_POWER_W
    endless = _session(OperatingMode.DISCHARGE)
    late = decide(endless, _status(None), LIMITS, SOC_PROBE_TIMEOUT_S + 1)
    assert late.ended is EndReason.SOC_UNAVAILABLE
    until = _session(OperatingMode.DISCHARGE, until_soc_pct=45)
    assert decide(until, _status(45), LIMITS, 1).ended is EndReason.TARGET_REACHED


socs = st.one_of(st.none(), st.floats(1, 100))
modes = st.sampled_from([OperatingMode.CHARGE, OperatingMode.DISCHARGE, OperatingMode.BACKUP])


@given(
    mode=modes,
    power=st.integers(1, 20000),
    until=st.one_of(st.none(), st.floats(1, 100)),
    reserve=st.floats(0, 95),
    soc=socs,
    state=st.sampled_from(list(ChargerState)),
    now=st.floats(0, 10_000),
)
def test_never_discharges_at_or_below_the_floor(
    mode: OperatingMode,
    power: int,
    until: float | None,
    reserve: float,
    soc: float | None,
    state: ChargerState,
    now: float,
) -> None:
    """Whatever is asked: no discharge setpoint unless the SoC is known and above the floor."""
    limits = Limits(reserve_soc_pct=reserve, max_charge_power_w=7400, max_discharge_power_w=7400)
    session = Session(mode=mode, power_w=power, started_at=0.0, until_soc_pct=until)
    decision = decide(session, _status(soc, state), limits, now)
    if decision.setpoint_w < 0:
        assert soc is not None
        assert soc > reserve
        assert soc > session.floor_pct(limits)
        assert -decision.setpoint_w <= limits.max_discharge_power_w
    assert abs(decision.setpoint_w) <= 7400
    if decision.ended is not None:
        assert decision.setpoint_w == 0


def test_factory() -> None:
    """Known families build a charger; others are a typed error."""
    charger = family("quasar1").create_charger(
        Connection(host="127.0.0.1", port=502, unit_id=1, watchdog_s=90)
    )
    assert charger.watchdog_s == 90
    sunspec = family("sunspec").create_charger(
        Connection(host="127.0.0.1", port=502, unit_id=3, watchdog_s=45)
    )
    assert isinstance(sunspec, SunSpecCharger)
    assert sunspec.watchdog_s == 45
    with pytest.raises(UnknownFamilyError):
        family("quasar9")
    with pytest.raises(ValueError, match="endpoint"):
        family("echonet_lite").create_charger(Connection(host="h", port=3610, unit_id=0))


async def test_factory_echonet(allow_loopback: None) -> None:
    """ECHONET Lite chargers share the endpoint they are given."""
    endpoint = await EchonetEndpoint.async_open("127.0.0.1", 0)
    try:
        charger = family("echonet_lite").create_charger(
            Connection(host="127.0.0.1", port=3610, unit_id=0, endpoint=endpoint)
        )
        assert isinstance(charger, EchonetEvCharger)
        assert charger.client.endpoint is endpoint
    finally:
        endpoint.close()


def test_battery_factory() -> None:
    """A charger family builds no battery (and the reverse): a typed error."""
    connection = Connection(host="h", port=1)
    with pytest.raises(UnknownFamilyError):
        family("quasar1").create_battery(connection)
    with pytest.raises(UnknownFamilyError):
        family("zendure").create_charger(connection)


# -- re-applying a setpoint ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setpoint", "requested", "since", "state", "expected"),
    [
        (-3000, None, 0.0, ChargerState.PAUSED, True),  # a new setpoint is always sent
        (-3000, -2000, 0.0, ChargerState.DISCHARGING, True),
        (-3000, -3000, 5.0, ChargerState.PAUSED, False),  # too soon to judge the charger
        (-3000, -3000, 10.0, ChargerState.PAUSED, True),  # it drifted away: send again
        (-3000, -3000, 10.0, ChargerState.DISCHARGING, False),
        (-3000, -3000, 10.0, ChargerState.STARTING, False),  # on its way
        (2000, 2000, 10.0, ChargerState.WAITING_FOR_CAR_DEMAND, False),
        (2000, 2000, 10.0, ChargerState.DISCHARGING, True),
        (0, 0, 60.0, ChargerState.CHARGING, False),  # a stop is confirmed elsewhere
    ],
)
def test_needs_apply(
    setpoint: int, requested: int | None, since: float, state: ChargerState, expected: bool
) -> None:
    """A new setpoint is sent at once; the same one again only once the charger drifted."""
    decision = Decision(setpoint)
    assert needs_apply(decision, _status(50, state), requested, since, 10.0) is expected


def test_expected_states_hold_the_direction() -> None:
    """A charging charger never counts as holding a discharge, nor the other way round."""
    assert ChargerState.CHARGING not in EXPECTED_STATES[-1]
    assert ChargerState.DISCHARGING not in EXPECTED_STATES[1]
