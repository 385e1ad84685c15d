"""The simulated families' devices and entries, shared by the platform and family tests.

The Quasar is the ``config_entry``/``init_integration`` of ``conftest.py``; its commands
(the mode select, v2x services) are called the way a user does. The other chargers
(SunSpec, ECHONET Lite) run in the ``csim`` simulation, the batteries (Zendure, Bluetti)
in ``bsim`` (both fixtures in ``conftest.py``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from homeassistant.components.select import ATTR_OPTION, SERVICE_SELECT_OPTION
from homeassistant.const import ATTR_ENTITY_ID, CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.v2x.const import (
    CONF_FAMILY,
    CONF_FULL_INTERVAL,
    CONF_KIND,
    CONF_POLL_INTERVAL,
    CONF_STATUS_INTERVAL,
    CONF_UNIT_ID,
    CONF_WATCHDOG,
    DEFAULT_OPTIONS,
    DOMAIN,
)
from custom_components.v2x.models import ChargerRuntimeData
from simulator.bluetti import BluettiTwin
from simulator.echonet import EchonetTwin
from simulator.quasar import QuasarTwin
from simulator.sunspec import SunSpecTwin
from simulator.world import Simulation
from simulator.zendure import ZendureTwin

from .conftest import SERIAL, device_with, runtime
from .flows import FAMILY_SUNSPEC, FAMILY_ZENDURE

# -- the Quasar (conftest's config_entry) ------------------------------------------------

PREFIX = "wallbox_quasar_1_20240117"
MODE = f"select.{PREFIX}_operating_mode"
SETPOINT = f"number.{PREFIX}_power_setpoint"
RESERVE = f"number.{PREFIX}_reserve_state_of_charge"
REMOTE = f"switch.{PREFIX}_remote_control"


def quasar_device_id(hass: HomeAssistant) -> str:
    """The device id of the simulated Quasar."""
    return device_id_of(hass, SERIAL)


async def poll_status(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """One status poll of a charger entry, and what it triggers."""
    await runtime(entry).status.async_refresh()
    await hass.async_block_till_done()


async def believed_soc(
    hass: HomeAssistant, entry: MockConfigEntry, twin: QuasarTwin, soc: float
) -> None:
    """The car's SoC set on the Quasar and polled until the glitch filter believes it."""
    twin.set_soc(soc)
    for _ in range(4):  # a jump must repeat before it is believed
        await asyncio.sleep(0.02)
        await poll_status(hass, entry)
    assert runtime(entry).status.data.soc.value_pct == soc


def writes(twin: QuasarTwin, since: int = 0) -> list[tuple[int | str, int]]:
    """The registers written to ``twin`` (address, value), from write ``since`` on."""
    return [(w.address, w.value) for w in twin.writes[since:]]


async def select_mode(hass: HomeAssistant, option: str) -> None:
    """Choose the Quasar's operating mode in its select."""
    await hass.services.async_call(
        "select", SERVICE_SELECT_OPTION, {ATTR_ENTITY_ID: MODE, ATTR_OPTION: option}, blocking=True
    )


async def quasar_service(hass: HomeAssistant, service: str, **data: Any) -> None:
    """Call a v2x service for the Quasar."""
    await hass.services.async_call(
        DOMAIN, service, {"device_id": quasar_device_id(hass), **data}, blocking=True
    )


def device_id_of(hass: HomeAssistant, serial: str) -> str:
    """The device id of the V2X device with ``serial``."""
    device = device_with(hass, (DOMAIN, serial))
    assert device is not None
    return device.id


# -- the batteries (bsim) ----------------------------------------------------------------

ZENDURE_SN = "HOA1NAH4N123456"
BLUETTI_SN = "2237000012345"
Z = "zendure_solarflow_800_pro_hoa1nah4n123456"
B = "bluetti_ac500_2237000012345"


def zendure_twin(sim: Simulation) -> ZendureTwin:
    """The simulated Zendure of ``bsim``."""
    return sim.zendures["zendure"]


def bluetti_twin(sim: Simulation) -> BluettiTwin:
    """The simulated Bluetti of ``bsim``."""
    return sim.bluettis["bluetti"]


def battery_entry(sim: Simulation, family: str, poll_s: int = 60) -> MockConfigEntry:
    """An entry for the battery of ``family`` in ``sim``."""
    twin_port = (
        zendure_twin(sim).port if family == FAMILY_ZENDURE else bluetti_twin(sim).server.port
    )
    serial = ZENDURE_SN if family == FAMILY_ZENDURE else BLUETTI_SN
    title = (
        f"Zendure SolarFlow 800 Pro {serial}"
        if family == FAMILY_ZENDURE
        else f"Bluetti AC500 {serial}"
    )
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=serial,
        data={CONF_FAMILY: family, CONF_HOST: "127.0.0.1", CONF_PORT: twin_port},
        options={CONF_POLL_INTERVAL: poll_s},
    )


# -- the other chargers (csim) -----------------------------------------------------------

SUNSPEC_SERIAL = "SS11-000123"
# 0xFE + Nichicon's manufacturer code + "EVPS-SIM-0001" (the twin's default 0x83).
ECHONET_ID = ("FE00006C" + b"EVPS-SIM-0001".hex()).upper()


def sunspec_twin(sim: Simulation) -> SunSpecTwin:
    """The simulated SunSpec charger of ``csim``."""
    return sim.sunspecs["sunspec"]


def echonet_twin(sim: Simulation) -> EchonetTwin:
    """The simulated ECHONET Lite unit of ``csim``."""
    return sim.echonets["nichicon"]


def charger_data(sim: Simulation, family: str) -> dict[str, Any]:
    """The entry data of the charger of ``family`` in ``sim``."""
    if family == FAMILY_SUNSPEC:
        port = sunspec_twin(sim).server.port
        return {
            CONF_KIND: "charger",
            CONF_FAMILY: family,
            CONF_HOST: "127.0.0.1",
            CONF_PORT: port,
            CONF_UNIT_ID: 1,
        }
    return {
        CONF_KIND: "charger",
        CONF_FAMILY: family,
        CONF_HOST: "127.0.0.1",
        CONF_PORT: echonet_twin(sim).port,
    }


def charger_entry(sim: Simulation, family: str, **options: Any) -> MockConfigEntry:
    """An entry for the charger of ``family`` in ``sim``, polling slowly."""
    slow = {CONF_STATUS_INTERVAL: 60, CONF_FULL_INTERVAL: 60, CONF_WATCHDOG: 180}
    return MockConfigEntry(
        domain=DOMAIN,
        title="Bidi" if family == FAMILY_SUNSPEC else "Leaf to Home",
        unique_id=SUNSPEC_SERIAL if family == FAMILY_SUNSPEC else ECHONET_ID,
        data=charger_data(sim, family),
        options={**DEFAULT_OPTIONS, **slow, **options},
    )


async def refresh_charger(data: ChargerRuntimeData) -> None:
    """A full and a status poll of a charger."""
    await data.full.async_refresh()
    await data.status.async_refresh()
