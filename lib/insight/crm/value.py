"""Value classification from purchase records: RFM scores and named segments; customer lifetime
value from the BG/NBD purchase model and the Gamma-Gamma spend model.

RFM (documented for the report, see RFM_METHOD): per customer, recency = days since the last
purchase at the reference date, frequency = number of purchase days, monetary = total net revenue.
Each is turned into a score 1..bins by its percentile rank (ties share their average rank): score =
ceil(bins x percentile rank); recency is ranked the other way round (recent = high score). Named
segments come from rules on the three scores (params crm.rfm_rules; first match wins).

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way", Marketing Science 24(2)):
while active, a customer buys as a Poisson process with rate lambda ~ Gamma(r, alpha); after each
purchase they drop out with probability p ~ Beta(a, b). Gamma-Gamma (Fader & Hardie 2013, "The
Gamma-Gamma model of monetary value"): a customer's spend per transaction is Gamma(p, nu) with
nu ~ Gamma(q, gamma), independent of the purchase process. Both are fitted by maximum likelihood
with the closed-form log-likelihoods of those papers (scipy.optimize), checked in the tests
against the published CDNOW parameters.

Why not PyMC-Marketing: it is not in the pinned environment, pulls pymc/pytensor/numba, takes
~15 s to compile and fit the CDNOW model on this machine, and its default priors put the MAP
estimate away from the published maximum-likelihood values (a=0.71, b=2.09 against 0.793, 2.426).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special

from insight.crm.purchases import CrmInputError
from insight.data.engine import customer_orders, purchase_day_counts, purchase_span, repeat_purchase_counts

RFM_METHOD = (
    "Recency = days from the last purchase to the reference date; frequency = number of days with a "
    "purchase; monetary = total revenue net of returns. Each becomes a score from 1 to {bins}: the "
    "customer's percentile rank among all customers (ties share the average rank) cut into {bins} equal "
    "bands, so a score of {bins} is the top fifth; for recency the most recent buyers score {bins}. "
    "Named segments are rules on the three scores, tried in order (first match wins)."
)


# ----------------------------------------------------------------------------------------------
# RFM

def rfm_table(orders, as_of=None) -> pd.DataFrame:
    """Per customer: recency_days, frequency (purchase days), monetary (net revenue), first and
    last purchase. Returns/cancellations are excluded from purchases; their (negative) revenue is
    netted into monetary when the return row names a customer. `orders`: a DataFrame or an ibis
    table (study.engine.table("orders")); the per-customer sums run on the engine
    (insight.data.engine.customer_orders), the scores here on the small result."""
    span = purchase_span(orders)
    if span is None:
        raise CrmInputError("table 'orders' has no purchases (after removing returns and rows without customer_id)")
    as_of = pd.Timestamp(as_of) if as_of is not None else span[1] + pd.Timedelta(days=1)
    c = customer_orders(orders, until=as_of, returns=True)
    g = pd.DataFrame({"first_purchase": c["first_purchase"], "last_purchase": c["last_purchase"],
                      "frequency": c["purchase_days"], "monetary": c["revenue"] - c["returned"]})
    g["recency_days"] = (as_of - g["last_purchase"]).dt.days
    g.attrs["as_of"] = as_of
    return g[["recency_days", "frequency", "monetary", "first_purchase", "last_purchase"]]


def score(values: pd.Series, bins: int = 5, higher_is_better: bool = True) -> pd.Series:
    """Scores 1..bins: ceil(bins x percentile rank), ties sharing their average rank."""
    v = values if higher_is_better else -values
    pct = v.rank(method="average", pct=True)
    return np.ceil(pct * bins).clip(1, bins).astype(int)


def rfm_scores(rfm: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    out = rfm.copy()
    out["r"] = score(rfm["recency_days"], bins, higher_is_better=False)
    out["f"] = score(rfm["frequency"], bins)
    out["m"] = score(rfm["monetary"], bins)
    out["rfm"] = out["r"].astype(str) + out["f"].astype(str) + out["m"].astype(str)
    return out


def rfm_segments(scored: pd.DataFrame, rules) -> pd.Series:
    """Segment name per customer: the first rule whose r, f and m ranges all hold; else 'other'.
    `rules` are params RfmRule objects or dicts with name, r, f, m."""
    # on arrays: a boolean Series set into a Series aligns the two string indexes each time (slow on
    # hundreds of thousands of customer ids); the rows are the same throughout
    seg = np.full(len(scored), "other", dtype=object)
    free = np.ones(len(scored), dtype=bool)
    for rule in rules:
        rd = rule if isinstance(rule, dict) else rule.model_dump()
        m = free.copy()
        for k in ("r", "f", "m"):
            if rd.get(k) is None:
                continue
            lo, hi = rd[k]
            m &= scored[k].between(lo, hi).to_numpy()
        seg[m] = rd["name"]
        free &= ~m
    return pd.Series(seg, index=scored.index, dtype=object)


def rfm(orders: pd.DataFrame, as_of=None, bins: int = 5, rules=None) -> pd.DataFrame:
    """RFM table with scores and named segments (rules default to the params defaults)."""
    if rules is None:
        from insight.config.crm import DEFAULT_RFM_RULES
        rules = DEFAULT_RFM_RULES
    out = rfm_scores(rfm_table(orders, as_of), bins)
    out["segment_rfm"] = rfm_segments(out, rules)
    return out


def rfm_segment_summary(scored: pd.DataFrame, rules=None) -> pd.DataFrame:
    """Per named segment: customers, share, mean recency/frequency/monetary, revenue share."""
    g = scored.groupby("segment_rfm", observed=True).agg(
        customers=("r", "size"), recency_days=("recency_days", "mean"),
        frequency=("frequency", "mean"), monetary=("monetary", "mean"), revenue=("monetary", "sum"))
    g["share_customers"] = g["customers"] / g["customers"].sum()
    g["share_revenue"] = g["revenue"] / g["revenue"].sum()
    if rules is not None:
        desc = {(r if isinstance(r, dict) else r.model_dump())["name"]: (r if isinstance(r, dict) else r.model_dump()).get("description", "") for r in rules}
        g["meaning"] = [desc.get(i, "no rule matched") for i in g.index]
    return g.sort_values("revenue", ascending=False)


# ----------------------------------------------------------------------------------------------
# BG/NBD

def summary_from_transactions(orders, calibration_end=None, unit_days: float = 7.0) -> pd.DataFrame:
    """The model input per customer (lifetimes convention): frequency = repeat purchase days,
    recency = time from first to last purchase, T = time from first purchase to calibration_end
    (in units of `unit_days`), monetary = mean revenue of the repeat purchases (0 with none).
    `orders`: a DataFrame or an ibis table; the per-customer sums run on the engine."""
    if calibration_end is not None:
        end = pd.Timestamp(calibration_end)
    else:
        span = purchase_span(orders)
        if span is None:
            raise CrmInputError("table 'orders' has no purchases (after removing returns and rows without customer_id)")
        end = span[1]
    c = customer_orders(orders, until=end)
    if c.empty:
        raise CrmInputError(f"table 'orders' has no purchases on or before {end:%Y-%m-%d}: the purchase model needs history "
                            "before its calibration end")
    freq = (c["purchase_days"] - 1).astype(int)
    repeat_rev = c["revenue"] - c["first_day_revenue"]
    out = pd.DataFrame({
        "frequency": freq,
        "recency": (c["last_purchase"] - c["first_purchase"]).dt.days / unit_days,
        "T": (end - c["first_purchase"]).dt.days / unit_days,
        "monetary": np.where(freq > 0, repeat_rev / freq.where(freq > 0, 1), 0.0),
    })
    out.attrs.update(calibration_end=end, unit_days=unit_days)
    return out


def _check_summary(frequency, recency, T):
    x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
    bad = (x < 0) | (tx < 0) | (T < tx) | ~np.isfinite(x + tx + T) | ((x == 0) & (tx > 0))
    if bad.any():
        i = np.flatnonzero(bad)[:5]
        raise CrmInputError(f"BG/NBD input: {int(bad.sum())} customer(s) with impossible frequency/recency/T "
                            f"(positions {list(i)}); need frequency >= 0, 0 <= recency <= T, recency 0 when frequency 0")
    return x, tx, T


def bgnbd_loglik(params, x, tx, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    ux, inv = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return _bgnbd_loglik(params, ux, inv, np.asarray(tx, dtype=float), np.asarray(T, dtype=float))


def _bgnbd_loglik(params, ux, inv, tx, T) -> np.ndarray:
    """bgnbd_loglik with the frequencies given as their distinct values `ux` and the index `inv` of each
    customer's: the terms in x alone (the gamma functions) are computed once per distinct frequency,
    a few dozen values, not once per customer (the fit evaluates this hundreds of times)."""
    return _bgnbd_parts(params, ux, inv, tx, T)[0]


def _bgnbd_parts(params, ux, inv, tx, T):
    """The per-customer log-likelihood, and what its gradient needs: x per customer, log(alpha + T),
    log(alpha + t_x) and the weight of the second term of the sum, e^a4 / (e^a3 + e^a4)."""
    r, alpha, a, b = params
    a1 = special.gammaln(r + ux) - special.gammaln(r) + r * np.log(alpha)
    a2 = special.gammaln(a + b) + special.gammaln(b + ux) - special.gammaln(b) - special.gammaln(a + b + ux)
    per_x = a1 + a2
    with np.errstate(divide="ignore", invalid="ignore"):
        log_b = np.where(ux > 0, np.log(a) - np.log(np.maximum(b + ux - 1, 1e-300)), -np.inf)
    x = ux[inv]
    rx = r + x
    log_T, log_tx = np.log(alpha + T), np.log(alpha + tx)
    a3 = -(rx * log_T)
    with np.errstate(divide="ignore", invalid="ignore"):
        a4 = np.where(x > 0, log_b[inv] - rx * log_tx, -np.inf)
    # log(e^a3 + e^a4) as max + log1p(exp(-|a3 - a4|)), vectorised: numpy's logaddexp is a scalar loop,
    # 3/4 of this function's time on 300,000 customers; the two agree to ~1e-15 relative, and a4 = -inf
    # (no repeat purchase) gives a3 exactly
    e = np.exp(-np.abs(a3 - a4))
    ll = per_x[inv] + (np.maximum(a3, a4) + np.log1p(e))
    share = e / (1 + e)
    w4 = np.where(a4 > a3, 1 - share, share)     # 0 without a repeat purchase
    return ll, x, log_T, log_tx, w4


def _bgnbd_objective(lp, ux, inv, tx, T, w, wx):
    """The fit's objective: the negative log-likelihood of the customers (rows weighted by `w`, the
    customers sharing their x, t_x and T; `wx` the weights summed per distinct x), per customer, and
    its exact gradient in the log-parameters (Fader, Hardie & Lee 2005, eq. 6 differentiated):
      d/dr      psi(r+x) - psi(r) + ln alpha - (1-w4) ln(alpha+T) - w4 ln(alpha+t_x)
      d/dalpha  r/alpha - (r+x) [(1-w4)/(alpha+T) + w4/(alpha+t_x)]
      d/da      psi(a+b) - psi(a+b+x) + w4/a
      d/db      psi(a+b) + psi(b+x) - psi(b) - psi(a+b+x) - w4/(b+x-1)
    with w4 = e^a4 / (e^a3 + e^a4), the share of the term of a customer who dropped out after the
    last purchase (0 when x = 0). Exact gradients let L-BFGS-B converge in tens of evaluations where
    differences took hundreds and a Nelder-Mead polish."""
    clipped = np.clip(lp, -20, 20)
    r, alpha, a, b = p = np.exp(clipped)
    n = wx.sum()
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        ll, x, log_T, log_tx, w4 = _bgnbd_parts(p, ux, inv, tx, T)
        f = -(w * ll).sum() / n
        w3 = 1 - w4
        ww4 = w * w4
        d_r = wx @ (special.digamma(r + ux) - special.digamma(r) + np.log(alpha)) - (w * (w3 * log_T + w4 * log_tx)).sum()
        d_alpha = n * r / alpha - (w * (r + x) * (w3 / (alpha + T) + w4 / (alpha + tx))).sum()
        d_a = wx @ (special.digamma(a + b) - special.digamma(a + b + ux)) + ww4.sum() / a
        d_b = (wx @ (special.digamma(a + b) + special.digamma(b + ux) - special.digamma(b) - special.digamma(a + b + ux))
               - (ww4[x > 0] / (b + x[x > 0] - 1)).sum())
    g = -np.array([d_r, d_alpha, d_a, d_b]) * p * (np.abs(lp) < 20) / n
    if not (np.isfinite(f) and np.isfinite(g).all()):
        return 1e300, np.zeros(4)
    return f, g


@dataclass
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    loglik: float
    n: int
    unit_days: float = 7.0

    @property
    def params(self) -> dict:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    def p_alive(self, frequency, recency, T) -> np.ndarray:
        """P(still active | x, t_x, T) (Fader, Hardie & Lee 2005, eq. 11); 1 for x = 0."""
        x, tx, T = (np.asarray(v, dtype=float) for v in (frequency, recency, T))
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(x > 0, self.a / (self.b + x - 1) *
                             np.exp((self.r + x) * (np.log(self.alpha + T) - np.log(self.alpha + tx))), 0.0)
        return 1.0 / (1.0 + ratio)

    def expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """E[purchases in (T, T+t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10)."""
        x, tx, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (frequency, recency, T)))
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        # all but P(alive) depends on x and T alone: computed once per distinct (x, T) pair (the
        # hypergeometric function is the costly part; a table has far fewer pairs than customers)
        ix, ux = pd.factorize(x.ravel(), use_na_sentinel=False)     # hashing: no sort of the customers
        iT, uT = pd.factorize(T.ravel(), use_na_sentinel=False)
        inv, pair = pd.factorize(ix * len(uT) + iT)
        xu, Tu = ux[pair // len(uT)], uT[pair % len(uT)]
        z = t / (alpha + Tu + t)
        hyp = special.hyp2f1(r + xu, b + xu, a + b + xu - 1, z)
        head = (a + b + xu - 1) / (a - 1)
        num = head * (1 - np.exp((r + xu) * (np.log(alpha + Tu) - np.log(alpha + Tu + t))) * hyp)
        return num[inv].reshape(x.shape) * self.p_alive(x, tx, T)

    def expected_purchases_new(self, t) -> float:
        """E[X(t)] for a new customer (eq. 9)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))

    def probability_of_purchases(self, t, n) -> np.ndarray:
        """P(X(t) = n): the probability that a customer makes exactly n purchases in a period of
        length t from their first purchase (Fader, Hardie & Lee 2005, eq. 8):
        B(a, b+n)/B(a, b) * NB(n; r, alpha/(alpha+t))
        + [n > 0] B(a+1, b+n-1)/B(a, b) * (1 - sum_{j<n} NB(j; r, alpha/(alpha+t))),
        NB the negative binomial probability Gamma(r+j)/(Gamma(r) j!) (alpha/(alpha+t))^r (t/(alpha+t))^j.
        Vectorised over n (whole numbers >= 0)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        n = np.asarray(n, dtype=float)
        if np.any(n < 0) or np.any(n != np.round(n)):
            raise ValueError(f"n must be whole numbers >= 0, got {n}")
        q = alpha / (alpha + t)
        nb = lambda j: np.exp(special.gammaln(r + j) - special.gammaln(r) - special.gammaln(j + 1)
                              + r * np.log(q) + j * np.log1p(-q))
        lbab = special.betaln(a, b)
        first = np.exp(special.betaln(a, b + n) - lbab) * nb(n)
        # sum_{j<n} NB(j) is the negative binomial cdf at n - 1 (scipy: successes r, probability q)
        from scipy.stats import nbinom
        tail = np.where(n > 0, 1 - nbinom.cdf(n - 1, r, q), 0.0)
        with np.errstate(invalid="ignore"):
            second = np.where(n > 0, np.exp(special.betaln(a + 1, np.maximum(b + n - 1, 1e-12)) - lbab) * tail, 0.0)
        return first + second


def fit_bgnbd(frequency, recency, T, unit_days: float = 7.0) -> BgNbd:
    """Maximum-likelihood BG/NBD fit (log-parameters, L-BFGS-B from several starts)."""
    x, tx, T = _check_summary(frequency, recency, T)
    if len(x) < 10 or (x > 0).sum() < 3:
        raise CrmInputError(f"BG/NBD needs at least 10 customers and 3 with repeat purchases; got {len(x)} and {(x > 0).sum()}")
    # group identical (x, tx, T) rows: same likelihood, far fewer evaluations on big tables
    key = pd.DataFrame({"x": x, "tx": tx, "T": T})
    grp = key.groupby(["x", "tx", "T"], sort=False).size().reset_index(name="w")
    gx, gtx, gT, w = (grp[c].to_numpy(float) for c in ("x", "tx", "T", "w"))
    ux, inv = np.unique(gx, return_inverse=True)
    wx = np.bincount(inv, weights=w, minlength=len(ux))

    # L-BFGS-B with the exact gradient from two starts; the better optimum is kept. Converged when the
    # gradient of the mean log-likelihood is below 1e-9 in every log-parameter (ftol 0: never on a
    # small step alone)
    starts = ([0.0, 0.0, 0.0, 0.0], [np.log(0.25), np.log(max(T.mean(), 1.0)), 0.0, np.log(2.0)])
    best = min((optimize.minimize(_bgnbd_objective, np.array(s), args=(ux, inv, gtx, gT, w, wx), jac=True,
                                  method="L-BFGS-B", options={"ftol": 0.0, "gtol": 1e-9, "maxiter": 1000})
                for s in starts), key=lambda res: res.fun)
    if not best.fun < 1e300:
        raise CrmInputError("BG/NBD: the likelihood cannot be evaluated from either starting point (overflow on "
                            "these frequencies, recencies and T); check the unit of time (`unit_days`) and the dates")
    r, alpha, a, b = params = np.exp(best.x)
    loglik = (w * _bgnbd_loglik(params, ux, inv, gtx, gT)).sum()
    return BgNbd(float(r), float(alpha), float(a), float(b), float(loglik), int(len(x)), unit_days)


# ----------------------------------------------------------------------------------------------
# Gamma-Gamma

def gamma_gamma_loglik(params, x, m) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m of x transactions
    (Fader & Hardie 2013, eq. 3; the constant terms in m and x are kept)."""
    ux, inv = np.unique(np.asarray(x, dtype=float), return_inverse=True)
    return _gamma_gamma_loglik(params, ux, inv, np.asarray(m, dtype=float))


def _gamma_gamma_loglik(params, ux, inv, m, x=None, log_m=None, mx=None) -> np.ndarray:
    """gamma_gamma_loglik with the gamma functions computed once per distinct frequency (as
    _bgnbd_loglik); the same terms added in the same order, so the same numbers to the last bit. The
    fit passes the terms without parameters once for all its evaluations: x (= ux[inv]), log m, m x."""
    p, q, g = params
    head = special.gammaln(p * ux + q) - special.gammaln(p * ux) - special.gammaln(q) + q * np.log(g)
    x = ux[inv] if x is None else x
    log_m = np.log(m) if log_m is None else log_m
    mx = m * x if mx is None else mx
    return head[inv] + (p * x - 1) * log_m + (p * ux * np.log(ux))[inv] - (p * x + q) * np.log(g + mx)


def _gamma_gamma_objective(lp, ux, inv, nx, m, x, log_m, mx):
    """The Gamma-Gamma fit's objective: the negative log-likelihood per customer (x the frequencies, m
    the mean spends, log m and m x given once for all evaluations; `ux`, `inv` the distinct x and each
    customer's, `nx` the customers per distinct x) and its exact gradient in the log-parameters:
      d/dp      x psi(px+q) - x psi(px) + x ln m + x ln x - x ln(g + m x)
      d/dq      psi(px+q) - psi(q) + ln g - ln(g + m x)
      d/dgamma  q/g - (px+q)/(g + m x)"""
    p, q, g = params = np.exp(np.clip(lp, -20, 20))
    n = len(x)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        f = -_gamma_gamma_loglik(params, ux, inv, m, x, log_m, mx).sum() / n
        log_gmx = np.log(g + mx)
        psi = special.digamma(p * ux + q)
        d_p = nx @ (ux * (psi - special.digamma(p * ux) + np.log(ux))) + (x * (log_m - log_gmx)).sum()
        d_q = nx @ psi - n * special.digamma(q) + n * np.log(g) - log_gmx.sum()
        d_g = n * q / g - ((p * x + q) / (g + mx)).sum()
    grad = -np.array([d_p, d_q, d_g]) * params * (np.abs(lp) < 20) / n
    if not (np.isfinite(f) and np.isfinite(grad).all()):
        return 1e300, np.zeros(3)
    return f, grad


@dataclass
class GammaGamma:
    p: float
    q: float
    gamma: float
    loglik: float
    n: int

    @property
    def params(self) -> dict:
        return {"p": self.p, "q": self.q, "gamma": self.gamma}

    def expected_spend(self, frequency, monetary) -> np.ndarray:
        """E[M | x, m_x] = (p (gamma + x m_x)) / (p x + q - 1); the population mean for x = 0."""
        x = np.asarray(frequency, dtype=float)
        m = np.asarray(monetary, dtype=float)
        return np.where(x > 0, self.p * (self.gamma + x * m) / (self.p * x + self.q - 1),
                        self.p * self.gamma / (self.q - 1))


def fit_gamma_gamma(frequency, monetary) -> GammaGamma:
    """ML fit on repeat customers (frequency > 0, monetary > 0)."""
    x = np.asarray(frequency, dtype=float)
    m = np.asarray(monetary, dtype=float)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    x, m = x[keep], m[keep]
    if len(x) < 10:
        raise CrmInputError(f"the Gamma-Gamma spend model needs at least 10 repeat customers with positive spend; got {len(x)}")

    ux, inv = np.unique(x, return_inverse=True)
    log_m, mx = np.log(m), m * x
    nx = np.bincount(inv, minlength=len(ux)).astype(float)   # customers per distinct x
    res = optimize.minimize(_gamma_gamma_objective, np.array([0.0, 0.0, np.log(max(m.mean(), 1e-3))]), jac=True,
                            args=(ux, inv, nx, m, x, log_m, mx), method="L-BFGS-B",
                            options={"ftol": 0.0, "gtol": 1e-9, "maxiter": 1000})
    if not res.fun < 1e300:
        raise CrmInputError("the Gamma-Gamma spend model: its likelihood cannot be evaluated on these spends "
                            "(overflow); check the monetary values")
    p, q, g = params = np.exp(res.x)
    loglik = _gamma_gamma_loglik(params, ux, inv, m, x, log_m, mx).sum()
    return GammaGamma(float(p), float(q), float(g), float(loglik), int(len(x)))


# ----------------------------------------------------------------------------------------------
# CLV

def clv_table(orders: pd.DataFrame, as_of=None, unit_days: float = 7.0, horizon_months: int = 12,
              annual_discount_rate: float = 0.10, margin: float = 1.0) -> pd.DataFrame:
    """Per customer: frequency, recency, T, monetary, p_alive, expected purchases and spend over
    the horizon, and CLV = sum over months of expected purchases in that month x expected spend x
    margin, discounted monthly. Models in .attrs['bgnbd'] and .attrs['gamma_gamma'] (None when the
    spend model cannot be fitted, then CLV is not computed)."""
    s = summary_from_transactions(orders, as_of, unit_days)
    bg = fit_bgnbd(s["frequency"], s["recency"], s["T"], unit_days)
    s["p_alive"] = bg.p_alive(s["frequency"], s["recency"], s["T"])
    month = 365.25 / 12 / unit_days
    s["expected_purchases"] = bg.expected_purchases(horizon_months * month, s["frequency"], s["recency"], s["T"])
    gg = None
    try:
        gg = fit_gamma_gamma(s["frequency"], s["monetary"])
    except CrmInputError:
        pass
    if gg is not None and gg.q > 1:
        s["expected_spend"] = gg.expected_spend(s["frequency"], s["monetary"])
        d = (1 + annual_discount_rate) ** (1 / 12) - 1
        clv = np.zeros(len(s))
        prev = np.zeros(len(s))
        for i in range(1, horizon_months + 1):   # loop over months, vectorised over customers
            cum = bg.expected_purchases(i * month, s["frequency"], s["recency"], s["T"])
            clv += (cum - prev) / (1 + d) ** i
            prev = cum
        s["clv"] = clv * s["expected_spend"].to_numpy() * margin
    s.attrs.update(bgnbd=bg, gamma_gamma=gg, horizon_months=horizon_months)
    return s


def p_alive_table(orders: pd.DataFrame, as_of, unit_days: float = 7.0) -> pd.DataFrame:
    """BG/NBD P(alive) at `as_of` from the purchases up to it (for at-risk lists on order data)."""
    s = summary_from_transactions(orders, as_of, unit_days)
    bg = fit_bgnbd(s["frequency"], s["recency"], s["T"], unit_days)
    s["p_alive"] = bg.p_alive(s["frequency"], s["recency"], s["T"])
    s.attrs["bgnbd"] = bg
    return s


def holdout_check(orders: pd.DataFrame, split, end, unit_days: float = 7.0, max_freq: int = 7) -> pd.DataFrame:
    """Does the purchase model predict? Fit on purchases up to `split`, predict each customer's
    purchases in (split, end], compare with what they did, by number of repeat purchases in the
    calibration period (the check of Fader, Hardie & Lee 2005, fig. 4). .attrs: model, totals."""
    split, end = pd.Timestamp(split), pd.Timestamp(end)
    span = purchase_span(orders)
    if span is None:
        raise CrmInputError("table 'orders' has no purchases (after removing returns and rows without customer_id)")
    start = span[0]
    if split <= start + (end - start) / 3:           # too little history before the split: use the middle
        split = (start + (end - start) / 2).normalize()
    cal = summary_from_transactions(orders, split, unit_days)
    bg = fit_bgnbd(cal["frequency"], cal["recency"], cal["T"], unit_days)
    hold = purchase_day_counts(orders, split, end)
    cal["actual"] = hold.reindex(cal.index).fillna(0)
    cal["predicted"] = bg.expected_purchases((end - split).days / unit_days, cal["frequency"], cal["recency"], cal["T"])
    band = cal["frequency"].clip(upper=max_freq).astype(int).astype(str)
    band = band.where(cal["frequency"] < max_freq, f"{max_freq}+")
    out = cal.groupby(band).agg(customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean"))
    out = out.reindex(sorted(out.index, key=lambda s: int(s.rstrip("+"))))
    out.index.name = "repeat purchases before the split"
    out.attrs.update(model=bg, actual_total=float(cal["actual"].sum()), predicted_total=float(cal["predicted"].sum()),
                     split=split, end=end)
    return out


def tracking(orders: pd.DataFrame, split, end=None, unit_days: float = 7.0, model: BgNbd | None = None) -> pd.DataFrame:
    """Cumulative repeat transactions per period (of `unit_days`) from the first purchase in the
    data to `end`: actual against what the BG/NBD model fitted on the purchases up to `split`
    predicts (the tracking plot of Fader, Hardie & Lee 2005, fig. 2). The prediction for calendar
    time T sums, over the customers whose first purchase (at s_i) is before T, the expected
    repeat purchases of a new customer E[X(T - s_i)] (eq. 9). Columns: period (1, 2, ...),
    period_end, actual, predicted, actual_cum, predicted_cum, holdout (period after the split).
    .attrs: model, split, the holdout totals and errors (holdout_error)."""
    split = pd.Timestamp(split)
    if end is None:
        span = purchase_span(orders)
        if span is None:
            raise CrmInputError("table 'orders' has no purchases (after removing returns and rows without customer_id)")
        end = span[1]
    end = pd.Timestamp(end)
    if split >= end:
        raise CrmInputError(f"the tracking comparison needs its split ({split:%Y-%m-%d}) before its end ({end:%Y-%m-%d})")
    if model is None:
        cal = summary_from_transactions(orders, split, unit_days)
        model = fit_bgnbd(cal["frequency"], cal["recency"], cal["T"], unit_days)
    # on the engine: customers per first purchase day, and the repeat purchase days per day of the
    # customers acquired by the split (the model speaks for them); the periods are cut here
    firsts, repeats = repeat_purchase_counts(orders, split, end)
    if firsts.empty:
        raise CrmInputError(f"table 'orders' has no purchases on or before {end:%Y-%m-%d}")
    start = firsts.index[0]
    cohort = firsts[firsts.index <= split]
    split_day, end_day = (split - start).days, (end - start).days
    # periods of unit_days ending on the split day (the first one may be shorter), then on to the end:
    # period k covers days [edge_{k-1}, edge_k), and one edge is the day after the split
    first = (split_day + 1) % unit_days or unit_days
    edges = np.arange(first, end_day + 1, unit_days, dtype=float)
    if not len(edges) or edges[-1] < end_day + 1:        # the last period ends on the end day (may be shorter)
        edges = np.append(edges, float(end_day + 1))
    n_periods = len(edges)
    rep = (repeats.index - start).days.to_numpy()
    actual = np.histogram(rep, bins=np.concatenate([[0], edges]), weights=repeats.to_numpy(dtype=float))[0]
    # each customer can repeat from the day after the first purchase: exposure (edge - s - 1) / unit
    starts, counts = (cohort.index - start).days.to_numpy(dtype=float), cohort.to_numpy()
    expo = np.clip((edges[:, None] - starts[None, :] - 1) / unit_days, 0, None)
    predicted_cum = (model.expected_purchases_new(expo) * counts[None, :]).sum(axis=1)
    out = pd.DataFrame({"period": np.arange(1, n_periods + 1),
                        "period_end": start + pd.to_timedelta(edges - 1, unit="D"),
                        "actual": actual, "predicted": np.diff(np.concatenate([[0.0], predicted_cum])),
                        "actual_cum": np.cumsum(actual), "predicted_cum": predicted_cum,
                        "holdout": edges - 1 > split_day})
    hold = out.loc[out["holdout"]]
    base_a = out.loc[~out["holdout"], "actual_cum"].iloc[-1] if (~out["holdout"]).any() else 0.0
    base_p = out.loc[~out["holdout"], "predicted_cum"].iloc[-1] if (~out["holdout"]).any() else 0.0
    act_h, pred_h = float(hold["actual"].sum()), float(hold["predicted"].sum())
    cum_err = ((hold["predicted_cum"] - hold["actual_cum"]).abs() / hold["actual_cum"].where(hold["actual_cum"] > 0)).mean()
    out.attrs.update(model=model, split=split, end=end, customers=int(cohort.sum()), holdout_actual=act_h,
                     holdout_predicted=pred_h,
                     holdout_error=(pred_h - act_h) / act_h if act_h else float("nan"),
                     calibration_actual=float(base_a), calibration_predicted=float(base_p),
                     holdout_mape_cumulative=float(cum_err),
                     end_cumulative_error=float((out["predicted_cum"].iloc[-1] - out["actual_cum"].iloc[-1])
                                                / out["actual_cum"].iloc[-1]) if out["actual_cum"].iloc[-1] else float("nan"))
    return out


def tracking_plot(track: pd.DataFrame, unit: str = "week"):
    """Cumulative repeat purchases, actual (solid) against predicted (dashed), with the end of the
    calibration period marked."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.plot(track["period"], track["actual_cum"], color="#1b7837", lw=2, label="actual")
    ax.plot(track["period"], track["predicted_cum"], color="#762a83", lw=2, ls="--", label="predicted (BG/NBD)")
    if track["holdout"].any():
        cut = int(track.loc[~track["holdout"], "period"].max()) if (~track["holdout"]).any() else 0
        ax.axvline(cut + 0.5, color="grey", ls=":", lw=1)
        ax.text(cut + 0.5, ax.get_ylim()[1] * 0.97, "  end of calibration", va="top", fontsize=9, color="grey")
    ax.set_xlabel(f"{unit} since the first purchase in the data")
    ax.set_ylabel("cumulative repeat purchases")
    ax.legend(loc="upper left", frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def tracking_finding(track: pd.DataFrame) -> dict:
    """The purchase model's holdout error, as a finding: repeat purchases predicted against made
    after the split, and the error of the cumulative total at the end."""
    a = track.attrs
    err = a["holdout_error"]
    statement = (f"Fitted on the purchases up to {a['split']:%Y-%m-%d}, the purchase model predicted "
                 f"{a['holdout_predicted']:,.0f} repeat purchases from then to {a['end']:%Y-%m-%d} by the "
                 f"{a['customers']:,} customers who had bought by the split; they made {a['holdout_actual']:,.0f} "
                 f"(holdout error {err:+.1%}; cumulative since the first purchase {a['end_cumulative_error']:+.1%}).")
    return dict(id="crm.value.holdout_tracking", statement=statement, metric="holdout error (predicted / actual - 1)",
                value=float(err), base=int(a["customers"]), test="BG/NBD tracking, calibration / holdout",
                source="crm", severity="warning" if abs(err) > 0.2 else "info",
                extra={"holdout_actual": a["holdout_actual"], "holdout_predicted": a["holdout_predicted"],
                       "end_cumulative_error": a["end_cumulative_error"]})


def purchase_count_distribution(bg: BgNbd, t: float, max_n: int = 10) -> pd.DataFrame:
    """P(X(t) = n) for n = 0..max_n - 1 and the rest as 'max_n or more', for a new customer over a
    period t (in the model's time unit): the spread around the expected number."""
    n = np.arange(max_n)
    p = bg.probability_of_purchases(t, n)
    labels = [str(i) for i in n] + [f"{max_n} or more"]
    probs = np.concatenate([p, [max(0.0, 1 - p.sum())]])
    return pd.DataFrame({"purchases": labels, "probability": probs, "cumulative": np.cumsum(probs)}).set_index("purchases")


def model_table(bg: BgNbd, gg: GammaGamma | None) -> pd.DataFrame:
    rows = [("purchase rate: shape r", bg.r), ("purchase rate: scale alpha (weeks)" if bg.unit_days == 7 else "purchase rate: scale alpha", bg.alpha),
            ("drop-out: a", bg.a), ("drop-out: b", bg.b), ("log-likelihood (purchases)", bg.loglik),
            ("customers", bg.n)]
    if gg is not None:
        rows += [("spend: shape p", gg.p), ("spend: q", gg.q), ("spend: gamma", gg.gamma),
                 ("repeat customers (spend model)", gg.n)]
    return pd.DataFrame(rows, columns=["parameter", "estimate"]).set_index("parameter")


def rfm_finding(summary: pd.DataFrame) -> dict:
    top = summary.index[0]
    s = summary.loc[top]
    statement = (f"RFM '{top}' customers are {s['share_customers']:.0%} of buying customers and bring "
                 f"{s['share_revenue']:.0%} of revenue.")
    return dict(id="crm.value.rfm_top_segment", statement=statement, metric=f"revenue share of {top}",
                value=float(s["share_revenue"]), base=int(summary["customers"].sum()), source="crm", severity="key",
                extra={str(k): float(v) for k, v in summary["share_revenue"].items()})


def clv_finding(clv: pd.DataFrame, horizon_months: int) -> dict:
    v = clv["clv"].dropna().sort_values(ascending=False)
    top = v.iloc[: max(1, int(round(len(v) * 0.2)))].sum() / v.sum()
    statement = (f"The fifth of customers with the highest expected value hold {top:.0%} of the customer lifetime value "
                 f"expected over the next {horizon_months} months (median {v.median():,.0f} per customer).")
    return dict(id="crm.value.clv_concentration", statement=statement, metric="share of CLV held by the top 20%",
                value=float(top), base=int(len(v)), test="BG/NBD + Gamma-Gamma (maximum likelihood)", source="crm",
                severity="key", extra={"median_clv": float(v.median()), "total_clv": float(v.sum())})
