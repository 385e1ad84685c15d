"""Find what Home Assistant says about V2X using something it deprecated.

Home Assistant reports a deprecated call from a custom integration in its log, in a
few shapes: "Detected that custom integration 'v2x' ... This will stop working in
Home Assistant 2026.12", "Detected code that ...", or "... was used from v2x, this
is a deprecated constant ...". The main suite and the browser session both fail on
any such line, on every Home Assistant version they run.
"""

from __future__ import annotations

from pathlib import Path
import re
from typing import Final

_TELLS: Final = re.compile(
    r"Detected that custom integration|Detected code that|deprecat|will stop working|breaks in",
    re.IGNORECASE,
)
_NAMES_US: Final = re.compile(r"\bv2x\b|custom_components[/.]v2x")


def is_deprecation_about_v2x(message: str) -> bool:
    """Whether one log message says that V2X uses something deprecated."""
    return bool(_NAMES_US.search(message) and _TELLS.search(message))


def deprecations_in_log(path: Path) -> list[str]:
    """Every such line of a Home Assistant log file (none if there is no file)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8", errors="replace") as log:
        return [line.rstrip() for line in log if is_deprecation_about_v2x(line)]
