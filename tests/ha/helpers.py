"""Helpers shared by the Home Assistant tests: entries in and out, timers, real-time waits.

Two ways to let time pass, for two kinds of wait:

* the integration's own timers (a site's tick and restore delay, a building's tick, the
  ECHONET scan) are moved with :func:`fire_timers`, which runs them at once, once what
  is already under way (a poll waiting for its reply) has finished: firing a request's
  timeout while its reply is on the way is a race no real clock runs;
* what really takes wall-clock time, the simulator's devices answering over loopback
  sockets, their physics running on the simulator's clock, a plan being solved in an
  executor thread, is awaited with :func:`wait_until`, which polls and fails with a
  message naming what never happened.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta

from freezegun import api as freezegun_api
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.v2x.building import BuildingManager

POLL_S = 0.02
SETTLE_S = 10.0
"""Real seconds :func:`settle` waits for what Home Assistant has under way."""


def real_seconds() -> float:
    """Real time, read through freezegun's module so that a frozen clock does not stop it."""
    return float(freezegun_api.real_perf_counter())


async def settle(hass: HomeAssistant, seconds: float = SETTLE_S) -> bool:
    """Let Home Assistant finish its tasks, background ones too; False if they ran late.

    Polls in real time rather than waiting on a timer, so that it returns even when the
    test's clock is frozen, and a task waiting for a timer does not hold it for ever.
    """
    waiting = asyncio.ensure_future(hass.async_block_till_done(wait_background_tasks=True))
    started = real_seconds()
    while not waiting.done():
        await asyncio.sleep(0)
        if real_seconds() - started > seconds:
            waiting.cancel()
            return False
    return True


async def setup_entry[RuntimeT](
    hass: HomeAssistant, entry: MockConfigEntry, runtime: type[RuntimeT]
) -> RuntimeT:
    """Add ``entry`` (unless it is there), set it up and return its typed runtime data."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    data = entry.runtime_data
    assert isinstance(data, runtime), f"{entry.title} runs {type(data).__name__}"
    return data


async def unload_entries(hass: HomeAssistant, *entries: MockConfigEntry) -> None:
    """Unload whichever of ``entries`` are loaded."""
    for entry in entries:
        if entry.state is ConfigEntryState.LOADED:
            await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def fire_timers(hass: HomeAssistant, seconds: float) -> None:
    """Run every Home Assistant timer due within ``seconds``, and what the timers start.

    What is under way settles first: the timers fired include a request's own timeout,
    and one fired while the device's reply is already on its way would count an answered
    request as unanswered (and pymodbus 3.8 raises when that late reply arrives). A job
    an interval timer starts runs as a background task: :func:`settle` waits for it.
    """
    await settle(hass)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=seconds))
    await hass.async_block_till_done()


async def wait_until(
    hass: HomeAssistant,
    condition: Callable[[], bool],
    *,
    seconds: float = 20.0,
    what: str = "the condition",
) -> None:
    """Until ``condition()`` holds, in real time; fail after ``seconds``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        await hass.async_block_till_done()
        if condition():
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not happen within {seconds} s")
        await asyncio.sleep(POLL_S)


async def wait_for_plan(hass: HomeAssistant, manager: BuildingManager, seconds: float = 20) -> None:
    """Until the building has a plan and no solve is under way (slow under coverage)."""
    await wait_until(
        hass,
        lambda: manager.data.plan is not None and not manager.planning,
        seconds=seconds,
        what="a finished plan",
    )


async def wait_idle(hass: HomeAssistant, manager: BuildingManager) -> None:
    """Until the building has no solve under way, whatever its outcome."""
    await wait_until(hass, lambda: not manager.planning, what="the end of planning")


async def refresh_until[DataT](
    coordinator: DataUpdateCoordinator[DataT],
    condition: Callable[[DataT | None], bool],
    *,
    seconds: float = 10.0,
    what: str = "the reading",
) -> None:
    """Poll the device through ``coordinator`` until its reading satisfies ``condition``.

    For a simulated device whose physics take real time (a charger ramping to a
    setpoint, a transport backing off before it reconnects).
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while True:
        await coordinator.async_refresh()
        if condition(coordinator.data):
            return
        if loop.time() > deadline:
            raise AssertionError(f"{what} did not come within {seconds} s")
        await asyncio.sleep(POLL_S)
