"""The demo's house, apartment building and office, configured as a user would.

House and apartment building: each simulated site's transfer switch and loads become
RESTful switches, its switch position and protected load RESTful sensors (polled every
second), exactly as a smart relay or meter with an HTTP API would be integrated. The
house's grid signal is the RESTful "Grid" sensor; the apartment building's is its
SunSpec charger's own grid connection.

Office: six simulated Quasar 1 chargers in a vehicle-to-building entry. The building
meter is a template sensor: an office day (hourly values, interpolated) plus what the
six chargers deliver, and a second template sensor carries the office day as a
``forecast`` attribute, the shape a forecasting integration would publish.
"""

from __future__ import annotations

from typing import Any

from .energy import GRID_METER_YAML, configure_energy
from .hass import HarnessError, HassInstance
from .scenario import DemoPorts

LOADS = ("elevator", "lights", "heater", "ev_charger")
APARTMENT_LOADS = ("elevator", "stair_lights", "water_pump", "corridor_heater")
OFFICE_BAYS = tuple(f"office_bay_{bay}" for bay in range(1, 7))
OFFICE_SERIALS = range(20240201, 20240207)
OFFICE_DAY_KW = (
    60, 58, 57, 57, 58, 62, 75, 110, 150, 175, 185, 192,
    196, 205, 210, 204, 190, 165, 120, 95, 80, 72, 66, 62,
)  # fmt: skip
"""An office building's own load per hour of the day (kW), the shape of a BDEW G1 day."""


def rest_switch(name: str, resource: str) -> str:
    """A RESTful switch of the simulated site, as configuration.yaml text."""
    return f"""  - platform: rest
    name: {name}
    unique_id: v2x_demo_{name.lower().replace(" ", "_")}
    resource: {resource}
    body_on: '{{"on": true}}'
    body_off: '{{"on": false}}'
    is_on_template: "{{{{ value_json.on }}}}"
    headers:
      Content-Type: application/json
    scan_interval: 5
"""


def site_sensors(resource: str, prefix: str) -> str:
    """A site's grid, switch position and protected load as RESTful sensors (YAML text)."""
    slug = f"{prefix.lower()}_" if prefix else ""
    label = f"{prefix} " if prefix else ""
    grid = (
        ""
        if prefix
        else """      - name: Grid
        unique_id: v2x_demo_grid
        device_class: power
        value_template: "{{ value_json.grid }}"
"""
    )
    return f"""  - resource: {resource}
    scan_interval: 1
    binary_sensor:
{grid}      - name: {f"{label}transfer switch position".capitalize()}
        unique_id: v2x_demo_{slug}transfer_position
        value_template: "{{{{ value_json.transfer_switch == 'vehicle' }}}}"
    sensor:
      - name: {f"{label}protected load".capitalize()}
        unique_id: v2x_demo_{slug}protected_load
        device_class: power
        unit_of_measurement: W
        state_class: measurement
        value_template: "{{{{ value_json.protected_load_w }}}}"
"""


def site_switches(resource: str, prefix: str, loads: tuple[str, ...]) -> str:
    """A site's transfer switch and loads as RESTful switches (YAML text)."""
    label = f"{prefix} " if prefix else ""
    names = [(f"{label}transfer switch".capitalize(), f"{resource}/transfer_switch")]
    names += [
        (f"{label}{load.replace('_', ' ')}".capitalize(), f"{resource}/loads/{load}")
        for load in loads
    ]
    return "".join(rest_switch(name, url) for name, url in names)


def demo_configuration(ports: DemoPorts) -> str:
    """The demo's configuration.yaml additions for a simulator at ``ports``."""
    sim = ports.simulator
    return (
        "\nrest:\n"
        + site_sensors(f"{sim}/site", "")
        + site_sensors(f"{sim}/sites/apartment", "Apartment")
        + "\nswitch:\n"
        + site_switches(f"{sim}/site", "", LOADS)
        + site_switches(f"{sim}/sites/apartment", "Apartment", APARTMENT_LOADS)
        + _office_templates()
        + GRID_METER_YAML
    )


def _office_templates() -> str:
    """The office meter and its load forecast as template sensors (YAML text)."""
    profile = "[" + ", ".join(str(value) for value in OFFICE_DAY_KW) + "]"
    chargers = ", ".join(f"'sensor.wallbox_quasar_1_{serial}_power'" for serial in OFFICE_SERIALS)
    load_at = (
        "{%- set p = " + profile + " -%}"
        "{%- macro load(t) -%}{{ p[t.hour] + (p[(t.hour + 1) % 24] - p[t.hour])"
        " * t.minute / 60 }}{%- endmacro -%}"
    )
    return f"""
template:
  - sensor:
      - name: Office building power
        unique_id: v2x_demo_office_power
        unit_of_measurement: kW
        device_class: power
        state_class: measurement
        state: >-
          {load_at}
          {{%- set cars = expand([{chargers}]) | map(attribute='state')
                | map('float', 0) | sum -%}}
          {{{{ (load(now()) | float + cars / 1000) | round(2) }}}}
      - name: Office load forecast
        unique_id: v2x_demo_office_forecast
        unit_of_measurement: kW
        device_class: power
        state: >-
          {load_at}
          {{{{ load(now()) | float | round(1) }}}}
        attributes:
          forecast: >-
            {load_at}
            {{%- set ns = namespace(points=[]) -%}}
            {{%- for q in range(192) -%}}
              {{%- set t = today_at('00:00') + timedelta(minutes=15 * q) -%}}
              {{%- set ns.points = ns.points
                    + [{{'start': t.isoformat(), 'value': load(t) | float | round(1)}}] -%}}
            {{%- endfor -%}}
            {{{{ ns.points }}}}
"""


def add_demo_devices(
    hass: HassInstance, ports: DemoPorts, *, quasar: dict[str, Any] | None = None
) -> list[str]:
    """Add the simulated devices, the two backup sites and the office; their titles.

    The Energy dashboard is set up once they are there: the office meter as the grid,
    every charger and battery as a battery.

    ``quasar`` is the house's charger when it was added already (the browser tests add
    it through the config-flow dialog). With a kept configuration (``--keep``) that
    already has a backup site, nothing is added.
    """
    existing = hass.entries()
    if any(entry["title"] in ("Home", "Office") for entry in existing):
        return [entry["title"] for entry in existing]
    local = "127.0.0.1"
    if quasar is None:
        quasar = hass.add_v2x(
            "charger",
            {"family": "quasar1"},
            {"host": local, "port": ports.device("quasar"), "unit_id": 1},
        )
    zendure = hass.add_v2x(
        "battery", {"family": "zendure"}, {"host": local, "port": ports.device("zendure")}
    )
    bluetti = hass.add_v2x(
        "battery", {"family": "bluetti"}, {"host": local, "port": ports.device("bluetti")}
    )
    sunspec = hass.add_v2x(
        "charger",
        {"family": "sunspec"},
        {"host": local, "port": ports.device("sunspec"), "unit_id": 1},
    )
    nichicon = hass.add_v2x(
        "charger", {"family": "echonet_lite"}, {"host": local, "port": ports.device("nichicon")}
    )
    for entry in (quasar, zendure, bluetti, sunspec, nichicon):
        if entry["entry_id"] is None:
            raise HarnessError(f"{entry['title']}: the demo needs a fresh configuration")
    home = hass.add_v2x(
        "site",
        {"name": "Home", "site_type": "house", "grid_signal": "entity"},
        {"grid_entity": "binary_sensor.grid"},
        {
            "primary_source": quasar["entry_id"],
            "second_source": zendure["entry_id"],
            "third_source": bluetti["entry_id"],
            "transfer_switch": "switch.transfer_switch",
            "switch_confirm": "binary_sensor.transfer_switch_position",
            "critical_loads": ["switch.elevator", "switch.lights"],
            "sheddable_loads": ["switch.heater", "switch.ev_charger"],
            "load_sensor": "sensor.protected_load",
        },
    )
    # The apartment building's grid signal is its SunSpec charger's own grid connection.
    apartment = hass.add_v2x(
        "site",
        {"name": "Apartment building", "site_type": "building", "grid_signal": "device"},
        {"grid_device": sunspec["entry_id"]},
        {
            "primary_source": sunspec["entry_id"],
            "second_source": nichicon["entry_id"],
            "transfer_switch": "switch.apartment_transfer_switch",
            "switch_confirm": "binary_sensor.apartment_transfer_switch_position",
            "critical_loads": [
                "switch.apartment_elevator",
                "switch.apartment_stair_lights",
                "switch.apartment_water_pump",
            ],
            "sheddable_loads": ["switch.apartment_corridor_heater"],
            "load_sensor": "sensor.apartment_protected_load",
        },
    )
    office_bays = [
        hass.add_v2x(
            "charger",
            {"family": "quasar1"},
            {"host": local, "port": ports.device(bay), "unit_id": 1},
        )
        for bay in OFFICE_BAYS
    ]
    office = hass.add_v2x(
        "v2b",
        {
            "name": "Office",
            "vehicles": [bay["entry_id"] for bay in office_bays],
            "building_power_entity": "sensor.office_building_power",
            "meter_includes_vehicles": True,
            "load_forecast_entity": "sensor.office_load_forecast",
        },
    )
    hass.options_flow(
        office["entry_id"],
        {"next_step_id": "tariff"},
        {
            "offpeak_price": 0.10,
            "peak_price": 0.30,
            "peak_start": "13:00:00",
            "peak_end": "19:00:00",
            "peak_weekdays_only": False,
            "demand_charge_per_kw": 15.0,
            "billing_day": 1,
            "wear_cost_per_kwh": 0.02,
        },
    )
    configure_energy(hass)
    devices = (quasar, sunspec, nichicon, zendure, bluetti, home, apartment, *office_bays, office)
    return [entry["title"] for entry in devices]
