"""V2X device simulator: every supported device on loopback, with physics and faults.

Never imports from ``custom_components``: each twin is an independent reading of the
device documentation (shared/reference/protocols.md).

Every twin shares a base (``twin.py``, ``modbus_twin.py``) and registers its family
(``registry.py``); ``twins.py`` lists them and says how to add one.
"""
