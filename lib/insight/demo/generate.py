"""The demo company: a fictitious B2B software vendor, 2023-01-01..2024-12-31.

`generate(scale=1.0, seed=20240101)` returns every canonical table of insight.data.schema as a
DataFrame with the schema's column names and dtypes (ids str, dates datetime64[ns], nullable ints
Int64, nullable bools boolean). Deterministic (one numpy Generator from the seed, tables built in a
fixed order), vectorised (numpy/pandas only: Python loops run over a handful of categories or over
qualitative sources, never over the rows of a big table) and scaled linearly by `scale`, with
minimum sizes so that small scales still carry every effect.

Sizes at scale 1: 2,000 customers (86% accounts signed up 2021-01..2024-10, 10% prospects, 4%
competitors' customers), 12 products, ~40,000 order lines, ~2,200 subscriptions, ~30,000 monthly
cost rows, ~15,000 interactions (of which ~6,000 are review-cadence calls going back to 2021),
800 survey respondents per wave (2023 and 2024, fieldwork September-October), ~65 qualitative
participants (interviews in Q3 2024), ~1,500 coded segments, ~38,000 journey events, ~90,000 usage
rows, 1,500 feedback items, 1,500 reviews. At scale 25: ~1,000,000 order lines in ~13 s.

Every effect of insight.demo.planted.PLANTED is planted here with the magnitudes read from PLANTED
(the numbers are never repeated in this file). Where a planted number is a rate or a median that
an analysis will measure, it is planted exactly (allocation or stratified draws), so that the
default seed shows it at scale 0.5 as well. The order of construction carries the coherence:
customers and their latent traits (satisfaction, missed check-up, churn) first; then the survey
waves, which make some promoters churn within months of their survey (the say-do gap) and decide
who is least satisfied; then everything that depends on the final churn dates (subscriptions end
on the churn date, usage and buying fade over the 4 months before it, cadence calls, orders and
costs stop, academy use is allocated so that academy users churn at the planted ratio).

Beyond PLANTED, the data analyses need: churn_reason on churned customers, settlement_days on
orders, customers.owner (6 CSMs), customers.acquisition_channel = the channel of their journey,
emails and phone numbers in a few free texts (interaction text, q_nps_why, q_improve, transcripts,
excerpts; always after "You can reach me at" / "Please call me back on") so that masking is tested.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from insight.demo.planted import PLANTED

# ----------------------------------------------------------------------------------------------
# calendar helpers: dates are handled as integer days since 1970-01-01 until the very end
# ----------------------------------------------------------------------------------------------

EPOCH = np.datetime64("1970-01-01", "D")


def _d(s: str) -> int:
    return int((np.datetime64(s, "D") - EPOCH).astype(int))


DATA_START = _d("2023-01-01")
DATA_END = _d("2024-12-31")
FIRST_SIGNUP = _d("2021-01-01")
LAST_SIGNUP = _d("2024-10-31")
AI_LAUNCH = _d("2024-03-01")


def _to_date(days) -> pd.Series | pd.DatetimeIndex:
    """Integer (or float with NaN) days since epoch -> datetime64[ns] (NaT for NaN)."""
    a = np.asarray(days, dtype="float64")
    out = np.full(a.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(a)
    out[ok] = (EPOCH + np.floor(a[ok]).astype("int64").astype("timedelta64[D]")).astype("datetime64[ns]")
    return out


def _to_ts(days) -> np.ndarray:
    """Fractional days since epoch -> timestamps (second precision)."""
    a = np.asarray(days, dtype="float64")
    out = np.full(a.shape, np.datetime64("NaT"), dtype="datetime64[ns]")
    ok = ~np.isnan(a)
    secs = np.round(a[ok] * 86400).astype("int64")
    out[ok] = (np.datetime64("1970-01-01T00:00:00", "s") + secs.astype("timedelta64[s]")).astype("datetime64[ns]")
    return out


def _month_index(days) -> np.ndarray:
    """Months since 1970-01 of day numbers."""
    return (EPOCH + np.asarray(days, dtype="int64").astype("timedelta64[D]")).astype("datetime64[M]").astype("int64")


def _month_start_day(month_idx) -> np.ndarray:
    return (np.asarray(month_idx, dtype="int64").astype("datetime64[M]").astype("datetime64[D]") - EPOCH).astype("int64")


def _ids(prefix: str, n: int, width: int = 5) -> np.ndarray:
    width = max(width, len(str(n)))
    return (prefix + pd.Series(np.arange(1, n + 1)).astype(str).str.zfill(width)).to_numpy(dtype=object)


def _alloc(n: int, shares, rng: np.random.Generator | None = None) -> np.ndarray:
    """Exact counts of category indices for `shares` (largest remainder), shuffled when rng given."""
    shares = np.asarray(shares, dtype=float)
    shares = shares / shares.sum()
    raw = shares * n
    counts = np.floor(raw).astype(int)
    rest = n - counts.sum()
    if rest > 0:
        counts[np.argsort(-(raw - counts), kind="stable")[:rest]] += 1
    out = np.repeat(np.arange(len(shares)), counts)
    if rng is not None:
        rng.shuffle(out)
    return out


def _choice_rows(rng, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: row i uses probability vector probs[rows[i]]."""
    cum = np.cumsum(probs, axis=1)
    cum[:, -1] = 1.0
    u = rng.random(len(rows))
    return (u[:, None] > cum[rows]).sum(axis=1)


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For counts per parent: (parent index per child, 0-based position of the child)."""
    counts = np.asarray(counts, dtype="int64")
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    pos = np.arange(counts.sum()) - np.repeat(starts, counts)
    return parent, pos


def _strat_normal(rng, groups: np.ndarray) -> np.ndarray:
    """Standard normal draws stratified within each group (the group's sample median is ~0 exactly),
    so that planted medians show up at small scales too."""
    from scipy.special import ndtri

    groups = np.asarray(groups)
    out = np.empty(len(groups))
    order = np.lexsort((rng.random(len(groups)), groups))
    g_sorted = groups[order]
    first = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1]
    sizes = np.diff(np.r_[first, len(groups)])
    rank = np.arange(len(groups)) - np.repeat(first, sizes)
    out[order] = ndtri((rank + 0.5) / np.repeat(sizes, sizes))
    return out


def _exact_share(rng, groups: np.ndarray, share_per_group: np.ndarray) -> np.ndarray:
    """Flags with exactly round(share x size) True per group (random members)."""
    groups = np.asarray(groups)
    order = np.lexsort((rng.random(len(groups)), groups))
    g_sorted = groups[order]
    first = np.r_[0, np.flatnonzero(g_sorted[1:] != g_sorted[:-1]) + 1] if len(groups) else np.array([], int)
    sizes = np.diff(np.r_[first, len(groups)])
    rank = np.arange(len(groups)) - np.repeat(first, sizes)
    out = np.empty(len(groups), dtype=bool)
    share = np.asarray(share_per_group, dtype=float)[order] if np.ndim(share_per_group) else np.full(len(groups), float(share_per_group))
    out[order] = rank < np.rint(share * np.repeat(sizes, sizes))
    return out


def _likert(x, lo: int, hi: int) -> np.ndarray:
    return np.clip(np.rint(x), lo, hi).astype(float)


def _cat(values, idx) -> np.ndarray:
    return np.asarray(values, dtype=object)[np.asarray(idx)]


def _str_col(a) -> pd.Series:
    return pd.Series(a, dtype="str")


# ----------------------------------------------------------------------------------------------
# vocabularies
# ----------------------------------------------------------------------------------------------

SEGMENTS = ["enterprise", "mid_market", "smb"]
SEG_SHARES = [0.20, 0.35, 0.45]
REGIONS = ["North America", "EMEA", "APAC", "LATAM"]
REGION_SHARES = [0.35, 0.30, 0.20, 0.15]
COUNTRIES = {
    "North America": (["United States", "Canada", "Mexico"], [0.78, 0.17, 0.05]),
    "EMEA": (["United Kingdom", "Germany", "France", "Netherlands", "Sweden", "South Africa", "United Arab Emirates"],
             [0.26, 0.24, 0.16, 0.1, 0.08, 0.08, 0.08]),
    "APAC": (["Australia", "Japan", "Singapore", "India", "China", "South Korea"], [0.25, 0.2, 0.15, 0.2, 0.12, 0.08]),
    "LATAM": (["Brazil", "Argentina", "Chile", "Colombia", "Peru"], [0.45, 0.2, 0.15, 0.13, 0.07]),
}
PHONE_FORMATS = {  # fake but realistic, per region
    "North America": ("+1 ({a}) 555-{b:04d}", 200, 989),
    "EMEA": ("+44 20 7946 {b:04d}", 0, 0),
    "APAC": ("+61 2 9{a} {b:04d}", 100, 999),
    "LATAM": ("+55 11 9{a}-{b:04d}", 1000, 9999),
}
INDUSTRIES = ["software", "manufacturing", "retail", "financial_services", "healthcare", "logistics",
              "education", "public_sector", "media", "energy"]
FIRST_NAMES = ["Anna", "James", "Maria", "Wei", "Fatima", "Lucas", "Sofia", "Kenji", "Priya", "Omar",
               "Elena", "Daniel", "Aisha", "Mateo", "Chloe", "Ravi", "Hannah", "Diego", "Yuki", "Noah",
               "Leila", "Samuel", "Ingrid", "Carlos", "Mei", "Thomas", "Amara", "Jonas", "Isabel", "Arjun",
               "Olga", "Kwame", "Sara", "Liam", "Nadia", "Pedro", "Grace", "Hiro", "Zara", "Felix"]
LAST_NAMES = ["Smith", "Garcia", "Chen", "Müller", "Khan", "Silva", "Rossi", "Tanaka", "Patel", "Haddad",
              "Johansson", "Novak", "Okafor", "Lopez", "Dubois", "Kim", "Ivanova", "Nguyen", "Brown", "Schmidt",
              "Costa", "Sato", "Singh", "Mendes", "Wilson", "Andersen", "Yilmaz", "Moreau", "Park", "Fischer",
              "Ramos", "Wang", "Taylor", "Herrera", "Berg", "Ali", "Martin", "Kowalski", "Suzuki", "Reyes"]
COMPANY_A = ["Blue", "North", "Bright", "Iron", "Silver", "Green", "Rapid", "Summit", "Harbor", "Vertex",
             "Cedar", "Atlas", "Nova", "Prime", "Orbit", "Delta", "Maple", "Pioneer", "Quantum", "Union"]
COMPANY_B = ["Logistics", "Systems", "Foods", "Health", "Works", "Retail", "Energy", "Labs", "Media",
             "Finance", "Motors", "Textiles", "Pharma", "Telecom", "Builders", "Analytics", "Freight", "Goods"]
COMPANY_C = ["Inc", "Ltd", "GmbH", "SA", "Pty Ltd", "Group", "Co", "AG", "BV", "Ltda"]
CSMS = ["csm_ana", "csm_ben", "csm_chen", "csm_dara", "csm_emil", "csm_farah"]
REPS = {
    "support": ["rep_support_1", "rep_support_2", "rep_support_3", "rep_support_4", "rep_support_5"],
    "billing": ["rep_billing_1", "rep_billing_2"],
    "product": ["rep_product_1", "rep_product_2"],
    "customer_success": CSMS,
    "sales": ["rep_sales_1", "rep_sales_2", "rep_sales_3"],
    "marketing": ["rep_marketing_1"],
}

PRODUCTS = [  # id, name, category, launch, list price (per unit / seat-month block)
    ("P01", "Workbench Core", "core", "2018-04-01", 45.0),
    ("P02", "Workbench Pro", "core", "2019-06-01", 80.0),
    ("P03", "Workbench Enterprise", "core", "2020-02-01", 120.0),
    ("P04", "Mobile Workbench", "core", "2021-05-01", 25.0),
    ("P05", "Admin & Security Pack", "core", "2022-01-15", 30.0),
    ("P06", "Insight Dashboards", "analytics", "2019-09-01", 60.0),
    ("P07", "Forecasting Studio", "analytics", "2021-03-01", 95.0),
    ("P08", "Data Warehouse Sync", "analytics", "2022-06-01", 70.0),
    ("P09", "CRM Connector", "integrations", "2019-01-01", 28.0),
    ("P10", "ERP Connector", "integrations", "2020-08-01", 40.0),
    ("P11", "Open API Access", "integrations", "2021-11-01", 35.0),
    ("P12", "AI Assistant", "ai", "2024-03-01", 150.0),
]
CATEGORIES = ["core", "analytics", "integrations", "ai"]
CAT_BASE = np.array([0.50, 0.20, 0.30, 0.0])

RENEWAL_CHURN_SHARE = 0.0   # share of churners leaving exactly at a contract anniversary (0: any day)
CSAT_SHARES = [0.07, 0.20, 0.27, 0.29, 0.17]         # q_csat 1..5: a quarter answers 1 or 2
SURVEY_STATUS_SHARES = [0.64, 0.14, 0.13, 0.09]      # existing, churned, prospect, competitor
JOURNEY_CHANNELS = ["paid_ads", "referral", "organic_search", "partner", "event"]
JOURNEY_CHANNEL_SHARES = [0.22, 0.20, 0.28, 0.16, 0.14]
STEPS = ["visit", "signup", "trial", "qualified", "purchase", "onboarded"]

FEATURES = ["core_workflows", "analytics_dashboards", "integrations_api"]
TEAMS = ["platform", "reporting", "integrations", "mobile"]

CHURN_REASONS = ["price", "missing_features", "integration", "support", "competitor", "budget"]

# ----------------------------------------------------------------------------------------------
# texts
# ----------------------------------------------------------------------------------------------

COMPLAINT_TEXT = {
    "billing_error": ["We were invoiced twice for the same month.", "The invoice shows seats we cancelled in spring.",
                      "Our credit note still has not arrived.", "The VAT on the last invoice is wrong."],
    "pricing": ["The renewal quote is far above what we agreed.", "We were charged the list price instead of our discount."],
    "outage": ["The service was down during our month-end close.", "Dashboards did not load for most of the morning."],
    "bug": ["Exports to Excel drop the last column.", "The mobile app logs us out every few minutes.",
            "Scheduled reports arrive empty."],
    "slow_response": ["Nobody answered our ticket for a week.", "We had to chase support three times for an answer."],
    "onboarding": ["The onboarding plan skipped our integration entirely.", "Our kickoff was postponed twice."],
    "integration": ["The ERP connector keeps failing overnight.", "The CRM sync creates duplicate contacts."],
    "account_management": ["Our account manager changed again without notice.", "We never got the promised business review."],
}
DEPT_REASONS = {
    "support": (["bug", "outage", "slow_response", "integration"], [0.35, 0.2, 0.25, 0.2]),
    "billing": (["billing_error", "pricing"], [0.7, 0.3]),
    "product": (["bug", "integration", "outage"], [0.5, 0.35, 0.15]),
    "customer_success": (["onboarding", "account_management"], [0.55, 0.45]),
    "sales": (["pricing", "account_management"], [0.6, 0.4]),
    "marketing": (["account_management"], [1.0]),
}
CONSULT_TEXT = ["How do we add more seats mid-term?", "Can the dashboards be shared with external partners?",
                "What is the best way to set up single sign-on?", "Is there an API limit on the connector?",
                "Could you explain the difference between the Pro and Enterprise plans?",
                "How do we move our data from the old workspace?", "Can we schedule reports in other time zones?"]
SUGGEST_TEXT = ["Please add a dark mode to the mobile app.", "It would help to export dashboards to PowerPoint.",
                "Let admins bulk-import users from a spreadsheet.", "Add a Slack notification when a sync fails.",
                "Offer a quarterly billing option.", "Show usage per team in the admin console."]
EDU_TEXT = {"webinar": "Attended the webinar on advanced dashboards.",
            "documentation": "Read the getting-started guide.",
            "academy": "Completed an academy course and certification quiz."}
CADENCE_TEXT = {"initial_assessment": "Initial assessment call: goals, users and success criteria agreed.",
                "implementation_checkup": "One-month implementation check-up: adoption and open issues reviewed.",
                "six_month_update": "Six-month update: usage trends and roadmap shared.",
                "renewal_review": "Annual review before renewal: value delivered and next year's plan."}
NPS_WHY = {
    "promoter": ["The product just works and the team is responsive.", "Great support, they always find a fix.",
                 "It saves our team hours every week.", "Easy to use and the dashboards are excellent."],
    "passive": ["Good product but some features are missing.", "Works well, although pricing went up.",
                "Fine overall, integrations could be better.", "Solid, but onboarding took longer than expected."],
    "detractor": ["Support is slow and issues stay open for weeks.", "Too expensive for what we use.",
                  "The integration with our ERP never worked properly.", "Onboarding was chaotic and we lost months."],
}
IMPROVE_TEXT = ["Faster support responses.", "Better integration with our ERP.", "A clearer onboarding plan.",
                "More flexible pricing for small teams.", "More reporting options.", "Training for new users.",
                "Fewer bugs in the mobile app.", "Keep the same account manager."]
REVIEW_TEXT = {
    1: ["Unreliable and support does not help.", "Would not recommend, constant sync errors."],
    2: ["Disappointing after the demo.", "Too many bugs for the price."],
    3: ["Does the job, nothing special.", "OK but the learning curve is steep."],
    4: ["Very useful, a few rough edges.", "Good value and reliable."],
    5: ["Excellent, our team loves it.", "Best tool we have adopted in years."],
}
FEEDBACK_TEXT = {
    "platform": ["Login sessions expire too quickly.", "Workspace loads slowly with many projects.", "Audit log is missing events."],
    "reporting": ["Need pivot tables in reports.", "Report totals differ from the export.", "Allow custom date ranges."],
    "integrations": ["Salesforce sync drops custom fields.", "Need a webhook for new records.", "ERP connector times out."],
    "mobile": ["Offline mode on Android.", "Push notifications arrive late.", "App crashes on photo upload."],
}

CODEBOOK = [  # code, parent, definition, hypotheses
    ("experience", None, "How customers experience getting started and learning the product.", None),
    ("onboarding_friction", "experience", "Problems, delays or confusion during onboarding and setup.", "H1"),
    ("onboarding_praise", "experience", "Onboarding described as smooth, fast or well run.", "H1"),
    ("training_gap", "experience", "Users do not know how to use the product; missing training.", "H1"),
    ("product", None, "What customers say about the product itself.", None),
    ("integration_pain", "product", "Connecting the product to other systems is hard or breaks.", "H4"),
    ("missing_feature", "product", "A capability the customer needs is missing.", None),
    ("reporting_needs", "product", "Requests or complaints about reports and dashboards.", None),
    ("reliability_issue", "product", "Outages, bugs, data errors.", None),
    ("ease_of_use", "product", "The product is described as easy or intuitive.", None),
    ("commercial", None, "Buying, paying and the value received.", None),
    ("price_concern", "commercial", "Price too high or rising; budget pressure.", "H3"),
    ("value_for_money", "commercial", "The product is worth what it costs.", "H3"),
    ("service", None, "Dealing with support, success and account teams.", None),
    ("slow_support", "service", "Support or billing takes long to resolve issues.", "H5"),
    ("great_support", "service", "Support is fast, competent and friendly.", "H5"),
    ("account_management", "service", "Comments about the account manager or CSM.", None),
    ("relationship", None, "Trust and partnership with the vendor.", None),
    ("trust", "relationship", "The customer trusts (or distrusts) the vendor.", None),
    ("community_value", "relationship", "Value from the user community and peers.", None),
]
LEAF_CODES = [c[0] for c in CODEBOOK if c[1] is not None]
CODE_TEXT = {
    "onboarding_friction": ["The onboarding took three months longer than we were told.",
                            "Nobody explained how to set up the roles, we figured it out ourselves.",
                            "The kickoff was fine but after that we were on our own."],
    "onboarding_praise": ["The onboarding team was brilliant, we were live in two weeks.",
                          "Setup was smooth, the checklist really helped."],
    "training_gap": ["Half of my team still does not know how to build a report.",
                     "We needed training for new hires and there was none."],
    "integration_pain": ["The ERP integration broke every time they released an update.",
                         "We spent weeks getting the CRM sync to work and it still duplicates records.",
                         "Honestly the connectors are why we started looking at other vendors."],
    "missing_feature": ["We asked for approval workflows two years ago.", "There is no way to plan capacity in it."],
    "reporting_needs": ["I need to export the dashboards for the board every month.",
                        "The reports do not let me filter by region."],
    "reliability_issue": ["It was down during our quarter close.", "Sometimes the numbers do not match the export."],
    "ease_of_use": ["My team picked it up in a day.", "It is really intuitive compared with the old tool."],
    "price_concern": ["The renewal price went up twenty percent.", "For a team our size it is expensive."],
    "value_for_money": ["It pays for itself with the time we save.", "For what we pay it is good value."],
    "slow_support": ["Tickets sit for a week before anyone answers.", "Billing questions take forever to sort out."],
    "great_support": ["Support fixed it the same afternoon.", "The support people really know the product."],
    "account_management": ["Our CSM changed three times this year.", "Our account manager knows our business well."],
    "trust": ["I trust them to keep our data safe.", "After the outage we are less sure about them."],
    "community_value": ["The user community answered my question faster than support.",
                        "I learn a lot from the community forum."],
}
QUESTIONS = {  # the interviewer's question, by the parent code of the answer it led to
    "experience": ["How did the first months with the product go?",
                   "How do you and your team learn to use new features?"],
    "product": ["How does the product fit with your other systems?", "What would you change first?",
                "What do you use the product for day to day?"],
    "commercial": ["How do you feel about what you pay?", "How did the last renewal go?"],
    "service": ["Tell me about the last time you needed help.", "How do you work with our support team?"],
    "relationship": ["How do you see us as a partner?", "What would make you recommend us?"],
}
KIND_TITLE = {"interview_1to1": "1:1 interview", "phone_interview": "Phone interview", "video_interview": "Video interview"}
PROBES = ["Can you tell me more about that?", "Why was that important to you?", "What happened next?",
          "Can you give me an example?"]


def _names(rng, n) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    f = _cat(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
    l = _cat(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
    full = pd.Series(f) + " " + pd.Series(l)
    return f, l, full.to_numpy(dtype=object)


def _ascii_lower(s: pd.Series) -> pd.Series:
    return (s.str.lower().str.replace("ü", "ue").str.replace("ö", "oe").str.replace("ä", "ae")
            .str.replace(r"[^a-z0-9]+", "", regex=True))


def _emails(first, last, domain) -> np.ndarray:
    return (_ascii_lower(pd.Series(first)) + "." + _ascii_lower(pd.Series(last)) + "@"
            + pd.Series(domain)).to_numpy(dtype=object)


def _phones(rng, region) -> np.ndarray:
    region = np.asarray(region, dtype=object)
    out = np.empty(len(region), dtype=object)
    a = rng.integers(0, 10_000, len(region))
    b = rng.integers(0, 10_000, len(region))
    for reg, (_fmt, lo, hi) in PHONE_FORMATS.items():  # 4 regions, vectorised within each
        m = region == reg
        if not m.any():
            continue
        aa = lo + a[m] % max(hi - lo + 1, 1)
        if reg == "North America":
            s = "+1 (" + pd.Series(aa).astype(str) + ") 555-" + pd.Series(b[m]).astype(str).str.zfill(4)
        elif reg == "EMEA":
            s = "+44 20 7946 " + pd.Series(b[m] % 1000).astype(str).str.zfill(4)
        elif reg == "APAC":
            s = "+61 2 9" + pd.Series(aa).astype(str) + " " + pd.Series(b[m]).astype(str).str.zfill(4)
        else:
            s = "+55 11 9" + pd.Series(aa).astype(str) + "-" + pd.Series(b[m]).astype(str).str.zfill(4)
        out[m] = s.to_numpy(dtype=object)
    return out


def _pick_text(rng, options: list[str], n: int) -> np.ndarray:
    return _cat(options, rng.integers(0, len(options), n))


def _add_pii(rng, texts: np.ndarray, emails: np.ndarray, phones: np.ndarray, share: float) -> np.ndarray:
    """Append a contact detail to a share of free texts (so that masking can be tested)."""
    texts = np.asarray(texts, dtype=object).copy()
    n = len(texts)
    u = rng.random(n)
    m_mail = u < share / 2
    m_phone = (u >= share / 2) & (u < share)
    if m_mail.any():
        texts[m_mail] = (pd.Series(texts[m_mail]) + " You can reach me at " + pd.Series(emails[m_mail]) + ".").to_numpy(dtype=object)
    if m_phone.any():
        texts[m_phone] = (pd.Series(texts[m_phone]) + " Please call me back on " + pd.Series(phones[m_phone]) + ".").to_numpy(dtype=object)
    return texts


# ----------------------------------------------------------------------------------------------
# the generator
# ----------------------------------------------------------------------------------------------

def _n(base: float, scale: float, minimum: int) -> int:
    return max(int(minimum), int(round(base * scale)))


def generate(scale: float = 1.0, seed: int = 20240101) -> dict[str, pd.DataFrame]:
    """Every canonical table of the demo company (see the module docstring and PLANTED)."""
    if not scale > 0:
        raise ValueError(f"scale must be > 0, got {scale!r}")
    rng = np.random.default_rng(seed)
    g = _Gen(rng, float(scale))
    return _plant_hostile_text(g.run())


# Text that would run as code if a report ever inserted data unescaped. Every report must show it as
# text; tests/test_report_e2e.py checks that no script survives into any HTML.
HOSTILE_TEXTS = ("<script>alert(1)</script> Support never answers my tickets.",
                 "Great product <img src=x onerror=alert(2)> but the invoices & reports are confusing.")


def _plant_hostile_text(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Replace two open answers of each wave and two complaint texts with hostile markup."""
    s = tables["survey_responses"]
    for wave in (2023, 2024):
        idx = s.index[(s["wave"] == wave) & s["q_improve"].notna()][:2]
        s.loc[idx, "q_improve"] = list(HOSTILE_TEXTS[:len(idx)])
    i = tables["interactions"]
    idx = i.index[(i["type"] == "complaint") & i["text"].notna()][:2]
    i.loc[idx, "text"] = list(HOSTILE_TEXTS[:len(idx)])
    return tables


class _Gen:
    def __init__(self, rng: np.random.Generator, scale: float):
        self.rng = rng
        self.scale = scale
        self.P = {k: p.values for k, p in PLANTED.items()}

    # ------------------------------------------------------------------ orchestration
    def run(self) -> dict[str, pd.DataFrame]:
        self.products = self._products()
        self._customers_latent()
        surveys = [self._survey_wave(2023), self._survey_wave(2024)]
        self._finalise_churn()
        self.survey = pd.concat(surveys, ignore_index=True)
        journey = self._journey()            # also sets prospects' signup date and every acquisition channel
        customers = self._customers_table()
        subs = self._subscriptions()
        orders = self._orders()
        usage = self._usage()
        costs = self._costs(orders)
        interactions = self._interactions()
        reviews = self._reviews()
        feedback = self._feedback()
        participants, sources, codebook, segments = self._qualitative()
        return {
            "customers": customers,
            "products": self.products,
            "orders": orders,
            "subscriptions": subs,
            "costs": costs,
            "interactions": interactions,
            "survey_responses": self.survey,
            "participants": participants,
            "qual_sources": sources,
            "codebook": codebook,
            "coded_segments": segments,
            "journey_events": journey,
            "usage": usage,
            "feedback_items": feedback,
            "reviews": reviews,
        }

    # ------------------------------------------------------------------ products
    def _products(self) -> pd.DataFrame:
        df = pd.DataFrame(PRODUCTS, columns=["product_id", "name", "category", "launch_date", "list_price"])
        df["launch_date"] = pd.to_datetime(df["launch_date"]).astype("datetime64[ns]")
        for c in ("product_id", "name", "category"):
            df[c] = df[c].astype("str")
        self.prod_cat = df["category"].map({c: i for i, c in enumerate(CATEGORIES)}).to_numpy()
        self.prod_price = df["list_price"].to_numpy()
        self.cat_products = [np.flatnonzero(self.prod_cat == i) for i in range(len(CATEGORIES))]
        return df

    # ------------------------------------------------------------------ customers and latent traits
    def _customers_latent(self):
        rng, P = self.rng, self.P
        n = _n(2000, self.scale, 400)
        self.n = n
        kind = _alloc(n, [0.86, 0.10, 0.04], rng)            # 0 account, 1 prospect, 2 competitor's customer
        self.kind = kind
        self.acc = kind == 0
        self.seg = _alloc(n, SEG_SHARES, rng)
        self.region = _alloc(n, REGION_SHARES, rng)
        # signups: account customers 2021-01..2024-10, growing over time
        span = LAST_SIGNUP - FIRST_SIGNUP
        signup = FIRST_SIGNUP + np.floor(span * rng.random(n) ** 0.85).astype(int)
        comp_signup = FIRST_SIGNUP + rng.integers(0, DATA_END - FIRST_SIGNUP, n)
        self.signup = np.where(kind == 2, comp_signup, signup).astype("int64")   # prospects: set by the journey
        self.sat = rng.standard_normal(n)                     # latent satisfaction (customer level)
        mc = P["missed_checkup_churn"]
        self.missed = self.acc & (rng.random(n) < mc["miss_rate"])
        sat_mult = np.exp(-0.35 * self.sat) / np.exp(0.35 ** 2 / 2)
        # the survey later makes some promoters churn (PLANTED churned_promoters): take their expected
        # number off the base rates so that the check-up churn rates stay as planted
        cp = P["churned_promoters"]["share_of_promoters"]
        n_acc = max(int(self.acc.sum()), 1)
        delta = 2 * cp * SURVEY_STATUS_SHARES[0] * 0.40 * _n(800, self.scale, 200) / n_acc
        base = np.where(self.missed, mc["churn_without_checkup"], mc["churn_with_checkup"])
        p_churn = np.maximum(base - delta, 0.2 * base) * sat_mult
        churn = self.acc & (rng.random(n) < np.clip(p_churn, 0, 0.95))
        lo = np.maximum(self.signup + 75, DATA_START)
        churn_day = lo + np.floor(rng.random(n) * (DATA_END + 1 - lo)).astype(int)
        # optionally, churners leave at a renewal (an anniversary of the contract) when one falls in the
        # window; off by default (RENEWAL_CHURN_SHARE = 0): churn happens on any day
        k_first = np.ceil((lo - self.signup) / 365.25).astype(int)
        k_last = np.floor((DATA_END - self.signup) / 365.25).astype(int)
        has_ann = k_last >= k_first
        k = k_first + np.floor(rng.random(n) * np.maximum(k_last - k_first + 1, 1)).astype(int)
        ann = self.signup + np.round(k * 365.25).astype(int)
        at_renewal = has_ann & (rng.random(n) < RENEWAL_CHURN_SHARE) & (ann >= lo) & (ann <= DATA_END)
        churn_day = np.where(at_renewal, ann, churn_day)
        self.churn_day = np.where(churn & (lo <= DATA_END), churn_day, -1).astype("int64")
        self.forced_churn = np.zeros(n, dtype=bool)
        smb = self.seg == 2
        self.heavy_support = np.zeros(n, dtype=bool)
        smb_acc = np.flatnonzero(self.acc & smb)
        self.heavy_support[smb_acc] = _exact_share(rng, np.zeros(len(smb_acc), int), P["loss_making_smb"]["share_loss_making"])
        self._sat_obs = []                                      # (wave, customers, q_csat) of survey answers
        seat_med = np.array([150.0, 35.0, 7.0])[self.seg]
        self.seats = np.maximum(1, np.rint(seat_med * np.exp(0.5 * rng.standard_normal(n)))).astype(int)
        self.owner = _cat(CSMS, rng.integers(0, len(CSMS), n))
        f, l, full = _names(rng, n)
        comp = (pd.Series(_cat(COMPANY_A, rng.integers(0, len(COMPANY_A), n))) + " "
                + pd.Series(_cat(COMPANY_B, rng.integers(0, len(COMPANY_B), n))))
        suffix = _cat(COMPANY_C, rng.integers(0, len(COMPANY_C), n))
        self.company = (comp + " " + pd.Series(suffix)).to_numpy(dtype=object)
        dom = _ascii_lower(comp) + pd.Series(np.arange(n) % 97).astype(str).where(pd.Series(np.arange(n)) >= 97, "") + ".com"
        self.domain = dom.to_numpy(dtype=object)
        self.cname, self.cemail = full, _emails(f, l, self.domain)
        self.cphone = _phones(rng, _cat(REGIONS, self.region))
        self.cid = _ids("C", n)
        self.adopt_day = AI_LAUNCH + np.floor(rng.exponential(np.where(self.seg == 1, 60.0, 330.0))).astype(int)
        self.channel = _alloc(n, JOURNEY_CHANNEL_SHARES, rng)  # acquisition channel (prospects: re-set by journey)

    def _active_window(self):
        """Per customer: first and last active day inside the data period (end < start: never active)."""
        start = np.maximum(self.signup, DATA_START)
        end = np.where(self.churn_day >= 0, self.churn_day, DATA_END)
        end = np.where(self.acc, end, start - 1)
        return start, end

    # ------------------------------------------------------------------ survey
    def _survey_wave(self, wave: int) -> pd.DataFrame:
        rng, P = self.rng, self.P
        n = _n(800, self.scale, 200)
        f_start, f_end = _d(f"{wave}-09-02"), _d(f"{wave}-10-31")
        ref = f_start
        churned_at = (self.churn_day >= 0) & (self.churn_day < ref)
        acc_ok = self.acc & (self.signup < ref - 30)
        pools = {
            "existing": acc_ok & ~churned_at,
            "churned": acc_ok & churned_at & (self.churn_day >= ref - 365),
            "prospect": (self.kind == 1),
            "competitor": (self.kind == 2),
        }
        status_names = ["existing", "churned", "prospect", "competitor"]
        status = _alloc(n, SURVEY_STATUS_SHARES, rng)
        ent_share = P["survey_overrepresents_enterprise"]["respondent_share"]
        rest = (1 - ent_share) / (SEG_SHARES[1] + SEG_SHARES[2])
        seg_target = [ent_share, SEG_SHARES[1] * rest, SEG_SHARES[2] * rest]
        seg = np.empty(n, dtype=int)
        cust = np.empty(n, dtype=int)
        for si, sname in enumerate(status_names):          # 4 x 3 cells: sampling, not a row loop
            rows = np.flatnonzero(status == si)
            seg[rows] = _alloc(len(rows), seg_target, rng)
            for g in range(3):
                r = rows[seg[rows] == g]
                pool = np.flatnonzero(pools[sname] & (self.seg == g))
                if len(pool) == 0:
                    pool = np.flatnonzero(pools[sname])
                cust[r] = rng.choice(pool, size=len(r), replace=True)
        seg = self.seg[cust]
        started = f_start + rng.random(n) * (f_end - f_start) + 0.3 + 0.45 * rng.random(n)
        started_day = np.floor(started).astype(int)
        # natural churn within the months after the survey (before any planted promoter churn)
        months = P["churned_promoters"]["months_after_survey"]
        win = int(round(months * 30.4))
        soon = (status == 0) & (self.churn_day[cust] > started_day) & (self.churn_day[cust] <= started_day + win)

        # latent answer level
        u = np.where(self.acc[cust], 0.9 * self.sat[cust] + 0.35 * rng.standard_normal(n),
                     rng.standard_normal(n) - 0.15)
        u = u - 0.45 * (status == 1) - 0.7 * soon
        # respondent roles: speeders / straight-liners / partials / attention failures (disjoint)
        sp = P["speeders"]["share"]
        sl = P["straight_liners"]["share"]
        role = _alloc(n, [sp, sl, 0.07, 0.02, 1 - sp - sl - 0.09], rng)
        speeder, straight, partial, attfail = role == 0, role == 1, role == 2, role == 3
        u = np.where(speeder, rng.standard_normal(n), u)

        # NPS: exact target distribution per wave, assigned by rank of the latent level
        target = P["nps_shift"][f"nps_{wave}"] / 100.0
        pas = 0.35                                   # passives; promoters - detractors = target
        prom = (1 - pas + target) / 2
        det = (1 - pas - target) / 2
        # within each category the later wave also leans lower (a shift of the whole distribution)
        later = wave > 2023
        det_w = np.array([0.06, 0.05, 0.07, 0.10, 0.14, 0.25, 0.33]) if later else np.array([0.03, 0.02, 0.04, 0.07, 0.11, 0.26, 0.47])
        pas_w = np.array([0.55, 0.45]) if later else np.array([0.40, 0.60])
        pro_w = np.array([0.65, 0.35]) if later else np.array([0.50, 0.50])
        probs = np.concatenate([det * det_w, pas * pas_w, prom * pro_w])
        scores = np.sort(_alloc(n, probs))
        order = np.argsort(u + 0.35 * rng.standard_normal(n), kind="stable")
        nps = np.empty(n, dtype=float)
        nps[order] = scores

        # churned promoters (say-do gap): top up promoters who churn within the window after the survey
        share = P["churned_promoters"]["share_of_promoters"]
        existing = status == 0
        promoter = existing & (nps >= 9)
        p_total = int(promoter.sum())
        p_soon = int((promoter & soon).sum())
        extra = int(round(share * p_total)) - p_soon
        if extra > 0:
            cand = np.flatnonzero(promoter & ~soon & (self.churn_day[cust] < 0) & ~self.forced_churn[cust])
            # whole customers (all their promoter rows churn together) until `extra` rows are reached
            cc, rows_per = np.unique(cust[cand], return_counts=True)
            perm = rng.permutation(len(cc))
            take = perm[np.cumsum(rows_per[perm]) <= extra]
            c = cc[take]
            span = pd.DataFrame({"c": cust[cand], "d": started_day[cand]}).groupby("c").d.agg(["min", "max"]).loc[c]
            lo_day = span["max"].to_numpy() + 10
            hi_day = np.minimum(span["min"].to_numpy() + win - 5, DATA_END)
            self.churn_day[c] = lo_day + np.floor(rng.random(len(c)) * np.maximum(hi_day - lo_day, 1)).astype(int)
            self.forced_churn[c] = True

        keep = ~speeder & ~partial
        ent = seg == 0
        is_cust = status <= 1
        # satisfaction: a fixed distribution assigned by rank, so the least satisfied fifth is csat <= 2
        csat = np.empty(n)
        csat[np.argsort(u + 0.45 * rng.standard_normal(n), kind="stable")] = np.sort(_alloc(n, CSAT_SHARES)) + 1.0
        self._sat_obs.append((wave, cust[keep], csat[keep]))
        ces = _likert(4.9 + 1.1 * u + 0.8 * rng.standard_normal(n), 1, 7)
        pv = u + 0.7 * rng.standard_normal(n)
        pmf = np.where(pv > 0.6, "very", np.where(pv > -0.6, "somewhat", "not")).astype(object)
        pmf[~is_cust] = np.nan
        gap = P["enterprise_onboarding_gap"]["shift"]
        # centred within segment, so that only the planted gap separates the segments
        u_seg = u - (np.bincount(seg, weights=u, minlength=3) / np.maximum(np.bincount(seg, minlength=3), 1))[seg] + u.mean()
        onb = _likert(3.65 + 0.55 * u_seg + 0.75 * _strat_normal(rng, seg * 2 + is_cust) + gap * ent, 1, 5)
        onb[~is_cust] = np.nan
        renew = _likert(3.8 + 0.9 * u + 0.6 * rng.standard_normal(n), 1, 5)
        trust = _likert(3.9 + 0.8 * u + 0.6 * rng.standard_normal(n), 1, 5)
        f_prod = 0.6 * u + 0.8 * rng.standard_normal(n)
        f_rel = 0.6 * u + 0.8 * rng.standard_normal(n)
        vshift = P["no_price_gap"]["shift"]
        items = {}
        for name, f in [("q_attr_reliability", f_prod), ("q_attr_ease", f_prod), ("q_attr_features", f_prod),
                        ("q_attr_hard", f_prod), ("q_attr_value", f_rel), ("q_attr_support", f_rel),
                        ("q_attr_responsive", f_rel), ("q_attr_partner", f_rel)]:
            x = 3.4 + 0.75 * (f + 0.9 * rng.standard_normal(n))
            v = _likert(x, 1, 5)
            if name == "q_attr_value":
                # the same distribution in every segment (assigned by rank within the segment), plus
                # the planted shift (zero: H3 is planted false)
                shares = np.bincount(v.astype(int), minlength=6)[1:] / n
                for g in range(3):                            # 3 segments
                    rows = np.flatnonzero(seg == g)
                    vals = np.sort(_alloc(len(rows), shares)) + 1.0
                    v[rows[np.argsort(x[rows], kind="stable")]] = vals
                v = _likert(v + vshift * (seg == SEGMENTS.index(P["no_price_gap"]["segment"])), 1, 5)
            items[name] = 6 - v if name == "q_attr_hard" else v
        attention = np.full(n, 4.0)
        # speeders answer at random
        for k in list(items):
            items[k] = np.where(speeder, rng.integers(1, 6, n).astype(float), items[k])
        onb = np.where(speeder & is_cust, rng.integers(1, 6, n), onb).astype(float)
        attention = np.where(speeder & (rng.random(n) < 0.5), rng.choice([1, 2, 3, 5], n), attention)
        attention = np.where(attfail, rng.choice([1, 2, 3, 5], n), attention).astype(float)
        # straight-liners: one value for the whole grid (ignoring the reversed item) and the check row
        sv = rng.choice([3.0, 4.0, 5.0], n, p=[0.3, 0.4, 0.3])
        for k in items:
            items[k] = np.where(straight, sv, items[k])
        attention = np.where(straight, sv, attention)
        # nobody else is a straight-liner by accident
        grid = np.column_stack(list(items.values()))
        accidental = ~straight & (grid.min(axis=1) == grid.max(axis=1))
        items["q_attr_partner"] = np.where(accidental, np.where(items["q_attr_partner"] > 1, items["q_attr_partner"] - 1, 2.0),
                                           items["q_attr_partner"])

        # durations
        med = 540.0
        dur = med * np.exp(0.35 * rng.standard_normal(n))
        dur = np.maximum(dur, 0.45 * med)
        frac = P["speeders"]["fraction_of_median"]
        dur = np.where(speeder, med * rng.uniform(0.3 * frac, 0.9 * frac, n), dur)
        dur = np.where(straight, dur * 0.75, dur)
        dur = np.round(dur)

        chan_p = {"email": 0.7, "phone": 0.35, "chat": 0.45, "community": 0.2, "academy": 0.2}
        chans = {}
        for k, p in chan_p.items():
            chans[f"q_channels__{k}"] = (rng.random(n) < p).astype(float)

        reason_map = np.array(["price", "missing_features", "integration", "support", "other", "other"], dtype=object)
        cr = self.churn_reason_idx()[cust]
        cr_ans = np.where(rng.random(n) < 0.8, reason_map[np.maximum(cr, 0)],
                          _cat(["price", "missing_features", "integration", "support", "other"], rng.integers(0, 5, n)))
        cr_ans = np.where(status == 1, cr_ans, np.nan).astype(object)

        cat_idx = np.where(nps >= 9, 0, np.where(nps >= 7, 1, 2))
        why = np.empty(n, dtype=object)
        for i, k in enumerate(["promoter", "passive", "detractor"]):
            m = cat_idx == i
            why[m] = _pick_text(rng, NPS_WHY[k], int(m.sum()))
        f_, l_, _ = _names(rng, n)
        r_email = _emails(f_, l_, self.domain[cust])
        r_phone = _phones(rng, _cat(REGIONS, self.region[cust]))
        why = _add_pii(rng, why, r_email, r_phone, 0.015)
        improve = _add_pii(rng, _pick_text(rng, IMPROVE_TEXT, n), r_email, r_phone, 0.02)

        df = pd.DataFrame({
            "respondent_id": [None] * n,
            "customer_id": self.cid[cust],
            "wave": np.full(n, wave, dtype="int64"),
            "started_at": _to_ts(started),
            "submitted_at": _to_ts(started + dur / 86400.0),
            "duration_seconds": dur,
            "completed": np.ones(n, dtype=bool),
            "email": r_email,
            "gender": _cat(["female", "male", "other", "undisclosed"], _choice_rows(rng, np.array([[0.46, 0.48, 0.01, 0.05]]), np.zeros(n, int))),
            "age_band": _cat(["18-29", "30-39", "40-49", "50-59", "60+"], _choice_rows(rng, np.array([[0.12, 0.3, 0.3, 0.2, 0.08]]), np.zeros(n, int))),
            "role": _cat(["decision_maker", "influencer", "purchaser", "user", "champion"], _choice_rows(rng, np.array([[0.25, 0.2, 0.1, 0.35, 0.1]]), np.zeros(n, int))),
            "region": _cat(REGIONS, self.region[cust]),
            "segment": _cat(SEGMENTS, seg),
            "customer_status": _cat(status_names, status),
            "q_nps": nps,
            "q_nps_why": why,
            "q_csat": csat,
            "q_ces": ces,
            "q_pmf": pmf,
            "q_onboarding": onb,
            **items,
            "q_attention": attention,
            "q_renew": renew,
            "q_trust": trust,
            **chans,
            "q_churn_reason": cr_ans,
            "q_improve": improve,
        })
        # partial completes: trailing blocks missing
        blocks = [["q_csat"], ["q_ces"], ["q_pmf"], ["q_onboarding"],
                  [*items, "q_attention"], ["q_renew"], ["q_trust"], list(chans), ["q_churn_reason"], ["q_improve"]]
        cut = rng.integers(0, len(blocks), n)
        for bi, cols in enumerate(blocks):               # ~10 question blocks
            m = partial & (cut <= bi)
            df.loc[m, cols] = np.nan
        df.loc[partial, "submitted_at"] = pd.NaT
        df.loc[partial, "duration_seconds"] = np.nan
        df["completed"] = ~partial
        # duplicates: the same customer submits the same answers twice a few minutes apart
        dup_rows = rng.choice(np.flatnonzero(~partial & ~speeder & ~straight & df["customer_id"].notna().to_numpy()),
                              size=max(2, int(round(0.01 * n))), replace=False)
        dup = df.iloc[dup_rows].copy()
        shift = pd.to_timedelta(np.round(rng.uniform(120, 1800, len(dup))), unit="s")
        dup["started_at"] = dup["started_at"] + shift
        dup["submitted_at"] = dup["submitted_at"] + shift
        df = pd.concat([df, dup], ignore_index=True).sort_values("started_at", kind="stable").reset_index(drop=True)
        df["respondent_id"] = _ids(f"R{wave}-", len(df))
        for c in ("respondent_id", "customer_id", "email", "gender", "age_band", "role", "region", "segment",
                  "customer_status", "q_nps_why", "q_pmf", "q_churn_reason", "q_improve"):
            df[c] = df[c].astype("str")
        return df

    def churn_reason_idx(self) -> np.ndarray:
        """Churn reason per customer (-1: not churned); drawn once, lazily, after churn is known."""
        if not hasattr(self, "_churn_reason"):
            rng = self.rng
            w = np.array([[0.20, 0.20, 0.22, 0.12, 0.14, 0.12],     # checked up
                          [0.15, 0.15, 0.30, 0.22, 0.10, 0.08]])    # missed the check-up
            self._churn_reason = _choice_rows(rng, w, self.missed.astype(int))
        return np.where(self.churn_day >= 0, self._churn_reason, -1)

    def _finalise_churn(self):
        self.churned = self.churn_day >= 0
        # the least satisfied accounts, per survey year: by that wave's satisfaction where they answered
        # (csat <= 2, about a fifth: an analysis of the wave sees them), else the latent fifth
        rng = self.rng
        idx = np.flatnonzero(self.acc)
        latent_least = np.zeros(self.n, dtype=bool)
        latent_least[idx[np.argsort(self.sat[idx], kind="stable")[: int(round(0.2 * len(idx)))]]] = True
        self.least_by_year = {}
        plan_least = latent_least.copy()
        for wave, c, v in self._sat_obs:                      # 2 waves, in order
            ok = self.acc[c]
            tot = np.bincount(c[ok], weights=v[ok], minlength=self.n)
            cnt = np.bincount(c[ok], minlength=self.n)
            answered = cnt > 0
            least = latent_least.copy()
            least[answered] = (tot / np.maximum(cnt, 1))[answered] <= 2.0
            self.least_by_year[wave] = least
            plan_least = np.where(answered, least, plan_least)  # the latest answer decides the plan
        self.least_sat = plan_least
        # academy users churn at churn_ratio x the rate of the others (exactly, by allocation)
        ar = self.P["academy_retention"]["churn_ratio"]
        acc_idx = np.flatnonzero(self.acc)
        ch = self.churned[acc_idx]
        n_a = int(round(0.30 * len(acc_idx)))
        c_a = int(round(ch.sum() * ar * n_a / (ar * n_a + len(acc_idx) - n_a)))
        chosen = np.concatenate([rng.choice(acc_idx[ch], c_a, replace=False),
                                 rng.choice(acc_idx[~ch], n_a - c_a, replace=False)])
        self.academy = np.zeros(self.n, dtype=bool)
        self.academy[chosen] = True
        plan_p = np.array([[0.10, 0.35, 0.55], [0.30, 0.50, 0.20], [0.55, 0.40, 0.05], [0.75, 0.22, 0.03]])
        plan_row = np.where(self.least_sat, 3, self.seg)
        self.plan = _choice_rows(rng, plan_p, plan_row)        # 0 basic, 1 pro, 2 enterprise

    # ------------------------------------------------------------------ journey
    def _journey(self) -> pd.DataFrame:
        rng, P = self.rng, self.P
        fd = P["funnel_trial_dropoff"]
        rates = {c: 0.25 for c in JOURNEY_CHANNELS}
        rates[fd["channel"]] = fd["trial_to_purchase"]
        rates[fd["reference_channel"]] = fd["reference_rate"]
        # customers who signed in the data period (leaving room for their earlier steps) have a journey
        buyers = np.flatnonzero(self.acc & (self.signup >= DATA_START + 60))
        # per channel: buyers (customers), trial-stage non-buyers, signup-only, visit-only
        parts = []
        for ci, ch in enumerate(JOURNEY_CHANNELS):          # 5 channels
            b = buyers[self.channel[buyers] == ci]
            nb = len(b)
            n_trial = int(round(nb * (1 / rates[ch] - 1)))
            n_sign = int(round((nb + n_trial) * (1 / 0.6 - 1)))
            n_visit = int(round((nb + n_trial + n_sign) * (1 / 0.35 - 1)))
            n_qual = int(round(n_trial * 0.35))
            last = np.concatenate([np.full(nb, 5), np.full(n_qual, 3), np.full(n_trial - n_qual, 2),
                                   np.full(n_sign, 1), np.full(n_visit, 0)])
            cust = np.concatenate([b, np.full(len(last) - nb, -1)])
            parts.append(pd.DataFrame({"last": last, "cust": cust, "ch": ci}))
        v = pd.concat(parts, ignore_index=True)
        nv = len(v)
        last = v["last"].to_numpy()
        cust = v["cust"].to_numpy().copy()
        ch = v["ch"].to_numpy()
        # prospects are non-buyers who signed up (the CRM knows them)
        pros = np.flatnonzero(self.kind == 1)
        cand = np.flatnonzero((cust < 0) & (last >= 1) & (last <= 3))
        take = rng.choice(cand, size=min(len(pros), len(cand)), replace=False)
        cust[take] = pros[: len(take)]
        # gaps between steps (days)
        gaps = np.column_stack([rng.uniform(0, 10, nv), rng.uniform(0, 3, nv), rng.uniform(2, 14, nv),
                                rng.uniform(5, 30, nv), rng.uniform(7, 30, nv)])
        buyer = last == 5
        t_purchase = np.where(buyer, self.signup[np.maximum(cust, 0)] + 0.4 + 0.3 * rng.random(nv), np.nan)
        t0_buyer = t_purchase - gaps[:, :4].sum(axis=1)
        t0_other = DATA_START + rng.random(nv) * (DATA_END - 20 - DATA_START) + 0.3 + 0.4 * rng.random(nv)
        t0 = np.where(buyer, t0_buyer, t0_other)
        steps_t = np.column_stack([t0, t0[:, None] + np.cumsum(gaps, axis=1)])
        # prospects: CRM record created at their signup step
        is_p = (cust >= 0) & ~buyer
        self.signup[cust[is_p]] = np.floor(steps_t[is_p, 1]).astype(int)
        self.channel[cust[is_p]] = ch[is_p]
        parent, pos = _expand(last + 1)
        ts = steps_t[parent, pos]
        keep = ts <= DATA_END + 0.999
        parent, pos, ts = parent[keep], pos[keep], ts[keep]
        order = np.argsort(ts, kind="stable")
        parent, pos, ts = parent[order], pos[order], ts[order]
        land = np.array(["ad_landing_page", "referral_link", "blog_article", "partner_portal", "trade_show_booth"], dtype=object)
        tp = np.array(["", "signup_form", "trial_workspace", "sales_call", "order_form", "kickoff_meeting"], dtype=object)[pos]
        tp = np.where(pos == 0, land[ch[parent]], tp)
        vc = cust[parent]
        vid = _ids("V", nv, 6)
        seg = np.where(vc >= 0, _cat(SEGMENTS, self.seg[np.maximum(vc, 0)]), None)
        return pd.DataFrame({
            "event_id": _str_col(_ids("E", len(ts), 7)),
            "customer_id": _str_col(np.where(vc >= 0, self.cid[np.maximum(vc, 0)], None)),
            "visitor_id": _str_col(vid[parent]),
            "timestamp": _to_ts(ts),
            "step": _str_col(_cat(STEPS, pos)),
            "channel": _str_col(_cat(JOURNEY_CHANNELS, ch[parent])),
            "touchpoint": _str_col(tp),
            "segment": _str_col(seg),
        })

    # ------------------------------------------------------------------ customers table
    def _customers_table(self) -> pd.DataFrame:
        rng, n = self.rng, self.n
        status = np.where(self.kind == 1, "prospect", np.where(self.kind == 2, "competitor",
                          np.where(self.churned, "churned", "existing")))
        reason = np.where(self.churned, _cat(CHURN_REASONS, np.maximum(self.churn_reason_idx(), 0)), None)
        region = _cat(REGIONS, self.region)
        country = np.empty(n, dtype=object)
        for r, (names, p) in COUNTRIES.items():             # 4 regions
            m = region == r
            country[m] = _cat(names, rng.choice(len(names), int(m.sum()), p=p))
        emp_med = np.array([4000.0, 400.0, 40.0])[self.seg]
        employees = np.maximum(1, np.rint(emp_med * np.exp(0.6 * rng.standard_normal(n)))).astype("int64")
        df = pd.DataFrame({
            "customer_id": _str_col(self.cid),
            "name": _str_col(self.cname),
            "email": _str_col(self.cemail),
            "phone": _str_col(self.cphone),
            "company": _str_col(self.company),
            "region": _str_col(region),
            "country": _str_col(country),
            "segment": _str_col(_cat(SEGMENTS, self.seg)),
            "industry": _str_col(_cat(INDUSTRIES, rng.integers(0, len(INDUSTRIES), n))),
            "employees": pd.array(employees, dtype="Int64"),
            "signup_date": _to_date(self.signup),
            "churn_date": _to_date(np.where(self.churned, self.churn_day, np.nan)),
            "status": _str_col(status),
            "churn_reason": _str_col(reason),
            "owner": _str_col(np.where(self.acc, self.owner, None)),
            "acquisition_channel": _str_col(_cat(JOURNEY_CHANNELS, self.channel)),
        })
        return df

    # ------------------------------------------------------------------ subscriptions
    def _subscriptions(self) -> pd.DataFrame:
        rng = self.rng
        acc = np.flatnonzero(self.acc)
        price_seat = np.array([20.0, 35.0, 55.0])
        main_prod = np.array([0, 1, 2])[self.plan[acc]]                 # P01/P02/P03 by plan
        # add-ons: ~28% of accounts, an analytics / integrations / ai product
        n_add = int(round(0.34 * len(acc)))
        add_c = rng.choice(acc, n_add, replace=False)
        add_cat = _choice_rows(rng, np.array([[0.45, 0.45, 0.10]]), np.zeros(n_add, int)) + 1
        add_prod = self._prod_in_cat(add_cat)
        add_start = self.signup[add_c] + rng.integers(30, 500, n_add)
        add_start = np.where(add_cat == 3, np.maximum(add_start, self.adopt_day[add_c]), add_start)
        stop = np.where(self.churned[add_c], self.churn_day[add_c], DATA_END)
        ok = add_start < stop
        add_c, add_prod, add_start = add_c[ok], add_prod[ok], add_start[ok]
        cust = np.concatenate([acc, add_c])
        prod = np.concatenate([main_prod, add_prod])
        start = np.concatenate([self.signup[acc], add_start])
        is_main = np.concatenate([np.ones(len(acc), bool), np.zeros(len(add_c), bool)])
        seats = np.where(is_main, self.seats[cust], np.maximum(1, np.rint(self.seats[cust] * rng.uniform(0.2, 0.8, len(cust)))))
        plan = np.where(is_main, _cat(["basic", "pro", "enterprise"], self.plan[cust]), "add_on")
        mrr = np.where(is_main, price_seat[self.plan[cust]], self.prod_price[prod] * 0.4) * seats * np.exp(0.15 * rng.standard_normal(len(cust)))
        churned = self.churned[cust]
        # some add-ons simply expire (not renewed) without the customer churning
        expire = ~is_main & ~churned & (rng.random(len(cust)) < 0.15)
        exp_day = start + 365
        expire &= exp_day <= DATA_END
        end = np.where(churned, self.churn_day[cust], np.where(expire, exp_day, -1))
        status = np.where(churned, "cancelled", np.where(expire, "expired", "active"))
        # renewal: next anniversary of the start after the end (or after the data end when active)
        ref = np.where(end >= 0, end, DATA_END)
        k = np.floor((ref - start) / 365.25).astype(int) + 1
        renewal = start + np.round(k * 365.25).astype(int)
        order = np.lexsort((start, cust))
        df = pd.DataFrame({
            "subscription_id": None,
            "customer_id": _str_col(self.cid[cust][order]),
            "product_id": _str_col(self.products["product_id"].to_numpy(dtype=object)[prod][order]),
            "plan": _str_col(plan[order]),
            "mrr": np.round(mrr[order], 2),
            "seats": pd.array(seats[order].astype("int64"), dtype="Int64"),
            "start_date": _to_date(start[order]),
            "end_date": _to_date(np.where(end >= 0, end, np.nan)[order]),
            "renewal_date": _to_date(renewal[order]),
            "status": _str_col(status[order]),
        })
        df["subscription_id"] = _str_col(_ids("S", len(df)))
        self.sub_main_mrr = np.zeros(self.n)
        self.sub_main_mrr[acc] = (price_seat[self.plan[acc]] * self.seats[acc])
        return df

    def _prod_in_cat(self, cats: np.ndarray) -> np.ndarray:
        """A uniformly chosen product index within each row's category (vectorised)."""
        out = np.empty(len(cats), dtype=int)
        u = self.rng.random(len(cats))
        for c, prods in enumerate(self.cat_products):        # 4 categories
            m = cats == c
            out[m] = prods[np.minimum((u[m] * len(prods)).astype(int), len(prods) - 1)]
        return out

    # ------------------------------------------------------------------ orders
    def _orders(self) -> pd.DataFrame:
        rng, P = self.rng, self.P
        start, end = self._active_window()
        months = np.maximum(0, (end - start + 1) / 30.44)
        rate = np.array([1.62, 1.0, 0.62])[self.seg]
        het = rng.gamma(2.0, 0.5, self.n)
        season = np.array([0.80, 0.85, 1.05, 0.95, 1.00, 1.05, 0.85, 0.75, 1.05, 1.10, 1.15, 1.40])
        accept_mean = season.mean() / season.max()
        lam = np.where(self.acc & (months > 0), rate * months * het / accept_mean, 0.0)
        k = rng.poisson(lam)
        cust, _ = _expand(k)
        day = start[cust] + np.floor(rng.random(len(cust)) * (end[cust] - start[cust] + 1)).astype(int)
        mon = (EPOCH + day.astype("timedelta64[D]")).astype("datetime64[M]").astype(int) % 12
        growth = np.where(day >= _d("2024-01-01"), 1.0, 0.88)
        # buying thins out over the months before churn, like usage (PLANTED usage_decline_before_churn)
        ud = P["usage_decline_before_churn"]
        cm = np.where(self.churn_day[cust] >= 0, _month_index(np.maximum(self.churn_day[cust], 0)), 10 ** 6)
        before = cm - _month_index(day)
        fade = ud["monthly_factor"] ** np.clip(ud["months"] + 1 - before, 0, ud["months"] + 1)
        keep = rng.random(len(day)) < season[mon] / season.max() * growth * fade
        cust, day = cust[keep], day[keep]
        # every active account has at least one order (its subscription invoice)
        active = np.flatnonzero(self.acc & (end >= start))
        missing = np.setdiff1d(active, cust)
        if len(missing):
            cust = np.concatenate([cust, missing])
            day = np.concatenate([day, start[missing] + np.floor(rng.random(len(missing)) * (end[missing] - start[missing] + 1)).astype(int)])
        order = np.lexsort((cust, day))
        cust, day = cust[order], day[order]
        n_ord = len(cust)
        oid = _ids("SO", n_ord, 7)
        settle_mean = np.array([48.0, 32.0, 18.0])[self.seg[cust]]
        settle = np.rint(rng.gamma(4.0, settle_mean / 4.0)).astype("int64")
        # lines
        n_lines = np.minimum(1 + rng.poisson(0.65, n_ord), 4)
        o, _ = _expand(n_lines)
        lc = cust[o]
        ld = day[o]
        rc = P["region_category"]
        apac = self.region[lc] == REGIONS.index(rc["region"])
        base = CAT_BASE.copy()
        ci = CATEGORIES.index(rc["category"])
        s = base[ci]
        mult = rc["share_multiplier"]
        m = mult * (1 - s) / (1 - mult * s)                 # APAC share = mult x the others' share
        apac_p = base.copy()
        apac_p[ci] *= m
        apac_p /= apac_p.sum()
        probs = np.vstack([base, apac_p])
        cat = _choice_rows(rng, probs, apac.astype(int))
        prod = self._prod_in_cat(cat)
        # the 2024 AI product: after each customer's adoption date (mid-market adopts faster)
        ai_prod = self.cat_products[CATEGORIES.index("ai")][0]
        ai = (ld >= self.adopt_day[lc]) & (rng.random(len(ld)) < 0.22)
        prod = np.where(ai, ai_prod, prod)
        lines = pd.DataFrame({"o": o, "prod": prod})
        dup = lines.duplicated(["o", "prod"]).to_numpy()
        o, prod, lc, ld = o[~dup], prod[~dup], lc[~dup], ld[~dup]
        qmed = np.array([18.0, 6.0, 2.0])[self.seg[lc]]
        qty = np.maximum(1, np.rint(qmed * np.exp(0.6 * rng.standard_normal(len(o)))))
        price = self.prod_price[prod] * (1 - rng.uniform(0, 0.2, len(o)))
        rev = np.round(qty * price, 2)
        # returns: a few lines credited later
        ret = rng.random(len(o)) < 0.015
        r_day = np.minimum(ld[ret] + rng.integers(3, 40, int(ret.sum())), DATA_END)
        r_qty = -np.maximum(1, np.floor(qty[ret] * rng.uniform(0.3, 1.0, int(ret.sum()))))
        r_rev = np.round(rev[ret] * r_qty / qty[ret], 2)
        pid = self.products["product_id"].to_numpy(dtype=object)
        settle_l = pd.array(settle[o], dtype="Int64")
        settle_l[rng.random(len(o)) < 0.01] = pd.NA
        sales = pd.DataFrame({
            "order_id": oid[o], "customer_id": self.cid[lc], "product_id": pid[prod],
            "order_date": ld, "quantity": qty, "revenue": rev, "is_return": False, "settlement_days": settle_l,
        })
        rets = pd.DataFrame({
            "order_id": (pd.Series(oid[o[ret]]) + "-R").to_numpy(dtype=object), "customer_id": self.cid[lc[ret]],
            "product_id": pid[prod[ret]], "order_date": r_day, "quantity": r_qty, "revenue": r_rev,
            "is_return": True, "settlement_days": pd.array([pd.NA] * int(ret.sum()), dtype="Int64"),
        })
        df = pd.concat([sales, rets], ignore_index=True)
        df = df.sort_values(["order_date", "order_id"], kind="stable").reset_index(drop=True)
        # net revenue per customer, for the costs
        self.net_revenue = np.bincount(
            pd.Index(self.cid).get_indexer(df["customer_id"]), weights=df["revenue"].to_numpy(), minlength=self.n)
        df["order_date"] = _to_date(df["order_date"].to_numpy())
        for c in ("order_id", "customer_id", "product_id"):
            df[c] = df[c].astype("str")
        df["quantity"] = df["quantity"].astype(float)
        df["is_return"] = df["is_return"].astype(bool)
        return df

    # ------------------------------------------------------------------ customer-month grid
    def _grid(self):
        if hasattr(self, "_grid_cache"):
            return self._grid_cache
        start, end = self._active_window()
        m0 = _month_index(np.maximum(start, DATA_START))
        m1 = _month_index(np.maximum(end, DATA_START))
        nm = np.where(self.acc & (end >= start), m1 - m0 + 1, 0)
        cust, pos = _expand(nm)
        month = m0[cust] + pos
        self._grid_cache = (cust, month, nm)
        return self._grid_cache

    # ------------------------------------------------------------------ usage
    def _usage(self) -> pd.DataFrame:
        rng, P = self.rng, self.P
        cust, month, _ = self._grid()
        ud = P["usage_decline_before_churn"]
        nf = len(FEATURES)
        c = np.repeat(cust, nf)
        mth = np.repeat(month, nf)
        f = np.tile(np.arange(nf), len(cust))
        base = np.array([0.70, 0.45, 0.30])[f]
        adopt = np.clip(base + 0.06 * self.sat[c] + 0.08 * rng.standard_normal(len(c)), 0.03, 0.97)
        churn_m = np.where(self.churned[c], _month_index(np.maximum(self.churn_day[c], 0)), 10 ** 6)
        before = churn_m - mth                                 # 0 = the churn month
        steps = np.clip(ud["months"] + 1 - before, 0, ud["months"] + 1)
        factor = np.where(self.churned[c], ud["monthly_factor"] ** steps, 1.0)
        # ramp-up in the first two months after signup
        sm = _month_index(self.signup[c])
        ramp = np.where(mth - sm == 0, 0.5, np.where(mth - sm == 1, 0.8, 1.0))
        active = rng.binomial(self.seats[c], adopt * factor * ramp)
        events = rng.poisson(active * 35.0)
        return pd.DataFrame({
            "customer_id": _str_col(self.cid[c]),
            "month": _to_date(_month_start_day(mth)),
            "feature": _str_col(_cat(FEATURES, f)),
            "active_users": active.astype("int64"),
            "events": pd.array(events.astype("int64"), dtype="Int64"),
        })

    # ------------------------------------------------------------------ costs
    def _costs(self, orders: pd.DataFrame) -> pd.DataFrame:
        rng = self.rng
        cust, month, nm = self._grid()
        heavy = self.heavy_support
        ratio = np.where(heavy, rng.uniform(1.25, 2.2, self.n), np.minimum(0.45 * np.exp(0.25 * rng.standard_normal(self.n)), 0.85))
        rev = np.maximum(self.net_revenue, 50.0)
        total = ratio * rev
        per_month = total[cust] / np.maximum(nm[cust], 1) * np.exp(0.2 * rng.standard_normal(len(cust)))
        support_share = np.where(heavy[cust], 0.72, 0.30)
        disc_share = 0.05
        new_month = month == _month_index(self.signup[cust])
        acq = np.where(new_month, per_month * 0.8, 0.0)
        rest = per_month - np.where(new_month, per_month * 0.8 * 0.5, 0)
        return pd.DataFrame({
            "customer_id": _str_col(self.cid[cust]),
            "period": _to_date(_month_start_day(month)),
            "cost_service": np.round(rest * (1 - support_share - disc_share), 2),
            "cost_support": np.round(rest * support_share, 2),
            "cost_acquisition": np.round(acq * 0.5, 2),
            "discount": np.round(rest * disc_share, 2),
        })

    # ------------------------------------------------------------------ interactions
    def _interactions(self) -> pd.DataFrame:
        rng, P = self.rng, self.P
        acc = self.acc
        stop = np.where(self.churned, self.churn_day - 1, DATA_END)
        frames = []

        def add(c, day, dept, channel, direction, typ, status=None, resolved=None, rep=None,
                reason=None, implemented=None, text=None, product=None):
            c = np.asarray(c, dtype=int)
            k = len(c)

            def full(x, fill=None):
                if x is None:
                    return np.full(k, fill, dtype=object)
                x = np.asarray(x, dtype=object) if not isinstance(x, str) else np.full(k, x, dtype=object)
                return x
            frames.append(pd.DataFrame({
                "c": c, "day": np.asarray(day, dtype="int64"), "department": full(dept), "channel": full(channel),
                "direction": full(direction), "type": full(typ), "product": full(product),
                "status": full(status), "resolved": np.full(k, np.nan) if resolved is None else np.asarray(resolved, float),
                "rep": full(rep), "reason_code": full(reason), "implemented": full(implemented), "text": full(text),
            }))

        a = np.flatnonzero(acc)
        vid = np.array(["video", "meeting", "phone"], dtype=object)
        # cadence: initial assessment
        d = self.signup[a] + rng.integers(1, 10, len(a))
        m = d <= stop[a]
        add(a[m], d[m], "customer_success", vid[rng.integers(0, 3, m.sum())], "outbound", "initial_assessment",
            status="done", rep=self.owner[a[m]], text=CADENCE_TEXT["initial_assessment"])
        # the one-month implementation check-up (planted: missed -> absent, or late)
        lo, hi = self.P["missed_checkup_churn"]["window_days"]
        late = rng.random(len(a)) < 0.3
        d = np.where(self.missed[a], self.signup[a] + rng.integers(hi + 15, hi + 90, len(a)),
                     self.signup[a] + rng.integers(lo, hi + 1, len(a)))
        m = (d <= stop[a]) & (~self.missed[a] | late)
        add(a[m], d[m], "customer_success", vid[rng.integers(0, 3, m.sum())], "outbound", "implementation_checkup",
            status="done", rep=self.owner[a[m]], text=CADENCE_TEXT["implementation_checkup"])
        # six-month update (missed-check-up customers are often skipped again)
        d = self.signup[a] + rng.integers(170, 200, len(a))
        m = (d <= stop[a]) & ~(self.missed[a] & (rng.random(len(a)) < 0.5))
        add(a[m], d[m], "customer_success", vid[rng.integers(0, 3, m.sum())], "outbound", "six_month_update",
            status="done", rep=self.owner[a[m]], text=CADENCE_TEXT["six_month_update"])
        # annual review before each renewal
        ak = np.repeat(a, 4)
        kk = np.tile(np.arange(1, 5), len(a))
        d = self.signup[ak] + np.round(kk * 365.25).astype(int) - rng.integers(15, 45, len(ak))
        m = (d <= stop[ak]) & (rng.random(len(ak)) < 0.85)
        add(ak[m], d[m], "customer_success", vid[rng.integers(0, 3, m.sum())], "outbound", "renewal_review",
            status="done", rep=self.owner[ak[m]], text=CADENCE_TEXT["renewal_review"])
        # onboarding sessions
        k = 1 + (rng.random(len(a)) < 0.3)
        c, _ = _expand(k)
        c = a[c]
        d = self.signup[c] + rng.integers(0, 30, len(c))
        m = d <= stop[c]
        add(c[m], d[m], "customer_success", vid[rng.integers(0, 2, m.sum())], "outbound", "onboarding",
            status="done", rep=self.owner[c[m]], text="Onboarding session: configuration and first users trained.")

        start, end = self._active_window()

        def in_window(rate_per_year, s0=start, e0=end):
            yrs = np.maximum(0, e0 - s0 + 1) / 365.25
            k = rng.poisson(np.where(acc, rate_per_year * yrs, 0))
            c, _ = _expand(k)
            d = s0[c] + np.floor(rng.random(len(c)) * (e0[c] - s0[c] + 1)).astype(int)
            return c, d

        # complaints: in each year the least satisfied customers (of that year's survey) complain x times as often
        ratio = P["least_satisfied_profile"]["complaint_rate_ratio"]
        parts = []
        for year, least in self.least_by_year.items():        # 2 years
            ys, ye = _d(f"{year}-01-01"), _d(f"{year}-12-31")
            parts.append(in_window(0.42 * np.where(least, ratio, 1.0), np.maximum(start, ys), np.minimum(end, ye)))
        c = np.concatenate([p_[0] for p_ in parts])
        d = np.concatenate([p_[1] for p_ in parts])
        depts = ["support", "billing", "product", "customer_success", "sales"]
        di = _choice_rows(rng, np.array([[0.45, 0.22, 0.15, 0.12, 0.06]]), np.zeros(len(c), int))
        dept = _cat(depts, di)
        sd = P["slow_department"]
        med = np.where(dept == sd["department"], sd["median_days"], sd["other_median_days"])
        days = np.rint(med * np.exp(0.6 * _strat_normal(rng, di)))
        resolved = d + days
        open_ = resolved > DATA_END
        unresolved = ~open_ & (rng.random(len(c)) < 0.08)
        status = np.where(open_, "open", np.where(unresolved, "unresolved", "resolved"))
        resolved = np.where(status == "resolved", resolved, np.nan)
        reason = np.empty(len(c), dtype=object)
        rep = np.empty(len(c), dtype=object)
        for dn in depts:                                      # 5 departments
            mm = dept == dn
            codes, p = DEPT_REASONS[dn]
            reason[mm] = _cat(codes, rng.choice(len(codes), int(mm.sum()), p=p))
            reps = REPS[dn]
            rep[mm] = _cat(reps, rng.integers(0, len(reps), int(mm.sum())))
        text = np.empty(len(c), dtype=object)
        for rc, opts in COMPLAINT_TEXT.items():
            mm = reason == rc
            text[mm] = _pick_text(rng, opts, int(mm.sum()))
        text = np.where(unresolved, (pd.Series(text) + " Closed unresolved: outside policy.").to_numpy(dtype=object), text)
        text = _add_pii(rng, text, self.cemail[c], self.cphone[c], 0.04)
        prod = self._customer_product(c)
        add(c, d, dept, _cat(["email", "phone", "chat"], rng.integers(0, 3, len(c))), "inbound", "complaint",
            status=status, resolved=resolved, rep=rep, reason=reason, text=text, product=prod)
        # consultations (heavy-support SMB customers ask support much more)
        c, d = in_window(np.where(self.heavy_support, 3.0, 0.6))
        dept = _cat(["support", "product", "sales", "customer_success", "billing"],
                    _choice_rows(rng, np.array([[0.5, 0.2, 0.12, 0.12, 0.06]]), np.zeros(len(c), int)))
        dept = np.where(self.heavy_support[c], "support", dept)
        res = d + rng.poisson(1.5, len(c))
        st = np.where(res > DATA_END, "open", "resolved")
        rep = np.where(dept == "support", _cat(REPS["support"], rng.integers(0, 5, len(c))),
                       _cat(REPS["sales"], rng.integers(0, 3, len(c))))
        rep = np.where(dept == "customer_success", self.owner[c], rep)
        text = _add_pii(rng, _pick_text(rng, CONSULT_TEXT, len(c)), self.cemail[c], self.cphone[c], 0.02)
        add(c, d, dept, _cat(["email", "phone", "chat"], rng.integers(0, 3, len(c))), "inbound", "consultation",
            status=st, resolved=np.where(st == "resolved", res, np.nan), rep=rep, reason=None, text=text,
            product=self._customer_product(c))
        # suggestions
        c, d = in_window(0.22)
        impl = rng.random(len(c)) < 0.3
        add(c, d, "product", _cat(["email", "community", "meeting"], rng.integers(0, 3, len(c))), "inbound", "suggestion",
            status=np.where(impl, "done", "open"), implemented=impl, text=_pick_text(rng, SUGGEST_TEXT, len(c)),
            product=self._customer_product(c))
        # education: academy users take courses; everybody gets webinars and documentation
        ac = np.flatnonzero(self.academy)
        k = 1 + rng.poisson(1.5, len(ac))
        c, _ = _expand(k)
        c = ac[c]
        lo_d = np.maximum(self.signup[c] + 14, _d("2022-07-01"))
        d = lo_d + np.floor(rng.random(len(c)) * np.maximum(stop[c] - lo_d + 1, 1)).astype(int)
        m = d <= stop[c]
        add(c[m], d[m], "customer_success", "academy", "inbound", "education", status="done", text=EDU_TEXT["academy"])
        c, d = in_window(0.35)
        ch = _cat(["webinar", "documentation"], rng.integers(0, 2, len(c)))
        add(c, d, np.where(ch == "webinar", "marketing", "customer_success"), ch, "inbound", "education",
            status="done", text=_cat([EDU_TEXT["webinar"], EDU_TEXT["documentation"]], (ch == "documentation").astype(int)))
        # demos: prospects and new customers before they signed
        pc = np.flatnonzero((self.kind == 1) | (acc & (self.signup >= DATA_START + 40)))
        k = 1 + (rng.random(len(pc)) < 0.15)
        c, _ = _expand(k)
        c = pc[c]
        d = np.where(self.kind[c] == 1, self.signup[c] + rng.integers(1, 40, len(c)), self.signup[c] - rng.integers(7, 40, len(c)))
        m = d <= DATA_END
        add(c[m], d[m], "sales", _cat(["video", "meeting"], rng.integers(0, 2, m.sum())), "outbound", "demo",
            status="done", rep=_cat(REPS["sales"], rng.integers(0, 3, m.sum())), text="Product demo.")
        # competitors' customers: met at events
        cc = np.flatnonzero(self.kind == 2)
        d = DATA_START + rng.integers(0, DATA_END - DATA_START, len(cc))
        add(cc, d, "marketing", "event", "inbound", "consultation", status="done",
            text="Visited our booth; uses a competitor today.")

        df = pd.concat(frames, ignore_index=True)
        df = df.sort_values(["day", "c"], kind="stable").reset_index(drop=True)
        pid = self.products["product_id"].to_numpy(dtype=object)
        prod = df["product"].to_numpy(dtype=object)
        has_p = pd.notna(prod)
        prod_id = np.full(len(df), None, dtype=object)
        prod_id[has_p] = pid[prod[has_p].astype(int)]
        impl = df["implemented"].to_numpy(dtype=object)
        implemented = pd.Series(impl).astype("boolean")
        out = pd.DataFrame({
            "interaction_id": _str_col(_ids("I", len(df), 6)),
            "customer_id": _str_col(self.cid[df["c"].to_numpy()]),
            "date": _to_date(df["day"].to_numpy()),
            "department": _str_col(df["department"].to_numpy()),
            "channel": _str_col(df["channel"].to_numpy()),
            "direction": _str_col(df["direction"].to_numpy()),
            "type": _str_col(df["type"].to_numpy()),
            "product_id": _str_col(prod_id),
            "status": _str_col(df["status"].to_numpy()),
            "resolved_date": _to_date(df["resolved"].to_numpy()),
            "rep": _str_col(df["rep"].to_numpy()),
            "reason_code": _str_col(df["reason_code"].to_numpy()),
            "implemented": implemented.array,
            "text": _str_col(df["text"].to_numpy()),
        })
        return out

    def _customer_product(self, c: np.ndarray) -> np.ndarray:
        """A product index the customer plausibly talks about: mostly its main plan, else any."""
        main = np.array([0, 1, 2])[self.plan[c]]
        other = self.rng.integers(0, len(PRODUCTS) - 1, len(c))
        return np.where(self.rng.random(len(c)) < 0.6, main, other)

    # ------------------------------------------------------------------ reviews
    def _reviews(self) -> pd.DataFrame:
        rng = self.rng
        nr = _n(1500, self.scale, 300)
        start, end = self._active_window()
        a = np.flatnonzero(self.acc & (end >= start))
        c = rng.choice(a, nr, replace=True)
        d = start[c] + np.floor(rng.random(nr) * (end[c] - start[c] + 1)).astype(int)
        prod = self._customer_product(c)
        ai = self.cat_products[CATEGORIES.index("ai")][0]
        prod = np.where((prod == ai) & (d < AI_LAUNCH), 0, prod)
        rating = np.clip(np.rint(3.6 + 0.9 * self.sat[c] + 0.8 * rng.standard_normal(nr)), 1, 5).astype("int64")
        text = np.empty(nr, dtype=object)
        for r, opts in REVIEW_TEXT.items():
            m = rating == r
            text[m] = _pick_text(rng, opts, int(m.sum()))
        anon = rng.random(nr) < 0.08
        order = np.argsort(d, kind="stable")
        pid = self.products["product_id"].to_numpy(dtype=object)
        return pd.DataFrame({
            "review_id": _str_col(_ids("RV", nr)),
            "customer_id": _str_col(np.where(anon, None, self.cid[c])[order]),
            "product_id": _str_col(pid[prod][order]),
            "date": _to_date(d[order]),
            "rating": rating[order],
            "text": _str_col(text[order]),
        })

    # ------------------------------------------------------------------ feedback items
    def _feedback(self) -> pd.DataFrame:
        rng, P = self.rng, self.P
        nf = _n(1500, self.scale, 300)
        sf = P["slow_feedback_team"]
        start, end = self._active_window()
        a = np.flatnonzero(self.acc & (end >= start))
        c = rng.choice(a, nf, replace=True)
        rep = start[c] + np.floor(rng.random(nf) * (end[c] - start[c] + 1)).astype(int)
        team = _alloc(nf, [0.3, 0.25, 0.3, 0.15], rng)
        slow = team == TEAMS.index(sf["team"])
        declined = rng.random(nf) < 0.12
        target = np.where(slow, sf["median_cycle_days"], sf["other_median_cycle_days"]).astype(float)
        z = np.exp(0.5 * _strat_normal(rng, team))
        # items reported late cannot ship before the data ends: stretch each team's cycles so that the
        # median over the SHIPPED items (what an analysis sees) is the planted one
        k = np.ones(nf)
        for ti in range(len(TEAMS)):                          # 4 teams x a bisection
            m = (team == ti) & ~declined
            if not m.any():
                continue
            lo_k, hi_k = 1.0, 3.0
            for _ in range(30):
                mid = (lo_k + hi_k) / 2
                cyc = np.rint(target[m] * mid * z[m])
                shipped_cyc = cyc[rep[m] + cyc <= DATA_END]
                if len(shipped_cyc) and np.median(shipped_cyc) < target[m][0]:
                    lo_k = mid
                else:
                    hi_k = mid
            k[team == ti] = hi_k
        cycle = np.rint(target * k * z)
        planned = rep + np.rint(cycle * 0.35)
        shipped = rep + cycle
        status = np.where(declined, "declined", np.where(shipped <= DATA_END, "shipped",
                          np.where(planned <= DATA_END, "planned", "open")))
        told_p = np.where(slow, sf["told_share"], sf["other_told_share"])
        told = np.minimum(shipped + rng.integers(0, 15, nf), DATA_END)
        told_ok = np.zeros(nf, dtype=bool)
        sh = np.flatnonzero(status == "shipped")
        told_ok[sh] = _exact_share(rng, team[sh], told_p[sh])
        dec_told = declined & (rng.random(nf) < 0.5)
        told_day = np.where(told_ok, told, np.where(dec_told, rep + rng.integers(5, 30, nf), np.nan))
        told_day = np.where(told_day > DATA_END, np.nan, told_day)
        typ = np.where(rng.random(nf) < 0.55, "bug", "request")
        text = np.empty(nf, dtype=object)
        for ti, tn in enumerate(TEAMS):
            m = team == ti
            text[m] = _pick_text(rng, FEEDBACK_TEXT[tn], int(m.sum()))
        order = np.argsort(rep, kind="stable")
        return pd.DataFrame({
            "item_id": _str_col(_ids("F", nf)),
            "customer_id": _str_col(self.cid[c][order]),
            "type": _str_col(typ[order]),
            "team": _str_col(_cat(TEAMS, team)[order]),
            "reported_date": _to_date(rep[order]),
            "status": _str_col(status[order]),
            "planned_date": _to_date(np.where(np.isin(status, ["planned", "shipped"]), planned, np.nan)[order]),
            "shipped_date": _to_date(np.where(status == "shipped", shipped, np.nan)[order]),
            "customer_told_date": _to_date(told_day[order]),
            "text": _str_col(text[order]),
        })

    # ------------------------------------------------------------------ qualitative
    def _qualitative(self):
        rng, P = self.rng, self.P
        s = self.scale
        # --- participants
        n_int = _n(36, s, 36)        # interviewees (1:1, group, phone, video, focus group)
        n_dec = _n(8, s, 6)          # on the recruitment list, did not take part
        n_com = _n(16, s, 16)        # community posters (self-selected)
        n_exp = 6                    # the expert council
        si = P["sample_imbalance"]
        regions_int = _alloc(n_int, [0.62, 0.21, 0.15, 0.02], rng)       # NA over, LATAM under
        status_int = _alloc(n_int, [0.83, 0.03, 0.09, 0.05], rng)        # churned under
        assert REGIONS[0] == si["over"]["region"]
        regions_dec = _alloc(n_dec, [0.25, 0.25, 0.15, 0.35], rng)
        status_dec = _alloc(n_dec, [0.4, 0.5, 0.05, 0.05], rng)
        regions_com = _alloc(n_com, REGION_SHARES, rng)
        status_com = _alloc(n_com, [0.55, 0.45, 0.0, 0.0], rng)
        part_status = np.concatenate([status_int, status_dec, status_com])
        part_region = np.concatenate([regions_int, regions_dec, regions_com])
        st_pool = {0: self.acc & ~self.churned, 1: self.churned, 2: self.kind == 1, 3: self.kind == 2}
        pc = np.empty(len(part_status), dtype=int)
        # match each participant to a customer of the same status and region (or status only)
        for stt in range(4):
            for r in range(4):
                rows = np.flatnonzero((part_status == stt) & (part_region == r))
                if not len(rows):
                    continue
                pool = np.flatnonzero(st_pool[stt] & (self.region == r))
                if len(pool) < len(rows):
                    pool = np.flatnonzero(st_pool[stt])
                pc[rows] = rng.choice(pool, len(rows), replace=len(pool) < len(rows))
        npart = len(pc) + n_exp
        kind = np.concatenate([np.full(n_int, "interviewee"), np.full(n_dec, "declined"), np.full(n_com, "community"),
                               np.full(n_exp, "expert")]).astype(object)
        cust = np.concatenate([pc, np.full(n_exp, -1)])
        status_names = ["existing", "churned", "prospect", "competitor"]
        _, _, pname = _names(rng, npart)
        roles = _cat(["decision_maker", "influencer", "purchaser", "user", "champion"], rng.integers(0, 5, npart))
        roles = np.where(kind == "expert", "expert", roles)
        exp_region = _cat(REGIONS, _alloc(n_exp, [0.34, 0.33, 0.33, 0.0]))
        region = np.concatenate([_cat(REGIONS, part_region), exp_region])
        pstatus = np.concatenate([_cat(status_names, part_status), np.full(n_exp, None)])
        recruited = pd.array(np.where(kind == "declined", False, True), dtype="boolean")
        recruited[kind == "community"] = pd.NA
        pid = _ids("PT", npart, 3)
        age = _cat(["18-29", "30-39", "40-49", "50-59", "60+"], rng.choice(5, npart, p=[0.1, 0.3, 0.3, 0.2, 0.1]))
        age = np.where(kind == "expert", "60+", age)
        participants = pd.DataFrame({
            "participant_id": _str_col(pid),
            "customer_id": _str_col(np.where(cust >= 0, self.cid[np.maximum(cust, 0)], None)),
            "name": _str_col(pname),
            "segment": _str_col(np.where(cust >= 0, _cat(SEGMENTS, self.seg[np.maximum(cust, 0)]), None)),
            "region": _str_col(region),
            "role": _str_col(roles),
            "customer_status": _str_col(pstatus),
            "gender": _str_col(_cat(["female", "male", "other", "undisclosed"], rng.choice(4, npart, p=[0.47, 0.47, 0.02, 0.04]))),
            "age_band": _str_col(age),
            "recruited": recruited,
        })

        # --- sources and speaker turns
        int_idx = np.flatnonzero(kind == "interviewee")
        n_fg = max(6, int(round(len(int_idx) * 0.17)))
        fg_members = int_idx[-n_fg:]                                   # one focus group
        solo = int_idx[:-n_fg]
        n_grp = max(3, int(round(len(solo) * 0.1)))
        grp_members = solo[-n_grp:]                                    # one group (1:many) interview
        solo = solo[:-n_grp]
        solo_kind = _cat(["interview_1to1", "phone_interview", "video_interview"],
                         _alloc(len(solo), [0.55, 0.2, 0.25], rng))
        com_idx = np.flatnonzero(kind == "community")
        exp_idx = np.flatnonzero(kind == "expert")
        src_rows = []   # (kind, participant or -1, day, title, speakers array, n_turns)
        fw0 = _d("2024-07-01")
        for i, p in enumerate(solo):                                   # sources: tens, not rows of a big table
            src_rows.append((solo_kind[i], p, fw0 + int(rng.integers(0, 80)), f"{KIND_TITLE[solo_kind[i]]} {i + 1}", np.array([p]), 30))
        src_rows.append(("group_interview", -1, fw0 + 40, "Group interview with operations leads", grp_members, 8 * len(grp_members)))
        src_rows.append(("focus_group", -1, fw0 + 55, "Focus group: getting value in the first months", fg_members, 8 * len(fg_members)))
        for j in range(2):
            src_rows.append(("expert_session", -1, fw0 + 20 + 45 * j, f"Expert council round table {j + 1}", exp_idx, 30))
        # community posts: 1-3 posts each
        for i, p in enumerate(com_idx):
            for k in range(int(rng.integers(1, 4))):
                src_rows.append(("community_post", p, DATA_START + int(rng.integers(0, DATA_END - DATA_START)),
                                 "Community thread", np.array([p]), 2))
        # immersive research: an observation log of ~20 dated entries over 4 weeks at one customer
        obs_days = _d("2024-05-06") + np.sort(rng.choice(np.flatnonzero(np.arange(28) % 7 < 5), 20, replace=False))
        host = int(int_idx[0])
        for k, od in enumerate(obs_days):
            src_rows.append(("observation_log", -1, int(od), f"Observation log day {k + 1}", np.array([host]), 4))
        ns = len(src_rows)
        src_kind = np.array([r[0] for r in src_rows], dtype=object)
        src_part = np.array([r[1] for r in src_rows])
        src_day = np.array([r[2] for r in src_rows])
        src_title = np.array([r[3] for r in src_rows], dtype=object)
        n_turns = np.array([r[5] for r in src_rows])
        src_id = _ids("QS", ns, 3)
        # answers ("segments"): one per participant turn; speakers rotate through the source's list
        sidx, tpos = _expand(n_turns)
        spk_len = np.array([len(r[4]) for r in src_rows])
        spk_flat = np.concatenate([r[4] for r in src_rows])
        spk_start = np.cumsum(spk_len) - spk_len
        speaker = spk_flat[spk_start[sidx] + tpos % spk_len[sidx]]
        nseg = len(sidx)
        is_probe = ((src_kind[sidx] != "community_post") & (src_kind[sidx] != "observation_log") & (tpos > 0)
                    & (rng.random(nseg) < 0.25))
        # code per segment: base distribution; enterprise -> onboarding friction; planted churn code
        base_w = {c: 1.0 for c in LEAF_CODES}
        base_w.update({"integration_pain": 0.0, "onboarding_friction": 1.4, "slow_support": 1.2, "price_concern": 1.2,
                       "missing_feature": 1.3, "reporting_needs": 1.2})
        w = np.array([base_w[c] for c in LEAF_CODES])
        w_ent = w.copy()
        w_ent[LEAF_CODES.index("onboarding_friction")] *= 2.5
        w_ent[LEAF_CODES.index("onboarding_praise")] *= 0.4
        probs = np.vstack([w / w.sum(), w_ent / w_ent.sum()])
        sp_cust = cust[speaker]
        sp_ent = (sp_cust >= 0) & (self.seg[np.maximum(sp_cust, 0)] == 0)
        code = _choice_rows(rng, probs, sp_ent.astype(int))
        # planted: integration_pain mentioned by rate_churned of churned and rate_other of other participants
        cc = P["churn_code"]
        ip = LEAF_CODES.index(cc["code"])
        coded_parts = np.unique(speaker)
        is_ch = pstatus[coded_parts] == "churned"
        has_code = np.zeros(npart, dtype=bool)
        for flag, rate in [(True, cc["rate_churned"]), (False, cc["rate_other"])]:
            grp = coded_parts[is_ch == flag]
            if flag is False:
                grp = grp[kind[grp] != "expert"]
            k = int(round(rate * len(grp)))
            has_code[rng.choice(grp, k, replace=False)] = True
        # each such participant: 1-3 of their segments become integration_pain
        rnd = rng.random(nseg)
        in_log = src_kind[sidx] == "observation_log"       # log entries are not attributed to a participant
        order = np.lexsort((rnd, in_log, speaker))
        rank = np.empty(nseg, dtype=int)
        sp_sorted = speaker[order]
        first = np.r_[0, np.flatnonzero(np.diff(sp_sorted)) + 1]
        counts = np.diff(np.r_[first, nseg])
        rank[order] = np.arange(nseg) - np.repeat(first, counts)
        n_ip = rng.integers(1, 4, npart)
        code = np.where(has_code[speaker] & (rank < n_ip[speaker]) & ~in_log, ip, code)
        # excerpt texts
        excerpt = np.empty(nseg, dtype=object)
        for ci_, cname in enumerate(LEAF_CODES):
            m = code == ci_
            excerpt[m] = _pick_text(rng, CODE_TEXT[cname], int(m.sum()))
        sp_email = _emails(_cat(FIRST_NAMES, rng.integers(0, 40, nseg)), _cat(LAST_NAMES, rng.integers(0, 40, nseg)),
                           np.where(sp_cust >= 0, self.domain[np.maximum(sp_cust, 0)], "example.org"))
        sp_phone = _phones(rng, _cat(REGIONS, self.region[np.maximum(sp_cust, 0)]))
        excerpt = _add_pii(rng, excerpt, sp_email, sp_phone, 0.01)
        # transcript text: Interviewer question (or probe) / Participant answer
        parent_of = {c: p for c, p, _, _ in CODEBOOK}
        q = _pick_text(rng, PROBES, nseg)
        leaf_parent = np.array([parent_of[c] for c in LEAF_CODES], dtype=object)[code]
        for par, opts in QUESTIONS.items():                  # 5 parent codes
            m = ~is_probe & (leaf_parent == par)
            q[m] = _pick_text(rng, opts, int(m.sum()))
        multi = np.isin(src_kind[sidx], ["focus_group", "group_interview", "expert_session"])
        speaker_label = np.where(multi, ("Participant " + pd.Series(pid[speaker]).str[2:]).to_numpy(dtype=object),
                                 "Participant")
        moderator = np.where(np.isin(src_kind[sidx], ["focus_group", "expert_session"]), "Moderator", "Interviewer")
        line = pd.Series(moderator) + ": " + pd.Series(q) + "\n" + pd.Series(speaker_label) + ": " + pd.Series(excerpt)
        line = np.where(src_kind[sidx] == "community_post", excerpt, line.to_numpy(dtype=object))
        line = np.where(src_kind[sidx] == "observation_log",
                        ("Observed at the site, a user said: \"" + pd.Series(excerpt) + "\"").to_numpy(dtype=object), line)
        text = pd.Series(line).groupby(sidx, sort=True).agg("\n".join).to_numpy(dtype=object)
        # turn numbers: the participant's turn is the second line of each exchange
        turn = 2 * tpos + 1
        qual_sources = pd.DataFrame({
            "source_id": _str_col(src_id),
            "kind": _str_col(src_kind),
            "date": _to_date(src_day),
            "participant_id": _str_col(np.where(src_part >= 0, pid[np.maximum(src_part, 0)], None)),
            "title": _str_col(src_title),
            "text": _str_col(text),
        })
        seg_id = _ids("SG", nseg)
        seg_a = pd.DataFrame({
            "segment_id": seg_id, "source_id": src_id[sidx], "participant_id": pid[speaker],
            "coder": "coder_a", "code": _cat(LEAF_CODES, code), "excerpt": excerpt,
            "turn": turn, "is_probe": is_probe,
        })
        seg_a.loc[src_kind[sidx] == "observation_log", "participant_id"] = None
        # some excerpts carry a second code (never integration_pain: its planted rates stay exact)
        two = (rng.random(nseg) < 0.15) & (code != ip)
        second = (code[two] + rng.integers(1, len(LEAF_CODES), int(two.sum()))) % len(LEAF_CODES)
        second = np.where(second == ip, (second + 1) % len(LEAF_CODES), second)
        second = np.where(second == code[two], (second + 1) % len(LEAF_CODES), second)
        extra_codes = seg_a[two].copy()
        extra_codes["code"] = _cat(LEAF_CODES, second)
        # double coding of ~20% of segments by coder_b, agreeing most of the time (kappa ~0.7)
        dbl = rng.random(nseg) < 0.20
        b = seg_a[dbl].copy()
        b["coder"] = "coder_b"
        flip = rng.random(len(b)) < 0.26
        other = rng.integers(1, len(LEAF_CODES), len(b))
        L = len(LEAF_CODES)
        bcode = (code[dbl] + np.where(flip, other, 0)) % L
        moved = (bcode == ip) & (code[dbl] != ip)          # coder_b never invents the planted code
        bcode = np.where(moved, (bcode + 1) % L, bcode)
        bcode = np.where(moved & (bcode == code[dbl]), (bcode + 1) % L, bcode)
        b["code"] = _cat(LEAF_CODES, bcode)
        segs = pd.concat([seg_a, extra_codes, b], ignore_index=True).sort_values(["segment_id", "coder"], kind="stable").reset_index(drop=True)
        for c in ("segment_id", "source_id", "participant_id", "coder", "code", "excerpt"):
            segs[c] = segs[c].astype("str")
        segs["turn"] = pd.array(segs["turn"].to_numpy(dtype="int64"), dtype="Int64")
        segs["is_probe"] = segs["is_probe"].astype("boolean")
        cb = pd.DataFrame(CODEBOOK, columns=["code", "parent", "definition", "hypotheses"])
        for c in cb.columns:
            cb[c] = cb[c].astype("str")
        return participants, qual_sources, cb, segs
