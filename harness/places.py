"""Where the demo's Home Assistant says it is: time zone, currency, country, location.

The demo runs where its user is by default (the host's time zone, its locale's currency
and the time zone's place), so the times V2X shows agree with the browser's charts and
logbook. Tokyo (Nissan's Atsugi test site, yen) stays as a named place; the tests use
it, so their expectations do not depend on the machine.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import locale
import os
from pathlib import Path
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZONEINFO = Path("/usr/share/zoneinfo")
_COORDINATES = re.compile(r"^([+-])(\d{2})(\d{2})(\d{2})?([+-])(\d{3})(\d{2})(\d{2})?$")


@dataclass(frozen=True, slots=True)
class Place:
    """What configuration.yaml's ``homeassistant:`` block says about the location."""

    name: str
    time_zone: str
    currency: str
    country: str | None
    latitude: float
    longitude: float
    elevation: int = 0

    def configuration(self) -> str:
        """The ``homeassistant:`` block (name and units included) as YAML text."""
        country = f"  country: {self.country}\n" if self.country else ""
        return (
            "homeassistant:\n"
            "  name: V2X demo\n"
            "  unit_system: metric\n"
            f"  time_zone: {self.time_zone}\n"
            f"  currency: {self.currency}\n"
            f"{country}"
            f"  latitude: {self.latitude}\n"
            f"  longitude: {self.longitude}\n"
            f"  elevation: {self.elevation}\n"
        )


TOKYO = Place("tokyo", "Asia/Tokyo", "JPY", "JP", 35.4437, 139.3624, 30)
"""Atsugi, Kanagawa: where Nissan cut an office's peak with six Leafs."""

PLACES = {"tokyo": TOKYO}
"""The named places ``./scripts/demo --place`` takes besides ``host``."""


def _valid_zone(name: str) -> str | None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def host_time_zone(zoneinfo: Path = ZONEINFO) -> str:
    """The host's IANA time zone: $TZ, /etc/timezone or /etc/localtime's link; else UTC."""
    candidates = [os.environ.get("TZ", "").lstrip(":")]
    timezone_file = Path("/etc/timezone")
    if timezone_file.is_file():
        candidates.append(timezone_file.read_text(encoding="utf-8").strip())
    localtime = Path("/etc/localtime")
    if localtime.is_symlink():
        target = str(localtime.resolve())
        marker = f"{zoneinfo.name}/"
        if marker in target:
            candidates.append(target.split(marker, 1)[1])
    for candidate in candidates:
        if candidate and (zone := _valid_zone(candidate)) is not None:
            return zone
    return "UTC"


def _degrees(sign: str, degrees: str, minutes: str, seconds: str | None) -> float:
    value = int(degrees) + int(minutes) / 60 + int(seconds or 0) / 3600
    return round(-value if sign == "-" else value, 4)


def zone_location(zone: str, table: Path = ZONEINFO / "zone1970.tab") -> tuple[str, float, float]:
    """Country, latitude and longitude of a zone's principal city (tzdata's zone1970.tab).

    Raises LookupError when the table is missing or does not list the zone.
    """
    if not table.is_file():
        raise LookupError(f"{table} is missing")
    for line in table.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        fields = line.split("\t")
        if len(fields) >= 3 and fields[2] == zone and (match := _COORDINATES.match(fields[1])):
            lat_sign, lat_d, lat_m, lat_s, lon_sign, lon_d, lon_m, lon_s = match.groups()
            return (
                fields[0].split(",")[0],
                _degrees(lat_sign, lat_d, lat_m, lat_s),
                _degrees(lon_sign, lon_d, lon_m, lon_s),
            )
    raise LookupError(f"{zone} is not in {table}")


def locale_currency() -> str | None:
    """The ISO 4217 code of the host locale's currency, if its locale says one."""
    try:
        locale.setlocale(locale.LC_MONETARY, "")
    except locale.Error:
        return None
    code = str(locale.localeconv().get("int_curr_symbol", "")).strip()
    return code if re.fullmatch(r"[A-Z]{3}", code) else None


def host_place(currency: str | None = None) -> Place:
    """The host's time zone and its city; the locale's currency (else ``currency``, EUR)."""
    zone = host_time_zone()
    try:
        country, latitude, longitude = zone_location(zone)
    except LookupError:
        country, latitude, longitude = None, 0.0, 0.0
    return Place("host", zone, currency or locale_currency() or "EUR", country, latitude, longitude)


def place_named(name: str, currency: str | None = None) -> Place:
    """``host`` or one of PLACES, its currency replaced when ``currency`` is given."""
    if name == "host":
        return host_place(currency)
    place = PLACES[name]
    return place if currency is None else replace(place, currency=currency)
