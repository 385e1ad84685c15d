"""Config-flow steps shared by the tests: add a device the way a user does."""

from __future__ import annotations

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType

from custom_components.v2x.const import CONF_FAMILY, DOMAIN
from custom_components.v2x.devices import bluetti, quasar, zendure
from custom_components.v2x.devices.echonet import ev_charger
from custom_components.v2x.devices.registry import family as device_family
from custom_components.v2x.devices.sunspec import charger as sunspec

FAMILY_QUASAR1 = quasar.FAMILY.key
FAMILY_SUNSPEC = sunspec.FAMILY.key
FAMILY_ECHONET = ev_charger.FAMILY.key
FAMILY_ZENDURE = zendure.FAMILY.key
FAMILY_BLUETTI = bluetti.FAMILY.key
MENU = ["charger", "battery", "site", "v2b"]


async def open_device_form(hass: HomeAssistant, family_key: str) -> ConfigFlowResult:
    """Add integration -> what (charger or battery) -> which product: its address form."""
    family = device_family(family_key)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": family.kind.value}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == family.kind.value
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_FAMILY: family.key}
    )
    assert result["type"] is FlowResultType.FORM, result
    assert result["step_id"] == "device"
    assert result["description_placeholders"] == {"product": family.title}
    return result
