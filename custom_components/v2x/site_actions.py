"""Carrying out a backup machine's actions in Home Assistant.

Switch services for the transfer switch and the loads, commands to the sources
(through their :class:`~.backup_sources.BackupSource` adapters), events on the bus
and repair issues. Each function does one action of one site; the order and the
failure handling are the site's.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Final, Protocol

from homeassistant.const import ATTR_ENTITY_ID, SERVICE_TURN_OFF, SERVICE_TURN_ON
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import issue_registry as ir

from .backup.machine import (
    Action,
    AdjustSource,
    ClearAlarm,
    FireEvent,
    MoveTransferSwitch,
    RaiseAlarm,
    ReportLoadLeftOff,
    ReportShortfall,
    RestoreLoad,
    RestoreSource,
    ShedLoad,
    StartSource,
    StopSource,
)
from .const import DOMAIN, LOGGER, SITE_DEVICE_PREFIX
from .registry import entry_device

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.core import HomeAssistant

    from .backup.sources import SourceBook
    from .backup.status import SiteStatus
    from .site_observer import SiteObserver


class BackupSite(Protocol):
    """What carrying out the machine's actions needs of a site (site.BackupSite has it)."""

    hass: HomeAssistant
    entry: ConfigEntry[Any]
    observer: SiteObserver
    book: SourceBook

    @property
    def data(self) -> SiteStatus | None:
        """The site's last status."""

    @property
    def transfer_switch(self) -> str:
        """The switch that moves the circuit."""

    async def async_stop_source(self, entry_id: str) -> None:
        """Stop a source supplying."""

    def source_title(self, entry_id: str) -> str:
        """A source's name for people."""


SWITCH_TIMEOUT_S: Final = 10.0


def site_device_identifier(entry_id: str) -> tuple[str, str]:
    """The device-registry identifier of a site."""
    return (DOMAIN, f"{SITE_DEVICE_PREFIX}{entry_id}")


async def async_carry_out(site: BackupSite, action: Action) -> None:
    """Do what one action of the machine says."""
    if isinstance(action, MoveTransferSwitch):
        service = SERVICE_TURN_ON if action.to_vehicle else SERVICE_TURN_OFF
        await async_switch(site.hass, site.transfer_switch, service)
    elif isinstance(action, ShedLoad):
        await async_switch(site.hass, action.entity_id, SERVICE_TURN_OFF)
    elif isinstance(action, RestoreLoad):
        await async_switch(site.hass, action.entity_id, SERVICE_TURN_ON)
    elif isinstance(action, StartSource | AdjustSource | StopSource | RestoreSource):
        await _async_source_action(site, action)
    elif isinstance(action, FireEvent):
        _fire(site, action)
    elif isinstance(action, ReportShortfall):
        _report_shortfall(site, action)
    elif isinstance(action, ReportLoadLeftOff):
        _report_load_left_off(site, action)
    elif isinstance(action, RaiseAlarm):
        _raise_alarm(site, action)
    elif isinstance(action, ClearAlarm):
        ir.async_delete_issue(site.hass, DOMAIN, f"alarm_{site.entry.entry_id}")


async def _async_source_action(
    site: BackupSite, action: StartSource | AdjustSource | StopSource | RestoreSource
) -> None:
    """A command to one source."""
    if isinstance(action, StopSource):
        await site.async_stop_source(action.source)
        return
    source = site.observer.source(action.source)
    if isinstance(action, RestoreSource):
        # Only a source the site used; it is put back once, as it was before (a source
        # not loaded now is not: its record is dropped, never put back on a later day).
        before = site.book.before.pop(action.source, None)
        if source is not None and before is not None:
            await source.async_restore(before)
        return
    if source is None:
        raise HomeAssistantError(f"source {action.source} is not loaded")
    if isinstance(action, StartSource) and action.source not in site.book.before:
        site.book.before[action.source] = source.record_before()  # as it was, once
    await source.async_supply(action)


async def async_switch(hass: HomeAssistant, entity_id: str, service: str) -> None:
    """Turn a switch on or off, waiting (a while) for it to be done."""
    async with asyncio.timeout(SWITCH_TIMEOUT_S):
        await hass.services.async_call(
            "switch", service, {ATTR_ENTITY_ID: entity_id}, blocking=True
        )


def _raise_alarm(site: BackupSite, action: RaiseAlarm) -> None:
    LOGGER.error("%s: %s", site.entry.title, action.reason)
    ir.async_create_issue(
        site.hass,
        DOMAIN,
        f"alarm_{site.entry.entry_id}",
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.CRITICAL,
        translation_key=action.reason,
        translation_placeholders={"site": site.entry.title, "switch": site.transfer_switch},
    )


def _report_load_left_off(site: BackupSite, action: ReportLoadLeftOff) -> None:
    """A load that tripped the vehicle supply is left off: a repair issue says which."""
    prefix = f"load_left_off_{site.entry.entry_id}_"
    if action.entity_id is None:
        registry = ir.async_get(site.hass)
        for domain, issue_id in list(registry.issues):
            if domain == DOMAIN and issue_id.startswith(prefix):
                ir.async_delete_issue(site.hass, DOMAIN, issue_id)
        return
    state = site.hass.states.get(action.entity_id)
    name = state.name if state is not None else action.entity_id
    LOGGER.warning(
        "%s: %s tripped the vehicle supply %s times; left off", site.entry.title, name, action.trips
    )
    _warn(
        site,
        f"{prefix}{action.entity_id}",
        "load_left_off",
        {"load": name, "trips": str(action.trips)},
    )


def _warn(site: BackupSite, issue_id: str, key: str, placeholders: dict[str, str]) -> None:
    """A warning repair issue of the site (it goes away by itself once fixed)."""
    ir.async_create_issue(
        site.hass,
        DOMAIN,
        issue_id,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=key,
        translation_placeholders={"site": site.entry.title, **placeholders},
    )


def _report_shortfall(site: BackupSite, action: ReportShortfall) -> None:
    issue_id = f"supply_short_{site.entry.entry_id}"
    if action.source is None:
        ir.async_delete_issue(site.hass, DOMAIN, issue_id)
        return
    source = " + ".join(site.source_title(s) for s in (action.source, *action.sharing))
    LOGGER.warning(
        "%s: %s can supply %s W of the %s W load; shed more loads",
        site.entry.title,
        source,
        action.available_w,
        action.load_w,
    )
    _warn(
        site,
        issue_id,
        "supply_short",
        {"source": source, "available": str(action.available_w), "load": str(action.load_w)},
    )


def _fire(site: BackupSite, action: FireEvent) -> None:
    entry_id = site.entry.entry_id
    device = entry_device(site.hass, entry_id, site_device_identifier(entry_id))
    status = site.data
    payload: dict[str, Any] = {
        "device_id": device.id if device else None,
        "site": site.entry.title,
        "reason": action.reason,
        "runtime_minutes": round(status.runtime_min) if status and status.runtime_min else None,
        "energy_kwh": round(status.energy_kwh, 2) if status and status.energy_kwh else None,
    }
    if action.source is not None:
        payload["source"] = site.source_title(action.source)
    site.hass.bus.async_fire(action.event, payload)
