"""The demo's Energy preferences: one battery per V2X device that counts its energy."""

from __future__ import annotations

from typing import Any

from harness.energy import GRID_METER, battery_sources, grid_sources


def _entity(device: str, key: str, entity_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "platform": "v2x",
        "device_id": device,
        "translation_key": key,
        "entity_id": entity_id,
        "disabled_by": None,
        **extra,
    }


ENTITIES = [
    _entity("car", "charged_energy", "sensor.car_in"),
    _entity("car", "discharged_energy", "sensor.car_out"),
    _entity("car", "state_of_charge", "sensor.car_soc"),
    _entity("pack", "charged_energy", "sensor.pack_in"),
    _entity("pack", "discharged_energy", "sensor.pack_out"),
    _entity("pack", "battery_level", "sensor.pack_level"),
    # a site: stored energy, no counters
    _entity("site", "energy_available", "sensor.site_energy"),
    # a device with one counter only is no battery
    _entity("half", "charged_energy", "sensor.half_in"),
    # another integration's counters, and a disabled V2X one
    {**_entity("other", "charged_energy", "sensor.o_in"), "platform": "zendure_ha"},
    {**_entity("other", "discharged_energy", "sensor.o_out"), "platform": "zendure_ha"},
    _entity("off", "charged_energy", "sensor.off_in", disabled_by="user"),
    _entity("off", "discharged_energy", "sensor.off_out"),
]


def test_a_battery_per_device_with_both_counters_and_its_soc() -> None:
    """Into the battery = charged, out of it = discharged; SoC from 2026.5 on."""
    assert battery_sources(ENTITIES, with_soc=True) == [
        {
            "type": "battery",
            "stat_energy_from": "sensor.car_out",
            "stat_energy_to": "sensor.car_in",
            "stat_soc": "sensor.car_soc",
        },
        {
            "type": "battery",
            "stat_energy_from": "sensor.pack_out",
            "stat_energy_to": "sensor.pack_in",
            "stat_soc": "sensor.pack_level",
        },
    ]
    without = battery_sources(ENTITIES, with_soc=False)
    assert [source.get("stat_soc") for source in without] == [None, None]


def test_the_grid_in_both_shapes() -> None:
    """2026's one connection, then the flow lists of the releases before."""
    unified, flows = grid_sources()
    assert unified["stat_energy_from"] == GRID_METER
    assert flows["flow_from"][0]["stat_energy_from"] == GRID_METER
    assert flows["flow_to"] == []
