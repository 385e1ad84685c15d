"""V2X device simulator: every supported device on loopback, with physics and faults.

Never imports from ``custom_components``: each twin is an independent reading of the
device documentation (shared/reference/protocols.md).
"""
