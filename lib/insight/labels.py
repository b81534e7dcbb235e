"""Readable labels for reports: reviewers read "CI low", "mid market" and "p < 0.001", not
`ci_low`, `mid_market` and 0.00. The one place ids become words: every area (CRM, success,
survey, qualitative, synthesis) labels its tables, charts and sentences through it.

`show_table` here wraps `insight.display.show_table`: it renames snake_case column and index
names to words (known abbreviations in capitals), writes snake_case category values with spaces,
shows p-value columns as p labels, yes/no for true/false and whole-number floats without
decimals. The `percent=` names given are the original column names. `label()` does the same for
one value, for sentences (findings, notes) and chart axes, so a chart, a table and a finding show
the same words.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from insight.display import (MAX_ROWS, p_label, show_figure as _show_figure, show_table as _show_table, shown_rows_note,
                             table_html as _table_html)

# whole words written in capitals wherever they appear in a label (generic abbreviations)
ACRONYMS = {"ci", "clv", "mrr", "arr", "grr", "nrr", "rfm", "nps", "csat", "ces", "ai", "smb", "crm", "sd", "id",
            "api", "sso", "csm", "it", "hr", "kpi", "roi", "faq", "apac", "emea", "latam", "b2b", "b2c", "ui", "ux"}
# column names that read better with a specific label than with the generic rule
COLUMN_LABELS = {
    "p_value": "p", "p_holm": "p (Holm)", "p_adj": "p (adjusted)", "ci_low": "CI low", "ci_high": "CI high",
    "n_reasons": "warning signs", "customers_start": "customers at start", "customers_lost": "customers lost",
    "mrr_start": "MRR at start", "mrr_end_same_customers": "MRR at end (same customers)",
    "logo_churn": "customers lost (share)", "grr": "gross revenue retention (GRR)",
    "nrr": "net revenue retention (NRR)", "active_at_start": "active at start", "churn_rate": "churn rate",
    "p_alive": "P(still buying)", "share_4_5": "share rating 4-5", "share_1_2": "share rating 1-2",
    "recency_days": "days since last purchase", "segment_rfm": "RFM segment", "share_customers": "share of customers",
    "share_revenue": "share of revenue", "customer_id": "customer", "product_id": "product id",
    "rank_biserial": "rank-biserial r", "change_points": "change (points)", "corr_with_rest": "correlation with the rest",
    "rank_biserial_low": "rank-biserial r: 95% CI low", "rank_biserial_high": "rank-biserial r: 95% CI high",
    "share_of_variance": "share of the differences", "share_in_group": "share in group",
    "overall_share": "share overall", "notable": "notable", "customers_both": "customers buying both",
    "customers_antecedent": "customers buying A", "antecedent": "if they buy (A)", "consequent": "they also buy (B)",
    "churn_rate_flagged": "churn rate, flagged", "churn_rate_others": "churn rate, others",
    "mean_clv": "mean CLV", "total_clv": "total CLV", "expected_purchases": "expected purchases",
    "expected_spend": "expected spend per purchase", "churn_reason": "churn reason", "reason_code": "reason",
    "loyalty_index": "loyalty index", "previous": "period before", "current": "study period",
    "std": "SD", "25%": "lower quartile", "50%": "median", "75%": "upper quartile", "mean_rating": "mean rating", "order_frequency": "order frequency",
}
P_COLUMNS = {"p_value", "p_holm", "p_adj", "p", "p (Holm)"}
# counts that arrive as floats (after a transpose or a describe) show without decimals
_COUNT = re.compile(r"^(n|count|flagged|churned|retained|buyers|customers|customers_\w+|n_\w+|\w+_count)$")
# money: whole units read better than cents in a report
_MONEY = re.compile(r"^(monetary|.*(revenue|profit|cost|mrr|clv|spend).*)$", re.IGNORECASE)
_SNAKE = re.compile(r"^[A-Za-z0-9]+(?:_[A-Za-z0-9]+)+$")


def _words(text: str) -> str:
    return " ".join(w.upper() if w.lower() in ACRONYMS else w for w in text.split(" "))


def label(value) -> str:
    """One value or name as a reviewer reads it: 'mid_market' -> 'mid market', 'ai' -> 'AI',
    'ci_low' -> 'CI low'. Anything that is not a snake_case id or a known abbreviation is kept."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "n/a"
    s = str(value)
    if s in COLUMN_LABELS:
        return COLUMN_LABELS[s]
    if _SNAKE.match(s):
        return _words(s.replace("_", " "))
    if s.lower() in ACRONYMS and s.isalpha():
        return s.upper()
    return s


def days(x) -> str:
    """'1 day', '3 days', '2.5 days' (no '1.0 days')."""
    if x is None or pd.isna(x):
        return "n/a"
    v = round(float(x), 1)
    return "1 day" if v == 1 else (f"{v:,.0f} days" if v == int(v) else f"{v:,.1f} days")


def pct(x) -> str:
    """A share as a whole percent, with one decimal where rounding would claim 0% or 100%."""
    if x is None or pd.isna(x):
        return "n/a"
    if 0 < x < 0.005 or 0.995 <= x < 1:
        return f"{x:.1%}"
    return f"{x:.0%}"


def sentence(text: str) -> str:
    """A sentence that starts with a capital letter (for findings that start with a group label)."""
    return text[:1].upper() + text[1:] if text else text


def _label_values(s: pd.Series, rows: int | None = None) -> pd.Series:
    """The values of `s` as words; with `rows`, of its first `rows` values only (what a table shows),
    the column still judged on every value (all yes/no, which values have a label)."""
    shown = s if rows is None else s.head(rows)
    if pd.api.types.is_bool_dtype(s):
        return shown.map({True: "yes", False: "no"})
    if s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype)):
        vals = s.dropna()
        # a text dtype holds no booleans: no Python pass over its values to look for them
        if len(vals) and not isinstance(s.dtype, pd.StringDtype) and vals.map(lambda v: isinstance(v, bool)).all():
            return shown.map(lambda v: "yes" if v is True else ("no" if v is False else v))
        uniq = pd.unique(vals.astype(str)) if len(vals) else []
        mapping = {u: label(u) for u in uniq if label(u) != u}
        if mapping:
            return shown.astype(object).map(lambda v: mapping.get(str(v), v) if not (v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v))) else v)
    return shown


def _label_index(idx: pd.Index) -> pd.Index:
    if isinstance(idx, pd.MultiIndex):
        levels = [_label_index(idx.get_level_values(i)) for i in range(idx.nlevels)]
        return pd.MultiIndex.from_arrays(levels, names=[label(n) if n is not None else None for n in idx.names])
    name = label(idx.name) if idx.name is not None else None
    if idx.dtype == object or isinstance(idx.dtype, (pd.StringDtype, pd.CategoricalDtype)):
        return pd.Index([label(v) if isinstance(v, str) else v for v in idx], name=name)
    return idx.rename(name)


def readable(df: pd.DataFrame, percent=(), p_columns=None, rows: int | None = None) -> tuple[pd.DataFrame, list[str]]:
    """A copy of `df` ready for a reviewer, and the renamed `percent` columns. With `rows`, of its first
    `rows` rows only (a table shows at most display.MAX_ROWS: the at-risk list or the cross-sell
    candidates have 10^5 rows at 10M order lines), each column still judged on all its values (whole
    counts, money, which values have a label), so the rows shown are those of the whole table made readable."""
    out = df.copy() if rows is None else df.head(rows).copy()
    pcols = set(P_COLUMNS if p_columns is None else p_columns)
    for col in out.columns:
        s, shown = df[col], out[col]
        if col in pcols and pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            out[col] = shown.map(lambda v: "" if pd.isna(v) else p_label(float(v)).replace("= ", ""))
        elif (col not in percent and isinstance(col, str) and _COUNT.match(col) and pd.api.types.is_float_dtype(s)
              and s.notna().any() and np.all(np.mod(s.dropna().to_numpy(), 1) == 0)):
            out[col] = shown.astype("Int64")                       # counts stored as floats: no decimals
        elif (col not in percent and isinstance(col, str) and _MONEY.match(col) and pd.api.types.is_float_dtype(s)
              and s.notna().any() and s.abs().max() >= 100):
            out[col] = shown.round(0).astype("Int64")
        else:
            out[col] = _label_values(s, rows)
    names = {c: (label(c) if isinstance(c, str) else c) for c in out.columns}
    # two columns must not end up with one label
    if len(set(names.values())) < len(names):
        names = {c: (c if list(names.values()).count(names[c]) > 1 else names[c]) for c in out.columns}
    out = out.rename(columns=names)
    out.columns = (_label_index(out.columns) if isinstance(out.columns, pd.MultiIndex)
                   else pd.Index(list(out.columns), name=label(df.columns.name) if df.columns.name is not None else None))
    out.index = _label_index(out.index)
    return out, [names.get(c, c) for c in percent]


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """The table with its category values and index labels as words (`label`), column names kept:
    for frames that go on to a chart or a table whose columns are already worded."""
    out = df.copy()
    for col in out.columns:
        out[col] = _label_values(out[col])
    out.index = _label_index(out.index)
    return out


def label_list(text, sep: str = ", ") -> str:
    """A list of ids in one string ('price_concern, training_gap') as words; empty stays empty."""
    if text is None or (not isinstance(text, str) and pd.isna(text)):
        return ""
    return sep.join(label(t.strip()) for t in str(text).split(sep.strip()) if t.strip())


def labels_of(values, width: int | None = None) -> list[str]:
    """`label` for each value (chart ticks, legends); `width` wraps long labels over lines."""
    import textwrap
    out = [label(v) for v in values]
    if width:
        out = ["\n".join(textwrap.wrap(t, width, break_long_words=False)) or t for t in out]
    return out


def _readable_table(data, note, percent, kw) -> tuple:
    """The rows a table shows, made readable (readable), with display's note on the rows left out."""
    if isinstance(data, pd.Series):
        data = data.to_frame()
    if isinstance(data, pd.DataFrame):
        note = shown_rows_note(note, len(data), kw.get("max_rows", MAX_ROWS))
        data, percent = readable(data, percent, rows=kw.get("max_rows", MAX_ROWS))
    return data, note, percent


def table_html(data, caption: str, base=None, note: str | None = None, *, percent=(), **kw) -> str:
    data, note, percent = _readable_table(data, note, percent, kw)
    return _table_html(data, caption, base, note, percent=percent, **kw)


def show_table(data, caption: str, base=None, note: str | None = None, *, percent=(), **kw) -> None:
    """`insight.display.show_table` with readable labels (see the module docstring)."""
    data, note, percent = _readable_table(data, note, percent, kw)
    _show_table(data, caption, base, note, percent=percent, **kw)


def question_texts(study) -> dict[str, str]:
    """Survey answer column -> question text from the study's questionnaire ({} when it cannot be read:
    labels are a nicety and never fail a report)."""
    try:
        from insight.survey.questionnaire import load_questionnaire
        qn = load_questionnaire(study.params.survey.questionnaire, study.project)
    except Exception:  # noqa: BLE001
        return {}
    return {col: q.text for q in qn.questions for col in q.columns}


def measure_label(study, measure: str) -> str:
    """A survey measure as a reviewer reads it: the question text with its code, e.g.
    '"Overall, how satisfied are you ...?" (q_csat)'; several measures joined by ' + ' stay joined."""
    texts = question_texts(study)
    out = measure
    for code in sorted(texts, key=len, reverse=True):
        out = re.sub(rf"(?<![\w\"]){re.escape(code)}(?![\w\"])", f'"{texts[code]}" ({code})', out, count=1)
    return out


def suppress_small(table: pd.DataFrame, n_col: str = "customers", min_base: int = 10,
                   note: str | None = None) -> tuple[pd.DataFrame, str | None]:
    """Blank the rates of rows whose base (`n_col`) is under `min_base` (a 50% of 2 customers is
    not a result), and the table note saying so (joined to `note`)."""
    small = table[n_col] < min_base
    if not small.any():
        return table, note
    out = table.copy()
    cols = [c for c in out.columns if c != n_col and pd.api.types.is_float_dtype(out[c])]
    out.loc[small, cols] = np.nan
    extra = f"Rows with fewer than {min_base} {n_col} show no rates: too few to read."
    return out, (f"{note}. {extra}" if note else extra)


def _needs_label(text: str) -> bool:
    return bool(text) and (bool(_SNAKE.match(text)) or (text.lower() in ACRONYMS and text.isalpha() and text != text.upper()))


def tidy_figure(fig):
    """Relabel a drawn matplotlib figure the way tables are labelled: tick labels, legend entries and
    titles, axis labels that are snake_case ids or lower-case abbreviations. Numbers are untouched.
    The tick labels are read without drawing the figure: matplotlib's get_ticklabels places the ticks
    and formats their labels from the view limits itself (a draw, which used to come first here,
    rendered every figure once more before it was saved, about a tenth of a second each; the 56
    figures of the demo study come out byte for byte the same without it)."""
    for ax in fig.axes:
        for axis, get, setter in ((ax.xaxis, ax.get_xticklabels, ax.set_xticks), (ax.yaxis, ax.get_yticklabels, ax.set_yticks)):
            texts = [t.get_text() for t in get()]
            if any(_needs_label(t) for t in texts):
                rotation = get()[0].get_rotation() if texts else 0
                setter(axis.get_ticklocs(), [label(t) if _needs_label(t) else t for t in texts], rotation=rotation)
        for getter, setter in ((ax.get_xlabel, ax.set_xlabel), (ax.get_ylabel, ax.set_ylabel), (ax.get_title, ax.set_title)):
            if _needs_label(getter()):
                setter(label(getter()))
        leg = ax.get_legend()
        if leg is not None:
            for t in [*leg.get_texts(), leg.get_title()]:
                if _needs_label(t.get_text()):
                    t.set_text(label(t.get_text()))
    return fig


def show_figure(fig, caption: str, base=None, note: str | None = None, alt: str | None = None) -> None:
    """`insight.display.show_figure` with the chart's words labelled like the tables (`tidy_figure`)."""
    _show_figure(tidy_figure(fig), caption, base, note, alt)


__all__ = ["days", "pct", "labelled", "labels_of", "label_list", "suppress_small", "question_texts", "measure_label", "label", "sentence", "readable", "show_table", "table_html", "show_figure", "tidy_figure", "ACRONYMS",
           "COLUMN_LABELS"]
