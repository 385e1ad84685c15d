"""The demo's house and office, configured as a user would.

House: the simulator's transfer switch and loads become RESTful switches, its grid and
protected load RESTful sensors (polled every second), exactly as a smart relay or
meter with an HTTP API would be integrated.

Office: six simulated Quasar 1 chargers in a vehicle-to-building entry. The building
meter is a template sensor: an office day (hourly values, interpolated) plus what the
six chargers deliver, and a second template sensor carries the office day as a
``forecast`` attribute, the shape a forecasting integration would publish.
"""

from __future__ import annotations

from .hass import HassInstance

SIM = "http://127.0.0.1:8099"
LOADS = ("elevator", "lights", "heater", "ev_charger")
OFFICE_PORTS = range(5030, 5036)
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


DEMO_CONFIGURATION = (
    f"""
rest:
  - resource: {SIM}/site
    scan_interval: 1
    binary_sensor:
      - name: Grid
        unique_id: v2x_demo_grid
        device_class: power
        value_template: "{{{{ value_json.grid }}}}"
      - name: Transfer switch position
        unique_id: v2x_demo_transfer_position
        value_template: "{{{{ value_json.transfer_switch == 'vehicle' }}}}"
    sensor:
      - name: Protected load
        unique_id: v2x_demo_protected_load
        device_class: power
        unit_of_measurement: W
        state_class: measurement
        value_template: "{{{{ value_json.protected_load_w }}}}"

switch:
"""
    + rest_switch("Transfer switch", f"{SIM}/site/transfer_switch")
    + "".join(
        rest_switch(load.replace("_", " ").capitalize(), f"{SIM}/site/loads/{load}")
        for load in LOADS
    )
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


DEMO_CONFIGURATION += _office_templates()


def add_demo_devices(hass: HassInstance) -> list[str]:
    """Add the simulated devices, the house's backup site and the office; their titles.

    With a kept configuration (``--keep``) that already has them, nothing is added.
    """
    existing = hass.entries()
    if existing:
        return [entry["title"] for entry in existing]
    quasar = hass.add_v2x("quasar1", {"host": "127.0.0.1", "port": 5020, "unit_id": 1})
    zendure = hass.add_v2x("zendure", {"host": "127.0.0.1", "port": 8081})
    bluetti = hass.add_v2x("bluetti", {"host": "127.0.0.1", "port": 5021})
    sunspec = hass.add_v2x("sunspec", {"host": "127.0.0.1", "port": 5022, "unit_id": 1})
    nichicon = hass.add_v2x("echonet_lite", {"host": "127.0.0.1", "port": 3611})
    site = hass.add_v2x(
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
    office_bays = [
        hass.add_v2x("quasar1", {"host": "127.0.0.1", "port": port, "unit_id": 1})
        for port in OFFICE_PORTS
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
    devices = (quasar, sunspec, nichicon, zendure, bluetti, site, *office_bays, office)
    return [entry["title"] for entry in devices]
