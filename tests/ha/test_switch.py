"""The switch platform: every family's switches and their states, snapshotted."""

from __future__ import annotations

from homeassistant.const import Platform

from .flows import FAMILY_ECHONET
from .platform_snapshots import entities_test, no_entities_test, without

NONE_OF_IT = (FAMILY_ECHONET,)  # ECHONET Lite has no remote/local switch

test_entities = entities_test(Platform.SWITCH, without(*NONE_OF_IT))
test_families_without = no_entities_test(Platform.SWITCH, NONE_OF_IT)
