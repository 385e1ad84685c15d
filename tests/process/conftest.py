"""One demo world (real Home Assistant + simulator processes) for the restart tests.

They run on their own (``./scripts/test``, ``-c tests/process/process.ini``), not in the
main run: that one blocks sockets and runs Home Assistant's test plugin.
"""

from __future__ import annotations

from collections.abc import Iterator
import os
from pathlib import Path

import pytest

from harness.outage import SITES, Bench, backup_world, export_integration

INI = Path(__file__).with_name("process.ini")


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave these tests out of any run not started with ``process.ini``."""
    if config.inipath != INI and collection_path.suffix == ".py":
        return True
    return None


@pytest.fixture(scope="session")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """The demo with its "Home" site watched; restore delays shortened to 5 s.

    ``V2X_PROCESS_REVISION=<rev>`` tests the integration as committed at ``rev`` instead
    of the working tree (e.g. ``HEAD`` while the tree is being edited).
    """
    base = tmp_path_factory.mktemp("process")
    revision = os.environ.get("V2X_PROCESS_REVISION")
    integration = export_integration(revision, base / "code") if revision else None
    with backup_world(base / "world", integration=integration) as world:
        watched = Bench.open(world, SITES["home"])
        try:
            yield watched
        finally:
            watched.close()


@pytest.fixture(autouse=True)
def clean_world(bench: Bench) -> Iterator[None]:
    """Every test starts and ends with the grid up, no fault and Home Assistant running."""
    yield
    bench.recover()
