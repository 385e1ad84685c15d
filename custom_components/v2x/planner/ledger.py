"""Today's money: what the plan's imports cost, and what plugging in and charging would.

The ledger books each step once it has passed (at the plan's prices, from the plan
that was in force) and starts over each day; the expectation for today adds the rest
of today's plan. Pure, no Home Assistant imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .baseline import Comparison
from .model import FloatArray, Plan
from .schedule import todays_steps
from .series import step_starts


def import_cost(plan: Plan, grid_kw: FloatArray, steps: slice | NDArray[np.bool_]) -> float:
    """What importing ``grid_kw`` costs at the plan's prices over ``steps``.

    Exports earn nothing here: the ledger counts the bill for imported energy.
    """
    return float(np.sum(plan.price[steps] * np.maximum(grid_kw[steps], 0.0)) * plan.step_h)


@dataclass(slots=True)
class Ledger:
    """Planned cost and plug-and-charge cost of the steps already past, today."""

    day: str = ""
    cost: float = 0.0
    baseline_cost: float = 0.0

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Ledger:
        """The ledger as :meth:`as_dict` saved it."""
        return cls(
            str(saved.get("day", "")),
            float(saved.get("cost", 0.0)),
            float(saved.get("baseline_cost", 0.0)),
        )

    def as_dict(self) -> dict[str, Any]:
        """The ledger for storage."""
        return {"day": self.day, "cost": self.cost, "baseline_cost": self.baseline_cost}

    def reset_if_new_day(self, today: str) -> None:
        """Start over on a new day (``today`` as an ISO date)."""
        if self.day != today:
            self.day, self.cost, self.baseline_cost = today, 0.0, 0.0

    def close_step(
        self,
        plan: Plan | None,
        comparison: Comparison | None,
        step_start: datetime | None,
        new_step: datetime,
    ) -> None:
        """Book the step that began at ``step_start`` and ended at ``new_step``.

        Its first step is what the plan in force did; a step of yesterday is not
        booked into a new day.
        """
        self.reset_if_new_day(new_step.date().isoformat())
        if plan is None or comparison is None or step_start is None:
            return
        if step_start.date() != new_step.date():
            return
        first = slice(0, 1)
        self.cost += import_cost(plan, plan.grid_kw, first)
        self.baseline_cost += import_cost(plan, comparison.plug_and_charge.grid_kw, first)

    def expected_today(
        self, plan: Plan | None, comparison: Comparison | None, start: datetime, step: timedelta
    ) -> tuple[float | None, float | None]:
        """Expected energy cost today and savings against plug-and-charge.

        The savings count the demand charge the plan avoids, too.
        """
        if plan is None or comparison is None:
            return None, None
        self.reset_if_new_day(start.date().isoformat())
        today = todays_steps(step_starts(start, len(plan.grid_kw), step))
        planned = import_cost(plan, plan.grid_kw, today)
        baseline = import_cost(plan, comparison.plug_and_charge.grid_kw, today)
        demand = comparison.plug_and_charge.demand_cost - comparison.planned.demand_cost
        cost = self.cost + planned
        return cost, self.baseline_cost + baseline - cost + demand
