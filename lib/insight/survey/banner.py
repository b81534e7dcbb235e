"""Banner tables: questions as rows x banner groups (segment, region, ...) as columns, weighted
percentages and means, column-comparison letters at two significance levels with a
multiple-comparison correction across the whole table, effective bases, small bases flagged and
tiny ones suppressed. Multiple-choice questions are percentaged on respondents (who answered the
question), not on answers, so their options may add up to more than 100%.

Column tests (within one banner variable, every pair of columns):
- percentages: pooled two-proportion z-test on the effective (Kish) bases;
- means: Welch t-test from the weighted means and sds on the effective bases;
- NPS: z-test of the difference with the adjusted-Wald variances (Rocks 2016).
A letter in a cell names the column it is significantly HIGHER than: upper case at the first
level (default p < 0.05), lower case at the second (p < 0.10), after the correction.
"""
from __future__ import annotations

import math
import string
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insight.labels import label

from insight.stats import CORRECTION_LABELS, p_adjust, two_proportion_z, welch_t_from_stats
from insight.survey.questionnaire import Question, Questionnaire

TOTAL = ("Total", "Total")


@dataclass
class Cell:
    value: float
    n: int
    n_eff: float
    sd: float = math.nan            # means
    pro: float = math.nan           # NPS
    det: float = math.nan


@dataclass
class BannerTable:
    rows: list[tuple[str, str, str]]            # (question id, row label, kind: base|pct|mean|nps)
    columns: list[tuple[str, str]]              # (banner variable, category); the first is Total
    cells: dict[tuple[int, int], Cell]
    letters: dict[tuple[int, int], str]
    column_letters: dict[tuple[str, str], str]
    question_labels: dict[str, str]
    levels: tuple[float, float]
    correction: str
    n_tests: int
    small_base: int
    tiny_base: int
    weighted: bool
    base_total: int = 0
    notes: list[str] = field(default_factory=list)

    # --- plain data --------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """Numbers only: values (shares 0-1, means, NPS points); NaN where suppressed."""
        idx = pd.MultiIndex.from_tuples([(self.question_labels[q], r) for q, r, _ in self.rows], names=["question", ""])
        cols = pd.MultiIndex.from_tuples(self.columns, names=["banner", "group"])
        data = np.full((len(self.rows), len(self.columns)), np.nan)
        for (i, j), c in self.cells.items():
            if self.rows[i][2] != "base" and c.n >= self.tiny_base:
                data[i, j] = c.value
            elif self.rows[i][2] == "base":
                data[i, j] = c.n
        return pd.DataFrame(data, index=idx, columns=cols)

    def letters_frame(self) -> pd.DataFrame:
        idx = pd.MultiIndex.from_tuples([(q, r) for q, r, _ in self.rows])
        cols = pd.MultiIndex.from_tuples(self.columns)
        out = pd.DataFrame("", index=idx, columns=cols)
        for (i, j), s in self.letters.items():
            out.iat[i, j] = s
        return out

    def letter_of(self, banner: str, group: str) -> str:
        return self.column_letters[(banner, group)]

    def cell_letters(self, question: str, row: str, banner: str, group: str) -> str:
        i = next(k for k, (q, r, _) in enumerate(self.rows) if q == question and r == row)
        j = self.columns.index((banner, group))
        return self.letters.get((i, j), "")

    # --- display -------------------------------------------------------------------------------
    @property
    def legend(self) -> str:
        corr = CORRECTION_LABELS.get(self.correction, self.correction)
        return (f"Letters name the column (within the same banner) that this column is significantly higher than: "
                f"UPPER CASE p < {self.levels[0]:g}, lower case p < {self.levels[1]:g}, after the {corr} correction "
                f"across all {self.n_tests} column comparisons in this table. Percentages and means are "
                f"{'weighted' if self.weighted else 'unweighted'}; tests use effective bases (shown in brackets on the "
                f"base rows). Percentages are of respondents answering the question (multiple-choice options can add up "
                f"to more than 100%). ⚠ marks a base below {self.small_base} (read with care); – marks a base below "
                f"{self.tiny_base}, suppressed and not tested." + (" " + " ".join(self.notes) if self.notes else ""))

    def highlights(self, max_questions: int = 4, max_rows: int = 2) -> str:
        """One plain paragraph on what matters in the table: the differences significant at the
        stricter level (UPPER CASE letters), per question, e.g. '“Recommend?” NPS: existing (+14)
        and prospect (+21) are higher than churned (-29)'."""
        lab = label
        per_q: dict[str, dict[str, dict[tuple, list[str]]]] = {}
        for (i, j), s in sorted(self.letters.items()):
            strict = [ch for ch in s if ch.isupper()]
            if not strict:
                continue
            q, row, _ = self.rows[i]
            banner, group = self.columns[j]
            lower = tuple(f"{lab(g)} ({self._value_text(i, self.columns.index((b, g)))})"
                          for (b, g), letter in self.column_letters.items() if b == banner and letter in strict)
            per_q.setdefault(q, {}).setdefault(row, {}).setdefault(lower, []).append(
                f"{lab(group)} ({self._value_text(i, j)})")
        if not per_q:
            return (f"No group differs from another in this table by more than chance would give (p < "
                    f"{self.levels[0]:g} after the correction).")
        parts = []
        for q, rows in list(per_q.items())[:max_questions]:
            said = []
            for row, by_lower in list(rows.items())[:max_rows]:
                said.append(f"{row}: " + "; ".join(
                    f"{' and '.join(higher)} {'is' if len(higher) == 1 else 'are'} higher than {' and '.join(lower)}"
                    for lower, higher in by_lower.items()))
            parts.append(f"“{self.question_labels[q]}” " + "; ".join(said))
        more = (f" Further differences in {len(per_q) - max_questions} more question(s): see the letters."
                if len(per_q) > max_questions else "")
        return f"Real differences (p < {self.levels[0]:g} after the correction): " + ". ".join(parts) + "." + more

    def _value_text(self, i: int, j: int) -> str:
        c = self.cells.get((i, j))
        kind = self.rows[i][2]
        if c is None or c.value != c.value:
            return "–"
        if kind == "pct":
            return f"{100 * c.value:.0f}%"
        if kind == "nps":
            return f"{c.value:+.0f}" if round(c.value) != 0 else "0"
        return f"{c.value:.2f}"

    def _cell_html(self, i: int, j: int) -> str:
        kind = self.rows[i][2]
        c = self.cells.get((i, j))
        if c is None:
            return ""
        if kind == "base":
            flag = " ⚠" if self.tiny_base <= c.n < self.small_base else ""
            eff = f" ({c.n_eff:,.0f})" if c.n else ""
            return f"{c.n:,}{eff}{flag}"
        if c.n < self.tiny_base or c.value != c.value:
            return "–"
        if kind == "pct":
            txt = f"{100 * c.value:.0f}%"
        elif kind == "nps":
            txt = f"{c.value:+.0f}" if round(c.value) != 0 else "0"
        else:
            txt = f"{c.value:.2f}"
        let = self.letters.get((i, j), "")
        return txt + (f"<sup class='sig'>{let}</sup>" if let else "")

    def styler(self):
        """A pandas Styler: letters as superscripts, base rows shaded, small bases greyed."""
        idx = pd.MultiIndex.from_tuples([(self.question_labels[q], r) for q, r, _ in self.rows])
        lab = label  # data values and variable names as a reviewer reads them: 'mid_market' -> 'mid market'
        cols = pd.MultiIndex.from_tuples([(lab(b) if b != "Total" else "", f"{lab(g)} ({self.column_letters[(b, g)]})"
                                           if (b, g) in self.column_letters else lab(g)) for b, g in self.columns])
        body = pd.DataFrame([[self._cell_html(i, j) for j in range(len(self.columns))] for i in range(len(self.rows))],
                            index=idx, columns=cols)
        css = pd.DataFrame("", index=idx, columns=cols)
        for i, (_, _, kind) in enumerate(self.rows):
            for j in range(len(self.columns)):
                c = self.cells.get((i, j))
                style = "text-align:right;"
                if kind == "base":
                    style += "background:#f3f3f3;font-size:90%;"
                if c is not None and c.n < self.small_base:
                    style += "color:#888;font-style:italic;"
                css.iat[i, j] = style
        st = body.style.format(escape=None)          # cell text is generated here from numbers and letters only
        st = st.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
        st = st.apply(lambda _: css, axis=None)
        st = st.set_table_styles([{"selector": "sup.sig", "props": "color:#b03a2e;font-weight:bold;margin-left:1px"},
                                  {"selector": "th.col_heading", "props": "text-align:center"}])
        return st

    def to_html(self) -> str:
        return self.styler().to_html()


def _letters(n: int) -> list[str]:
    base = string.ascii_uppercase
    return [base[i] if i < 26 else base[i // 26 - 1] + base[i % 26] for i in range(n)]


def _rows_for(q: Question) -> list[tuple[str, str, object]]:
    """(label, kind, selector) rows of one question."""
    if q.type == "nps":
        return [("NPS", "nps", None), ("% promoters (9-10)", "pct", [9, 10]),
                ("% detractors (0-6)", "pct", list(range(0, 7))), ("mean (0-10)", "mean", None)]
    if q.is_scale:
        top = q.top_codes
        label = "% agree (5-7)" if q.type == "ces" else "% top-2-box"
        return [(label, "pct", top), (f"mean ({q.scale.min}-{q.scale.max})", "mean", None)]
    if q.type in ("single", "pmf"):
        return [(f"% {o.label}", "pct", [o.code]) for o in q.options]
    if q.type == "multi":
        return [(f"% {o.label}", "pct", f"{q.id}__{o.code}") for o in q.options]
    return []


def banner_table(df: pd.DataFrame, qn: Questionnaire, banners: list[str], questions: list[str] | None = None,
                 weights=None, *, levels: tuple[float, float] = (0.05, 0.10), correction: str = "holm",
                 small_base: int = 30, tiny_base: int = 10, max_groups: int = 12) -> BannerTable:
    """Build a banner table (see module doc). `weights`: None, a column name or a Series."""
    qs = [qn.question(q) for q in questions] if questions else [q for q in qn.closed_questions]
    qs = [q for q in qs if _rows_for(q)]
    for b in banners:
        if b not in df.columns:
            raise KeyError(f"survey_responses has no banner column {b!r}; fix survey.banners in params "
                           f"(respondent columns: {', '.join(c for c in df.columns if not c.startswith('q_'))})")
    w = (pd.Series(1.0, index=df.index) if weights is None else
         df[weights] if isinstance(weights, str) else pd.Series(weights, index=df.index)).astype("float64")
    columns: list[tuple[str, str]] = [TOTAL]
    n_all = len(df)
    # one integer code per respondent per banner variable (-1: no group): sums per column are
    # then one np.bincount per row and banner variable, never a loop over respondents or a mask per cell
    coders: list[tuple[np.ndarray, int, int]] = [(np.zeros(n_all, dtype=np.int64), 1, 0)]   # codes, k, first column
    notes = []
    for b in banners:
        vals = df[b].dropna().astype(str)
        cats = sorted(vals.unique())
        if len(cats) > max_groups:
            notes.append(f"{b}: {len(cats)} groups, only the {max_groups} largest shown")
            cats = list(vals.value_counts().index[:max_groups])
        codes = np.asarray(pd.Categorical(df[b].astype("string"), categories=cats).codes, dtype=np.int64)
        coders.append((codes, len(cats), len(columns)))
        columns.extend((b, c) for c in cats)
    letters = _letters(len(columns) - 1)
    column_letters = {col: letters[k] for k, col in enumerate(columns[1:])}
    rows: list[tuple[str, str, str]] = []
    cells: dict[tuple[int, int], Cell] = {}
    wv = w.to_numpy(dtype="float64")

    grouped = [(codes >= 0, k, start) for codes, k, start in coders]

    def selector(mask: np.ndarray):
        """per_column for the respondents in `mask`: each banner variable's selection and codes taken
        once per question, not once per row of it."""
        parts = []
        for (codes, k, start), (has, _, _) in zip(coders, grouped):
            sel = mask & has
            parts.append((sel, codes[sel], k, start))

        def per_column(values: np.ndarray | None) -> np.ndarray:
            """Sums of `values` (None: counts) over the respondents in `mask`, for every column."""
            out = np.zeros(len(columns))
            for sel, c, k, start in parts:
                out[start:start + k] = np.bincount(c, weights=None if values is None else values[sel], minlength=k)
            return out
        return per_column

    for q in qs:
        answered = qn.answered(df, q).to_numpy()
        per_answered = selector(answered)
        i_base = len(rows)
        rows.append((q.id, "base: n (effective)", "base"))
        n_col = per_answered(None)
        sw = per_answered(wv)
        sw2 = per_answered(wv * wv)
        with np.errstate(all="ignore"):
            neff = np.where(sw2 > 0, sw * sw / sw2, 0.0)
        for j in range(len(columns)):
            cells[(i_base, j)] = Cell(float(n_col[j]), int(n_col[j]), float(neff[j]))
        num = pd.to_numeric(df[q.id], errors="coerce").to_numpy(dtype="float64") if q.scale is not None else None
        text = df[q.id].astype("string").to_numpy(dtype=object, na_value=None) if q.type in ("single", "pmf") else None
        for label, kind, sel in _rows_for(q):
            i = len(rows)
            rows.append((q.id, label, kind))
            if kind == "pct":
                if q.type == "multi":
                    flag = pd.to_numeric(df[sel], errors="coerce").to_numpy() == 1
                elif q.scale is not None:
                    flag = np.isin(num, sel)
                else:
                    flag = text == sel[0]
                a1 = per_answered(wv * flag)
            elif kind == "mean":
                x = np.where(answered, num, 0.0)
                a1, a2 = per_answered(wv * x), per_answered(wv * x * x)
            else:  # nps
                x = np.where(answered, num, 0.0)
                a1, a2 = per_answered(wv * (x >= 9)), per_answered(wv * (x <= 6))
            for j in range(len(columns)):
                n, tot, ne = int(n_col[j]), sw[j], neff[j]
                if n == 0 or tot <= 0:
                    cells[(i, j)] = Cell(math.nan, 0, 0.0)
                elif kind == "pct":
                    cells[(i, j)] = Cell(float(a1[j] / tot), n, float(ne))
                elif kind == "mean":
                    mean = float(a1[j] / tot)
                    denom = tot - sw2[j] / tot
                    ss = max(float(a2[j] - tot * mean * mean), 0.0)     # sum w (x - mean)^2
                    sd = math.sqrt(ss / denom) if denom > 0 else math.nan
                    cells[(i, j)] = Cell(mean, n, float(ne), sd)
                else:
                    pro, det = float(a1[j] / tot), float(a2[j] / tot)
                    cells[(i, j)] = Cell(100 * (pro - det), n, float(ne), pro=pro, det=det)
    # pairwise tests within each banner variable
    tests: list[tuple[int, int, int, float]] = []   # (row, higher col, lower col, p)
    groups: dict[str, list[int]] = {}
    for j, (b, _) in enumerate(columns[1:], start=1):
        groups.setdefault(b, []).append(j)
    for i, (_, _, kind) in enumerate(rows):
        if kind == "base":
            continue
        for cols in groups.values():
            for a_pos, a in enumerate(cols):
                for bcol in cols[a_pos + 1:]:
                    ca, cb = cells[(i, a)], cells[(i, bcol)]
                    if ca.n < tiny_base or cb.n < tiny_base or ca.value != ca.value or cb.value != cb.value:
                        continue
                    if kind == "pct":
                        p = two_proportion_z(ca.value, ca.n_eff, cb.value, cb.n_eff)
                    elif kind == "mean":
                        p = welch_t_from_stats(ca.value, ca.sd, ca.n_eff, cb.value, cb.sd, cb.n_eff)
                    else:
                        p = _nps_p(ca, cb)
                    if p != p:
                        continue
                    hi, lo = (a, bcol) if ca.value >= cb.value else (bcol, a)
                    tests.append((i, hi, lo, p))
    adj = p_adjust([t[3] for t in tests], correction) if tests else np.array([])
    letters_out: dict[tuple[int, int], list[str]] = {}
    for (i, hi, lo, _), p in zip(tests, adj):
        if cells[(i, hi)].value == cells[(i, lo)].value:
            continue
        letter = column_letters[columns[lo]]
        if p < levels[0]:
            letters_out.setdefault((i, hi), []).append(letter.upper())
        elif p < levels[1]:
            letters_out.setdefault((i, hi), []).append(letter.lower())
    letter_text = {k: "".join(sorted(v, key=str.upper)) for k, v in letters_out.items()}
    labels = {q.id: q.text for q in qs}
    return BannerTable(rows, columns, cells, letter_text, column_letters, labels, tuple(levels), correction,
                       len(tests), small_base, tiny_base, weights is not None, int(len(df)), notes)


def _nps_p(a: Cell, b: Cell) -> float:
    from scipy.stats import norm

    def adj(c: Cell):
        n_adj = c.n_eff + 3.0
        pp, pd_ = (c.pro * c.n_eff + 0.75) / n_adj, (c.det * c.n_eff + 0.75) / n_adj
        return pp - pd_, (pp + pd_ - (pp - pd_) ** 2) / n_adj

    ca, va = adj(a)
    cb, vb = adj(b)
    se = math.sqrt(va + vb)
    return float(2 * norm.sf(abs(ca - cb) / se)) if se > 0 else math.nan
