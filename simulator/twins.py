"""Every twin the simulator serves; importing this module registers them all.

Adding a device family to the simulator
=======================================

1. Write one module, say ``simulator/meter.py``, from the device's documentation
   (``shared/reference/protocols.md``), never from ``custom_components``:

   * a config dataclass with at least ``name`` (and ``port``), the scenario's keys;
   * a twin class on the shared base: :class:`simulator.twin.Twin` (or
     :class:`~simulator.twin.ChargerTwin` for a vehicle charger, whose car then feeds
     the sites, or :class:`simulator.modbus_twin.ModbusTwin` for a Modbus TCP device,
     which brings the server, the common faults and ``GET .../registers``). It
     implements ``_step(dt)`` (physics), ``start``/``stop``/``housekeeping``,
     ``address``, ``apply_fault``/``clear_faults``, ``describe`` (its entry in
     ``GET /state``) and ``update_state`` (``POST /devices/{name}/state``), and may
     list further control-API endpoints in ``endpoints``
     (:class:`simulator.twin.DeviceEndpoint`, served at ``/devices/{name}/<path>``);
   * at the bottom, its registration::

         KIND = register(TwinKind("meter", "meters", MeterConfig, MeterTwin))

     ``"meter"`` is its scenario table (``[[meter]]``), ``"meters"`` the name of its
     configs on a ScenarioConfig (``ScenarioConfig(meters=[...])``); ``parse=`` reads a
     table entry that is not just keyword arguments (see ``with_car`` for chargers).

2. Import the module below (the order here is the order of ``GET /state``).

Nothing else changes: :mod:`simulator.world` and :mod:`simulator.control_api` only
iterate the registry, so the new family's scenario table, its twins, their state,
faults, write log and own endpoints work at once. Optionally add a typed shortcut
(``meters``) to the two classes below. ``tests/simulator/test_twin_registry.py``
adds a family this way from a test module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

# The registration order (and the order of GET /state): chargers, then battery stations.
# isort: off
from . import quasar, sunspec, echonet, bidipro, zendure, bluetti
# isort: on

if TYPE_CHECKING:
    from .bidipro import BiDiProConfig, BiDiProTwin
    from .bluetti import BluettiConfig, BluettiTwin
    from .echonet import EchonetConfig, EchonetTwin
    from .quasar import QuasarConfig, QuasarTwin
    from .registry import TwinKind
    from .sunspec import SunSpecConfig, SunSpecTwin
    from .twin import Twin, TwinConfig
    from .zendure import ZendureConfig, ZendureTwin


class ScenarioTwinConfigs:
    """Typed shortcuts to a scenario's configs of the shipped families."""

    __slots__ = ()

    def configs_of[ConfigT: TwinConfig](self, kind: TwinKind[ConfigT, Any]) -> list[ConfigT]:
        """The scenario's configs of one family."""
        raise NotImplementedError

    @property
    def quasars(self) -> list[QuasarConfig]:
        """Wallbox Quasar 1 chargers (``[[quasar]]``)."""
        return self.configs_of(quasar.KIND)

    @property
    def sunspecs(self) -> list[SunSpecConfig]:
        """SunSpec DC chargers (``[[sunspec]]``)."""
        return self.configs_of(sunspec.KIND)

    @property
    def echonets(self) -> list[EchonetConfig]:
        """ECHONET Lite chargers/dischargers (``[[echonet]]``)."""
        return self.configs_of(echonet.KIND)

    @property
    def bidipros(self) -> list[BiDiProConfig]:
        """EVTEC BiDiPro 10 chargers (``[[bidipro]]``)."""
        return self.configs_of(bidipro.KIND)

    @property
    def zendures(self) -> list[ZendureConfig]:
        """Zendure zenSDK devices (``[[zendure]]``)."""
        return self.configs_of(zendure.KIND)

    @property
    def bluettis(self) -> list[BluettiConfig]:
        """Bluetti power stations (``[[bluetti]]``)."""
        return self.configs_of(bluetti.KIND)


class SimulationTwins:
    """Typed shortcuts to a simulation's twins of the shipped families, by name."""

    __slots__ = ()

    def twins_of[TwinT: Twin[Any]](self, kind: TwinKind[Any, TwinT]) -> dict[str, TwinT]:
        """The simulation's twins of one family."""
        raise NotImplementedError

    @property
    def quasars(self) -> dict[str, QuasarTwin]:
        """Wallbox Quasar 1 chargers."""
        return self.twins_of(quasar.KIND)

    @property
    def sunspecs(self) -> dict[str, SunSpecTwin]:
        """SunSpec DC chargers."""
        return self.twins_of(sunspec.KIND)

    @property
    def echonets(self) -> dict[str, EchonetTwin]:
        """ECHONET Lite chargers/dischargers."""
        return self.twins_of(echonet.KIND)

    @property
    def bidipros(self) -> dict[str, BiDiProTwin]:
        """EVTEC BiDiPro 10 chargers."""
        return self.twins_of(bidipro.KIND)

    @property
    def zendures(self) -> dict[str, ZendureTwin]:
        """Zendure zenSDK devices."""
        return self.twins_of(zendure.KIND)

    @property
    def bluettis(self) -> dict[str, BluettiTwin]:
        """Bluetti power stations."""
        return self.twins_of(bluetti.KIND)
