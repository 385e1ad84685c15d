"""The select platform: every family's selects and their states, snapshotted."""

from __future__ import annotations

from homeassistant.const import Platform

from .flows import FAMILY_BLUETTI, FAMILY_ZENDURE
from .platform_snapshots import entities_test, no_entities_test, without

# A battery has no operating mode to choose.
NONE_OF_IT = (FAMILY_ZENDURE, FAMILY_BLUETTI)

test_entities = entities_test(Platform.SELECT, without(*NONE_OF_IT))
test_families_without = no_entities_test(Platform.SELECT, NONE_OF_IT)
