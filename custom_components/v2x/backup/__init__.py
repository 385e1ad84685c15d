"""Outage backup as pure logic. No Home Assistant.

:mod:`.machine` is the state machine, :mod:`.runtime` the runtime estimates,
:mod:`.sources` the rules about a site's sources and its bookkeeping about them,
:mod:`.requests` when a start, end or drill is refused, :mod:`.status` what a
site's entities show.
"""
