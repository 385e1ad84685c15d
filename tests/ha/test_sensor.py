"""The sensor platform: every family's sensors and their states, snapshotted."""

from __future__ import annotations

from homeassistant.const import Platform

from .platform_snapshots import FAMILIES, entities_test

test_entities = entities_test(Platform.SENSOR, FAMILIES)
