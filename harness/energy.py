"""The demo's Energy dashboard, set up through Home Assistant's own API as a user would.

The grid is the office's meter (its power, counted into kWh by a Riemann-sum
``integration`` sensor of ``configuration.yaml``); every V2X charger and battery is a
battery, with its charged and discharged energy counters, and from Home Assistant
2026.5 on its state of charge (``stat_soc``). The grid source changed shape in 2026
(one import/export pair per connection instead of ``flow_from``/``flow_to`` lists); the
release refuses the shape it does not take, so both are offered, the newer first.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .hass import HarnessError, HassInstance

GRID_METER = "sensor.office_grid_import"
"""The office meter's energy (kWh), integrated from ``sensor.office_building_power``."""

GRID_METER_YAML = """
sensor:
  - platform: integration
    name: Office grid import
    unique_id: v2x_demo_office_grid_import
    source: sensor.office_building_power
    method: left
    round: 3
    max_sub_interval:
      minutes: 1
"""
"""The Riemann-sum sensor of the office meter, as configuration.yaml text."""

CHARGED, DISCHARGED = "charged_energy", "discharged_energy"
SOC_KEYS = ("state_of_charge", "battery_level")
"""Translation keys of a V2X device's counters and of its state of charge (car, battery)."""


def battery_sources(entities: list[dict[str, Any]], *, with_soc: bool) -> list[dict[str, Any]]:
    """A battery source per V2X device that counts what it charged and discharged.

    ``entities`` is the entity registry's list; a device's entities are told apart by
    their translation keys, so the entity ids may be whatever the user renamed them to.
    """
    by_device: dict[str, dict[str, str]] = defaultdict(dict)
    for entity in entities:
        if (
            entity.get("platform") == "v2x"
            and entity.get("device_id")
            and not entity.get("disabled_by")
        ):
            by_device[entity["device_id"]][entity.get("translation_key") or ""] = entity[
                "entity_id"
            ]
    sources = []
    for keys in by_device.values():
        if CHARGED not in keys or DISCHARGED not in keys:
            continue
        source: dict[str, Any] = {
            "type": "battery",
            "stat_energy_from": keys[DISCHARGED],
            "stat_energy_to": keys[CHARGED],
        }
        soc = next((keys[key] for key in SOC_KEYS if key in keys), None)
        if with_soc and soc is not None:
            source["stat_soc"] = soc
        sources.append(source)
    return sorted(sources, key=lambda source: str(source["stat_energy_to"]))


def grid_sources() -> tuple[dict[str, Any], dict[str, Any]]:
    """The office meter as the grid: the shape since 2026, then the one before it."""
    unified = {"type": "grid", "stat_energy_from": GRID_METER, "cost_adjustment_day": 0}
    flows = {
        "type": "grid",
        "flow_from": [
            {
                "stat_energy_from": GRID_METER,
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
        ],
        "flow_to": [],
        "cost_adjustment_day": 0,
    }
    return unified, flows


def configure_energy(hass: HassInstance) -> dict[str, Any]:
    """Save the demo's Energy preferences; what Home Assistant stored."""
    entities = hass.websocket({"type": "config/entity_registry/list"})["result"]
    batteries = battery_sources(entities, with_soc=hass.release() >= (2026, 5))
    if not batteries:
        raise HarnessError("no V2X device counts its energy: nothing for the Energy dashboard")
    # A release takes one grid shape and refuses the other ("invalid_format").
    for grid in grid_sources():
        reply = hass.websocket({"type": "energy/save_prefs", "energy_sources": [grid, *batteries]})
        if reply.get("success"):
            result: dict[str, Any] = reply["result"]
            return result
    raise HarnessError(f"Home Assistant refused the Energy preferences: {reply}")
