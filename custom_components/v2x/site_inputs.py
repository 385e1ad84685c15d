"""What a backup site reads from Home Assistant: its options and its entities' states."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from homeassistant.const import STATE_OFF, STATE_ON, STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.loader import IntegrationNotFound, async_get_integration

from .backup.machine import MachineConfig
from .backup.runtime import ElevatorModel
from .backup.sources import estimated_load_w
from .const import (
    CONF_CONFIRM_TIMEOUT,
    CONF_ELEVATOR_PEAK,
    CONF_ELEVATOR_STANDBY,
    CONF_ELEVATOR_TRIP,
    CONF_ELEVATOR_TRIPS,
    CONF_FAILED_AFTER,
    CONF_FAILED_POLLS,
    CONF_HOUSE_LOAD,
    CONF_LOAD_RESTORE_GAP,
    CONF_OUTAGE_DEBOUNCE,
    CONF_PARK_WARNING,
    CONF_RECOVER_AFTER,
    CONF_RESTORE_DELAY,
    CONF_SHARE_LOAD,
    CONF_STAGE_CRITICAL,
    CONF_TRIP_LIMIT,
    DEFAULT_ELEVATOR_OPTIONS,
    DEFAULT_SITE_OPTIONS,
)
from .devices.health import FailureRule


def site_option(options: Mapping[str, Any], key: str) -> Any:
    """One option of a site, or its default."""
    defaults = {**DEFAULT_SITE_OPTIONS, **DEFAULT_ELEVATOR_OPTIONS}
    return options.get(key, defaults[key])


def failure_rule(options: Mapping[str, Any]) -> FailureRule:
    """When a source counts as failed, and when it is trusted again."""
    return FailureRule(
        failed_polls=int(site_option(options, CONF_FAILED_POLLS)),
        failed_after_s=float(site_option(options, CONF_FAILED_AFTER)),
        recover_after_s=float(site_option(options, CONF_RECOVER_AFTER)),
    )


def machine_config(
    options: Mapping[str, Any],
    sources: Sequence[str],
    sheddable: Sequence[str],
    *,
    startup_wait_s: float,
    building: bool,
    critical: Sequence[str] = (),
) -> MachineConfig:
    """The machine's settings from the site's options."""
    return MachineConfig(
        sources=tuple(sources),
        sheddable_loads=tuple(sheddable),
        outage_debounce_s=float(site_option(options, CONF_OUTAGE_DEBOUNCE)),
        restore_delay_s=float(site_option(options, CONF_RESTORE_DELAY)),
        confirm_timeout_s=float(site_option(options, CONF_CONFIRM_TIMEOUT)),
        park_warning_min=float(site_option(options, CONF_PARK_WARNING)),
        recover_after_s=failure_rule(options).recover_after_s,
        startup_wait_s=startup_wait_s,
        load_restore_gap_s=float(site_option(options, CONF_LOAD_RESTORE_GAP)),
        share_load=bool(site_option(options, CONF_SHARE_LOAD)),
        peak_load_w=modelled_peak_w(options, building=building) or 0.0,
        critical_loads=tuple(critical),
        stage_critical=bool(site_option(options, CONF_STAGE_CRITICAL)),
        max_trips=int(site_option(options, CONF_TRIP_LIMIT)),
    )


def modelled_load_w(options: Mapping[str, Any], *, building: bool) -> float:
    """The load model of the options: the elevator's average, or the house load."""
    elevator = ElevatorModel(
        standby_w=float(site_option(options, CONF_ELEVATOR_STANDBY)),
        trip_wh=float(site_option(options, CONF_ELEVATOR_TRIP)),
        trips_per_hour=float(site_option(options, CONF_ELEVATOR_TRIPS)),
    )
    return estimated_load_w(building, elevator, float(site_option(options, CONF_HOUSE_LOAD)))


def modelled_peak_w(options: Mapping[str, Any], *, building: bool) -> float | None:
    """The most a site draws at once: the elevator's motor start; None for a house.

    A house's is its load now (measured, or the house load estimate).
    """
    return float(site_option(options, CONF_ELEVATOR_PEAK)) if building else None


def grid_from_entity(hass: HomeAssistant, entity_id: str, min_voltage: float) -> bool | None:
    """The grid signal of an entity: a voltage sensor against a minimum, else on/off."""
    state = hass.states.get(entity_id)
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    if state.domain == "sensor":
        try:
            volts = float(state.state)
        except ValueError:
            return None
        return volts >= min_voltage
    return state.state == STATE_ON


def switch_on(hass: HomeAssistant, entity_id: str) -> bool | None:
    """Whether a switch is on (None while it is neither on nor off)."""
    state = hass.states.get(entity_id)
    if state is None or state.state not in (STATE_ON, STATE_OFF):
        return None
    return state.state == STATE_ON


def power_w(hass: HomeAssistant, entity_id: str) -> float | None:
    """A power sensor's reading in W (kW converted), None without a reading."""
    state = hass.states.get(entity_id)
    if state is None:
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    unit = state.attributes.get("unit_of_measurement")
    return value * 1000.0 if unit == UnitOfPower.KILO_WATT else value


def entity_answers(hass: HomeAssistant, entity_id: str) -> bool:
    """Whether an entity has a state its integration vouches for (not unavailable)."""
    state = hass.states.get(entity_id)
    return state is not None and state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)


async def async_cloud_entities(hass: HomeAssistant, entity_ids: Sequence[str]) -> tuple[str, ...]:
    """The entities whose integration reaches its device through the internet.

    From each integration's ``iot_class`` (``cloud_polling``, ``cloud_push``): in an
    outage the router and the internet go down with the power.
    """
    registry = er.async_get(hass)
    cloud = []
    for entity_id in entity_ids:
        entry = registry.async_get(entity_id)
        if entry is None:
            continue  # a state set by hand, a template, YAML: nothing says it is remote
        try:
            integration = await async_get_integration(hass, entry.platform)
        except IntegrationNotFound:
            continue
        if str(integration.manifest.get("iot_class", "")).startswith("cloud"):
            cloud.append(entity_id)
    return tuple(cloud)
