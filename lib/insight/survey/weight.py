"""Raking (iterative proportional fitting) to population margins, with optional trimming, and the
diagnostics a reviewer needs: weight range, Kish design effect, effective base, efficiency.

Raking is written here (vectorised numpy, tested against the published example of Kalton &
Flores-Cervantes 2003, J. Official Statistics 19(2), 81-97) after measuring it against the two
maintained packages, weightipy 0.4.2 and samplics 0.6.1, on 2026-12-02 (this machine, mean of 5
runs, tolerance 1e-6):

  data                               hand-written        weightipy          samplics
  Kalton & Flores-Cervantes, n 1000  33 ms, 6 cycles     69 ms, 22 cycles   167 ms
  demo survey, segment x region, 808 26 ms, 3 cycles     92 ms              119 ms
  the same x 100 (80,800 rows)       214 ms              314 ms             9,000-10,700 ms

All three give the same weights (largest difference 4e-6 on Kalton & Flores-Cervantes, 1e-7 on the
demo; every cell within 0.0041 of the published weights; the same Kish deff 1.0997 and 1.1714).
So the result is not the reason; the rest is:
- trimming: ours caps at lo and hi times the mean inside the loop; weightipy caps from above only
  (`cap`), and samplics' `ll_bound`/`up_bound` left the weights untouched in our test (0.2 to 7.0
  with bounds 0.5 and 2.0);
- errors: ours names the margin category with no respondent or without a target; given a
  target category nobody is in, weightipy silently returns weights that miss the other targets
  and samplics fails with "operands could not be broadcast together";
- weightipy prints to stdout when raking does not fully converge (it would land in a report), samplics
  loops in Python over categories (50x slower on 80k rows) and pulls in polars;
- no new dependency to pin.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from insight.checks import InputError

from insight.stats import design_effect, effective_n


class WeightingError(InputError):
    pass


@dataclass
class RakeResult:
    weights: pd.Series             # mean 1 (sums to n) unless totals were given
    iterations: int
    converged: bool
    max_error: float               # largest |weighted share - target share| at the end
    margins: pd.DataFrame = field(repr=False)   # variable, category, sample share, target, weighted share
    trimmed: int = 0               # respondents whose weight sits at a trim bound
    deff_untrimmed: float | None = None   # Kish deff of the same raking without the trim (None: no trim)

    def diagnostics(self) -> pd.DataFrame:
        return weight_diagnostics(self.weights, self)


def _check_margins(df: pd.DataFrame, margins: dict[str, dict], table: str) -> None:
    for var, shares in margins.items():
        if var not in df.columns:
            raise WeightingError(f"{table} has no column {var!r} to weight on; fix: remove {var} from "
                                 "survey.weighting.margins or add the column to the data")
        present = df[var]
        missing_rows = present.isna()
        if missing_rows.any():
            ids = list(df.loc[missing_rows, "respondent_id"].astype(str).head(10)) if "respondent_id" in df else list(df.index[missing_rows][:10])
            raise WeightingError(f"{table}.{var} is empty for {int(missing_rows.sum())} respondent(s) {ids}; "
                                 f"raking needs every respondent in a category; fix: fill {var}, or add a category "
                                 "for unknown values to the margins")
        cats = set(map(str, present.astype(str).unique()))
        absent = [c for c in shares if str(c) not in cats]
        if absent:
            raise WeightingError(f"the margin of {var} has categories {absent} with no respondent in {table}; "
                                 f"a weight cannot be made from nobody; fix: merge them with a neighbouring "
                                 f"category in survey.weighting.margins.{var} (categories present: {sorted(cats)})")
        extra = sorted(cats - set(map(str, shares)))
        if extra:
            raise WeightingError(f"{table}.{var} has categories {extra} that survey.weighting.margins.{var} lacks; "
                                 "fix: give them a population share (all shares summing to 1)")
        total = float(sum(shares.values()))
        if total <= 0:
            raise WeightingError(f"survey.weighting.margins.{var}: the shares sum to {total}; give positive shares")


def _cap(w: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Clip weights to [lo, hi] x their mean; repeated because clipping moves the mean."""
    for _ in range(100):
        mean = w.mean()
        clipped = np.clip(w, lo * mean, hi * mean)
        if np.allclose(clipped, w, rtol=1e-12, atol=0):
            return clipped
        w = clipped
    return w


def rake(df: pd.DataFrame, margins: dict[str, dict], base_weights=None, *, trim: tuple[float, float] | None = None,
         tolerance: float = 1e-6, max_iter: int = 100, table: str = "survey_responses") -> RakeResult:
    """Rake weights so the weighted share of every category of every margin variable matches its
    target. `margins` maps variable -> {category: share or population count}; shares are
    normalised per variable. Weights are scaled to mean 1 (sum n). With `trim=(lo, hi)` weights
    are capped at lo and hi times the mean after each full cycle and raking continues, so the
    margins hold where possible (the cap may make an exact fit impossible: then converged is
    False and max_error says how far off the margins are).

    Vectorised: each step is a groupby over the respondents (fine for 1M rows)."""
    if not margins:
        w = pd.Series(1.0, index=df.index, name="weight")
        return RakeResult(w, 0, True, 0.0, pd.DataFrame(columns=["variable", "category", "sample", "target", "weighted"]))
    _check_margins(df, margins, table)
    n = len(df)
    w = np.ones(n) if base_weights is None else np.asarray(base_weights, dtype="float64").copy()
    if np.any(~np.isfinite(w)) or np.any(w <= 0):
        raise WeightingError("base weights must be positive numbers")
    codes, targets = {}, {}
    for var, shares in margins.items():
        cats = [str(c) for c in shares]
        cat = pd.Categorical(df[var].astype(str), categories=cats)
        codes[var] = np.asarray(cat.codes)
        t = np.array([float(shares[c]) for c in shares])
        targets[var] = t / t.sum()
    converged, it, err = False, 0, np.inf
    for it in range(1, max_iter + 1):
        for var in margins:
            sums = np.bincount(codes[var], weights=w, minlength=len(targets[var]))
            factor = targets[var] * w.sum() / sums
            w = w * factor[codes[var]]
        if trim is not None:
            w = _cap(w, *trim)
        err = max(float(np.max(np.abs(np.bincount(codes[v], weights=w, minlength=len(targets[v])) / w.sum() - targets[v])))
                  for v in margins)
        if err < tolerance:
            converged = True
            break
    w = w * n / w.sum()
    rows = []
    for var, shares in margins.items():
        sample = np.bincount(codes[var], minlength=len(targets[var])) / n
        weighted = np.bincount(codes[var], weights=w, minlength=len(targets[var])) / w.sum()
        for i, c in enumerate(shares):
            rows.append({"variable": var, "category": str(c), "sample": sample[i], "target": targets[var][i],
                         "weighted": weighted[i]})
    trimmed, deff_untrimmed = 0, None
    if trim is not None:
        trimmed = int(np.sum(np.isclose(w, trim[0], rtol=1e-6) | np.isclose(w, trim[1], rtol=1e-6)))
        # what the trim bought: the design effect of the same raking without it
        deff_untrimmed = design_effect(rake(df, margins, base_weights, tolerance=tolerance, max_iter=max_iter,
                                            table=table).weights)
    return RakeResult(pd.Series(w, index=df.index, name="weight"), it, converged, err, pd.DataFrame(rows), trimmed,
                      deff_untrimmed)


def diagnostics_display(diag: pd.DataFrame) -> pd.DataFrame:
    """weight_diagnostics for a report: counts as whole numbers, the efficiency as a percentage,
    other numbers with 2 decimals (3 significant digits for a tiny margin error)."""
    def fmt(stat, v):
        if isinstance(v, str):
            return v
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "n/a"
        if stat in ("respondents weighted", "raking iterations", "weights at a trim bound", "effective base"):
            return f"{v:,.0f}"
        if stat == "weighting efficiency":
            return f"{v:.0%}"
        if stat == "largest margin error":
            return "< 0.001" if v < 0.001 else f"{v:.3f}"
        return f"{v:.2f}"
    return diag.assign(value=[fmt(s_, v) for s_, v in zip(diag["statistic"], diag["value"])])


def weight_diagnostics(weights, result: RakeResult | None = None) -> pd.DataFrame:
    """One-row-per-statistic table: n, min, max, max/min ratio, Kish design effect (1 + CV^2),
    effective base n / deff, weighting efficiency (effective base / n)."""
    w = pd.Series(weights, dtype="float64").dropna()
    n = len(w)
    deff = design_effect(w)
    rows = [("respondents weighted", n), ("smallest weight", float(w.min())), ("largest weight", float(w.max())),
            ("largest / smallest", float(w.max() / w.min())), ("design effect (Kish, 1 + CV²)", deff),
            ("effective base", effective_n(w)), ("weighting efficiency", effective_n(w) / n if n else np.nan)]
    if result is not None:
        rows += [("raking iterations", result.iterations), ("converged", "yes" if result.converged else "NO"),
                 ("largest margin error", result.max_error), ("weights at a trim bound", result.trimmed)]
        if result.deff_untrimmed is not None:
            rows += [("design effect without trimming", result.deff_untrimmed),
                     ("design effect saved by trimming", result.deff_untrimmed - deff)]
    return pd.DataFrame(rows, columns=["statistic", "value"])
