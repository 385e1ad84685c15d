"""One ECHONET Lite node reached through the shared endpoint: Get and SetC."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

from ..errors import DeviceProtocolError, ResponseImpossibleError
from .endpoint import ECHONET_PORT, EchonetEndpoint, resolve_host
from .frame import CONTROLLER, ESV_GET, ESV_SETC, ESV_SETC_SNA, Eoj, Frame, Property, esv_name


class EchonetClient:
    """One ECHONET Lite node reached through a shared :class:`EchonetEndpoint`."""

    def __init__(
        self,
        endpoint: EchonetEndpoint,
        host: str,
        port: int = ECHONET_PORT,
        *,
        timeout_s: float = 2.0,
        retries: int = 2,
        seoj: Eoj = CONTROLLER,
    ) -> None:
        """Talk to ``host:port`` as controller object ``seoj``."""
        self.endpoint = endpoint
        self.host = host
        self.port = port
        self.timeout_s = timeout_s
        self.retries = retries
        self.seoj = seoj
        self._requests_sent = 0

    @property
    def requests_sent(self) -> int:
        """Requests this client sent (a retry of the same request is not counted)."""
        return self._requests_sent

    async def async_get(self, eoj: Eoj, epcs: Sequence[int]) -> dict[int, bytes | None]:
        """Read ``epcs`` of ``eoj`` in one Get frame.

        A Get_SNA is not an error: the properties the device answered with PDC = 0
        (e.g. vehicle data with no vehicle connected) map to ``None``.
        """
        if not epcs:
            raise ValueError("a Get needs at least one EPC")
        if len(set(epcs)) != len(epcs):
            raise ValueError("a Get names each EPC once")
        reply = await self._request(eoj, ESV_GET, [Property(epc) for epc in epcs])
        _check_epcs(reply, epcs)
        return {prop.epc: prop.edt or None for prop in reply.properties}

    async def async_set(self, eoj: Eoj, values: Mapping[int, bytes]) -> None:
        """Write ``values`` to ``eoj`` in one SetC frame.

        Raises :class:`ResponseImpossibleError` naming the refused EPCs on a
        SetC_SNA, and :class:`DeviceProtocolError` when the reply does not list the
        written EPCs.
        """
        if not values:
            raise ValueError("a SetC needs at least one property")
        if any(not edt for edt in values.values()):
            raise ValueError("a SetC writes at least one byte per property")
        epcs = list(values)
        reply = await self._request(
            eoj, ESV_SETC, [Property(epc, edt) for epc, edt in values.items()]
        )
        _check_epcs(reply, epcs)
        if reply.esv == ESV_SETC_SNA:
            # Refused properties come back with their data, accepted ones with PDC = 0.
            refused = [prop.epc for prop in reply.properties if prop.edt] or epcs
            raise ResponseImpossibleError(
                f"{self.host} refused to set {_epc_list(refused)} of {eoj} (SetC_SNA)"
            )
        if any(prop.edt for prop in reply.properties):
            raise DeviceProtocolError(f"{self.host}: Set_Res carries data (PDC must be 0)")

    async def async_subscribe(
        self, eoj: Eoj, handler: Callable[[dict[int, bytes]], None]
    ) -> Callable[[], None]:
        """Hand ``handler`` the properties of every announcement of ``eoj`` by this node.

        Returns the function that ends the subscription.
        """

        def announced(frame: Frame) -> None:
            handler({prop.epc: prop.edt for prop in frame.properties if prop.edt})

        return self.endpoint.subscribe(await resolve_host(self.host), self.port, eoj, announced)

    async def async_close(self) -> None:
        """Nothing to release: the endpoint is shared and closed by its owner."""

    async def _request(self, eoj: Eoj, esv: int, properties: list[Property]) -> Frame:
        self._requests_sent += 1
        return await self.endpoint.async_request(
            self.host,
            self.port,
            self.seoj,
            eoj,
            esv,
            properties,
            timeout_s=self.timeout_s,
            retries=self.retries,
        )


def _check_epcs(reply: Frame, epcs: Sequence[int]) -> None:
    if sorted(reply.epcs) != sorted(epcs):
        raise DeviceProtocolError(
            f"{esv_name(reply.esv)} lists {_epc_list(reply.epcs)}, "
            f"the request named {_epc_list(epcs)}"
        )


def _epc_list(epcs: Iterable[int]) -> str:
    return ", ".join(f"0x{epc:02X}" for epc in epcs) or "no EPC"
