"""Small hand-made survey_responses frames for the survey unit tests (no demo generator needed)."""
from __future__ import annotations

import numpy as np
import pandas as pd

ATTRS = ["q_attr_value", "q_attr_reliability", "q_attr_support", "q_attr_ease", "q_attr_features",
         "q_attr_hard", "q_attr_responsive", "q_attr_partner"]
CHANNELS = ["email", "phone", "chat", "community", "academy"]


def fake_responses(n: int = 200, seed: int = 1, wave: int = 2024) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    status = rng.choice(["existing", "churned", "prospect", "competitor"], n, p=[.6, .2, .1, .1])
    start = pd.Timestamp(f"{wave}-09-01") + pd.to_timedelta(rng.integers(0, 30 * 24 * 3600, n), unit="s")
    dur = rng.lognormal(np.log(480), 0.25, n)
    latent = rng.normal(0, 1, n)

    def likert(shift=0.0, noise=0.8):
        return np.clip(np.round(3.3 + shift + 0.8 * latent + rng.normal(0, noise, n)), 1, 5)

    df = pd.DataFrame({
        "respondent_id": [f"R{wave}{i:05d}" for i in range(n)],
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "wave": wave,
        "started_at": start,
        "submitted_at": start + pd.to_timedelta(dur, unit="s"),
        "duration_seconds": dur,
        "completed": True,
        "gender": rng.choice(["female", "male"], n),
        "age_band": rng.choice(["30-39", "40-49"], n),
        "role": rng.choice(["decision_maker", "user"], n),
        "region": rng.choice(["EMEA", "APAC", "North America"], n),
        "segment": rng.choice(["enterprise", "mid_market", "smb"], n, p=[.4, .3, .3]),
        "customer_status": status,
        "q_nps": np.clip(np.round(7 + 1.5 * latent + rng.normal(0, 1.2, n)), 0, 10),
        "q_csat": likert(), "q_ces": np.clip(np.round(4.5 + 1.2 * latent + rng.normal(0, 1, n)), 1, 7),
        "q_pmf": np.where(np.isin(status, ["existing", "churned"]),
                          rng.choice(["very", "somewhat", "not"], n, p=[.35, .45, .2]), None),
        "q_onboarding": likert(), "q_renew": likert(), "q_trust": likert(),
    })
    for a in ATTRS:
        df[a] = likert()
    df["q_attr_hard"] = 6 - df["q_attr_hard"]
    df["q_attention"] = 4.0
    for c in CHANNELS:
        df[f"q_channels__{c}"] = rng.integers(0, 2, n).astype(float)
    df["q_churn_reason"] = np.where(status == "churned", rng.choice(["price", "support", "other"], n), None)
    df["q_nps_why"] = "Good support, call me at +1 555 0100"
    df["q_improve"] = np.where(rng.random(n) < 0.5, "Faster onboarding <b>please</b>", None)
    return df
