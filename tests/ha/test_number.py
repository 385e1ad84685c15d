"""The number platform: every family's numbers and their states, snapshotted."""

from __future__ import annotations

from homeassistant.const import Platform

from .flows import FAMILY_BLUETTI
from .platform_snapshots import entities_test, no_entities_test, without

NONE_OF_IT = (FAMILY_BLUETTI,)  # the AC500's map has no writable limit or threshold

test_entities = entities_test(Platform.NUMBER, without(*NONE_OF_IT))
test_families_without = no_entities_test(Platform.NUMBER, NONE_OF_IT)
