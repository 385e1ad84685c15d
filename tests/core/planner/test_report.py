"""A building's status, its plan as a service response, its diagnostics."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from custom_components.v2x.planner import lp
from custom_components.v2x.planner.baseline import compare
from custom_components.v2x.planner.model import PlanInput
from custom_components.v2x.planner.report import (
    BuildingStatus,
    VehicleStatus,
    diagnostics,
    plan_response,
    statuses_with_plan,
)

from .scenarios import car

TOKYO = ZoneInfo("Asia/Tokyo")
START = datetime(2026, 11, 18, 14, 0, tzinfo=TOKYO)
STEP = timedelta(minutes=15)


def _waiting(vehicle_id: str, *, planned: bool, reason: str | None = None) -> VehicleStatus:
    return VehicleStatus(
        charger_entry_id=vehicle_id,
        name=vehicle_id.title(),
        departure=START + timedelta(hours=1),
        target_soc_pct=80.0,
        planned=planned,
        reason=reason,
        soc_pct=50.0 if planned else None,
    )


def _planned() -> tuple[BuildingStatus, PlanInput]:
    spec = car("a", energy_kwh=20.0, target_kwh=24.0, departure_step=4)
    data = PlanInput(
        step_h=0.25,
        load_kw=np.full(4, 10.0),
        price=np.full(4, 0.2),
        vehicles=(spec,),
    )
    plan = lp.solve(data)
    statuses = {
        "a": _waiting("a", planned=True),
        "b": _waiting("b", planned=False, reason="manual"),
    }
    statuses = statuses_with_plan(statuses, [spec], plan)
    status = BuildingStatus(
        plan=plan,
        comparison=compare(data, plan),
        start=START,
        vehicles=statuses,
        billed_peak_kw=3.0,
        cost_today=1.0,
        savings_today=0.5,
        load_source="learned",
    )
    return status, data


def test_statuses_with_plan() -> None:
    status, _ = _planned()
    a, b = status.vehicles["a"], status.vehicles["b"]
    assert a.planned
    assert a.planned_power_kw is not None
    assert a.departure_soc_pct == pytest.approx(60.0, abs=0.1)  # 24 of 40 kWh
    assert a.shortfall_kwh == pytest.approx(0.0, abs=1e-3)
    assert (b.planned, b.reason, b.planned_power_kw) == (False, "manual", None)


def test_plan_response() -> None:
    status, _ = _planned()
    response = plan_response(status, STEP)
    assert response["status"] == "optimal"
    assert response["feasible"] is True
    assert response["start"] == START.isoformat()
    assert response["step_minutes"] == 15
    assert len(response["steps"]) == 4
    assert response["steps"][1]["start"] == (START + STEP).isoformat()
    cars = {v["charger_entry_id"]: v for v in response["vehicles"]}
    assert len(cars["a"]["power_kw"]) == 4
    assert "power_kw" not in cars["b"]
    assert response["billed_peak_kw"] == 3.0
    assert response["forecast_source"] == "learned"


def test_no_plan() -> None:
    status = BuildingStatus(
        plan=None,
        comparison=None,
        start=None,
        vehicles={"b": _waiting("b", planned=False, reason="unplugged")},
        billed_peak_kw=0.0,
        cost_today=None,
        savings_today=None,
        load_source="none",
        error="infeasible",
    )
    response = plan_response(status, STEP)
    assert (response["status"], response["feasible"], response["steps"]) == ("no_plan", False, [])
    assert response["error"] == "infeasible"
    report = diagnostics(
        status, None, peak_tracker={}, base_peak_tracker={}, profile_weekdays_learned=0
    )
    assert (report["plan"], report["input"]) == (None, None)
    assert report["vehicles"]["b"]["departure"] == (START + timedelta(hours=1)).isoformat()


def test_diagnostics() -> None:
    status, data = _planned()
    report = diagnostics(
        status,
        data,
        peak_tracker={"peak_kw": 3.0},
        base_peak_tracker={"peak_kw": 4.0},
        profile_weekdays_learned=5,
    )
    assert report["plan"]["status"] == "optimal"
    assert set(report["plan"]["vehicles"]) == {"a"}
    assert report["input"]["vehicles"][0]["vehicle_id"] == "a"
    assert report["peak_tracker"] == {"peak_kw": 3.0}
    assert report["base_peak_tracker"] == {"peak_kw": 4.0}
    assert report["profile_weekdays_learned"] == 5
