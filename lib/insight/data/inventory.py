"""The data inventory: what a study's data holds, as tables for a reviewer.

Everything is read from the prepared data's manifest (computed once when the data was prepared),
so the inventory costs nothing even on a large study. Each function takes a Study
(insight.study.load_study) and returns a DataFrame ready for show_table; column names are the
reviewer's words.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from insight.data.pii import KEY_ENV, KEY_FILE
from insight.data.prepare import RESTRICTED
from insight.data.schema import TABLES
from insight.data.validate import MISSING_BY_DESIGN

if TYPE_CHECKING:  # pragma: no cover
    from insight.study import Study

ORDER = list(TABLES)


def _tables(study: "Study") -> list[str]:
    return sorted(study.prepared.tables, key=lambda t: ORDER.index(t) if t in ORDER else len(ORDER))


def single_source(table: pd.DataFrame) -> str | None:
    """The one source every table came from (then the column says nothing and can go), or None."""
    src = table["Source"].dropna().unique() if "Source" in table else []
    return str(src[0]) if len(src) == 1 else None


def overview(study: "Study") -> pd.DataFrame:
    """One row per table: what it holds, rows, period covered, customers covered, source."""
    prep = study.prepared
    n_customers = prep.rows.get("customers")
    out = []
    for name in _tables(study):
        prof = prep.profile.get(name, {})
        period = ""
        if prof.get("start"):
            period = f"{prof['start']} to {prof['end']}"
            if name in RESTRICTED:
                period += " (study period only)"
        cust = prof.get("customers")
        covered = ""
        if cust is not None:
            covered = f"{cust:,}"
            if n_customers and name != "customers":
                covered += f" ({_share(cust / n_customers)} of customers)"
        out.append({"Table": name, "What it holds": TABLES[name].description, "Rows": int(prep.rows.get(name, 0)),
                    "Period covered": period, "Customers covered": covered, "Source": prep.sources.get(name, "")})
    return pd.DataFrame(out, columns=["Table", "What it holds", "Rows", "Period covered", "Customers covered", "Source"])


def _share(x: float) -> str:
    """A share that never rounds to a misleading 0% or 100%."""
    if 0.99 < x < 1:
        return "over 99%"
    if 0 < x < 0.01:
        return "under 1%"
    return f"{x:.0%}"


def after_period(study: "Study") -> str | None:
    """A sentence naming the tables with records dated after the study period, or None."""
    end = pd.Timestamp(study.period.end)
    late = []
    for name in _tables(study):
        last = study.prepared.profile.get(name, {}).get("end")
        if last and pd.Timestamp(last) > end:
            late.append((name, pd.Timestamp(last)))
    if not late:
        return None
    latest = max(d for _, d in late)
    return (f"{len(late)} table{'s' if len(late) != 1 else ''} ({', '.join(n for n, _ in late)}) hold records dated after "
            f"the study period ends ({end:%d %b %Y}), up to {latest:%d %b %Y}. The study's figures are computed as of "
            "its end date; later records only serve as follow-up (for example: did a customer churn afterwards).")


def _question_texts(study: "Study") -> dict[str, str]:
    """Survey answer column -> question text (empty when the questionnaire cannot be read)."""
    try:
        from insight.survey.questionnaire import load_questionnaire
        qn = load_questionnaire(study.params.survey.questionnaire, study.project)
    except Exception:  # noqa: BLE001 - labels are a nicety; the inventory must never fail on them
        return {}
    return {col: q.text for q in qn.questions for col in q.columns}


def missing_values(study: "Study") -> pd.DataFrame:
    """Columns with any missing value: count, share, and whether missing is expected by design."""
    prep = study.prepared
    out = []
    texts = _question_texts(study) if "survey_responses" in prep.tables else {}
    for name in _tables(study):
        prof = prep.profile.get(name, {})
        rows = prof.get("rows") or prep.rows.get(name, 0)
        canon = {c.name for c in TABLES[name].columns}
        for col, n in prof.get("missing", {}).items():
            if col in MISSING_BY_DESIGN.get(name, set()):
                expected = "yes: only some rows have it"
            elif col not in canon:
                expected = "answer not given (not asked, or skipped)"
            else:
                expected = "no"
            label = f"{col}: {texts[col]}" if name == "survey_responses" and col in texts else col
            out.append({"Table": name, "Column": label, "Missing": int(n), "Share missing": n / rows if rows else 0.0,
                        "Expected?": expected})
    return pd.DataFrame(out, columns=["Table", "Column", "Missing", "Share missing", "Expected?"])


def validation_warnings(study: "Study") -> pd.DataFrame:
    """Soft problems found in the data, then in the study parameters (errors would have stopped
    the study, so only warnings can appear here)."""
    from insight.params import warnings_of

    rows = [{"About": "data", "File": w.file, "Where": w.key, "Warning": w.message, "What to do": w.fix}
            for w in study.prepared.warnings]
    rows += [{"About": "study parameters", "File": w.file + (f":{w.line}" if w.line else ""), "Where": w.key,
              "Warning": w.message, "What to do": w.fix} for w in warnings_of(study.params)]
    return pd.DataFrame(rows, columns=["About", "File", "Where", "Warning", "What to do"])


def personal_data(study: "Study") -> pd.DataFrame:
    """Per table: which columns were pseudonymised, which free-text columns were masked, how many
    emails and phone numbers were masked."""
    prep = study.prepared
    out = []
    for name in _tables(study):
        info = prep.personal.get(name, {})
        if not (info.get("pseudonymised") or info.get("masked")):
            continue
        out.append({"Table": name,
                    "Pseudonymised columns": ", ".join(info.get("pseudonymised", [])) or "none",
                    "Free-text columns masked": ", ".join(info.get("masked", [])) or "none",
                    "Emails masked": int(info.get("emails_masked", 0)),
                    "Phone numbers masked": int(info.get("phones_masked", 0))})
    return pd.DataFrame(out, columns=["Table", "Pseudonymised columns", "Free-text columns masked",
                                      "Emails masked", "Phone numbers masked"])


def personal_data_statement(study: "Study") -> str:
    import os

    where = (f"the environment variable {KEY_ENV}" if os.environ.get(KEY_ENV)
             else f"the local, untracked file {KEY_FILE} in the project folder")
    return ("Before any analysis, columns holding personal data (contact names, emails, phone numbers) "
            "are replaced by pseudonyms: a keyed hash (HMAC-SHA256) that gives the same customer the "
            "same code in every table, but cannot be reversed without the key. The key is kept in "
            f"{where}, never in the reports or the repository. Emails and phone numbers written inside "
            "free text (comments, quotes, tickets) are replaced by [email] and [phone]. Columns of an "
            "export that are not part of the data model are dropped, so they cannot reach a report.")


def sources(study: "Study") -> pd.DataFrame:
    """Where each table came from, how it was read and mapped, and its fingerprint."""
    prep = study.prepared
    out = []
    for name in _tables(study):
        details = list(prep.details.get(name, []))
        out.append({"Table": name, "File": prep.sources.get(name, ""),
                    "How it was read": details[0] if details else "",
                    "Mapping steps": "; ".join(details[1:]),
                    "Fingerprint": prep.fingerprints.get(name, "")})
    return pd.DataFrame(out, columns=["Table", "File", "How it was read", "Mapping steps", "Fingerprint"])


def checks_not_run(study: "Study") -> list[str]:
    """Checks between tables that could not run because a table is absent."""
    return list(study.prepared.notes)


def summary(study: "Study") -> dict:
    """Headline numbers for the page and its finding."""
    prep = study.prepared
    return {"tables": len(prep.tables), "rows": int(sum(prep.rows.values())),
            "customers": prep.rows.get("customers"), "warnings": len(prep.warnings),
            "fingerprint": prep.fingerprint}
