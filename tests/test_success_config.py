"""The `success` params section: demo defaults, clear errors, cross-checks; and the health score
without optional tables."""
from __future__ import annotations

import pandas as pd
import pytest
from pydantic import ValidationError

from insight.config.success import SuccessConfig


def test_defaults_validate_and_cross_check_clean():
    cfg = SuccessConfig()
    assert cfg.cadence_windows.as_dict()["implementation_checkup"] == (21, 45)
    assert cfg.funnel_steps[0] == "visit" and cfg.trial_step in cfg.funnel_steps
    assert cfg.cross_check(None) == []


def test_bad_window_and_bands_are_explained():
    with pytest.raises(ValidationError, match=r"implementation_checkup window \[45, 21\]"):
        SuccessConfig(cadence_windows={"implementation_checkup": [45, 21]})
    with pytest.raises(ValidationError, match="yellow_below .* is below red_below"):
        SuccessConfig(health_bands={"red_below": 60, "yellow_below": 40})
    with pytest.raises(ValidationError, match="all health-score weights are 0"):
        SuccessConfig(health_weights={k: 0 for k in ("usage_trend", "engagement", "support_load", "satisfaction", "cadence")})
    with pytest.raises(ValidationError):
        SuccessConfig(funnel_stpes=["a", "b"])            # unknown keys are errors


def test_cross_check_messages():
    cfg = SuccessConfig(funnel_steps=["visit", "purchase", "trial", "visit"], education_focus_channel="podcast")
    problems = cfg.cross_check(None)
    msgs = " | ".join(p[1] for p in problems)
    assert "repeated: visit" in msgs
    assert "converted step comes before the trial step" in msgs
    assert "'podcast' is not in education_channels" in msgs
    assert all(p[0][0] == "success" for p in problems)


def test_health_score_without_optional_tables():
    from insight.success import health as H
    cust = pd.DataFrame({"customer_id": ["a", "b", "c"], "status": ["existing"] * 3,
                         "signup_date": pd.to_datetime(["2023-01-01"] * 3), "churn_date": pd.NaT})
    scored = H.score_customers({"customers": cust}, SuccessConfig(), "2024-06-30")
    assert scored["health_score"].isna().all() and len(scored) == 3
    inter = pd.DataFrame({"customer_id": ["a", "a", "b"], "date": pd.to_datetime(["2024-05-01"] * 3),
                          "type": ["consultation", "consultation", "complaint"], "direction": "inbound"})
    scored = H.score_customers({"customers": cust, "interactions": inter}, SuccessConfig(), "2024-06-30")
    assert scored["health_score"].idxmax() == "a" and scored["health_score"].idxmin() == "b"
