"""What the ECHONET Lite device classes 0x027E and 0x027D do alike: one base class.

Both are one object of a node behind an :class:`EchonetClient` (protocols.md 4.1,
4.2, 4.4): identity is one Get to the node profile and one to the object (read
once, lazily if a poll comes first, and again after the device stopped answering,
since a reboot may change firmware and property maps); a poll is one Get, which
what the object announces meanwhile overrides; a setting is written (SetC) and read
back; the set mode 0xDA takes 0x42 charge, 0x43 discharge and 0x44 standby in both.
Neither has a remote/local switch or a watchdog: ``watchdog_s`` stays 0 and taking
control is a liveness check.

A class names what differs: the EPCs identity reads, the info it builds from them
(:class:`ObjectInfo`), the connection, state and SoC decoders and the power writes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
import asyncio
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
import contextlib
import logging
from typing import ClassVar, Final, Protocol

from ..errors import (
    DeviceConnectionError,
    DeviceProtocolError,
    DeviceTimeoutError,
    WriteNotVerifiedError,
)
from ..family import Connection, DeviceFamily
from ..model import (
    Charger,
    ChargerCapabilities,
    ChargerErrors,
    ChargerSnapshot,
    ChargerState,
    ChargerStatus,
    DeviceIdentity,
    SocReading,
)
from ..soc import SocFilter
from .client import EchonetClient
from .endpoint import ECHONET_PORT
from .frame import (
    EPC_GET_MAP,
    EPC_IDENTIFICATION,
    EPC_MANUFACTURER,
    EPC_SET_MAP,
    EPC_STANDARD_VERSION,
    NODE_PROFILE,
    Eoj,
    decode_identification,
    decode_manufacturer_code,
    decode_property_map,
)
from .values import (
    FAULT,
    FAULT_CODES,
    Values,
    decode_coded,
    decode_grid,
    decode_manufacturer,
    decode_number,
    decode_standard_version,
)

_LOGGER = logging.getLogger(__name__)

# Properties both classes have (super class 4.1, and 0x027E / 0x027D alike)
_EPC_FAULT_STATUS: Final = 0x88  # 0x41 fault, 0x42 no fault
_EPC_FAULT_DESCRIPTION: Final = 0x89  # uint16
_EPC_PRODUCT_CODE: Final = 0x8C  # 12 B ASCII
_EPC_POWER: Final = 0xD3  # int32 W, + charging, - discharging
_EPC_OPERATION_MODE: Final = 0xDA  # the set mode
_EPC_INTERCONNECTION: Final = 0xDB  # system interconnected type
_MODE_CHARGE: Final = 0x42
_MODE_DISCHARGE: Final = 0x43
_MODE_STANDBY: Final = 0x44
_IDENTITY_EPCS: Final = (
    EPC_GET_MAP,
    EPC_SET_MAP,
    EPC_MANUFACTURER,
    _EPC_PRODUCT_CODE,
    EPC_STANDARD_VERSION,
    EPC_IDENTIFICATION,
)

# One UDP exchange may be lost; a unit that misses three in a row is not there.
REQUEST_TIMEOUT_S: Final = 1.0
REQUEST_RETRIES: Final = 2


def initial_capabilities(
    states: tuple[ChargerState, ...], *, stationary: bool
) -> ChargerCapabilities:
    """What a unit of a class supports before its identity is read.

    A stationary one (0x027D) reports its own battery, not a vehicle.
    """
    return ChargerCapabilities(
        bidirectional=True,
        watchdog=False,
        reports_grid=False,
        ac_measurements=False,
        max_power_w=0,
        remote_control=False,
        reports_vehicle=not stationary,
        energy_counters=False,
        stationary=stationary,
        states=states,
    )


def connect(connection: Connection) -> EchonetClient:
    """The client of a family's ``connection``: the shared endpoint, its host and port."""
    return EchonetClient(
        connection.need_endpoint(),
        connection.host,
        connection.port,
        timeout_s=connection.timeout_s,
        retries=REQUEST_RETRIES,
    )


def echonet_family(
    profile: Callable[[EchonetClient], Charger],
    *,
    key: str,
    title: str,
    products: tuple[str, ...],
    scan_class: int,
    scan_per_object: bool = False,
) -> DeviceFamily:
    """The family of one ECHONET Lite class, its units built as ``profile`` of a client.

    Port 3610, the shared endpoint, no watchdog, found by a network scan for
    ``scan_class`` (an entry a node, or with ``scan_per_object`` an object of it).
    """
    return DeviceFamily(
        key=key,
        title=title,
        products=products,
        default_port=ECHONET_PORT,
        timeout_s=REQUEST_TIMEOUT_S,
        watchdog=False,
        shared_endpoint=True,
        network_scan=True,
        scan_class=scan_class,
        scan_per_object=scan_per_object,
        build_charger=lambda connection: profile(connect(connection)),
    )


class ObjectInfo(Protocol):
    """What identity tells about an object, as far as :class:`EchonetObjectProfile` asks."""

    @property
    def mode_epc(self) -> int:
        """The EPC a status reads the operation mode (or status) from."""
        ...

    def capabilities(self) -> ChargerCapabilities:
        """The final capabilities of the object."""
        ...

    def status_epcs(self) -> list[int]:
        """The EPCs of a status Get, in order."""
        ...

    def snapshot_epcs(self) -> list[int]:
        """The EPCs of a full-poll Get: the status ones plus the snapshot ones."""
        ...


class EchonetObjectProfile[InfoT: ObjectInfo](ABC):
    """One object (``eoj``) of an ECHONET Lite node behind an :class:`EchonetClient`."""

    IDENTITY_EPCS: ClassVar[tuple[int, ...]]
    """The class's own EPCs identity reads after the maps, 0x8A, 0x8C, 0x82 and 0x83."""
    SETTING_NAMES: ClassVar[Mapping[int, str]]
    """The names of the EPCs the class writes, for :class:`WriteNotVerifiedError`."""
    SIGNED_EPCS: ClassVar[frozenset[int]] = frozenset()
    """The written EPCs whose numbers are signed."""
    SOC_EPCS: ClassVar[frozenset[int]]
    """Status EPCs an announcement does not change (the SoC waits for the next poll)."""
    MODE_NAME: ClassVar[str]
    """What the mode EPC is called when the object does not report it."""

    def __init__(
        self, client: EchonetClient, *, eoj: Eoj, capabilities: ChargerCapabilities
    ) -> None:
        """Use ``client`` for every request, addressing object ``eoj``."""
        self.client = client
        self.eoj = eoj
        self.watchdog_s = 0
        self._lock = asyncio.Lock()
        self._info: InfoT | None = None
        self._reidentify = False
        self._identity_reads = 0
        self._serial_number: str | None = None
        self._capabilities = capabilities
        self._soc_filter = SocFilter()
        self._last: tuple[Values, ChargerStatus] | None = None
        """The values of the last status read (or announcement) and the status they made."""
        self._arrived: dict[int, bytes] | None = None
        """What was announced while a Get runs (None: none runs)."""

    @property
    def info(self) -> InfoT | None:
        """What identity told (property maps and the class's own), once it was read."""
        return self._info

    @property
    def capabilities(self) -> ChargerCapabilities:
        """What this unit supports (final after :meth:`async_read_identity`)."""
        return self._capabilities

    @property
    def requests_sent(self) -> int:
        """Requests sent to this unit so far."""
        return self.client.requests_sent

    @property
    def connects(self) -> int:
        """Successful identity reads (at least 1): a change asks for a new identity."""
        return max(1, self._identity_reads)

    async def async_close(self) -> None:
        """Nothing to close: the UDP endpoint is shared and closed by its owner."""
        await self.client.async_close()

    async def async_read_identity(self) -> DeviceIdentity:
        """Read identification, manufacturer, model, version and maps (2 requests)."""
        async with self._session():
            return (await self._load())[0]

    async def async_read_status(self) -> ChargerStatus:
        """Read the status EPCs (:meth:`ObjectInfo.status_epcs`) in one Get."""
        async with self._session():
            info = await self._ensure_info()
            values = await self._read(info, info.status_epcs())
            return self._decode_status(info, values)

    async def async_read_snapshot(self) -> ChargerSnapshot:
        """Read the status and the snapshot EPCs in one Get."""
        async with self._session():
            info = await self._ensure_info()
            values = await self._read(info, info.snapshot_epcs())
            return self._decode_snapshot(info, values)

    async def async_take_control(self) -> None:
        """Nothing to take (no remote/local switch): check that the unit answers."""
        async with self._session():
            await self._ensure_info()
            values = await self.client.async_get(self.eoj, [_EPC_OPERATION_MODE])
            if values[_EPC_OPERATION_MODE] is None:
                raise DeviceProtocolError(f"{self.eoj} does not report its operation mode")

    async def async_release_control(self) -> None:
        """Standby."""
        await self.async_stop()

    async def async_stop(self) -> None:
        """Operation mode standby (0xDA = 0x44), verified."""
        async with self._session():
            await self._ensure_info()
            await self._write_verified([(_EPC_OPERATION_MODE, bytes((_MODE_STANDBY,)))])

    async def async_set_power(self, power_w: int) -> int:
        """Charge (> 0) or discharge (< 0) at ``power_w`` as far as the unit allows.

        The power writes (:meth:`_power_writes`) then 0xDA = 0x42 (0x43), each step
        read back; 0: 0xDA = 0x44. Returns the setpoint sent.
        """
        async with self._session():
            info = await self._ensure_info()
            setpoint = self._clamp(info, power_w)
            if setpoint == 0:
                await self._write_verified([(_EPC_OPERATION_MODE, bytes((_MODE_STANDBY,)))])
                return 0
            writes = self._power_writes(info, setpoint)
            if writes:
                await self._write_verified(writes)
            mode = _MODE_CHARGE if setpoint > 0 else _MODE_DISCHARGE
            await self._write_verified([(_EPC_OPERATION_MODE, bytes((mode,)))])
            return setpoint

    async def async_listen(self, on_status: Callable[[ChargerStatus], None]) -> Callable[[], None]:
        """Hand ``on_status`` the status each announcement (INF) of the unit makes.

        An announcement changes the status EPCs it names (but the SoC) in the last
        status read; before the first read, or when it does not decode, it is
        ignored. Returns the function that stops it.
        """
        return await self.client.async_subscribe(
            self.eoj, lambda values: self._announced(values, on_status)
        )

    # -- what a class decides ---------------------------------------------------------------

    @abstractmethod
    def _make_info(self, values: Values, get_map: frozenset[int], set_map: frozenset[int]) -> InfoT:
        """The info identity's ``values`` (the object's Get) and maps tell."""

    @abstractmethod
    def _model(self, product_code: bytes | None) -> str:
        """The model name of a product code (0x8C)."""

    def _unique_id(self, identification: str) -> str:
        """The serial number of the object of a node identified as ``identification``."""
        return identification

    async def _prepare_read(self, info: InfoT) -> None:  # noqa: B027 (a hook, may stay empty)
        """What a poll does before its Get (nothing unless a class says)."""

    @abstractmethod
    def _connection(self, values: Values) -> tuple[bool | None, bool | None]:
        """(connected, dischargeable) as ``values`` tell them; None where they do not."""

    @abstractmethod
    def _state(self, mode: int, power_w: int | None) -> ChargerState:
        """The domain state of an operation mode (or status) and the measured power."""

    @abstractmethod
    def _read_soc(self, info: InfoT, values: Values) -> SocReading:
        """The SoC a poll's ``values`` tell, through the glitch filter."""

    @abstractmethod
    def _decode_snapshot(self, info: InfoT, values: Values) -> ChargerSnapshot:
        """The snapshot a full poll's ``values`` tell (the status through _decode_status)."""

    @abstractmethod
    def _clamp(self, info: InfoT, power_w: int) -> int:
        """``power_w`` within what the unit can do."""

    @abstractmethod
    def _power_writes(self, info: InfoT, setpoint: int) -> list[tuple[int, bytes]]:
        """The settings that give ``setpoint`` (not 0) before the mode is set; may be none."""

    # -- internals ------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[None]:
        """Hold the unit; after a silence, read identity again before the next use."""
        async with self._lock:
            try:
                yield
            except (DeviceTimeoutError, DeviceConnectionError):
                self._reidentify = True
                raise

    async def _ensure_info(self) -> InfoT:
        if self._info is None or self._reidentify:
            return (await self._load())[1]
        return self._info

    async def _load(self) -> tuple[DeviceIdentity, InfoT]:
        node = await self.client.async_get(NODE_PROFILE, [EPC_IDENTIFICATION, EPC_MANUFACTURER])
        values = await self.client.async_get(self.eoj, [*_IDENTITY_EPCS, *self.IDENTITY_EPCS])
        identification = node[EPC_IDENTIFICATION] or values[EPC_IDENTIFICATION]
        if identification is None:
            raise DeviceProtocolError(f"{self.client.host} reports no identification number (0x83)")
        manufacturer_edt = values[EPC_MANUFACTURER] or node[EPC_MANUFACTURER]
        if manufacturer_edt is None:
            raise DeviceProtocolError(f"{self.client.host} reports no manufacturer code (0x8A)")
        get_edt = values[EPC_GET_MAP]
        if get_edt is None:
            raise DeviceProtocolError(f"{self.eoj} reports no Get property map (0x9F)")
        set_edt = values[EPC_SET_MAP]
        info = self._make_info(
            values,
            decode_property_map(get_edt),
            frozenset() if set_edt is None else decode_property_map(set_edt),
        )
        identity = DeviceIdentity(
            manufacturer=decode_manufacturer(decode_manufacturer_code(manufacturer_edt)),
            model=self._model(values[_EPC_PRODUCT_CODE]),
            serial_number=self._unique_id(decode_identification(identification)),
            firmware_version=decode_standard_version(values[EPC_STANDARD_VERSION]),
        )
        if self._serial_number not in (None, identity.serial_number):
            raise DeviceProtocolError(
                f"a different device answers at {self.client.host} "
                f"({identity.serial_number}, was {self._serial_number})"
            )
        self._serial_number = identity.serial_number
        self._info = info
        self._capabilities = info.capabilities()
        self._reidentify = False
        self._identity_reads += 1
        return identity, info

    async def _read(self, info: InfoT, epcs: Sequence[int]) -> Values:
        """What the class does first (:meth:`_prepare_read`), then one Get of ``epcs``."""
        await self._prepare_read(info)
        # An announcement that arrives while the Get runs is at least as new as its
        # reply (the unit announces a change when it makes it, and both come the same
        # way): its values win, so a reply in flight does not undo what it told.
        self._arrived = {}
        try:
            values = await self.client.async_get(self.eoj, epcs)
        finally:
            arrived, self._arrived = self._arrived, None
        return values | {epc: edt for epc, edt in arrived.items() if epc in values}

    async def _write_verified(self, writes: list[tuple[int, bytes]]) -> None:
        for epc, edt in writes:
            await self.client.async_set(self.eoj, {epc: edt})
        read_back = await self.client.async_get(self.eoj, [epc for epc, _ in writes])
        for epc, edt in writes:
            if read_back[epc] != edt:
                signed = epc in self.SIGNED_EPCS
                reported = decode_number(read_back, epc, len(edt), signed=signed)
                raise WriteNotVerifiedError(
                    self.SETTING_NAMES[epc],
                    int.from_bytes(edt, "big", signed=signed),
                    -1 if reported is None else reported,
                )

    def _decode_status(self, info: InfoT, values: Values) -> ChargerStatus:
        status = self._status_from(info, values, self._read_soc(info, values))
        self._last = (values, status)
        return status

    def _status_from(self, info: InfoT, values: Values, soc: SocReading) -> ChargerStatus:
        """The status ``values`` tell, with ``soc`` as the state of charge (none without a car).

        A fault (0x88 = 0x41) is an error with 0x89 as its code; a unit without its
        vehicle (:meth:`_connection`) has no car; else the mode EPC's state.
        """
        fault = decode_number(values, _EPC_FAULT_STATUS, 1)
        if fault is not None:
            decode_coded("fault_status (0x88)", fault, FAULT_CODES)
        connected, dischargeable = self._connection(values)
        mode = decode_number(values, info.mode_epc, 1)
        power = decode_number(values, _EPC_POWER, 4, signed=True)
        errors = ChargerErrors()
        if fault == FAULT:
            state = ChargerState.ERROR
            description = decode_number(values, _EPC_FAULT_DESCRIPTION, 2)
            errors = ChargerErrors(unrecoverable=description or 1)
        elif connected is False:
            state = ChargerState.NO_CAR
        elif mode is None:
            raise DeviceProtocolError(f"{self.eoj} reports no {self.MODE_NAME}")
        else:
            state = self._state(mode, power)
        interconnection = decode_number(values, _EPC_INTERCONNECTION, 1)
        return ChargerStatus(
            state=state,
            state_code=0 if mode is None else mode,
            power_w=power or 0,
            soc=SocReading(None) if connected is False else soc,
            errors=errors,
            grid_available=None if interconnection is None else decode_grid(interconnection),
            connected=connected,
            dischargeable=dischargeable,
        )

    def _announced(
        self, announced: dict[int, bytes], on_status: Callable[[ChargerStatus], None]
    ) -> None:
        info, last = self._info, self._last
        if info is None or last is None:
            return
        status_epcs = info.status_epcs()
        named = {
            epc: edt
            for epc, edt in announced.items()
            if epc in status_epcs and epc not in self.SOC_EPCS
        }
        if not named:
            return
        if self._arrived is not None:
            self._arrived.update(named)
        values, before = last
        merged = values | named
        try:
            status = self._status_from(info, merged, before.soc)
        except DeviceProtocolError as err:
            _LOGGER.debug("Ignoring an announcement of %s: %s", self.eoj, err)
            return
        self._last = (merged, status)
        if status != before:
            on_status(status)
