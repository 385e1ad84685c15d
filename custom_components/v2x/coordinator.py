"""Coordinators: a fast one for the charger status and a full one for everything else."""

from __future__ import annotations

from datetime import timedelta
import logging
import time
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator

from .const import DOMAIN, LOGGER
from .controller import ChargerController
from .devices.energy import EnergyCounter
from .devices.errors import DeviceError
from .devices.health import PollHealth
from .devices.model import (
    BatteryReading,
    Charger,
    ChargerSnapshot,
    ChargerStatus,
    DeviceIdentity,
    PortableBattery,
)
from .errors import update_failed
from .registry import entry_device


class _OnlyDebug(logging.Filter):
    """Let through only DEBUG records (the full poll's own failure lines are ours)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno <= logging.DEBUG


FULL_POLL_LOGGER = LOGGER.getChild("full_poll")
FULL_POLL_LOGGER.addFilter(_OnlyDebug())


class _V2XCoordinator[DataT](DataUpdateCoordinator[DataT]):
    """Polls one device of one entry at a fixed interval."""

    config_entry: ConfigEntry[Any]

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        kind: str,
        interval_s: float,
        logger: logging.Logger = LOGGER,
    ) -> None:
        """Poll every ``interval_s`` seconds."""
        super().__init__(
            hass,
            logger,
            config_entry=entry,
            name=f"{DOMAIN} {kind} {entry.title}",
            update_interval=timedelta(seconds=interval_s),
        )
        self.health = PollHealth()

    async def _async_update_data(self) -> DataT:
        """Poll once, keeping the record of answered and failed polls.

        A device error is the poll's failure: recorded, handed to
        :meth:`_poll_failed`, and raised as a translated ``UpdateFailed``.
        """
        try:
            data = await self._async_poll()
        except DeviceError as err:
            self.health.record_failure(time.monotonic())
            self._poll_failed(err)
            raise update_failed(err) from err
        self.health.record_success(time.monotonic())
        return data

    async def _async_poll(self) -> DataT:  # pragma: no cover - every subclass has one
        """Read the device once (device errors propagate)."""
        raise NotImplementedError

    def _poll_failed(self, err: DeviceError) -> None:
        """React to a failed poll (before Home Assistant hears of it)."""


class _ChargerCoordinator[DataT](_V2XCoordinator[DataT]):
    """Polls one charger; shared by the status and full coordinators."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        kind: str,
        charger: Charger,
        controller: ChargerController,
        interval_s: float,
        logger: logging.Logger = LOGGER,
    ) -> None:
        """Poll ``charger`` every ``interval_s`` seconds."""
        super().__init__(hass, entry, kind=kind, interval_s=interval_s, logger=logger)
        self.charger = charger
        self.controller = controller


class StatusCoordinator(_ChargerCoordinator[ChargerStatus]):
    """Reads state, power, SoC and errors every second (one request on a Quasar).

    After each read it integrates the charged/discharged energy and lets the
    controller enforce the current session.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        charger: Charger,
        controller: ChargerController,
        energy: EnergyCounter,
        interval_s: float,
    ) -> None:
        """Poll the status and integrate energy into ``energy``."""
        super().__init__(
            hass, entry, kind="status", charger=charger, controller=controller,
            interval_s=interval_s,
        )  # fmt: skip
        self.energy = energy
        self.announcements = 0
        """Status changes the charger announced (ECHONET Lite INF)."""

    async def _async_poll(self) -> ChargerStatus:
        status = await self.charger.async_read_status()
        self.energy.add(time.monotonic(), status.power_w)
        await self.controller.async_step(status)
        return status

    def _poll_failed(self, err: DeviceError) -> None:
        """No power is known for the gap: the energy count does not bridge it."""
        self.energy.break_gap()

    @callback
    def async_announced(self, status: ChargerStatus) -> None:
        """The charger announced a change: show it now, and poll at once to confirm.

        Listeners (entities, a site using the charger's grid state) hear of it
        before the poll answers. After a failed poll only the poll is asked for:
        an announcement alone does not make a silent charger available again.
        """
        self.announcements += 1
        if self.data is not None and self.last_update_success:
            self.data = status
            self.async_update_listeners()
        self.hass.async_create_task(
            self.async_request_refresh(), f"{DOMAIN} poll after an announcement"
        )


class FullCoordinator(_ChargerCoordinator[ChargerSnapshot]):
    """Reads control, setpoints and measurements every 10 s (three requests).

    After a reconnect it also reads the identity again, so a firmware update done
    while Home Assistant was running shows up in the device registry. A charger
    that stops answering is logged once, by the status poll; this poll logs its
    own failure only when the status poll still works (one line per fault).
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        charger: Charger,
        controller: ChargerController,
        identity: DeviceIdentity,
        interval_s: float,
        status: StatusCoordinator | None = None,
    ) -> None:
        """Poll everything; remember ``identity`` to notice firmware updates."""
        super().__init__(
            hass, entry, kind="full", charger=charger, controller=controller,
            interval_s=interval_s, logger=FULL_POLL_LOGGER,
        )  # fmt: skip
        self.identity = identity
        self._identity_connects = charger.connects
        self._status = status
        self._failure_logged = False

    async def _async_poll(self) -> ChargerSnapshot:
        if self.charger.connects != self._identity_connects:
            await self._refresh_identity()
        began = self.controller.now()
        snapshot = await self.charger.async_read_snapshot()
        if self._failure_logged:
            self._failure_logged = False
            LOGGER.info("Full poll of %s recovered", self.config_entry.title)
        self.controller.update_limits(snapshot, began)
        return snapshot

    def _poll_failed(self, err: DeviceError) -> None:
        """Log the failure once, unless the status poll already said the device is down."""
        if self._failure_logged:
            return
        if self._status is not None and not self._status.last_update_success:
            return  # the device is down: the status poll has said so
        self._failure_logged = True
        LOGGER.warning("Full poll of %s failed: %s", self.config_entry.title, err)

    async def _refresh_identity(self) -> None:
        identity = await self.charger.async_read_identity()
        self._identity_connects = self.charger.connects
        if identity.firmware_version == self.identity.firmware_version:
            return
        LOGGER.info(
            "Firmware of %s changed from %s to %s",
            self.config_entry.title,
            self.identity.firmware_version,
            identity.firmware_version,
        )
        self.identity = identity
        device = entry_device(
            self.hass, self.config_entry.entry_id, (DOMAIN, identity.serial_number)
        )
        if device is not None:
            dr.async_get(self.hass).async_update_device(
                device.id, sw_version=identity.firmware_version
            )


class BatteryCoordinator(_V2XCoordinator[BatteryReading]):
    """Polls a portable battery (Zendure every 10 s, Bluetti every 30 s by default).

    Never two requests at once: a Bluetti's Modbus stack is weak, and the
    coordinator never overlaps its own updates.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry[Any],
        *,
        battery: PortableBattery,
        energy: EnergyCounter,
        interval_s: float,
    ) -> None:
        """Poll ``battery`` and integrate its energy into ``energy``."""
        super().__init__(hass, entry, kind="battery", interval_s=interval_s)
        self.battery = battery
        self.energy = energy

    async def _async_poll(self) -> BatteryReading:
        reading = await self.battery.async_read()
        self.energy.add(time.monotonic(), reading.state.power_w)
        return reading

    def _poll_failed(self, err: DeviceError) -> None:
        """No power is known for the gap: the energy count does not bridge it."""
        self.energy.break_gap()
