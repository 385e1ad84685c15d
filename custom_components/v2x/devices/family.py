"""What a device family is: one value per profile module, read by everything else.

A family is a product line spoken to over one local protocol (the Wallbox Quasar 1
over Modbus TCP, ECHONET Lite V2H units over UDP, ...). Each profile module
declares one :class:`DeviceFamily` as its module-level ``FAMILY``; the registry
(:mod:`.registry`) finds them. The Home Assistant layer builds its forms, options,
discovery and device objects from these values and names no family itself.

No Home Assistant imports here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

from .errors import DeviceError

if TYPE_CHECKING:
    import aiohttp

    from .echonet import EchonetEndpoint
    from .modbus import ModbusTransport
    from .model import Charger, PortableBattery


class DeviceKind(StrEnum):
    """What a family's devices are to a home: a car's charger or a battery of its own."""

    CHARGER = "charger"
    BATTERY = "battery"


class UnknownFamilyError(DeviceError):
    """The configuration names a device family this version does not support."""


@dataclass(frozen=True, kw_only=True)
class Connection:
    """Where a device is and how patiently to talk to it."""

    host: str
    port: int
    unit_id: int = 1
    timeout_s: float = 3.0
    watchdog_s: int = 60
    session: aiohttp.ClientSession | None = None
    endpoint: EchonetEndpoint | None = None

    def modbus_transport(self, unit_id: int | None = None) -> ModbusTransport:
        """A Modbus TCP transport to the device (``unit_id``: a family's fixed one)."""
        from .modbus import ModbusTransport  # noqa: PLC0415 - pymodbus only for Modbus

        unit = self.unit_id if unit_id is None else unit_id
        return ModbusTransport(self.host, self.port, unit, timeout_s=self.timeout_s)

    def need_session(self) -> aiohttp.ClientSession:
        """The HTTP session an HTTP family runs on."""
        if self.session is None:
            raise ValueError("an HTTP device needs the shared client session")
        return self.session

    def need_endpoint(self) -> EchonetEndpoint:
        """The shared UDP endpoint an ECHONET Lite family runs on."""
        if self.endpoint is None:
            raise ValueError("an ECHONET Lite device needs the shared endpoint")
        return self.endpoint


@dataclass(frozen=True, kw_only=True)
class PollLimits:
    """How often a device may be polled: the default and the floor its stack copes with."""

    default_s: int
    min_s: int


@dataclass(frozen=True, kw_only=True)
class DeviceFamily:
    """One supported product line.

    ``key`` is stored in the config entry (it never changes once released);
    ``products`` are the models known to work. A charger family has
    ``build_charger``, a battery family ``build_battery``.
    """

    key: str
    title: str
    products: tuple[str, ...]
    default_port: int
    # How long one request may take before the device counts as not answering.
    timeout_s: float = 3.0
    # Modbus families: the unit id the form asks for, with this default; None: not asked.
    unit_id: int | None = None
    # Portable batteries are polled at one rate; chargers at the status/full rates.
    poll: PollLimits | None = None
    # The device stops by itself when commands stop coming (a watchdog to set).
    watchdog: bool = True
    # The longest watchdog the device takes (seconds); the options offer no more.
    watchdog_max_s: int = 3600
    # Devices share one process-wide endpoint (ECHONET Lite's UDP port 3610).
    shared_endpoint: bool = False
    # How devices are found: zeroconf service types, or a scan of the local network.
    zeroconf: tuple[str, ...] = ()
    network_scan: bool = False
    # Network-scanned families: the ECHONET Lite class their devices are objects of, and
    # whether an entry is one object of a node (unique id: the node's identification and
    # the object, ``<id>-027D01``) rather than the node itself (``<id>``, for 0x027E).
    scan_class: int | None = None
    scan_per_object: bool = False
    build_charger: Callable[[Connection], Charger] | None = None
    build_battery: Callable[[Connection], PortableBattery] | None = None

    def __post_init__(self) -> None:
        """A family builds exactly one kind of device."""
        if (self.build_charger is None) == (self.build_battery is None):
            raise ValueError(f"family {self.key!r} must build a charger or a battery")
        if self.build_battery is not None and self.poll is None:
            raise ValueError(f"battery family {self.key!r} needs its poll limits")
        if self.network_scan and self.scan_class is None:
            raise ValueError(f"network-scanned family {self.key!r} needs its scan_class")

    def scan_unique_id(self, identification: str, instance: int = 1) -> str:
        """The unique id of an entry for this family's object ``instance`` of a node."""
        if not self.scan_per_object or self.scan_class is None:
            return identification
        return f"{identification}-{self.scan_class:04X}{instance:02X}"

    @property
    def kind(self) -> DeviceKind:
        """Charger or portable battery."""
        return DeviceKind.CHARGER if self.build_charger is not None else DeviceKind.BATTERY

    def create_charger(self, connection: Connection) -> Charger:
        """A ready (not yet connected) charger of this family."""
        if self.build_charger is None:
            raise UnknownFamilyError(f"{self.key!r} is not a charger family")
        return self.build_charger(connection)

    def create_battery(self, connection: Connection) -> PortableBattery:
        """A ready (not yet connected) portable battery of this family."""
        if self.build_battery is None:
            raise UnknownFamilyError(f"{self.key!r} is not a battery family")
        return self.build_battery(connection)
