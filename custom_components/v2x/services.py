"""Service actions of the integration: sessions, outputs, backup, and the V2B plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .building import BuildingManager, building_device_identifier
from .const import (
    ATTR_DEPARTURE,
    ATTR_DEVICE_ID,
    ATTR_DURATION,
    ATTR_ENABLED,
    ATTR_OUTPUT_LIMIT,
    ATTR_POWER_W,
    ATTR_TARGET_SOC,
    ATTR_UNTIL_SOC,
    DEFAULT_DRILL_MINUTES,
    DOMAIN,
    MAX_CHARGER_POWER_W,
    SERVICE_CHARGE,
    SERVICE_DISCHARGE,
    SERVICE_END_BACKUP,
    SERVICE_GET_PLAN,
    SERVICE_RUN_DRILL,
    SERVICE_SET_DEPARTURE,
    SERVICE_SET_OUTPUT,
    SERVICE_START_BACKUP,
    SERVICE_STOP,
)
from .devices.model import OperatingMode
from .helpers import async_battery_command
from .models import ChargerRuntimeData
from .registry import device_entry_ids
from .runtime import EntryRuntime, as_battery, as_building, as_charger, as_site, loaded
from .site import BackupSite

MAX_DRILL = timedelta(hours=4)


def _not_boolean(value: Any) -> Any:
    """Refuse true/false where a number is expected (Python counts True as 1)."""
    if isinstance(value, bool):
        raise vol.Invalid(f"expected a number, got the boolean {str(value).lower()}")
    return value


def _number(
    kind: type[float], minimum: float, maximum: float, field: str
) -> Callable[[Any], float]:
    """A number field: never a boolean, coerced to `kind`, within [minimum, maximum].

    A value out of range is refused with a translated error naming the field and the
    range (what a form shows); a power of 0 or less says to use ``v2x.stop``.
    """
    coerce = vol.Coerce(kind)

    def check(value: Any) -> float:
        number: float = coerce(_not_boolean(value))
        if minimum <= number <= maximum:
            return number
        below_zero_power = field == ATTR_POWER_W and number <= 0
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="power_not_positive" if below_zero_power else "value_out_of_range",
            translation_placeholders={
                "field": field,
                "value": f"{number:g}",
                "minimum": f"{minimum:g}",
                "maximum": f"{maximum:g}",
            },
        )

    return check


def _duration(maximum: timedelta | None = None) -> vol.All:
    """A duration field: more than 0 and at most ``maximum``, else a translated error."""

    def check(value: timedelta) -> timedelta:
        if value > timedelta(0) and (maximum is None or value <= maximum):
            return value
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="duration_out_of_range",
            translation_placeholders={
                "value": str(value),
                "maximum": "-" if maximum is None else str(maximum),
            },
        )

    return vol.All(_not_boolean, cv.time_period, check)


SESSION_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_POWER_W): _number(int, 1, MAX_CHARGER_POWER_W, ATTR_POWER_W),
        vol.Optional(ATTR_UNTIL_SOC): _number(float, 1, 100, ATTR_UNTIL_SOC),
        vol.Optional(ATTR_DURATION): _duration(),
    }
)
STOP_SCHEMA = vol.Schema({vol.Required(ATTR_DEVICE_ID): cv.string})
DRILL_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_DURATION, default=timedelta(minutes=DEFAULT_DRILL_MINUTES)): _duration(
            MAX_DRILL
        ),
    }
)
SET_OUTPUT_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Required(ATTR_ENABLED): cv.boolean,
        vol.Optional(ATTR_OUTPUT_LIMIT): _number(int, 0, 100_000, ATTR_OUTPUT_LIMIT),
    }
)


def _not_found(device_id: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="device_not_found",
        translation_placeholders={"device_id": device_id},
    )


def _runtime_for_device(hass: HomeAssistant, device_id: str) -> EntryRuntime:
    """The runtime data of the loaded entry behind a device id, or a translated error."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise _not_found(device_id)
    for entry_id in device_entry_ids(device):
        entry = hass.config_entries.async_get_entry(entry_id)
        if entry is None or entry.domain != DOMAIN:
            continue
        if entry.state is not ConfigEntryState.LOADED:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="entry_not_loaded",
                translation_placeholders={"name": entry.title},
            )
        if (runtime := loaded(entry)) is not None:
            return runtime
    raise _not_found(device_id)


def _charger(call: ServiceCall) -> ChargerRuntimeData:
    data = as_charger(_runtime_for_device(call.hass, call.data[ATTR_DEVICE_ID]))
    if data is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_charger")
    return data


async def _async_session(call: ServiceCall, mode: OperatingMode) -> None:
    data = _charger(call)
    duration: timedelta | None = call.data.get(ATTR_DURATION)
    await data.controller.async_start(
        mode,
        power_w=call.data[ATTR_POWER_W],
        until_soc_pct=call.data.get(ATTR_UNTIL_SOC),
        duration_s=duration.total_seconds() if duration is not None else None,
    )
    data.status.async_update_listeners()
    await data.status.async_request_refresh()


async def _async_charge(call: ServiceCall) -> None:
    await _async_session(call, OperatingMode.CHARGE)


async def _async_discharge(call: ServiceCall) -> None:
    await _async_session(call, OperatingMode.DISCHARGE)


async def _async_stop(call: ServiceCall) -> None:
    data = _charger(call)
    await data.controller.async_stop()
    data.status.async_update_listeners()
    await data.status.async_request_refresh()


async def _async_set_output(call: ServiceCall) -> None:
    data = as_battery(_runtime_for_device(call.hass, call.data[ATTR_DEVICE_ID]))
    if data is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_battery")
    enabled: bool = call.data[ATTR_ENABLED]
    limit: int | None = call.data.get(ATTR_OUTPUT_LIMIT)
    capabilities = data.battery.capabilities
    if limit is not None:
        if not capabilities.output_limit:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="output_limit_not_supported",
                translation_placeholders={"model": data.identity.model},
            )
        if limit > capabilities.max_output_w:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="power_above_maximum",
                translation_placeholders={
                    "power": str(limit),
                    "maximum": str(capabilities.max_output_w),
                },
            )
        if not enabled:
            raise ServiceValidationError(
                translation_domain=DOMAIN, translation_key="limit_without_output"
            )
    await async_battery_command(
        data.coordinator,
        data.battery.async_set_output(enabled=enabled, limit_w=limit or None),
    )


def _site(call: ServiceCall) -> BackupSite:
    site = as_site(_runtime_for_device(call.hass, call.data[ATTR_DEVICE_ID]))
    if site is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_site")
    return site


async def _async_start_backup(call: ServiceCall) -> None:
    _site(call).request("start")


async def _async_end_backup(call: ServiceCall) -> None:
    _site(call).request("end")


async def _async_run_drill(call: ServiceCall) -> None:
    duration: timedelta = call.data[ATTR_DURATION]
    _site(call).request("drill", duration.total_seconds())


# -- vehicle-to-building ---------------------------------------------------------------------

MAX_DEPARTURE_AHEAD = timedelta(days=7)
SET_DEPARTURE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_DEPARTURE): cv.datetime,
        vol.Optional(ATTR_TARGET_SOC): _number(float, 10, 100, ATTR_TARGET_SOC),
    }
)


def _building_and_vehicle(call: ServiceCall) -> tuple[BuildingManager, str | None]:
    """The building behind a device, and the car when the device is a car bay or charger."""
    hass = call.hass
    device_id: str = call.data[ATTR_DEVICE_ID]
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        raise _not_found(device_id)
    data = _runtime_for_device(hass, device_id)
    if (manager := as_building(data)) is not None:
        entry_id = manager.entry.entry_id
        if building_device_identifier(entry_id) in device.identifiers:
            return manager, None
        for vehicle_id in manager.vehicle_ids:
            if (DOMAIN, f"v2b_{entry_id}_{vehicle_id}") in device.identifiers:
                return manager, vehicle_id
        raise _not_found(device_id)
    if as_charger(data) is not None:
        buildings = [
            (building, entry_id)
            for entry in hass.config_entries.async_loaded_entries(DOMAIN)
            if (building := as_building(entry.runtime_data)) is not None
            for entry_id in device_entry_ids(device)
            if entry_id in building.vehicle_ids
        ]
        if len(buildings) == 1:
            return buildings[0]
    raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_v2b_vehicle")


async def _async_get_plan(call: ServiceCall) -> ServiceResponse:
    building, _ = _building_and_vehicle(call)
    return building.plan_response()


async def _async_set_departure(call: ServiceCall) -> None:
    building, vehicle_id = _building_and_vehicle(call)
    if vehicle_id is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="not_a_v2b_vehicle")
    if building.bays.stationary(vehicle_id):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="stationary_no_departure"
        )
    departure: datetime | None = call.data.get(ATTR_DEPARTURE)
    target: float | None = call.data.get(ATTR_TARGET_SOC)
    if departure is None and target is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="departure_or_target"
        )
    if departure is not None:
        departure = dt_util.as_local(departure)  # a time without zone is local time
        now = dt_util.now()
        if not now < departure <= now + MAX_DEPARTURE_AHEAD:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="departure_out_of_range",
                translation_placeholders={"departure": departure.isoformat(timespec="minutes")},
            )
    reserve = building.reserve_soc(vehicle_id)
    if target is not None and target < reserve:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="target_below_reserve",
            translation_placeholders={"target": f"{target:g}", "reserve": f"{reserve:g}"},
        )
    await building.async_set_departure(vehicle_id, departure, target)


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's services (once, in async_setup)."""
    hass.services.async_register(DOMAIN, SERVICE_CHARGE, _async_charge, schema=SESSION_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_DISCHARGE, _async_discharge, schema=SESSION_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_STOP, _async_stop, schema=STOP_SCHEMA)
    hass.services.async_register(
        DOMAIN, SERVICE_SET_OUTPUT, _async_set_output, schema=SET_OUTPUT_SCHEMA
    )
    hass.services.async_register(
        DOMAIN, SERVICE_START_BACKUP, _async_start_backup, schema=STOP_SCHEMA
    )
    hass.services.async_register(DOMAIN, SERVICE_END_BACKUP, _async_end_backup, schema=STOP_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_RUN_DRILL, _async_run_drill, schema=DRILL_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_GET_PLAN,
        _async_get_plan,
        schema=STOP_SCHEMA,
        supports_response=SupportsResponse.ONLY,
    )
    hass.services.async_register(
        DOMAIN, SERVICE_SET_DEPARTURE, _async_set_departure, schema=SET_DEPARTURE_SCHEMA
    )
