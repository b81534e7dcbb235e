"""The demo company generator: schema, determinism, scaling, coherence, and every planted effect
visible in the raw tables with a simple direct computation (a sanity check of the generator; the
analyses' own tests check that the analyses recover the effects)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from insight.data.schema import TABLES
from insight.demo import PLANTED, generate

SCALE = 0.5


@pytest.fixture(scope="session")
def demo() -> dict[str, pd.DataFrame]:
    return generate(scale=SCALE)


def pv(pid: str) -> dict:
    return PLANTED[pid].values


# ------------------------------------------------------------------------------------------ contract

def _dtype_ok(s: pd.Series, kind: str) -> bool:
    if kind == "str":
        return pd.api.types.is_string_dtype(s) and s.dropna().map(type).eq(str).all()
    if kind == "int":
        return pd.api.types.is_integer_dtype(s)
    if kind == "float":
        return pd.api.types.is_float_dtype(s)
    if kind == "bool":
        return pd.api.types.is_bool_dtype(s)
    if kind in ("date", "datetime"):
        return pd.api.types.is_datetime64_dtype(s)
    raise AssertionError(kind)


def test_every_table_matches_the_schema(demo):
    assert set(demo) == set(TABLES)
    for name, table in TABLES.items():
        df = demo[name]
        assert len(df) > 0, name
        missing = [c for c in table.required if c not in df.columns]
        assert not missing, f"{name} lacks {missing}"
        if not table.extra_columns:
            assert set(df.columns) <= {c.name for c in table.columns}, name
        assert not df.duplicated(list(table.key)).any(), f"{name}: duplicate key {table.key}"
        for col in table.columns:
            if col.name not in df:
                continue
            s = df[col.name]
            assert _dtype_ok(s, col.dtype), f"{name}.{col.name}: {s.dtype} is not {col.dtype}"
            if not col.nullable:
                assert s.notna().all(), f"{name}.{col.name} has nulls"
            if col.allowed:
                bad = set(s.dropna().unique()) - set(col.allowed)
                assert not bad, f"{name}.{col.name}: {bad}"
            if col.min is not None:
                assert (s.dropna() >= col.min).all(), f"{name}.{col.name} < {col.min}"
            if col.max is not None:
                assert (s.dropna() <= col.max).all(), f"{name}.{col.name} > {col.max}"
            if col.references:
                rt, rc = col.references.split(".")
                bad = ~s.dropna().isin(demo[rt][rc])
                assert not bad.any(), f"{name}.{col.name}: {bad.sum()} values not in {col.references}"


def test_dates_inside_the_demo_period(demo):
    lo, hi = pd.Timestamp("2023-01-01"), pd.Timestamp("2024-12-31 23:59:59")
    for name in ("orders", "costs", "usage", "feedback_items", "reviews", "journey_events", "survey_responses"):
        col = TABLES[name].date_column
        s = demo[name][col]
        assert s.min() >= lo and s.max() <= hi, name
    cu = demo["customers"]
    assert cu.signup_date.min() >= pd.Timestamp("2021-01-01")
    assert (cu.churn_date.dropna() >= pd.Timestamp("2023-01-01")).all()
    assert demo["interactions"].date.max() <= hi


def test_deterministic_and_seeded():
    a, b = generate(scale=0.25), generate(scale=0.25)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    c = generate(scale=0.25, seed=7)
    assert not c["orders"]["revenue"].equals(a["orders"]["revenue"])


def test_sizes_scale_linearly(demo):
    one = generate(scale=1.0)
    # the brief's sizes at scale 1
    assert len(one["customers"]) == 2000
    assert 36_000 <= len(one["orders"]) <= 44_000
    assert 2_000 <= len(one["subscriptions"]) <= 2_400
    assert 10_000 <= len(one["interactions"]) <= 17_000
    assert one["survey_responses"].groupby("wave").size().between(800, 820).all()
    assert 1_300 <= len(one["coded_segments"]) <= 1_700
    assert 55 <= len(one["participants"]) <= 70
    assert len(one["feedback_items"]) == len(one["reviews"]) == 1500
    assert len(one["products"]) == 12
    for name in ("customers", "orders", "subscriptions", "costs", "interactions", "usage", "journey_events",
                 "feedback_items", "reviews"):
        ratio = len(one[name]) / len(demo[name])
        assert 1.8 <= ratio <= 2.2, (name, ratio)
    small = generate(scale=0.05)            # minimum sizes keep tiny scales usable
    assert len(small["customers"]) >= 400 and small["survey_responses"].groupby("wave").size().min() >= 200


# ------------------------------------------------------------------------------------------ realism

def test_customer_base(demo):
    cu = demo["customers"]
    n = len(cu)
    seg = cu.segment.value_counts(normalize=True)
    assert seg["enterprise"] == pytest.approx(0.20, abs=0.01) and seg["smb"] == pytest.approx(0.45, abs=0.01)
    st = cu.status.value_counts(normalize=True)
    assert st["prospect"] == pytest.approx(0.10, abs=0.01) and st["competitor"] == pytest.approx(0.04, abs=0.01)
    assert set(cu.region) == {"North America", "EMEA", "APAC", "LATAM"}
    churned = cu.status.eq("churned")
    assert cu.churn_date.notna().eq(churned).all() and cu.churn_reason.notna().eq(churned).all()
    assert set(cu.churn_reason.dropna()) == {"price", "missing_features", "integration", "support", "competitor", "budget"}
    assert (cu.churn_date.dropna() > cu.signup_date[churned]).all()
    assert cu.owner.dropna().nunique() == 6 and cu.owner.dropna().str.startswith("csm_").all()
    assert cu.email.str.contains("@").all() and cu.name.str.contains(" ").all() and n == cu.customer_id.nunique()
    assert cu.acquisition_channel.isin(["paid_ads", "referral", "organic_search", "partner", "event"]).all()


def test_orders_realistic(demo):
    od, pr = demo["orders"], demo["products"]
    ret = od[od.is_return]
    assert 0.005 < len(ret) / len(od) < 0.03
    assert (ret.quantity < 0).all() and (ret.revenue < 0).all()
    sales = od[~od.is_return]
    assert (sales.quantity > 0).all() and (sales.revenue > 0).all()
    # lognormal revenue: right-skewed, log roughly symmetric
    assert stats.skew(sales.revenue) > 2 and abs(stats.skew(np.log(sales.revenue))) < 0.8
    # seasonality: December is the busiest month, August the quietest
    by_month = sales.groupby(sales.order_date.dt.month).size()
    assert by_month.idxmax() == 12 and by_month[8] < min(by_month[7], by_month[9])
    ai = pr.loc[pr.category.eq("ai"), "product_id"].iloc[0]
    assert pr.loc[pr.category.eq("ai"), "launch_date"].iloc[0] == pd.Timestamp("2024-03-01")
    assert od.loc[od.product_id.eq(ai), "order_date"].min() >= pd.Timestamp("2024-03-01")
    assert set(pr.category) == {"core", "analytics", "integrations", "ai"}
    assert sales.settlement_days.notna().mean() > 0.95


def test_coherence_after_churn(demo):
    cu = demo["customers"].set_index("customer_id")
    churn = cu.churn_date.dropna()
    # subscriptions end on the churn date; active subscriptions only for non-churned customers
    sub = demo["subscriptions"].join(cu.churn_date, on="customer_id")
    ch = sub[sub.churn_date.notna()]
    assert (ch.end_date == ch.churn_date).all() and ch.status.eq("cancelled").all()
    assert sub[sub.status.eq("active")].churn_date.isna().all()
    assert (sub.renewal_date > sub.start_date).all()
    # nothing is bought, used or paid for after the churn date
    od = demo["orders"][~demo["orders"].is_return].join(cu.churn_date, on="customer_id")
    assert not (od.order_date > od.churn_date).any()
    us = demo["usage"].join(cu.churn_date, on="customer_id")
    assert not (us.month > us.churn_date).any()
    # only accounts buy
    assert demo["orders"].customer_id.map(cu.status).isin(["existing", "churned"]).all()
    assert len(churn) > 0


def test_survey_contract(demo):
    sv = demo["survey_responses"]
    assert set(sv.wave) == {2023, 2024}
    assert sv.groupby("wave").size().between(400, 410).all()
    answers = ["q_nps", "q_csat", "q_ces", "q_onboarding", "q_renew", "q_trust", "q_attention"]
    grid = ["q_attr_value", "q_attr_reliability", "q_attr_support", "q_attr_ease", "q_attr_features",
            "q_attr_hard", "q_attr_responsive", "q_attr_partner"]
    for c in [*answers, *grid, "q_pmf", "q_nps_why", "q_churn_reason", "q_improve"]:
        assert c in sv, c
    assert sv.q_nps.dropna().between(0, 10).all() and sv.q_ces.dropna().between(1, 7).all()
    assert sv[grid + ["q_csat", "q_onboarding", "q_renew", "q_trust"]].stack().dropna().between(1, 5).all()
    # skip logic
    non_cust = sv.customer_status.isin(["prospect", "competitor"])
    assert sv.loc[non_cust, "q_pmf"].isna().all()
    assert set(sv.q_pmf.dropna()) == {"very", "somewhat", "not"}
    assert sv.loc[~sv.customer_status.eq("churned"), "q_churn_reason"].isna().all()
    assert set(sv.q_churn_reason.dropna()) <= {"price", "missing_features", "integration", "support", "other"}
    chan = [c for c in sv if c.startswith("q_channels__")]
    assert sorted(chan) == sorted(f"q_channels__{k}" for k in ("email", "phone", "chat", "community", "academy"))
    assert set(np.unique(sv[chan].stack().dropna())) == {0.0, 1.0}
    # partial completes: no submit time, trailing questions missing, the first one answered
    part = sv[~sv.completed]
    assert 0.04 < len(part) / len(sv) < 0.10
    assert part.submitted_at.isna().all() and part.q_improve.isna().all() and part.q_nps.notna().all()
    full = sv[sv.completed]
    assert full[["q_nps", "q_csat", "q_attention", "q_improve"]].notna().all().all()
    # duplicates: same customer and the same answers submitted twice
    key = ["customer_id", "q_nps", "q_csat", "q_ces", *grid, "q_improve"]
    assert 2 <= full.duplicated(key).sum() <= 0.03 * len(full)
    # a few failed attention checks (answer != 4)
    fail = full.q_attention.ne(4).mean()
    assert 0.02 < fail < 0.08


def test_survey_constructs_reliable(demo):
    """Cronbach's alpha = k/(k-1) * (1 - sum(item variances) / variance(total)) per construct."""
    sv = demo["survey_responses"]
    sv = sv[sv.completed]
    constructs = {
        "product_experience": ["q_attr_reliability", "q_attr_ease", "q_attr_features", "q_attr_hard"],
        "relationship": ["q_attr_value", "q_attr_support", "q_attr_responsive", "q_attr_partner"],
    }
    for name, items in constructs.items():
        x = sv[items].dropna().copy()
        if "q_attr_hard" in items:
            x["q_attr_hard"] = 6 - x["q_attr_hard"]            # reverse-coded item
        k = len(items)
        alpha = k / (k - 1) * (1 - x.var(ddof=1).sum() / x.sum(axis=1).var(ddof=1))
        assert 0.70 <= alpha <= 0.88, (name, alpha)
    # the reverse-coded item correlates negatively with its construct
    assert sv["q_attr_hard"].corr(sv["q_attr_ease"]) < -0.2


def test_personal_data_present_for_masking(demo):
    email = r"[\w.+-]+@[\w-]+\.[\w.]+"
    phone = r"\+\d{1,3}[\s(]"
    for name, col in [("interactions", "text"), ("survey_responses", "q_improve"), ("qual_sources", "text"),
                      ("survey_responses", "q_nps_why"), ("coded_segments", "excerpt")]:
        s = demo[name][col].dropna()
        assert s.str.contains(email).any(), (name, col, "email")
        assert s.str.contains(phone).any(), (name, col, "phone")
    assert demo["participants"].name.notna().all() and demo["survey_responses"].email.str.contains("@").all()
    assert demo["customers"].phone.str.match(r"^\+\d").all()


def test_qualitative_material(demo):
    pa, qs, cb, sg = demo["participants"], demo["qual_sources"], demo["codebook"], demo["coded_segments"]
    kinds = set(qs.kind)
    assert {"interview_1to1", "group_interview", "phone_interview", "video_interview", "focus_group",
            "observation_log", "expert_session", "community_post"} <= kinds
    assert pa.role.eq("expert").sum() == 6
    log = qs[qs.kind.eq("observation_log")]
    assert len(log) == 20 and (log.date.max() - log.date.min()).days <= 28
    interviews = qs[qs.kind.eq("interview_1to1")].text
    assert interviews.str.contains("Interviewer: ").all() and interviews.str.contains("Participant: ").all()
    assert sg.is_probe.any() and (sg.is_probe.mean() < 0.4)
    assert 14 <= cb.parent.notna().sum() <= 18 and cb.parent.dropna().isin(cb.code).all()
    for code in ("onboarding_friction", "onboarding_praise", "integration_pain", "price_concern", "slow_support",
                 "great_support", "missing_feature", "reporting_needs", "training_gap"):
        assert code in set(cb.code), code
    assert cb.hypotheses.dropna().str.match(r"^H\d").all()
    assert set(sg.coder) == {"coder_a", "coder_b"}
    # double coding on ~20% of the excerpts, Cohen's kappa around 0.7 (not perfect)
    from sklearn.metrics import cohen_kappa_score

    first = sg.drop_duplicates(["segment_id", "coder"])
    wide = first.pivot(index="segment_id", columns="coder", values="code").dropna()
    share = len(wide) / sg.segment_id.nunique()
    assert 0.15 < share < 0.25
    kappa = cohen_kappa_score(wide.coder_a, wide.coder_b)
    assert 0.55 <= kappa <= 0.85, kappa


def test_journey_and_channels(demo):
    je, cu = demo["journey_events"], demo["customers"]
    assert set(je.step) == {"visit", "signup", "trial", "qualified", "purchase", "onboarded"}
    assert set(je.channel) == {"paid_ads", "referral", "organic_search", "partner", "event"}
    # a customer's acquisition channel is its journey's channel
    ch = je.dropna(subset=["customer_id"]).groupby("customer_id").channel.first()
    assert ch.eq(cu.set_index("customer_id").acquisition_channel.reindex(ch.index)).all()
    # steps in time order per visitor
    order = {s: i for i, s in enumerate(["visit", "signup", "trial", "qualified", "purchase", "onboarded"])}
    j = je.assign(o=je.step.map(order)).sort_values(["visitor_id", "o"])
    assert (j.groupby("visitor_id").timestamp.diff().dropna() >= pd.Timedelta(0)).all()
    # purchase date = the customer's signup date
    p = je[je.step.eq("purchase")].set_index("customer_id").timestamp.dt.normalize()
    assert p.eq(cu.set_index("customer_id").signup_date.reindex(p.index)).all()


def test_usage_and_feedback_shape(demo):
    us = demo["usage"]
    assert us.feature.nunique() == 3
    assert (us.month.dt.day == 1).all()
    fb = demo["feedback_items"]
    assert set(fb.team) == {"platform", "reporting", "integrations", "mobile"} and set(fb.type) == {"bug", "request"}
    sh = fb[fb.status.eq("shipped")]
    assert (sh.shipped_date >= sh.planned_date).all() and (sh.planned_date >= sh.reported_date).all()
    assert fb[fb.status.isin(["open", "declined"])].shipped_date.isna().all()
    rv = demo["reviews"]
    assert rv.rating.between(1, 5).all() and rv.rating.nunique() == 5


# ------------------------------------------------------------------------------------------ planted effects

def _accounts(demo) -> pd.DataFrame:
    cu = demo["customers"]
    acc = cu[cu.status.isin(["existing", "churned"])].set_index("customer_id").copy()
    acc["churned"] = acc.status.eq("churned")
    return acc


def test_planted_enterprise_onboarding_gap(demo):
    p = pv("enterprise_onboarding_gap")
    sv = demo["survey_responses"]
    e = sv.loc[sv.segment.eq(p["segment"]), p["question"]].dropna()
    o = sv.loc[~sv.segment.eq(p["segment"]), p["question"]].dropna()
    assert e.mean() - o.mean() == pytest.approx(p["shift"], abs=0.25)
    assert stats.ttest_ind(e, o).pvalue < 0.01


def test_planted_missed_checkup_churn(demo):
    p = pv("missed_checkup_churn")
    acc = _accounts(demo)
    it = demo["interactions"]
    ck = it[it.type.eq("implementation_checkup")].join(acc.signup_date, on="customer_id")
    days = (ck.date - ck.signup_date).dt.days
    on_time = set(ck.loc[days.between(*p["window_days"]), "customer_id"])
    acc["missed"] = ~acc.index.isin(on_time)
    assert acc.missed.mean() == pytest.approx(p["miss_rate"], abs=0.04)
    rates = acc.groupby("missed").churned.mean()
    assert rates[False] == pytest.approx(p["churn_with_checkup"], abs=0.035)
    assert rates[True] == pytest.approx(p["churn_without_checkup"], abs=0.06)
    assert stats.fisher_exact(pd.crosstab(acc.missed, acc.churned)).pvalue < 0.01
    # a missed check-up is absent or late, never inside the window
    late = ck[days > p["window_days"][1]].customer_id
    assert acc.loc[acc.index.isin(late), "missed"].all()


def test_planted_churned_promoters(demo):
    p = pv("churned_promoters")
    sv = demo["survey_responses"]
    cu = demo["customers"].set_index("customer_id")
    prom = sv[sv.customer_status.eq("existing") & (sv.q_nps >= 9)].join(cu.churn_date, on="customer_id")
    after = (prom.churn_date > prom.started_at) & (prom.churn_date <= prom.started_at + pd.DateOffset(months=p["months_after_survey"]))
    for wave, share in after.groupby(prom.wave).mean().items():
        assert share == pytest.approx(p["share_of_promoters"], abs=0.03), wave
    # churned at the time of the survey means churn date before it
    ch = sv[sv.customer_status.eq("churned")].join(cu.churn_date, on="customer_id")
    assert (ch.churn_date < ch.started_at).all()


def test_planted_region_category(demo):
    p = pv("region_category")
    od = demo["orders"]
    x = od[~od.is_return].merge(demo["products"][["product_id", "category"]], on="product_id") \
        .merge(demo["customers"][["customer_id", "region"]], on="customer_id")
    in_region = x.region.eq(p["region"])
    share = x.category.eq(p["category"]).groupby(in_region).mean()
    assert share[True] / share[False] == pytest.approx(p["share_multiplier"], rel=0.12)
    assert stats.chi2_contingency(pd.crosstab(in_region, x.category.eq(p["category"])))[1] < 0.01


def test_planted_slow_department(demo):
    p = pv("slow_department")
    it = demo["interactions"]
    cp = it[it.type.eq("complaint") & it.resolved_date.notna()]
    days = (cp.resolved_date - cp.date).dt.days
    slow = cp.department.eq(p["department"])
    assert days[slow].median() == pytest.approx(p["median_days"], abs=1)
    assert days[~slow].median() == pytest.approx(p["other_median_days"], abs=1)
    assert stats.mannwhitneyu(days[slow], days[~slow]).pvalue < 0.01
    assert {"resolved", "unresolved", "open"} <= set(it.loc[it.type.eq("complaint"), "status"])
    assert it.loc[it.type.eq("complaint"), "reason_code"].notna().all()


def test_planted_speeders_and_straight_liners(demo):
    sv = demo["survey_responses"]
    full = sv[sv.completed]
    sp = pv("speeders")
    fast = full.duration_seconds < sp["fraction_of_median"] * full.duration_seconds.median()
    assert fast.mean() == pytest.approx(sp["share"], abs=0.01)
    # nobody is borderline: "under a third of the median" finds the same respondents
    assert fast.equals(full.duration_seconds < full.duration_seconds.median() / 3)
    grid = [c for c in sv if c.startswith("q_attr_")]
    flat = full[grid].nunique(axis=1).eq(1)
    assert flat.mean() == pytest.approx(pv("straight_liners")["share"], abs=0.01)


def test_planted_churn_code(demo):
    p = pv("churn_code")
    sg, pa = demo["coded_segments"], demo["participants"]
    with_code = set(sg.loc[sg.code.eq(p["code"]), "participant_id"].dropna())
    people = pa[pa.participant_id.isin(sg.participant_id) & pa.customer_status.notna()].copy()
    people["has"] = people.participant_id.isin(with_code)
    churned = people.customer_status.eq("churned")
    rates = people.groupby(churned).has.mean()
    assert rates[True] == pytest.approx(p["rate_churned"], abs=0.1)
    assert rates[False] == pytest.approx(p["rate_other"], abs=0.05)
    assert stats.fisher_exact(pd.crosstab(churned, people.has)).pvalue < 0.01


def test_planted_nps_shift(demo):
    p = pv("nps_shift")
    sv = demo["survey_responses"]
    nps = sv.groupby("wave").q_nps.apply(lambda s: 100 * ((s >= 9).mean() - (s <= 6).mean()))
    assert nps[2023] == pytest.approx(p["nps_2023"], abs=2)
    assert nps[2024] == pytest.approx(p["nps_2024"], abs=2)
    a, b = sv.loc[sv.wave.eq(2023), "q_nps"].dropna(), sv.loc[sv.wave.eq(2024), "q_nps"].dropna()
    assert stats.mannwhitneyu(a, b).pvalue < 0.01


def test_planted_no_price_gap(demo):
    p = pv("no_price_gap")
    sv = demo["survey_responses"]
    s = sv.loc[sv.segment.eq(p["segment"]), "q_attr_value"].dropna()
    o = sv.loc[~sv.segment.eq(p["segment"]), "q_attr_value"].dropna()
    assert abs(s.mean() - o.mean() - p["shift"]) < 0.15
    assert stats.ttest_ind(s, o).pvalue > 0.05


def test_planted_usage_decline_before_churn(demo):
    p = pv("usage_decline_before_churn")
    cu = demo["customers"].set_index("customer_id")
    us = demo["usage"].join(cu.churn_date, on="customer_id").dropna(subset=["churn_date"])
    before = (us.churn_date.dt.year * 12 + us.churn_date.dt.month) - (us.month.dt.year * 12 + us.month.dt.month)
    per = us.groupby(before).active_users.mean()
    baseline = per.loc[p["months"] + 1: p["months"] + 4].mean()
    # month k before the churn month: about factor ** (months + 1 - k) of the baseline
    for k in range(1, p["months"] + 1):
        expected = p["monthly_factor"] ** (p["months"] + 1 - k)
        assert per[k] / baseline == pytest.approx(expected, rel=0.25), k
    assert per[1] < per[2] < per[3] < per[4] < baseline


def test_planted_least_satisfied_profile(demo):
    sv = demo["survey_responses"]
    it = demo["interactions"]
    resp = sv[sv.completed & sv.customer_status.isin(["existing", "churned"])]
    sat = resp.groupby("customer_id").q_csat.mean()
    n_comp = it[it.type.eq("complaint")].groupby("customer_id").size().reindex(sat.index).fillna(0)
    least = sat <= sat.quantile(0.2)
    ratio = n_comp[least].mean() / n_comp[~least].mean()
    assert ratio == pytest.approx(pv("least_satisfied_profile")["complaint_rate_ratio"], rel=0.35)
    assert stats.mannwhitneyu(n_comp[least], n_comp[~least]).pvalue < 0.01
    subs = demo["subscriptions"]
    plan = subs[subs.plan.ne("add_on")].drop_duplicates("customer_id").set_index("customer_id").plan
    basic = plan.reindex(sat.index).eq("basic")
    assert basic[least].mean() > 0.5 > basic[~least].mean()


def test_planted_loss_making_smb(demo):
    p = pv("loss_making_smb")
    rev = demo["orders"].groupby("customer_id").revenue.sum()
    c = demo["costs"]
    cost = c[["cost_service", "cost_support", "cost_acquisition", "discount"]].sum(axis=1).groupby(c.customer_id).sum()
    seg = demo["customers"].set_index("customer_id").segment
    df = pd.DataFrame({"rev": rev, "cost": cost}).fillna(0).join(seg)
    loss = (df.cost > df.rev).groupby(df.segment).mean()
    assert loss[p["segment"]] == pytest.approx(p["share_loss_making"], abs=0.03)
    assert loss.drop(p["segment"]).max() < 0.03
    # the loss makers carry the support load
    smb = df[df.segment.eq(p["segment"])]
    sup = c.groupby("customer_id").cost_support.sum().reindex(smb.index)
    assert sup[smb.cost > smb.rev].sum() > sup[smb.cost <= smb.rev].sum() * 0.5


def test_planted_academy_retention(demo):
    p = pv("academy_retention")
    acc = _accounts(demo)
    it = demo["interactions"]
    users = set(it.loc[it.type.eq("education") & it.channel.eq("academy"), "customer_id"])
    acc["academy"] = acc.index.isin(users)
    rates = acc.groupby("academy").churned.mean()
    assert rates[True] / rates[False] == pytest.approx(p["churn_ratio"], abs=0.1)
    assert stats.fisher_exact(pd.crosstab(acc.academy, acc.churned)).pvalue < 0.01


def test_planted_funnel_trial_dropoff(demo):
    p = pv("funnel_trial_dropoff")
    je = demo["journey_events"]
    trial = set(je.loc[je.step.eq("trial"), "visitor_id"])
    bought = set(je.loc[je.step.eq("purchase"), "visitor_id"])
    v = je[je.visitor_id.isin(trial)].drop_duplicates("visitor_id").set_index("visitor_id").channel
    rate = v.index.isin(bought)
    rates = pd.Series(rate, index=v.index).groupby(v).mean()
    assert rates[p["channel"]] == pytest.approx(p["trial_to_purchase"], abs=0.02)
    assert rates[p["reference_channel"]] == pytest.approx(p["reference_rate"], abs=0.03)


def test_planted_slow_feedback_team(demo):
    p = pv("slow_feedback_team")
    fb = demo["feedback_items"]
    sh = fb[fb.status.eq("shipped")]
    cycle = (sh.shipped_date - sh.reported_date).dt.days
    slow = sh.team.eq(p["team"])
    assert cycle[slow].median() == pytest.approx(p["median_cycle_days"], rel=0.08)
    assert cycle[~slow].median() == pytest.approx(p["other_median_cycle_days"], rel=0.08)
    told = sh.customer_told_date.notna()
    assert told[slow].mean() == pytest.approx(p["told_share"], abs=0.05)
    assert told[~slow].mean() == pytest.approx(p["other_told_share"], abs=0.05)


def test_planted_sample_imbalance(demo):
    p = pv("sample_imbalance")
    pa, cu = demo["participants"], demo["customers"]
    taken = pa[pa.recruited.eq(True) & pa.customer_id.notna()]
    pop_region = cu.region.value_counts(normalize=True)
    smp_region = taken.region.value_counts(normalize=True).reindex(pop_region.index).fillna(0)
    assert smp_region[p["over"]["region"]] > pop_region[p["over"]["region"]] + 0.15
    for under in p["under"]:
        (col, val), = under.items()
        pop = cu.status if col == "customer_status" else cu[col]
        assert taken[col].eq(val).mean() < pop.eq(val).mean() / 2, under
    observed = taken.region.value_counts().reindex(pop_region.index).fillna(0)
    assert stats.chisquare(observed, pop_region * len(taken)).pvalue < 0.01
    assert pa.recruited.eq(False).any()            # the recruitment list also holds who did not take part


def test_planted_survey_overrepresents_enterprise(demo):
    p = pv("survey_overrepresents_enterprise")
    sv, cu = demo["survey_responses"], demo["customers"]
    assert sv.segment.eq("enterprise").mean() == pytest.approx(p["respondent_share"], abs=0.02)
    assert cu.segment.eq("enterprise").mean() == pytest.approx(p["population_share"], abs=0.01)


def test_planted_new_product_adoption(demo):
    p = pv("new_product_adoption")
    pr, od = demo["products"], demo["orders"]
    ai = pr.loc[pr.category.eq(p["product_category"]), "product_id"].iloc[0]
    launch = pr.loc[pr.product_id.eq(ai), "launch_date"].iloc[0]
    acc = _accounts(demo)
    acc = acc[acc.churn_date.isna() | (acc.churn_date > launch)]
    first = od[od.product_id.eq(ai) & ~od.is_return].groupby("customer_id").order_date.min()
    adopted = acc.index.isin(first.index)
    share = pd.Series(adopted, index=acc.index).groupby(acc.segment).mean()
    assert share.idxmax() == p["segment"]
    assert share[p["segment"]] > share.drop(p["segment"]).max() + 0.15
    days = (first - launch).dt.days.reindex(acc.index).dropna()
    by_seg = days.groupby(acc.segment.reindex(days.index)).median()
    assert by_seg.idxmin() == p["segment"]


def test_every_planted_effect_is_tested():
    import inspect
    import sys

    names = {n for n, _ in inspect.getmembers(sys.modules[__name__], inspect.isfunction)}
    combined = {"speeders": "test_planted_speeders_and_straight_liners",
                "straight_liners": "test_planted_speeders_and_straight_liners"}
    for pid in PLANTED:
        assert combined.get(pid, f"test_planted_{pid}") in names, pid


def test_bad_scale_is_a_clear_error():
    with pytest.raises(ValueError, match="scale must be > 0"):
        generate(scale=0)
