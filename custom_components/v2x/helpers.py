"""Helpers shared by the HA layer: battery commands, selectors, listeners, coalesced jobs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
import voluptuous as vol

from .errors import device_action


@device_action
async def async_battery_command(
    coordinator: DataUpdateCoordinator[Any], command: Awaitable[None]
) -> None:
    """Run a verified battery command, translate its errors, then refresh at once."""
    await command
    await coordinator.async_refresh()


OUT_OF_RANGE = "out_of_range"
"""The error key (config, options) of a number typed outside its box's range."""


class BoxSelector(NumberSelector):
    """A number selector that refuses a number out of its range with a translated error.

    Home Assistant's own refusal is English text ("Value 150.0 is too large"); a form
    shows a field's error through the flow's translations, so this one names the key
    ``out_of_range`` instead. Anything but a number fails as before.
    """

    def __call__(self, data: Any) -> float:
        """Validate the typed number: a number, within the range."""
        value: float = vol.Coerce(float)(data)
        try:
            return super().__call__(value)
        except vol.Invalid as err:
            raise vol.Invalid(OUT_OF_RANGE) from err


def box_selector(
    minimum: float, maximum: float, unit: str | None = None, step: float = 1
) -> BoxSelector:
    """A number typed into a box, with its range, step and unit."""
    config = NumberSelectorConfig(min=minimum, max=maximum, step=step, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return BoxSelector(config)


def choice_selector(choices: dict[str, str], *, multiple: bool = False) -> SelectSelector:
    """A dropdown of value -> label choices (several may be picked when ``multiple``)."""
    return SelectSelector(
        SelectSelectorConfig(
            options=[SelectOptionDict(value=key, label=label) for key, label in choices.items()],
            multiple=multiple,
            mode=SelectSelectorMode.DROPDOWN,
        )
    )


class CoordinatorListeners:
    """One listener per key on another entry's coordinator.

    Following a key again after that entry reloaded (a new coordinator object)
    moves the listener to the new coordinator; following it with None (the entry
    is gone) removes it.
    """

    def __init__(self, on_update: Callable[[], None]) -> None:
        """Call ``on_update`` whenever a followed coordinator has news."""
        self._on_update = on_update
        self._listeners: dict[str, tuple[DataUpdateCoordinator[Any], CALLBACK_TYPE]] = {}

    def __contains__(self, key: object) -> bool:
        """Whether a listener exists for ``key``."""
        return key in self._listeners

    def coordinator(self, key: str) -> DataUpdateCoordinator[Any] | None:
        """The coordinator followed for ``key``."""
        known = self._listeners.get(key)
        return known[0] if known is not None else None

    def follow(self, key: str, coordinator: DataUpdateCoordinator[Any] | None) -> None:
        """Listen to ``coordinator`` for ``key`` (nothing to do if already)."""
        known = self._listeners.get(key)
        if known is not None and known[0] is coordinator:
            return
        if known is not None:
            known[1]()
            del self._listeners[key]
        if coordinator is not None:
            self._listeners[key] = (coordinator, coordinator.async_add_listener(self._on_update))

    def clear(self) -> None:
        """Remove every listener."""
        for _, unsubscribe in self._listeners.values():
            unsubscribe()
        self._listeners.clear()


class CoalescedJob:
    """One background job run again, once, for every request made while it runs.

    A request while the job is idle starts it; requests while it runs are coalesced
    into one more run right after, so the job always sees the newest state and never
    runs twice at once. ``after`` runs once the job stops, whatever it raised.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        name: str,
        job: Callable[[], Awaitable[None]],
        *,
        keep_going: Callable[[], bool] = lambda: True,
        after: Callable[[], None] = lambda: None,
    ) -> None:
        """Run ``job`` on request; ``keep_going`` false ends a run early."""
        self._hass = hass
        self._name = name
        self._job = job
        self._keep_going = keep_going
        self._after = after
        self.running = False
        self._again = False

    @callback
    def request(self) -> None:
        """Run the job now, or once more when the current run ends."""
        if self.running:
            self._again = True
            return
        self.running = True
        self._hass.async_create_background_task(self._async_loop(), self._name)

    async def _async_loop(self) -> None:
        try:
            while True:
                self._again = False
                await self._job()
                if not self._again or not self._keep_going():
                    return
        finally:
            self.running = False
            self._after()
