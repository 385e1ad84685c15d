"""Fail when any single module's coverage is below the threshold.

Usage: python scripts/coverage_per_module.py coverage.json 95
"""

from __future__ import annotations

import json
from pathlib import Path
import sys


def main(argv: list[str]) -> int:
    """Print each module's coverage and return 1 if one is below the threshold."""
    report = json.loads(Path(argv[1]).read_text(encoding="utf-8"))
    threshold = float(argv[2])
    failing: list[tuple[str, float]] = []
    for path, data in sorted(report["files"].items()):
        percent = float(data["summary"]["percent_covered"])
        if percent < threshold:
            failing.append((path, percent))
    for path, percent in failing:
        print(f"coverage {percent:5.1f} % < {threshold:g} %: {path}")
    if failing:
        return 1
    print(f"every module is covered at >= {threshold:g} % ({len(report['files'])} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
