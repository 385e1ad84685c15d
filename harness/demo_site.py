"""The demo's house: the simulated site reached through Home Assistant's REST integration.

The simulator's transfer switch and loads become RESTful switches, its grid and
protected load RESTful sensors (polled every second), exactly as a smart relay or
meter with an HTTP API would be integrated.
"""

from __future__ import annotations

from .hass import HassInstance

SIM = "http://127.0.0.1:8099"
LOADS = ("elevator", "lights", "heater", "ev_charger")


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


def add_demo_devices(hass: HassInstance) -> list[str]:
    """Add the five simulated devices and the house backup site; return their titles.

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
    return [entry["title"] for entry in (quasar, sunspec, nichicon, zendure, bluetti, site)]
