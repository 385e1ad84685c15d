"""Draw V2X's brand images into ``custom_components/v2x/brand/``.

Home Assistant 2026.3 and later serve a custom integration's own icon and logo from
that folder (older releases ignore it). The pictures are ours, drawn here from a few
shapes: a house whose walls hold a lightning bolt, over a two-way arrow (power goes from
the car to the house and back). The wordmark "V2X" is drawn from strokes too, so the
result does not depend on the fonts of the machine.

Run: ``.venv/bin/python scripts/brand.py`` (Pillow comes with Home Assistant). The PNGs
are committed; ``tests/core/test_brand.py`` checks them against the brands rules.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = Path(__file__).resolve().parent.parent / "custom_components" / "v2x" / "brand"

# Everything is drawn on a 1024 px grid and scaled down (antialiased).
GRID = 1024
TEAL = (13, 124, 102, 255)  # the tile on light backgrounds
TEAL_DARK = (31, 170, 138, 255)  # brighter on dark backgrounds
WHITE = (255, 255, 255, 255)
INK = (33, 37, 41, 255)  # the wordmark on light backgrounds
INK_DARK = (240, 242, 245, 255)


def _glyph(draw: ImageDraw.ImageDraw, tile: tuple[int, int, int, int]) -> None:
    """The rounded tile, the house with its bolt and the two-way arrow."""
    draw.rounded_rectangle((0, 0, GRID - 1, GRID - 1), radius=200, fill=tile)
    line = 60
    # The house: a roof and walls drawn as one outline.
    outline = [
        (512, 690),
        (264, 690),
        (264, 440),
        (174, 440),
        (512, 150),
        (850, 440),
        (760, 440),
        (760, 690),
    ]
    draw.line([*outline, outline[0]], fill=WHITE, width=line, joint="curve")
    # The bolt inside the walls.
    draw.polygon(
        [(560, 330), (396, 540), (494, 540), (452, 650), (628, 450), (528, 450), (580, 330)],
        fill=WHITE,
    )
    # Two-way arrow under the house: to the house above, back to the car below.
    for y, tip_right in ((790, True), (900, False)):
        draw.line([(230, y), (794, y)], fill=WHITE, width=48)
        tip = 830 if tip_right else 194
        back = tip - 90 if tip_right else tip + 90
        draw.polygon([(tip, y), (back, y - 56), (back, y + 56)], fill=WHITE)


def _wordmark(draw: ImageDraw.ImageDraw, left: int, colour: tuple[int, int, int, int]) -> None:
    """Draw "V2X" in strokes from ``left`` on the grid's height."""
    width = 110
    top, bottom = 230, 794
    letter = 400
    gap = 90
    # V
    draw.line(
        [(left, top), (left + letter // 2, bottom), (left + letter, top)],
        fill=colour,
        width=width,
        joint="curve",
    )
    left += letter + gap
    # 2: an arc for the bowl, a diagonal, the base.
    bowl = (left, top - 10, left + letter, top + letter - 10)
    draw.arc(bowl, start=170, end=390, fill=colour, width=width)
    join = (left + 326, top + 262)  # where the bowl ends, rounded over
    half = width // 2
    draw.ellipse((join[0] - half, join[1] - half, join[0] + half, join[1] + half), fill=colour)
    draw.line(
        [join, (left + 40, bottom - width // 2), (left + letter, bottom - width // 2)],
        fill=colour,
        width=width,
        joint="curve",
    )
    left += letter + gap
    # X
    draw.line([(left, top), (left + letter, bottom)], fill=colour, width=width)
    draw.line([(left + letter, top), (left, bottom)], fill=colour, width=width)


def _picture(tile: tuple[int, int, int, int], ink: tuple[int, int, int, int] | None) -> Image.Image:
    """The icon (``ink`` None) or the logo (icon and wordmark) on the 1024 px grid."""
    canvas = Image.new("RGBA", (GRID * 3, GRID), (0, 0, 0, 0))
    draw = ImageDraw.Draw(canvas)
    _glyph(draw, tile)
    if ink is not None:
        _wordmark(draw, GRID + 170, ink)
    box = canvas.getbbox()  # trimmed, as the brands rules ask
    right = GRID if box is None else box[2]
    return canvas.crop((0, 0, right, GRID))


def _save(picture: Image.Image, name: str, height: int) -> None:
    width = round(picture.width * height / picture.height)
    scaled = picture.resize((width, height), Image.Resampling.LANCZOS)
    scaled.save(BRAND / name, optimize=True)


def main() -> None:
    """Write the icon and logo, normal and high-DPI, for light and dark themes."""
    BRAND.mkdir(exist_ok=True)
    for prefix, tile, ink in (("", TEAL, INK), ("dark_", TEAL_DARK, INK_DARK)):
        icon = _picture(tile, None)
        logo = _picture(tile, ink)
        _save(icon, f"{prefix}icon.png", 256)
        _save(icon, f"{prefix}icon@2x.png", 512)
        _save(logo, f"{prefix}logo.png", 256)
        _save(logo, f"{prefix}logo@2x.png", 512)


if __name__ == "__main__":
    main()
