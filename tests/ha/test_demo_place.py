"""Where the demo's Home Assistant is: the host's time zone and city, or Tokyo by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.places import TOKYO, host_place, host_time_zone, place_named, zone_location

TABLE = """# tzdb timezone descriptions
#codes\tcoordinates\tTZ\tcomments
JP\t+353916+1394441\tAsia/Tokyo
GB,GG,IM,JE\t+513030-0000731\tEurope/London
AR\t-3436-05827\tAmerica/Argentina/Buenos_Aires\tBuenos Aires (BA, CF)
"""


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "zone1970.tab"
    path.write_text(TABLE, encoding="utf-8")
    return path


def test_a_zone_s_city_comes_from_tzdata(table: Path) -> None:
    """±DDMM[SS]±DDDMM[SS] read as degrees; the first country of a shared zone."""
    assert zone_location("Asia/Tokyo", table) == ("JP", 35.6544, 139.7447)
    assert zone_location("Europe/London", table) == ("GB", 51.5083, -0.1253)
    assert zone_location("America/Argentina/Buenos_Aires", table) == ("AR", -34.6, -58.45)
    with pytest.raises(LookupError):
        zone_location("Mars/Olympus_Mons", table)
    with pytest.raises(LookupError):
        zone_location("Asia/Tokyo", table.with_name("missing.tab"))


def test_the_host_time_zone_follows_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    """$TZ first (a zone name, with or without the leading colon); nonsense is skipped."""
    monkeypatch.setenv("TZ", ":Europe/Berlin")
    assert host_time_zone() == "Europe/Berlin"
    monkeypatch.setenv("TZ", "Not/A_Zone")
    assert host_time_zone() != "Not/A_Zone"


def test_the_host_place_has_the_locale_s_currency_or_the_one_given(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Europe/London")
    monkeypatch.setenv("LC_ALL", "C")
    place = host_place()
    assert (place.time_zone, place.currency) == ("Europe/London", "EUR")  # C has none
    if Path("/usr/share/zoneinfo/zone1970.tab").is_file():
        assert place.country == "GB"
        assert 51 < place.latitude < 52
    assert host_place("GBP").currency == "GBP"
    assert place_named("host", "USD").currency == "USD"


def test_tokyo_stays_a_named_place_and_writes_the_configuration() -> None:
    assert place_named("tokyo") is TOKYO
    assert place_named("tokyo", "USD").currency == "USD"
    text = TOKYO.configuration()
    assert "  time_zone: Asia/Tokyo\n" in text
    assert "  currency: JPY\n" in text
    assert "  country: JP\n" in text
    assert text.startswith("homeassistant:\n")
