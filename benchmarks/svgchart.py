"""A tiny dependency-free SVG chart writer for the benchmarks' figures.

One chart is a title, a legend and one or more panels stacked on a shared x axis.
Values are per interval (power averaged over a step): ``x_edges`` has one more
element than each series. A panel draws stair lines, filled areas and bars,
horizontal reference lines with a label, and shaded background bands (such as a
tariff's peak period) that span every panel. Nothing is interpolated: what is
drawn is what was computed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
import math
from pathlib import Path
from typing import Literal

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"
TEXT_COLOR = "#222222"
GRID_COLOR = "#e3e3e3"
AXIS_COLOR = "#555555"
CHAR_WIDTH = 0.58
"""Approximate glyph width as a share of the font size (for the legend's layout)."""


@dataclass(frozen=True, slots=True)
class Series:
    """One data series of a panel, one value per interval."""

    label: str
    values: Sequence[float]
    color: str
    kind: Literal["line", "area", "bars"] = "line"
    width: float = 2.0
    dash: str | None = None
    negative_color: str | None = None
    """Bars only: colour of the bars below zero (their legend entry is ``negative_label``)."""
    negative_label: str | None = None
    opacity: float = 1.0


@dataclass(frozen=True, slots=True)
class Marker:
    """A horizontal reference line with a label at its right end."""

    value: float
    label: str
    color: str
    dash: str = "5 4"


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded x range behind every panel."""

    start: float
    end: float
    label: str
    color: str = "#fbe3b4"
    opacity: float = 0.6


@dataclass(frozen=True, slots=True)
class Panel:
    """One plot area with its own y axis."""

    series: tuple[Series, ...]
    y_label: str
    y_range: tuple[float, float] | None = None
    """Fixed y range (values outside it are clipped); fitted to the data when None."""
    markers: tuple[Marker, ...] = ()
    weight: float = 1.0
    """Share of the available height, relative to the other panels."""


def clock(hours: float) -> str:
    """Hours since midnight as ``HH:MM``."""
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, slots=True)
class Chart:
    """A whole figure."""

    title: str
    x_edges: Sequence[float]
    x_label: str
    panels: tuple[Panel, ...]
    subtitle: str = ""
    bands: tuple[Band, ...] = ()
    x_ticks: Sequence[float] | None = None
    x_tick_format: Callable[[float], str] = field(default=clock)
    width: int = 900
    height: int = 500
    font_size: float = 12.0


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _number(value: float) -> str:
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


Attribute = str | float | int | None
Attributes = dict[str, Attribute]


def _tag(name: str, *attributes: Mapping[str, Attribute], text: str | None = None) -> str:
    """One SVG element; floats are rounded to 0.1 px, ``None`` attributes left out."""
    merged: dict[str, Attribute] = {}
    for group in attributes:
        merged.update(group)
    parts = [name]
    for key, value in merged.items():
        if value is None:
            continue
        shown = f"{value:.1f}" if isinstance(value, float) else str(value)
        parts.append(f'{key}="{escape(shown)}"')
    opening = " ".join(parts)
    if text is None:
        return f"<{opening}/>"
    return f"<{opening}>{escape(text)}</{name}>"


def _data_range(panel: Panel) -> tuple[float, float]:
    if panel.y_range is not None:
        return panel.y_range
    values = [v for s in panel.series for v in s.values if math.isfinite(v)]
    values += [m.value for m in panel.markers]
    if any(s.kind in {"bars", "area"} for s in panel.series):
        values.append(0.0)
    if not values:
        return 0.0, 1.0
    low, high = min(values), max(values)
    if high == low:
        high = low + 1.0
    ticks = nice_ticks(low, high)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    return min(ticks[0], math.floor(low / step) * step), max(
        ticks[-1], math.ceil(high / step) * step
    )


@dataclass(frozen=True, slots=True)
class _Frame:
    """Pixel geometry of one panel."""

    left: float
    top: float
    width: float
    height: float
    x_low: float
    x_high: float
    y_low: float
    y_high: float

    def x(self, value: float) -> float:
        return self.left + (value - self.x_low) / (self.x_high - self.x_low) * self.width

    def y(self, value: float) -> float:
        return self.top + (self.y_high - value) / (self.y_high - self.y_low) * self.height

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


@dataclass(frozen=True, slots=True)
class _Entry:
    kind: str
    color: str
    label: str
    width: float = 2.0
    dash: str | None = None


def _legend_entries(chart: Chart) -> list[_Entry]:
    """One entry per series (two for bars of both signs) and per band."""
    entries = []
    for panel in chart.panels:
        for series in panel.series:
            entries.append(
                _Entry(series.kind, series.color, series.label, series.width, series.dash)
            )
            if series.kind == "bars" and series.negative_color and series.negative_label:
                entries.append(_Entry("bars", series.negative_color, series.negative_label))
    entries.extend(_Entry("band", band.color, band.label) for band in chart.bands)
    return entries


def _entry_width(entry: _Entry, size: float) -> float:
    return 28 + len(entry.label) * size * CHAR_WIDTH + 18


def _legend_rows(chart: Chart, entries: list[_Entry]) -> list[list[_Entry]]:
    """The entries per legend row, wrapped to the chart width."""
    available = chart.width - 40
    rows: list[list[_Entry]] = [[]]
    used = 0.0
    for entry in entries:
        needed = _entry_width(entry, chart.font_size)
        if rows[-1] and used + needed > available:
            rows.append([])
            used = 0.0
        rows[-1].append(entry)
        used += needed
    return rows


def _svg_legend(chart: Chart, top: float) -> tuple[list[str], float]:
    rows = _legend_rows(chart, _legend_entries(chart))
    size = chart.font_size
    line_height = size * 1.6
    out = []
    for row_number, row in enumerate(rows):
        x = (chart.width - sum(_entry_width(entry, size) for entry in row)) / 2
        y = top + row_number * line_height + size * 0.8
        for entry in row:
            if entry.kind == "line":
                stroke: Attributes = {"stroke": entry.color, "stroke-width": entry.width}
                sample: Attributes = {"x1": x, "y1": y, "x2": x + 20, "y2": y}
                out.append(_tag("line", sample, stroke, {"stroke-dasharray": entry.dash}))
            else:
                opacity = 0.85 if entry.kind == "bars" else 0.6
                swatch: Attributes = {
                    "x": x,
                    "y": y - size * 0.45,
                    "width": 20,
                    "height": size * 0.9,
                }
                out.append(_tag("rect", swatch, {"fill": entry.color, "fill-opacity": opacity}))
            out.append(_tag("text", {"x": x + 26, "y": y + size * 0.35}, text=entry.label))
            x += _entry_width(entry, size)
    return out, len(rows) * line_height


def _stairs(frame: _Frame, edges: Sequence[float], values: Sequence[float]) -> str:
    points = []
    for index, value in enumerate(values):
        if not math.isfinite(value):
            continue
        y = frame.y(value)
        points.append(f"{frame.x(edges[index]):.1f},{y:.1f}")
        points.append(f"{frame.x(edges[index + 1]):.1f},{y:.1f}")
    return " ".join(points)


def _svg_bars(frame: _Frame, edges: Sequence[float], series: Series) -> list[str]:
    out = []
    zero = frame.y(0.0)
    for index, value in enumerate(series.values):
        if not math.isfinite(value) or value == 0:
            continue
        x0, x1 = frame.x(edges[index]), frame.x(edges[index + 1])
        gap = (x1 - x0) * 0.12
        color = series.negative_color if value < 0 and series.negative_color else series.color
        y = frame.y(value)
        out.append(
            _tag(
                "rect",
                {
                    "x": x0 + gap,
                    "y": min(y, zero),
                    "width": x1 - x0 - 2 * gap,
                    "height": abs(zero - y),
                    "fill": color,
                    "fill-opacity": 0.85 * series.opacity,
                },
            )
        )
    return out


def _svg_series(frame: _Frame, edges: Sequence[float], series: Series) -> list[str]:
    if len(series.values) != len(edges) - 1:
        raise ValueError(f"{series.label}: one value per interval expected")
    if series.kind == "bars":
        return _svg_bars(frame, edges, series)
    points = _stairs(frame, edges, series.values)
    line = _tag(
        "polyline",
        {
            "points": points,
            "fill": "none",
            "stroke": series.color,
            "stroke-width": series.width,
            "stroke-linejoin": "round",
            "stroke-dasharray": series.dash,
            "stroke-opacity": series.opacity,
        },
    )
    if series.kind == "line":
        return [line]
    base = frame.y(max(frame.y_low, min(frame.y_high, 0.0)))
    first, last = frame.x(edges[0]), frame.x(edges[-1])
    polygon = f"{first:.1f},{base:.1f} {points} {last:.1f},{base:.1f}"
    fill: Attributes = {
        "points": polygon,
        "fill": series.color,
        "fill-opacity": 0.35 * series.opacity,
    }
    return [_tag("polygon", fill), line]


def _svg_grid(chart: Chart, frame: _Frame, last: bool) -> list[str]:
    size = chart.font_size
    grid: Attributes = {"stroke": GRID_COLOR}
    out = []
    for tick in nice_ticks(frame.y_low, frame.y_high):
        y = frame.y(tick)
        out.append(_tag("line", {"x1": frame.left, "y1": y, "x2": frame.right, "y2": y}, grid))
        anchor: Attributes = {"x": frame.left - 6, "y": y + size * 0.35, "text-anchor": "end"}
        out.append(_tag("text", anchor, text=_number(tick)))
    for tick in _x_ticks(chart):
        x = frame.x(tick)
        out.append(_tag("line", {"x1": x, "y1": frame.top, "x2": x, "y2": frame.bottom}, grid))
        if last:
            tick_line: Attributes = {"x1": x, "y1": frame.bottom, "x2": x, "y2": frame.bottom + 4}
            out.append(_tag("line", tick_line, {"stroke": AXIS_COLOR}))
            label: Attributes = {"x": x, "y": frame.bottom + 6 + size, "text-anchor": "middle"}
            out.append(_tag("text", label, text=chart.x_tick_format(tick)))
    if frame.y_low < 0 < frame.y_high:
        zero = frame.y(0.0)
        axis: Attributes = {"x1": frame.left, "y1": zero, "x2": frame.right, "y2": zero}
        out.append(_tag("line", axis, {"stroke": AXIS_COLOR}))
    return out


def _svg_panel(chart: Chart, frame: _Frame, panel: Panel, number: int, last: bool) -> list[str]:
    size = chart.font_size
    box: Attributes = {
        "x": frame.left,
        "y": frame.top,
        "width": frame.width,
        "height": frame.height,
    }
    clip = f"panel{number}"
    out = [f'<clipPath id="{clip}">{_tag("rect", box)}</clipPath>']
    for band in chart.bands:
        x0, x1 = frame.x(band.start), frame.x(band.end)
        shade: Attributes = {"x": x0, "y": frame.top, "width": x1 - x0, "height": frame.height}
        out.append(_tag("rect", shade, {"fill": band.color, "fill-opacity": band.opacity}))
    out.extend(_svg_grid(chart, frame, last))
    out.append(f'<g clip-path="url(#{clip})">')
    for series in panel.series:
        out.extend(_svg_series(frame, chart.x_edges, series))
    for marker in panel.markers:
        y = frame.y(marker.value)
        rule: Attributes = {
            "x1": frame.left,
            "y1": y,
            "x2": frame.right,
            "y2": y,
            "stroke": marker.color,
        }
        style: Attributes = {"stroke-width": 1.2, "stroke-dasharray": marker.dash}
        out.append(_tag("line", rule, style))
        label: Attributes = {
            "x": frame.right - 6,
            "y": y - 4,
            "text-anchor": "end",
            "fill": marker.color,
        }
        out.append(_tag("text", label, {"font-size": size * 0.95}, text=marker.label))
    out.append("</g>")
    out.append(_tag("rect", box, {"fill": "none", "stroke": AXIS_COLOR}))
    middle = frame.top + frame.height / 2
    turn = f"rotate(-90 {size * 1.2:.1f} {middle:.1f})"
    title: Attributes = {"x": size * 1.2, "y": middle, "text-anchor": "middle", "transform": turn}
    out.append(_tag("text", title, text=panel.y_label))
    return out


def _x_ticks(chart: Chart) -> Sequence[float]:
    if chart.x_ticks is not None:
        return chart.x_ticks
    return nice_ticks(chart.x_edges[0], chart.x_edges[-1], 8)


def render(chart: Chart) -> str:
    """The chart as an SVG document."""
    if len(chart.x_edges) < 2 or not chart.panels:
        raise ValueError("a chart needs at least one interval and one panel")
    size = chart.font_size
    width, height = chart.width, chart.height
    root = _tag(
        "svg",
        {
            "xmlns": "http://www.w3.org/2000/svg",
            "width": width,
            "height": height,
            "viewBox": f"0 0 {width} {height}",
            "font-family": FONT,
            "font-size": size,
            "fill": TEXT_COLOR,
        },
        text="",
    ).removesuffix("</svg>")
    centre: Attributes = {"x": width / 2, "text-anchor": "middle"}
    out = [
        root,
        _tag("rect", {"width": width, "height": height, "fill": "#ffffff"}),
        _tag(
            "text",
            centre,
            {"y": size * 1.9, "font-size": size * 1.35, "font-weight": "bold"},
            text=chart.title,
        ),
    ]
    top = size * 2.6
    if chart.subtitle:
        out.append(
            _tag("text", centre, {"y": top + size * 0.9, "fill": "#555555"}, text=chart.subtitle)
        )
        top += size * 1.6
    legend, legend_height = _svg_legend(chart, top + size * 0.3)
    out.extend(legend)
    top += legend_height + size * 0.8
    left, right = size * 5.4, width - size * 1.5
    bottom = height - size * 3.6
    gap = size * 1.2
    available = bottom - top - gap * (len(chart.panels) - 1)
    total_weight = sum(panel.weight for panel in chart.panels)
    x_low, x_high = chart.x_edges[0], chart.x_edges[-1]
    for number, panel in enumerate(chart.panels):
        panel_height = available * panel.weight / total_weight
        y_low, y_high = _data_range(panel)
        frame = _Frame(left, top, right - left, panel_height, x_low, x_high, y_low, y_high)
        out.extend(_svg_panel(chart, frame, panel, number, number == len(chart.panels) - 1))
        top += panel_height + gap
    axis_title: Attributes = {
        "x": (left + right) / 2,
        "y": height - size * 0.8,
        "text-anchor": "middle",
    }
    out.append(_tag("text", axis_title, text=chart.x_label))
    out.append("</svg>")
    return "\n".join(out) + "\n"


def write(chart: Chart, path: Path) -> None:
    """Render ``chart`` to ``path`` (directories created as needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(chart), encoding="utf-8")
