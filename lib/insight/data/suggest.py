"""`make map FILE=export.csv [TABLE=customers] [STUDY=...] [SHEET=...]`: a first mapping of an
export onto a canonical table, written as a commented block for `data.tables` in params.

Every canonical column gets the file column that fits best by name (the canonical name, common
synonyms, case/spacing/camelCase ignored) and by content (emails, phones, dates, numbers, yes/no,
categories whose values map onto the allowed ones, free text, ids — and ids that join to a table
the study has already mapped). Categorical columns get the `values:` mapping they need (their
churn flag Yes/No -> our status values, their tiers -> our segments), dates their `date_format`,
keys that repeat `one_row_per_key`, required columns that may be unknown `defaults: {col: null}`.
What it could not place is listed in comments; `make validate` then says what is still missing.

The block is YAML indented to sit under `data:` / `  tables:` of params/<study>.yaml and loads
and validates there as is. `make map` prints it; with STUDY it also writes it to the new file
params/mappings/<study>.<table>.yaml and never overwrites one that exists.
"""
from __future__ import annotations

import difflib
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from insight.checks import load_yaml
from insight.data.mapping import TRUE, norm_label
from insight.data.profile import ColumnProfile, FileProfile, split_camel
from insight.data.schema import TABLES, Col, Table

UNKNOWN = "(unknown)"  # written where a label the table needs is missing
ACCEPT = 0.6          # a file column is mapped when its score reaches this
SURE = 0.85           # ... and called a sure match (no "check") from this score
JOIN_SHARE = 0.8      # share of a column's distinct values found in another table's ids to call it a join

# Other names exports use for canonical columns (compared after splitting camelCase and lower-casing).
SYNONYMS: dict[str, list[str]] = {
    "customer_id": ["customer", "customer_no", "customer_number", "cust_id", "client_id", "client", "account_id",
                    "account", "account_no", "account_number", "crm_id", "user_id"],
    "product_id": ["product", "sku", "stock_code", "item_id", "item", "article", "product_code", "plan_id",
                   "clothing_id"],
    "order_id": ["order", "order_no", "order_number", "invoice", "invoice_no", "invoice_id", "transaction_id"],
    "subscription_id": ["subscription", "contract_id", "contract_no", "agreement_id"],
    "interaction_id": ["ticket_id", "ticket", "case_id", "case", "activity_id", "contact_id"],
    "review_id": ["review", "unnamed_0", "index", "row", "row_id", "id"],
    "respondent_id": ["respondent", "response_id", "response", "submission_id", "participant"],
    "participant_id": ["participant", "interviewee", "case"],
    "item_id": ["feedback_id", "issue_id", "issue", "ticket_id", "key"],
    "event_id": ["hit_id", "session_event_id"],
    "visitor_id": ["visitor", "anonymous_id", "session_id", "cookie_id", "device_id"],
    "name": ["contact", "contact_name", "full_name", "contact_person", "customer_name", "product_name", "title",
             "description"],
    "email": ["e_mail", "mail", "email_address", "contact_email"],
    "phone": ["telephone", "tel", "mobile", "phone_number", "contact_phone", "cell"],
    "company": ["company_name", "account_name", "organisation", "organization", "business", "firm"],
    "region": ["area", "territory", "sales_region", "geo", "zone"],
    "country": ["country_code", "nation"],
    "segment": ["tier", "customer_type", "size", "customer_segment", "account_type", "class", "band"],
    "industry": ["sector", "vertical", "branch"],
    "employees": ["headcount", "staff", "employee_count", "number_of_employees", "company_size"],
    "signup_date": ["created", "created_at", "created_date", "signup", "sign_up_date", "registered", "registration_date",
                    "join_date", "joined", "customer_since", "start_date", "first_order_date", "acquired"],
    "churn_date": ["churned_at", "churned_on", "cancel_date", "cancellation_date", "cancelled_at", "lost_date",
                   "end_date", "terminated"],
    "status": ["churn", "churned", "churn_flag", "is_churned", "exited", "attrition", "stage", "state",
               "lifecycle", "customer_status", "account_status", "active"],
    "churn_reason": ["reason", "cancel_reason", "cancellation_reason", "lost_reason", "churn_cause"],
    "owner": ["account_manager", "csm", "account_owner", "rep", "manager", "customer_success_manager"],
    "acquisition_channel": ["source", "lead_source", "channel", "acquisition_source", "origin", "campaign"],
    "category": ["product_category", "group", "product_group", "type", "department", "department_name",
                 "family", "class_name", "product_line"],
    "launch_date": ["launched", "release_date", "released", "introduced"],
    "list_price": ["price", "unit_price", "list", "rrp", "msrp"],
    "order_date": ["date", "invoice_date", "order_time", "ordered_at", "purchase_date", "transaction_date"],
    "quantity": ["qty", "units", "amount_units", "number", "count"],
    "revenue": ["amount", "total", "sales", "value", "net_amount", "line_total", "turnover", "price_total"],
    "is_return": ["return", "returned", "is_returned", "cancelled", "refund"],
    "settlement_days": ["days_to_pay", "payment_days", "dso"],
    "plan": ["contract", "plan_name", "package", "edition", "tier"],
    "mrr": ["monthly_charges", "monthly_revenue", "monthly_fee", "monthly_price", "monthly_amount", "mrr_amount"],
    "seats": ["licenses", "licences", "users", "seat_count"],
    "start_date": ["start", "started", "contract_start", "begin_date", "from"],
    "end_date": ["end", "ended", "contract_end", "to", "expiry_date", "expires"],
    "renewal_date": ["renewal", "renews_on", "next_renewal"],
    "period": ["month", "billing_month", "date"],
    "date": ["created", "created_at", "timestamp", "opened", "opened_at", "review_date", "posted", "posted_at"],
    "department": ["team", "dept", "queue", "function"],
    "direction": ["inbound_outbound", "in_out"],
    "type": ["kind", "category", "interaction_type", "ticket_type", "activity_type"],
    "resolved_date": ["resolved", "resolved_at", "closed", "closed_at", "closed_date"],
    "rep": ["agent", "assignee", "owner", "handled_by"],
    "reason_code": ["reason", "topic", "category_code"],
    "implemented": ["done", "shipped"],
    "text": ["review_text", "comment", "comments", "body", "message", "description", "notes", "feedback",
             "verbatim", "content", "review"],
    "rating": ["stars", "score", "star_rating", "review_rating"],
    "wave": ["year", "survey_year", "round"],
    "started_at": ["start_date", "start_time", "started", "startdate"],
    "submitted_at": ["end_date", "end_time", "submitted", "completed_at", "enddate"],
    "duration_seconds": ["duration", "duration_in_seconds", "time_taken", "seconds"],
    "completed": ["finished", "complete", "is_complete"],
    "age_band": ["age_group", "age_range", "age"],
    "role": ["job_role", "position", "job_title", "function"],
    "customer_status": ["status", "customer_type"],
    "timestamp": ["time", "event_time", "datetime", "date"],
    "step": ["stage", "event", "funnel_step", "page"],
    "touchpoint": ["page", "touch", "campaign"],
    "month": ["period", "date"],
    "feature": ["module", "feature_name"],
    "active_users": ["users", "mau", "active"],
    "events": ["event_count", "actions", "sessions"],
    "team": ["squad", "owner_team", "component"],
    "reported_date": ["reported", "created", "created_at", "opened"],
    "planned_date": ["planned", "scheduled"],
    "shipped_date": ["shipped", "released", "release_date"],
    "customer_told_date": ["customer_notified", "notified", "told"],
}

# Their labels that mean one of ours (after norm_label), per canonical column.
VALUE_SYNONYMS: dict[str, dict[str, str]] = {
    "customers.status": {"active": "existing", "current": "existing", "customer": "existing", "live": "existing",
                         "retained": "existing", "stayed": "existing", "lost": "churned", "cancelled": "churned",
                         "canceled": "churned", "former": "churned", "inactive": "churned", "left": "churned",
                         "closed": "churned", "terminated": "churned", "lead": "prospect", "trial": "prospect",
                         "opportunity": "prospect", "competitor_customer": "competitor"},
    "subscriptions.status": {"live": "active", "current": "active", "running": "active", "canceled": "cancelled",
                             "terminated": "cancelled", "churned": "cancelled", "ended": "expired", "lapsed": "expired"},
    "segment": {"large": "enterprise", "corporate": "enterprise", "key_account": "enterprise", "strategic": "enterprise",
                "enterprise_account": "enterprise", "mid": "mid_market", "midmarket": "mid_market", "medium": "mid_market",
                "mm": "mid_market", "commercial": "mid_market", "small": "smb", "sme": "smb", "startup": "smb",
                "small_business": "smb", "smb_account": "smb"},
    "gender": {"f": "female", "woman": "female", "m": "male", "man": "male", "diverse": "other", "non_binary": "other",
               "prefer_not_to_say": "undisclosed", "unknown": "undisclosed"},
    "direction": {"in": "inbound", "incoming": "inbound", "out": "outbound", "outgoing": "outbound"},
}
# Yes/no flags that say "churned" (customers.status and the like): true -> first, false -> second.
CHURN_FLAGS = {"customers.status": ("churned", "existing"), "subscriptions.status": ("cancelled", "active"),
               "survey_responses.customer_status": ("churned", "existing"),
               "participants.customer_status": ("churned", "existing")}
ROW_NUMBERS = ("", "unnamed_0", "index", "id", "row", "rownames", "row_names", "x")
TENURE = re.compile(r"^(tenure|months?|lifetime|customer_age|months_active|months_as_customer|days_as_customer|"
                    r"tenure_months|tenure_days)(_.*)?$")


def _tokens(s: str) -> set[str]:
    return {t for t in s.split("_") if t}


def name_score(file_col: str, canon: Col) -> float:
    """1 for the canonical name itself (any case/spacing/camelCase), near 1 for a known synonym,
    otherwise the best string similarity."""
    return _name_score(file_col, canon.name)


@functools.lru_cache(maxsize=20_000)
def _name_score(file_col: str, canon: str) -> float:
    n = split_camel(file_col)
    if not n:
        return 0.0
    names = [canon, *SYNONYMS.get(canon, [])]
    best = 0.0
    for i, target in enumerate(names):
        weight = 1.0 if i == 0 else 0.95
        if n == target or n.replace("_", "") == target.replace("_", ""):
            return weight
        a, b = _tokens(n), _tokens(target)
        if a and b and (a <= b or b <= a) and len(a & b) >= 1:
            score = 0.8 * weight * len(a & b) / max(len(a), len(b)) + 0.1
        else:
            score = 0.8 * difflib.SequenceMatcher(None, n, target).ratio() * weight
        best = max(best, score)
    return best


def value_map(table: Table, col: Col, prof: ColumnProfile, allowed: tuple | None = None
              ) -> tuple[dict, list[str], float]:
    """(their value -> ours for values that need mapping, their values that could not be placed,
    share of the rows whose value is placed)."""
    allowed = tuple(allowed or col.allowed or ())
    if not prof.top:
        return {}, [], 0.0
    key = f"{table.name}.{col.name}"
    syn = VALUE_SYNONYMS.get(key, VALUE_SYNONYMS.get(col.name, {}))
    mapping, unplaced, placed = {}, [], 0
    total = sum(n for _, n in prof.top) or 1
    if prof.kind == "boolean" and key in CHURN_FLAGS:
        yes, no = CHURN_FLAGS[key]
        for v, n in prof.top:
            mapping[v] = yes if v.strip().lower() in TRUE else no
        return mapping, [], 1.0
    canon = {norm_label(a): a for a in allowed}
    for v, n in prof.top:
        nv = norm_label(v)
        if nv in canon:                # case/spacing variants are read as they are
            placed += n
            continue
        target = syn.get(nv)
        if target is None:
            close = difflib.get_close_matches(nv, list(canon), n=1, cutoff=0.75)
            target = canon[close[0]] if close else None
        if target is not None and target in allowed:
            mapping[v] = target
            placed += n
        else:
            unplaced.append(v)
    return mapping, unplaced, placed / total


def content_score(table: Table, col: Col, prof: ColumnProfile, joins: dict[str, set[str]] | None,
                  profile: FileProfile) -> tuple[float, str]:
    """How well the column's values fit the canonical column (0 = cannot be it) and why."""
    kind = prof.kind
    if kind == "empty":
        return 0.0, ""
    if col.dtype in ("date", "datetime"):
        return (1.0, "dates") if kind in ("date", "datetime") else (0.0, "")
    if col.personal and col.name == "email":
        return (1.0, "emails") if kind == "email" else (0.0, "")
    if col.name == "phone":
        return (1.0, "phone numbers") if kind == "phone" else ((0.5, "") if kind == "integer" else (0.0, ""))
    if kind in ("email", "phone") or prof.personal and not col.personal:
        return 0.0, ""
    if col.personal and prof.distinct < 0.5 * prof.present:   # contact names mostly differ
        return 0.0, ""
    if col.dtype == "bool":
        return (1.0, "yes/no values") if kind == "boolean" else (0.0, "")
    if col.dtype in ("int", "float"):
        if kind not in ("integer", "number", "money"):
            return 0.0, ""
        if col.dtype == "int" and not prof.whole:
            return 0.2, ""
        if col.min is not None and prof.minimum is not None and prof.minimum < col.min:
            return 0.3, ""
        if col.max is not None and prof.maximum is not None and prof.maximum > col.max:
            return 0.2, ""
        if col.min is not None and col.max is not None:
            return 1.0, f"whole numbers {prof.minimum:g}-{prof.maximum:g}"
        return (1.0, "amounts with a currency sign") if kind == "money" else (0.9, "numbers")
    # text columns
    if col.references and joins is not None and col.references in joins:
        known = joins[col.references]
        vals = set(profile.values(prof.name).unique())
        share = len(vals & known) / len(vals) if vals else 0.0
        other = col.references.split(".")[0]
        if share >= JOIN_SHARE:
            return 1.2, f"{share:.0%} of its values are {col.references.split('.')[1]}s of the study's {other} table"
        if share < 0.2:
            return 0.1, ""
    is_id = col.name.endswith("_id") or col.name in table.key
    if is_id:
        if prof.id_like or kind == "integer":
            key_single = table.key == (col.name,)
            if key_single and not prof.unique:
                return 0.7, "ids (they repeat: one_row_per_key)"
            return (1.0, "unique ids") if prof.unique else (0.9, "ids")
        if kind == "category" and prof.top and all(re.search(r"\d", v) and " " not in v for v, _ in prof.top):
            return 0.8, "codes"
        return (0.4, "") if kind == "category" else (0.1, "")
    if col.free_text:
        return (1.0, "free text") if kind == "text" else ((0.3, "") if kind == "category" else (0.0, ""))
    if col.allowed:
        if kind not in ("category", "boolean"):
            return 0.0, ""
        _, unplaced, share = value_map(table, col, prof)
        if share >= 0.9:
            return 1.0, "its values map onto ours"
        return 0.3 + 0.5 * share, ""
    if kind in ("category", "text", "id"):
        return (0.8, "") if kind == "category" else (0.5, "")
    return 0.2, ""


@dataclass
class Guess:
    column: str
    canonical: str
    score: float
    why: str


@dataclass
class Suggestion:
    table: str
    table_why: str
    profile: FileProfile
    guesses: dict[str, Guess] = field(default_factory=dict)          # canonical -> file column
    values: dict[str, dict] = field(default_factory=dict)
    unplaced_values: dict[str, list[str]] = field(default_factory=dict)
    defaults: dict[str, None] = field(default_factory=dict)
    compute: dict[str, str] = field(default_factory=dict)
    drop_missing: list[str] = field(default_factory=list)
    fill_missing: dict[str, str] = field(default_factory=dict)
    aggregate: dict[str, str] = field(default_factory=dict)
    date_format: str | None = None
    date_notes: list[str] = field(default_factory=list)
    one_row_per_key: bool = False
    missing: list[tuple[str, str]] = field(default_factory=list)     # required canonical column, hint
    unused: list[ColumnProfile] = field(default_factory=list)

    def spec(self) -> dict:
        """The mapping as the dict `data.tables.<table>` takes."""
        out: dict = {"path": self.profile.path}
        if self.profile.sheet:
            out["sheet"] = self.profile.sheet
        cols = {g.column: c for c, g in sorted(self.guesses.items(), key=lambda kv: self._order(kv[1].column))}
        if cols:
            out["columns"] = cols
        values = {c: self.values.get(c, {}) for c in [c.name for c in TABLES[self.table].columns]
                  if c in self.values or c in self.unplaced_values}
        if values:
            out["values"] = values
        if self.defaults:
            out["defaults"] = self.defaults
        if self.compute:
            out["compute"] = self.compute
        if self.drop_missing:
            out["drop_missing"] = self.drop_missing
        if self.fill_missing:
            out["fill_missing"] = self.fill_missing
        if self.date_format:
            out["date_format"] = self.date_format
        if self.one_row_per_key:
            out["one_row_per_key"] = True
        if self.aggregate:
            out["aggregate"] = self.aggregate
        return out

    def _order(self, column: str) -> int:
        return [c.name for c in self.profile.columns].index(column)

    def block(self, indent: int = 4) -> str:
        return render_block(self, indent)


def suggest_mapping(profile: FileProfile, table: str | None = None,
                    joins: dict[str, set[str]] | None = None, segments: list[str] | None = None) -> Suggestion:
    """The best mapping of the profiled file onto `table` (guessed from the columns when None).
    `joins`: 'table.column' -> the ids the study already has (for columns that refer to them)."""
    if table is None:
        table, why = guess_table(profile, joins)
    else:
        if table not in TABLES:
            close = difflib.get_close_matches(table, list(TABLES), n=1)
            raise ValueError(f"TABLE={table} is not a canonical table" + (f" (did you mean {close[0]}?)" if close else "")
                             + f"; tables: {', '.join(TABLES)}")
        why = "as asked (TABLE=)"
    t = TABLES[table]
    sug = Suggestion(table, why, profile)
    pairs = []
    for col in t.columns:
        for prof in profile.columns:
            s, reason = _score(t, col, prof, joins, profile)
            if s >= ACCEPT:
                pairs.append((s, col.name, prof.name, reason))
    pairs.sort(key=lambda x: -x[0])
    used: set[str] = set()
    for s, cname, fname, reason in pairs:
        if cname in sug.guesses or fname in used:
            continue
        sug.guesses[cname] = Guess(fname, cname, s, reason)
        used.add(fname)
    # values, dates, keys
    dates = []
    for cname, g in sug.guesses.items():
        col, prof = t.col(cname), profile.column(g.column)
        if col.allowed:
            allowed = tuple(segments) if (cname == "segment" and segments) else col.allowed
            mapping, unplaced, _ = value_map(t, col, prof, allowed)
            if mapping:
                sug.values[cname] = mapping
            if unplaced:
                sug.unplaced_values[cname] = unplaced
        if col.dtype in ("date", "datetime") and prof.date_format:
            dates.append((cname, prof))
    if dates:
        fmts = {p.date_format for _, p in dates}
        sug.date_format = dates[0][1].date_format
        if len(fmts) > 1:
            sug.date_notes.append(f"the date columns use different formats ({', '.join(sorted(fmts))}): "
                                  "one `date_format:` applies to all; export them alike")
        for cname, p in dates:
            if p.date_ambiguous:
                sug.date_notes.append(f"{p.name}: every value also reads as {', '.join(p.date_ambiguous)} "
                                      "(day and month both 12 or less): check which it is")
    # missing values where the table needs one: rows without an id are dropped, labels filled
    for cname, g in sug.guesses.items():
        col, prof = t.col(cname), profile.column(g.column)
        if col.nullable or not prof.missing:
            continue
        if col.name.endswith("_id") or col.name in t.key:
            sug.drop_missing.append(cname)
        elif col.dtype == "str" and not col.allowed:
            sug.fill_missing[cname] = UNKNOWN
    if len(t.key) == 1 and t.key[0] in sug.guesses and not profile.column(sug.guesses[t.key[0]].column).unique:
        sug.one_row_per_key = True
    elif len(t.key) > 1 and all(k in sug.guesses for k in t.key):
        keycols = [sug.guesses[k].column for k in t.key]
        if profile.frame.duplicated(subset=keycols).any():
            sug.one_row_per_key = True
    if len(t.key) == 1 and t.key[0] not in sug.guesses:
        other = next((c for c, g in sug.guesses.items() if c.endswith("_id") and profile.column(g.column).unique), None)
        if other:
            sug.compute[t.key[0]] = other
    # order lines with a unit price but no line amount: revenue = quantity x unit price
    if table == "orders" and "revenue" not in sug.guesses and "quantity" in sug.guesses:
        price = next((p for p in profile.columns if p.name not in used and p.kind in ("number", "integer", "money")
                      and _name_score(p.name, "list_price") >= 0.9), None)
        if price is not None:
            sug.guesses["unit_price"] = Guess(price.name, "unit_price", 0.9, "unit prices (for revenue)")
            used.add(price.name)
            sug.compute["revenue"] = "quantity * unit_price"
    if table == "orders" and sug.one_row_per_key:   # repeated lines of a product in one order are summed
        sug.aggregate = {c: "sum" for c in ("quantity", "revenue") if c in sug.guesses or c in sug.compute}
    if table == "orders" and "is_return" not in sug.guesses and "quantity" in sug.guesses:
        qty = profile.column(sug.guesses["quantity"].column)
        if qty.minimum is not None and qty.minimum < 0:
            sug.compute["is_return"] = "quantity < 0"
    # required columns not found
    tenure = next((p for p in profile.columns if TENURE.match(split_camel(p.name)) and p.kind == "integer"
                   and p.name not in used), None)
    for col in t.columns:
        if not col.required or col.name in sug.guesses or col.name in sug.compute:
            continue
        if col.nullable:
            sug.defaults[col.name] = None
            continue
        hint = _missing_hint(t, col, tenure)
        sug.missing.append((col.name, hint))
    sug.unused = [p for p in profile.columns if p.name not in used]
    return sug


SPECIFIC = ("dates", "emails", "phone numbers", "yes/no values", "free text", "its values map onto ours",
            "whole numbers", "amounts")


def _score(t: Table, col: Col, prof: ColumnProfile, joins, profile) -> tuple[float, str]:
    c, reason = content_score(t, col, prof, joins, profile)
    if c <= 0:
        return 0.0, ""
    n = name_score(prof.name, col)
    # the name must say more when the content says less: specific content (emails, dates, values
    # that map...) needs little, ids and numbers some, plain text labels a close name
    need = (0.0 if c > 1.0 else 0.3 if reason.startswith(SPECIFIC) else 0.7 if reason == "numbers"
            else 0.55 if reason else 0.8)
    row_number = prof.unique and prof.kind in ("integer", "id") and split_camel(prof.name) in ROW_NUMBERS
    if n < need and not (row_number and col.name in t.key and len(t.key) == 1):
        return 0.0, ""
    total = 0.6 * n + 0.4 * min(c, 1.0)
    if c > 1.0:                     # a join to another table of the study is strong evidence
        total = max(total, 0.9)
    if row_number and col.name in t.key and len(t.key) == 1 and col.name in ("review_id", "respondent_id"):
        total = max(total, 0.9)     # a row number written by the exporting tool (pandas, R) as the key
    return total, reason


def _missing_hint(t: Table, col: Col, tenure: ColumnProfile | None) -> str:
    if col.dtype in ("date", "datetime"):
        if tenure is not None:
            unit = "days" if "day" in split_camel(tenure.name) else "months"
            return (f"no date column; {tenure.name} looks like a number of {unit} ({tenure.describe()}): count back "
                    f"from the export date with `date_offsets: {{{col.name}: {{as_of: YYYY-MM-DD, {unit}: {tenure.name}}}}}`")
        return f"no date column fits; map one with `columns:`, or give one date to every row with `defaults: {{{col.name}: YYYY-MM-DD}}`"
    if col.name in t.key:
        return f"no id column fits; map one, or derive it with `compute: {{{col.name}: <another id column>}}`"
    if col.allowed:
        return f"no column fits; map one (with `values:`), or give every row one value: `defaults: {{{col.name}: {col.allowed[0]}}}`"
    return f"no column fits; map one with `columns:`, or give every row one value with `defaults: {{{col.name}: ...}}`"


def guess_table(profile: FileProfile, joins: dict[str, set[str]] | None = None) -> tuple[str, str]:
    """The canonical table the file most likely holds, and why (required columns placed, key found)."""
    best = None
    for name, t in TABLES.items():
        sug = suggest_mapping(profile, name, joins)
        req = [c for c in t.required]
        placed = [c for c in req if c in sug.guesses or c in sug.compute]
        key_ok = all(k in sug.guesses for k in t.key)
        key_unique = key_ok and len(t.key) == 1 and profile.column(sug.guesses[t.key[0]].column).unique
        # evidence: the required columns placed (weighted by how well), the key found by its name
        named_key = key_ok and all(name_score(sug.guesses[k].column, t.col(k)) >= 0.9 for k in t.key)
        found = [c for c in req if c in sug.guesses]
        if not found:
            continue
        if name == "survey_responses":   # answers: many columns of small whole-number scales
            scales = [p for p in profile.columns if p.kind == "integer" and p.distinct <= 11 and p.name not in
                      {g.column for g in sug.guesses.values()}]
            if len(scales) >= max(3, len(profile.columns) // 2):
                found.append(f"{len(scales)} answer columns")
        score = (sum(sug.guesses[c].score for c in req if c in sug.guesses) + 0.3 * len(sug.defaults)
                 + 0.5 * len([c for c in req if c in sug.compute])
                 + (1.5 if len(found) > len([c for c in req if c in sug.guesses]) else 0)) / len(req) \
            + (0.5 if named_key else 0.1 if key_ok else 0) + (0.3 if key_unique else 0) \
            + sum(g.score for c, g in sug.guesses.items() if c not in req) / 100
        why = (f"{len(placed)} of its {len(req)} required columns placed"
               + (f", {found[-1]}" if found and found[-1].endswith("answer columns") else "")
               + (f", its key {' + '.join(t.key)} found" + (" (unique)" if key_unique else "") if key_ok else ""))
        if best is None or score > best[0]:
            best = (score, name, why)
    if best is None:
        raise ValueError(f"{profile.path}: no canonical table fits its columns ({', '.join(c.name for c in profile.columns)}); "
                         f"name the table with TABLE=<table> (tables: {', '.join(TABLES)})")
    return best[1], f"guessed from the columns: {best[2]}"


# --- the YAML block --------------------------------------------------------------------------------

_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_ .\-/]*$")


def q(value) -> str:
    """A YAML scalar that reads back as exactly this value (quoted only when it must be)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    s = str(value)
    if _PLAIN.match(s) and not s.endswith(" ") and load_yaml(s) == s and ": " not in s and " #" not in s:
        return s
    return json.dumps(s, ensure_ascii=False)


def _flow(d: dict) -> str:
    return "{" + ", ".join(f"{q(k)}: {q(v)}" for k, v in d.items()) + "}"


def render_block(sug: Suggestion, indent: int = 4) -> str:
    p = sug.profile
    t = TABLES[sug.table]
    pad = " " * indent
    inner = pad + "  "
    out = [f"{pad}# make map: {p.path} -> {sug.table} ({sug.table_why})",
           f"{pad}# read as {p.details}; {p.rows:,} rows, {len(p.columns)} columns",
           f"{pad}# paste under `data:` / `  tables:` in params/<study>.yaml, check the lines marked CHECK,",
           f"{pad}# then run `make validate STUDY=<study>`: it says what is still missing.",
           f"{pad}{sug.table}:",
           f"{inner}path: {q(p.path)}"]
    if p.sheet:
        out.append(f"{inner}sheet: {q(p.sheet)}" + (f"   # sheets: {', '.join(p.sheets)}" if len(p.sheets) > 1 else ""))
    if sug.guesses:
        out.append(f"{inner}columns:                     # their column: our column")
        for cname, g in sorted(sug.guesses.items(), key=lambda kv: sug._order(kv[1].column)):
            prof = p.column(g.column)
            mark = "" if g.score >= SURE else "CHECK "
            if prof.kind == "money":   # the mapping reads plain numbers (1234.5)
                mark = "CHECK: export without currency signs and thousands separators; "
            why = f"{g.why}; " if g.why else ""
            out.append(f"{inner}  {q(g.column)}: {cname}".ljust(indent + 40)
                       + f"  # {mark}{why}{prof.describe()}")
    if sug.values or sug.unplaced_values:
        out.append(f"{inner}values:                      # their value: our value")
        for cname in [c.name for c in t.columns]:
            if cname not in sug.values and cname not in sug.unplaced_values:
                continue
            mapping = sug.values.get(cname, {})
            allowed = t.col(cname).allowed
            line = f"{inner}  {cname}: {_flow(mapping)}"
            if cname in sug.unplaced_values:
                line += (f"   # CHECK: could not place {', '.join(map(q, sug.unplaced_values[cname]))}; "
                         f"ours: {', '.join(allowed or ())}")
            out.append(line)
    if sug.date_format or sug.date_notes:
        if sug.date_format:
            out.append(f"{inner}date_format: {q(sug.date_format)}")
        out += [f"{inner}# CHECK: {n}" for n in sug.date_notes]
    if sug.defaults:
        out.append(f"{inner}defaults: {_flow(sug.defaults)}".ljust(indent + 40)
                   + "  # not in the file: null = unknown (or map a column)")
    if sug.drop_missing:
        out.append(f"{inner}drop_missing: [{', '.join(sug.drop_missing)}]".ljust(indent + 40)
                   + "  # CHECK: rows without it are dropped (`make validate` warns with the count)")
    if sug.fill_missing:
        out.append(f"{inner}fill_missing: {_flow(sug.fill_missing)}".ljust(indent + 40)
                   + "  # CHECK: written where the file has no value")
    if sug.compute:
        why = {"revenue": "the line amount: quantity x unit price", "is_return": "negative quantities are returns"}
        out.append(f"{inner}compute:")
        for target, expr in sug.compute.items():
            out.append(f"{inner}  {target}: {q(expr)}".ljust(indent + 40) + "  # CHECK: "
                       + why.get(target, "the key derived from another unique id"))
    if sug.one_row_per_key:
        key = sug.guesses[t.key[0]].column
        prof = p.column(key)
        out.append(f"{inner}one_row_per_key: true".ljust(indent + 40)
                   + f"  # {key} repeats ({prof.distinct:,} distinct in {prof.present:,} rows): one {sug.table[:-1]} row per {t.key[0]}")
        if len(t.key) > 1:
            out[-1] = (f"{inner}one_row_per_key: true".ljust(indent + 40)
                       + f"  # several rows share {' + '.join(sug.guesses[k].column for k in t.key)}: combined into one")
    if sug.aggregate:
        out.append(f"{inner}aggregate: {_flow(sug.aggregate)}".ljust(indent + 40) + "  # CHECK: how the combined rows add up")
    if sug.missing:
        out.append(f"{inner}# Still missing (required by the {sug.table} table; `make validate` will ask for them):")
        for cname, hint in sug.missing:
            out.append(f"{inner}#   {cname}: {hint}")
    if sug.unused and t.extra_columns:
        out.append(f"{inner}# Kept as answer columns under these names (`make validate` checks them against the "
                   "questionnaire, survey.questionnaire: its question ids must match them):")
        for prof in sug.unused:
            out.append(f"{inner}#   {prof.name}: {prof.describe()}")
    elif sug.unused:
        out.append(f"{inner}# Not placed (not part of the canonical {sug.table} table, dropped when read):")
        for prof in sug.unused:
            out.append(f"{inner}#   {prof.name}: {prof.describe()}")
    return "\n".join(out) + "\n"


# --- what the study already has -------------------------------------------------------------------------

def study_ids(study: str, project, skip: str | None = None) -> tuple[dict[str, set[str]], list[str] | None]:
    """The key values of the tables the study already maps ('customers.customer_id' -> ids), read
    from the files its params name (without validating the rest), and its `data.segments`."""
    from insight.config.data import TableSpec
    from insight.data.loaders import read_table

    path = project.params_file(study)
    try:
        raw = load_yaml(path.read_text(encoding="utf-8-sig")) or {}
    except (OSError, yaml.YAMLError):
        return {}, None
    data = raw.get("data") or {}
    out: dict[str, set[str]] = {}
    for name, spec in ((data.get("tables") or {}) if isinstance(data, dict) else {}).items():
        if name == skip or name not in TABLES or not isinstance(spec, dict):
            continue
        t = TABLES[name]
        if len(t.key) != 1:
            continue
        key = t.key[0]
        try:
            ts = TableSpec.model_validate(spec)
        except Exception:
            continue
        loaded, _ = read_table(name, ts, project)
        if loaded is None:
            continue
        inv = {ours: theirs for theirs, ours in ts.columns.items()}
        col = inv.get(key) or next((c for c in loaded.frame.columns if norm_label(split_camel(c)) == key), None)
        if col is None or col not in loaded.frame.columns:
            continue
        s = loaded.frame[col].dropna().astype(str).str.strip().str.replace(r"^(-?\d+)\.0+$", r"\1", regex=True)
        out[f"{name}.{key}"] = set(s.unique())
    segments = data.get("segments") if isinstance(data, dict) else None
    return out, segments


def mapping_file(project, study: str, table: str) -> Path:
    return project.params_dir / "mappings" / f"{study}.{table}.yaml"


# --- qualitative material: a .qdpx project or a folder of transcripts ---------------------------------------

def qual_block(path: str | Path, project, indent: int = 2) -> str:
    """The `qual:` block for data (a REFI-QDA .qdpx project or a folder of transcripts), with what it holds."""
    from insight.config.data import QualSpec
    from insight.data.loaders import display_path, read_qual
    from insight.data.problems import DataError

    p = Path(path).expanduser()
    resolved = p if p.is_absolute() else (Path.cwd() / p)
    if not resolved.exists():
        resolved = project.resolve(p)
    shown = display_path(resolved, project)
    key = "qdpx" if resolved.is_file() else "transcripts"
    spec = QualSpec.model_validate({key: str(resolved)})
    got, problems = read_qual(spec, project)
    if problems:
        raise DataError(problems)
    pad, inner = " " * indent, " " * (indent + 2)
    n = {name: len(ld.frame) for name, ld in got.items()}
    if key == "qdpx":
        seg = got.get("coded_segments")
        coders = sorted(seg.frame["coder"].dropna().unique()) if seg is not None else []
        what = (f"REFI-QDA project: {n.get('qual_sources', 0)} text sources, {n.get('codebook', 0)} codes, "
                f"{n.get('coded_segments', 0)} codings by {len(coders)} coder(s), {n.get('participants', 0)} cases")
    else:
        what = f"a folder of {n.get('qual_sources', 0)} transcripts"
    src = got["qual_sources"].frame if "qual_sources" in got else None
    out = [f"{pad}# make map: {shown} -> participants, qual_sources, codebook, coded_segments ({what})",
           f"{pad}# paste under `data:` in params/<study>.yaml (beside `tables:`), then `make validate STUDY=<study>`.",
           f"{pad}qual:",
           f"{inner}{key}: {q(shown)}",
           f"{inner}kind: interview_1to1                 # the kind of every source unless `kinds:` says otherwise"]
    if src is not None and len(src):
        kinds = src["kind"].value_counts()
        out.append(f"{inner}# kinds: {{{q(str(src['source_id'].iloc[0]))}: focus_group}}   # per source, when they differ; "
                   f"kinds read: {', '.join(f'{k} ({v})' for k, v in kinds.items())}")
        undated = src.loc[src["date"].isna(), "source_id"].astype(str).tolist()
        if undated:
            out.append(f"{inner}date: YYYY-MM-DD                     # CHECK: no date for {', '.join(undated[:5])}"
                       + (" ..." if len(undated) > 5 else "") + "; write the date of the fieldwork")
        else:
            out.append(f"{inner}# sources dated {src['date'].min():%Y-%m-%d} to {src['date'].max():%Y-%m-%d}: "
                       "study.period must cover them (sources outside it are left out)")
    return "\n".join(out) + "\n"


# --- the command -------------------------------------------------------------------------------------------

def map_file(file: str, project, table: str | None = None, study: str | None = None, sheet: str | None = None,
             out=None, err=None) -> int:
    """`make map`: print the suggested block; with a study, also write it to a new file under
    params/mappings/ (never overwriting). Returns the exit code."""
    import sys

    from insight.data.problems import DataError
    from insight.data.profile import profile_file
    from insight.params import check_slug

    out, err = out or sys.stdout, err or sys.stderr
    if not file:
        print("ERROR make map: name the export, e.g. make map FILE=data/local/accounts.csv [TABLE=customers]", file=err)
        return 2
    if study and (reason := check_slug(study)):
        print(f"ERROR STUDY={study}: {reason}", file=err)
        return 2
    path = Path(file).expanduser()
    is_qual = path.suffix.lower() == ".qdpx" or (path.is_dir() or project.resolve(path).is_dir())
    try:
        if is_qual:
            block, name = qual_block(path, project), "qual"
        else:
            joins, segments = study_ids(study, project, skip=table) if study else ({}, None)
            prof = profile_file(path, project, sheet=sheet, table=table or "file")
            sug = suggest_mapping(prof, table, joins, segments)
            block, name = sug.block(), sug.table
    except DataError as exc:
        print(exc.report(), file=err)
        return 2
    except ValueError as exc:
        print(f"ERROR {exc}", file=err)
        return 2
    print(block, file=out, end="")
    if not study:
        print(f"\n# not written to a file: add STUDY=<study> to also write params/mappings/<study>.{name}.yaml",
              file=err)
        return 0
    target = mapping_file(project, study, name)
    shown = target.relative_to(project.root) if target.is_relative_to(project.root) else target
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with open(target, "x", encoding="utf-8") as fh:   # "x": never overwrite, even in a race
            fh.write(block)
    except FileExistsError:
        print(f"ERROR {shown} already exists; it was left untouched (the suggestion is printed above). "
              "Rename or delete it to write a new one.", file=err)
        return 2
    print(f"\nwritten to {shown}: paste it under `data:`" + ("" if name == "qual" else " / `  tables:`")
          + f" in params/{study}.yaml, then `make validate STUDY={study}`", file=err)
    return 0
