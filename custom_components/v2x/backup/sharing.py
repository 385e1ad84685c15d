"""How several sources share one site load, as pure arithmetic.

A building's elevator starting a full car draws more than one 6 kW V2H unit can
give. Sources then supply together, in the site's priority order: the first runs up
to its limit, the next joins for the rest, and so on. Every source runs between its
own minimum (a charger's 6 A) and its maximum, so when what is left for the last one
is below its minimum, the ones before it give up that much. No Home Assistant
imports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """The power range one source runs in (W)."""

    least_w: int
    most_w: int


def sources_needed(
    load_w: float, limits: Sequence[Limits], running: Sequence[bool], deadband_w: float
) -> int:
    """How many sources, from the first, it takes to carry ``load_w`` (at least one).

    With hysteresis: a source joins when the ones before it fall short of the load by
    more than ``deadband_w``, and one that runs (``running``, per source) leaves only
    when the ones before it cover the load with ``deadband_w`` to spare, so a load
    hovering at a source's limit does not start and stop it on every step.
    """
    needed, capacity = 1, 0.0
    for index, limit in enumerate(limits[:-1]):
        capacity += limit.most_w
        margin = -deadband_w if running[index + 1] else deadband_w
        if load_w <= capacity + margin:
            break
        needed += 1
    return min(needed, max(len(limits), 1))


def split_load(load_w: float, limits: Sequence[Limits]) -> list[int]:
    """Each source's share of ``load_w``, in order: within its limits, together the load.

    Filled in order up to each one's maximum; when the last one's rest is below its
    minimum, it runs at its minimum and the ones before it give up the difference
    (down to their own minimums). A load above what all can give runs each at its
    maximum; one below what all must give runs each at its minimum.
    """
    shares: list[int] = []
    rest = float(load_w)
    for limit in limits:
        share = int(min(limit.most_w, max(limit.least_w, rest)))
        shares.append(share)
        rest -= share
    excess = -rest  # what the minimums made the sources give above the load
    for index in range(len(shares) - 2, -1, -1):
        if excess <= 0:
            break
        give = min(excess, shares[index] - limits[index].least_w)
        shares[index] -= int(give)
        excess -= int(give)
    return shares
