"""V2X's own icon and logo: the brands rules, and Home Assistant serving them.

Since 2026.3 Home Assistant serves a custom integration's images from its ``brand/``
folder (the brands repository takes no custom integrations any more, and HACS's brands
check accepts the local folder). The rules are those of home-assistant/brands: PNG, an
icon square at 256 px (512 for @2x), a logo whose shortest side is 128-256 px
(256-512 for @2x), trimmed, transparency preferred; ``dark_`` variants alike.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from homeassistant.core import HomeAssistant
from homeassistant.loader import async_get_custom_components
from homeassistant.setup import async_setup_component
from PIL import Image
import pytest
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

BRAND = Path(__file__).resolve().parents[2] / "custom_components" / "v2x" / "brand"
IMAGES = [
    f"{dark}{kind}{dpi}.png"
    for dark in ("", "dark_")
    for kind in ("icon", "logo")
    for dpi in ("", "@2x")
]


def _size(name: str) -> tuple[int, int]:
    with Image.open(BRAND / name) as image:
        assert image.format == "PNG", name
        width, height = image.size
        return int(width), int(height)


@pytest.mark.parametrize("name", IMAGES)
def test_each_image_follows_the_brands_rules(name: str) -> None:
    """Square icons at 256/512 px, logos 128-256 px high (twice for @2x), trimmed."""
    width, height = _size(name)
    scale = 2 if "@2x" in name else 1
    if "icon" in name:
        assert (width, height) == (256 * scale, 256 * scale)
    else:
        assert 128 * scale <= min(width, height) <= 256 * scale
        assert width > height  # a logo is wider than the icon it starts with
    with Image.open(BRAND / name) as image:
        rgba = image.convert("RGBA")
        # Trimmed: the picture touches every edge; transparent around the tile's corners.
        assert rgba.getchannel("A").getbbox() == (0, 0, width, height)
        assert rgba.getpixel((0, 0))[3] == 0


def test_the_variants_match() -> None:
    """@2x is twice its image; a dark variant has its light one's size."""
    for kind in ("icon", "logo"):
        small = _size(f"{kind}.png")
        large = _size(f"{kind}@2x.png")
        assert abs(large[0] - 2 * small[0]) <= 1
        assert large[1] == 2 * small[1]
        assert _size(f"dark_{kind}.png") == small
        assert _size(f"dark_{kind}@2x.png") == large


def test_nothing_else_is_in_the_folder() -> None:
    """The brands view serves only the eight names; anything else would be dead weight."""
    assert sorted(path.name for path in BRAND.iterdir()) == sorted(IMAGES)


@pytest.mark.skipif(
    importlib.util.find_spec("homeassistant.components.brands") is None,
    reason="Home Assistant serves local brand images since 2026.3",
)
async def test_home_assistant_serves_our_icon(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    """The brands view answers with the files of the folder, the fallback included."""
    integration = (await async_get_custom_components(hass))["v2x"]
    assert getattr(integration, "has_branding")  # noqa: B009 - new in 2026.3
    assert await async_setup_component(hass, "brands", {})
    client = await hass_client()
    for name in ("icon.png", "dark_logo@2x.png"):
        response = await client.get(f"/api/brands/integration/v2x/{name}")
        assert response.status == 200
        assert response.content_type == "image/png"
        assert await response.read() == (BRAND / name).read_bytes()
