"""How results reach a reviewer: captioned tables and figures with their base, notes, findings.

Everything here returns or displays self-contained HTML: figures are embedded PNGs, tables are
styled HTML with every cell escaped. Captions are numbered by the report stylesheet (CSS
counters), so notebooks never count by hand. Data text stays text: HTML is escaped, the Unicode
controls that reorder text on screen (right-to-left overrides, used to disguise what a text says)
are removed, and '$' in chart labels is a dollar sign, not mathematics (text.parse_math off).
"""
from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

SMALL_BASE = 30
MIN_BASE = 10
_STYLED = False
# bidirectional embeddings, overrides and isolates (LRE RLE PDF LRO RLO, LRI RLI FSI PDI): they make
# a text display in another order than it is written; the plain marks (LRM, RLM) are kept
_BIDI_CONTROLS = dict.fromkeys(map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))


def plain_text(value: Any) -> str:
    """A value as text with the reordering controls removed (see the module docstring)."""
    return ("" if value is None else str(value)).translate(_BIDI_CONTROLS)


def esc(value: Any) -> str:
    """Escape any value for HTML; the one way data text reaches a report."""
    return html.escape(plain_text(value), quote=True)


def fmt_n(n) -> str:
    try:
        return f"{int(n):,}"
    except (TypeError, ValueError):
        return "?"


def base_label(base, small_base: int = SMALL_BASE, min_base: int = MIN_BASE) -> str:
    """'n = 1,234', flagged when small, 'suppressed' when tiny."""
    if base is None:
        return ""
    if isinstance(base, str):
        return esc(base)
    if base < min_base:
        return f"n = {fmt_n(base)} — too small to report"
    if base < small_base:
        return f"n = {fmt_n(base)} ⚠ small base, read with care"
    return f"n = {fmt_n(base)}"


def _emit(markup: str):
    try:
        from IPython.display import HTML, display
    except ImportError:  # pragma: no cover
        print(markup)
        return
    display(HTML(markup))


def caption_html(kind: str, caption: str, base=None, note: str | None = None) -> str:
    parts = [f'<span class="cap-text">{esc(caption)}</span>']
    if base is not None:
        parts.append(f'<span class="cap-base">({esc(base_label(base))})</span>')
    cap = f'<figcaption class="caption {kind}-caption">{" ".join(parts)}</figcaption>'
    if note:
        cap += f'<p class="cap-note">{esc(note)}</p>'
    return cap


MAX_ROWS = 200   # rows of a table in a report; the note says how many there are


def shown_rows_note(note: str | None, rows: int, max_rows: int = MAX_ROWS) -> str | None:
    """`note`, with 'First 200 of 1,234 rows shown.' added when a table of `rows` rows is cut."""
    if rows > max_rows:
        return ((note + " ") if note else "") + f"First {max_rows} of {rows:,} rows shown."
    return note


def table_html(data, caption: str, base=None, note: str | None = None, *, index: bool = True,
               precision: int = 1, percent: list[str] | tuple[str, ...] = (), max_rows: int = MAX_ROWS) -> str:
    """A styled, escaped HTML table in a captioned <figure>."""
    import pandas as pd
    from pandas.io.formats.style import Styler

    if isinstance(data, Styler):
        styler = data
    else:
        df = data if isinstance(data, pd.DataFrame) else pd.DataFrame(data)
        if index and df.index.nlevels == 1 and df.index.name is not None and df.columns.nlevels == 1:
            # the index name labels the header's corner cell instead of taking a header row of its own
            df = df.rename_axis(index=None, columns=df.index.name)
        note = shown_rows_note(note, len(df), max_rows)
        df = df.head(max_rows)
        df = _without_bidi_controls(df)
        styler = df.style
        fmt = {}
        dates = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c]) or _date_text(df[c])]
        for col in df.columns:
            if col in dates and pd.api.types.is_datetime64_any_dtype(df[col]):
                fmt[col] = _date_format(df[col])
            elif col in percent:
                fmt[col] = (lambda v, p=precision: "" if pd.isna(v) else f"{v:.{p}%}")
            elif pd.api.types.is_float_dtype(df[col]):
                fmt[col] = (lambda v, p=precision: "" if pd.isna(v) else f"{v:,.{p}f}")
            elif pd.api.types.is_integer_dtype(df[col]):
                fmt[col] = (lambda v: "" if pd.isna(v) else f"{v:,}")
        styler = styler.format(fmt, escape="html", na_rep="")
        num_text = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) and c not in dates
                    and _numeric_text(df[c])]
        if num_text or dates:  # '< 0.001', '0.29 to 0.60' or '2024-03-31' must not break over two lines
            styler = styler.set_properties(subset=num_text + dates, **{"white-space": "nowrap"})
        if df.index.nlevels == 1 and (pd.api.types.is_datetime64_any_dtype(df.index)
                                      or _date_text(pd.Series([str(v) for v in df.index]))):
            styler = styler.map_index(lambda v: "white-space: nowrap", axis=0)
        text_cols = [c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c]) and c not in num_text + dates]
        if text_cols:  # words read left-aligned, numbers right-aligned (headers follow their column)
            # a very long word (a URL, an id, a pasted token) wraps in its cell instead of widening the table
            styler = styler.set_properties(subset=text_cols, **{"text-align": "left", "overflow-wrap": "anywhere"})
            styler = styler.set_table_styles(
                {c: [{"selector": "th.col_heading", "props": [("text-align", "left")]}] for c in text_cols},
                overwrite=False)
        styler = styler.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
        if not index:
            styler = styler.hide(axis="index")
    styler = styler.set_table_attributes('class="insight-table"')
    body = styler.to_html()
    return f'<figure class="insight-figure table-figure">{caption_html("table", caption, base, note)}{body}</figure>'


def _without_bidi_controls(df):
    """The frame with reordering controls removed from its text cells and labels (a copy only when
    there are any; the Styler escapes the HTML)."""
    def has(v):
        return isinstance(v, str) and v != v.translate(_BIDI_CONTROLS)

    def clean(v):
        return v.translate(_BIDI_CONTROLS) if isinstance(v, str) else v

    text_cols = [c for c in df.columns if df[c].dtype == object or str(df[c].dtype) in ("str", "string")]
    dirty = [c for c in text_cols if any(map(has, df[c]))]
    labels = [v for ax in (df.index, df.columns) for lvl in range(ax.nlevels) for v in ax.get_level_values(lvl)]
    if not dirty and not any(map(has, labels)):
        return df
    df = df.copy()
    for c in dirty:
        df[c] = df[c].map(clean)
    return df.rename(index=clean, columns=clean)


_NUMERIC_TEXT = None


def _numeric_text(col) -> bool:
    """True for a text column of formatted numbers ('12.5%', '< 0.001', '+0.03', '0.29 to 0.60'):
    it stays right-aligned like the numbers it shows."""
    import re

    global _NUMERIC_TEXT
    if _NUMERIC_TEXT is None:
        num = r"[<>≤≥=+\-−]?\s?\d[\d,]*(?:\.\d+)?\s?%?"
        _NUMERIC_TEXT = re.compile(rf"^{num}(?:\s(?:to|–|-)\s{num})?$")
    vals = [str(v).strip() for v in col.dropna() if str(v).strip() not in ("", "n/a")]
    return bool(vals) and all(_NUMERIC_TEXT.match(v) for v in vals[:200])


_DATE_TEXT = None


def _date_text(col) -> bool:
    """True for a text column of dates ('2024-03-31', '2024-03-31 14:05', '2024-03', '2024-W05') or of
    quarters as pandas and the CRM notebooks write them ('2024Q1'; '2024-Q1' too)."""
    import re

    global _DATE_TEXT
    if _DATE_TEXT is None:
        _DATE_TEXT = re.compile(r"^\d{4}(?:-\d{2}(?:-\d{2})?(?:[ T]\d{2}:\d{2}(?::\d{2})?)?|-?Q[1-4]|-W\d{2})$")
    if _numeric_or_date(col):
        return False
    vals = [str(v).strip() for v in col.dropna() if str(v).strip() not in ("", "n/a")]
    return bool(vals) and all(_DATE_TEXT.match(v) for v in vals[:200])


def _numeric_or_date(col) -> bool:
    import pandas as pd
    return pd.api.types.is_numeric_dtype(col) or pd.api.types.is_datetime64_any_dtype(col)


def _date_format(col):
    """Dates without a time of day show as 2024-03-31; with one, as 2024-03-31 14:05."""
    import pandas as pd
    v = col.dropna()
    timed = bool(len(v)) and bool((v != v.dt.normalize()).any())
    pattern = "%Y-%m-%d %H:%M" if timed else "%Y-%m-%d"
    return lambda x: "" if pd.isna(x) else pd.Timestamp(x).strftime(pattern)


def show_table(data, caption: str, base=None, note: str | None = None, **kw) -> None:
    """Display a DataFrame (or a pandas Styler) as a captioned table; text is escaped."""
    _emit(table_html(data, caption, base, note, **kw))


def figure_png(fig, dpi: int = 96) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def figure_html(fig, caption: str, base=None, note: str | None = None, alt: str | None = None) -> str:
    import matplotlib.pyplot as plt

    data = figure_png(fig)
    plt.close(fig)
    return (f'<figure class="insight-figure chart-figure">'
            f'<img alt="{esc(alt or caption)}" src="data:image/png;base64,{data}"/>'
            f'{caption_html("figure", caption, base, note)}</figure>')


def show_figure(fig, caption: str, base=None, note: str | None = None, alt: str | None = None) -> None:
    """Display a matplotlib figure as an embedded PNG with a numbered caption and its base."""
    _emit(figure_html(fig, caption, base, note, alt))


def show_note(text: str, kind: str = "info", title: str | None = None) -> None:
    """A callout box: kind is info, warning or skip."""
    head = f"<strong>{esc(title)}</strong> " if title else ""
    _emit(f'<div class="insight-note note-{esc(kind)}">{head}{esc(text)}</div>')


def finding_anchor(finding_id: str) -> str:
    """The HTML id of a finding in its report, so the index page can link straight to it."""
    return "finding-" + "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in str(finding_id))


def show_finding(f) -> None:
    bits = []
    if f.metric is not None and f.value is not None:
        bits.append(f"{esc(f.metric)} = {esc(_num(f.value))}")
    if f.ci_low is not None and f.ci_high is not None:
        value = _num(f.value) if isinstance(f.value, float) else None
        bits.append(f"95% CI {esc(_num(f.ci_low, like=value))} to {esc(_num(f.ci_high, like=value))}")
    if f.base is not None:
        bits.append(esc(base_label(f.base)))
    if f.test:
        bits.append(esc(f.test))
    if f.p_value is not None:
        bits.append(f"p {esc(p_label(f.p_value))}")
    same = (f.effect_size is not None and isinstance(f.value, (int, float)) and not isinstance(f.value, bool)
            and abs(float(f.value) - float(f.effect_size)) < 1e-12)
    if f.effect_size is not None and not same:  # an effect size already shown as the metric is not repeated
        eff = _num(f.effect_size)
        ci = ""
        if f.effect_ci_low is not None and f.effect_ci_high is not None and f.effect_ci_low == f.effect_ci_low:
            ci = f" (95% CI {_num(f.effect_ci_low, like=eff)} to {_num(f.effect_ci_high, like=eff)})"
        bits.append(f"{esc(f.effect_size_name or 'effect size')} = {esc(eff)}{esc(ci)}")
    if f.hypothesis:
        bits.append(f"hypothesis {esc(f.hypothesis)}" + (f": {esc(f.evidence)}" if f.evidence else ""))
    detail = f'<div class="finding-detail">{" · ".join(bits)}</div>' if bits else ""
    _emit(f'<div class="insight-finding finding-{esc(f.severity)}" id="{esc(finding_anchor(f.id))}" data-finding="{esc(f.id)}">'
          f'<div class="finding-statement">{esc(f.statement)}</div>{detail}</div>')


def _num(v, like: str | None = None) -> str:
    """A number for a finding's detail line; `like` (a formatted value) gives the decimals to use, so an
    interval reads '0.741 · 95% CI 0.682 to 0.800' rather than '... to 0.8'."""
    if isinstance(v, float):
        if like is not None and "e" not in like:
            decimals = len(like.split(".")[1]) if "." in like else 0
            return f"{v:,.{decimals}f}"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def p_label(p: float | None) -> str:
    if p is None:
        return ""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def setup_plots() -> None:
    """The house plot style: readable sizes, a colour-blind-safe palette, CJK-capable fonts."""
    global _STYLED
    if _STYLED:
        return
    import matplotlib
    matplotlib.use("Agg") if not _in_kernel() else None
    import seaborn as sns
    from insight.fonts import font_family
    sns.set_theme(style="whitegrid", context="notebook", palette="colorblind",
                  rc={"figure.figsize": (7.5, 4.2), "figure.dpi": 96, "font.family": font_family(),
                      "axes.titleweight": "bold", "text.parse_math": False})
    _STYLED = True


def _in_kernel() -> bool:
    try:
        from IPython import get_ipython
        return get_ipython() is not None
    except ImportError:
        return False
