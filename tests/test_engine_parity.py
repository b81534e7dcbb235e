"""One expression, several engines: the aggregations of insight.data.engine give the same results on
DuckDB (the default), on PySpark in local mode (local[2], one session for the whole test run) and on
a pandas reference written here, independently of the lib code (plain loops over customers).

Data: hand-built order lines with the cases that break aggregations (returns flagged and unflagged,
credits, several orders on one day, a timestamp late in the day, customers with one order, a customer
with only returns, orders after the cut-off), with hand-computed values; and the small demo study.
Counts and dates must agree exactly, money to a millionth (far below a cent).
"""
from __future__ import annotations

import pandas as pd
import pytest

from insight.data import engine as E

from debian import ensure_debian

MONEY = 1e-6


# --- data ---------------------------------------------------------------------------------------

def edge_orders() -> pd.DataFrame:
    rows = [  # order_id, customer, product, date, quantity, revenue, is_return
        ("o1", "A", "p1", "2024-01-05 09:00", 1, 10.0, False),
        ("o1", "A", "p2", "2024-01-05 09:00", 2, 5.0, False),
        ("o2", "A", "p1", "2024-01-05 16:30", 1, 20.0, False),     # same day: one purchase day
        ("o3", "A", "p3", "2024-02-10", 3, 30.0, False),
        ("r1", "A", "p3", "2024-02-15", -1, -7.5, True),            # flagged return
        ("o4", "B", "p1", "2024-03-01", 1, 100.0, False),           # one order only
        ("r2", "C", "p2", "2024-01-20", -1, -12.0, False),          # only a return (negative quantity, no flag)
        ("o5", "D", "p1", "2024-04-30 23:00", 1, 40.0, False),      # late on the cut-off day: included
        ("o6", "D", "p2", "2024-05-02", 1, 2.25, False),            # after the cut-off
        ("o7", "E", "p1", "2024-02-01", 1, 50.0, False),
        ("c1", "E", "p1", "2024-02-02", 1, -5.0, False),            # a credit: negative revenue is a return
        ("o8", "F", "p4", "2023-12-31", 1, 0.01, False),            # a cent, the quarter before
        ("o9", "F", "p4", "2024-04-01", 2, 19.99, False),
    ]
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "product_id", "order_date", "quantity", "revenue", "is_return"])
    df["order_date"] = pd.to_datetime(df["order_date"], format="ISO8601")
    df["quantity"] = df["quantity"].astype(float)
    return df


UNTIL = pd.Timestamp("2024-04-30")

# hand-computed from the rows above, purchases up to 2024-04-30 (returns up to the same moment)
EXPECTED = pd.DataFrame({
    "first_purchase": pd.to_datetime(["2024-01-05", "2024-03-01", "2024-04-30", "2024-02-01", "2023-12-31"]),
    "last_purchase": pd.to_datetime(["2024-02-10", "2024-03-01", "2024-04-30", "2024-02-01", "2024-04-01"]),
    "purchase_days": [2, 1, 1, 1, 2],
    "revenue": [65.0, 100.0, 40.0, 50.0, 20.0],
    "first_day_revenue": [35.0, 100.0, 40.0, 50.0, 0.01],
    "returned": [7.5, 0.0, 0.0, 5.0, 0.0],
}, index=pd.Index(["A", "B", "D", "E", "F"], name="customer_id"))


# --- the pandas reference (independent of the lib: loops, no shared helpers) ---------------------

def _is_return(df):
    return df["is_return"].fillna(False).astype(bool) | (df["quantity"] < 0) | (df["revenue"] < 0)


def ref_customer_orders(df: pd.DataFrame, until) -> pd.DataFrame:
    df = df.assign(_ret=_is_return(df))
    rows = {}
    for cid, mine in df.groupby("customer_id", sort=True):
        buys = mine[~mine["_ret"]]
        days: dict = {}
        for d, rev in zip(buys["order_date"], buys["revenue"]):
            day = pd.Timestamp(d.year, d.month, d.day)
            if until is None or day <= until:
                days[day] = days.get(day, 0.0) + rev
        if not days:
            continue
        back = mine[mine["_ret"]]
        returned = sum(abs(r) for d, r in zip(back["order_date"], back["revenue"]) if until is None or d <= until)
        first = min(days)
        rows[cid] = {"first_purchase": first, "last_purchase": max(days), "purchase_days": len(days),
                     "revenue": sum(days.values()), "first_day_revenue": days[first], "returned": float(returned)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "customer_id"
    return out


def ref_cohort_counts(df: pd.DataFrame, until) -> tuple[dict, dict, dict]:
    """Quarter cohorts by first purchase: sizes, active (cohort, offset) and last active (cohort, offset)."""
    ret = _is_return(df)
    quarters: dict = {}
    for cid, d in zip(df.loc[~ret, "customer_id"], df.loc[~ret, "order_date"]):
        if d.normalize() <= until:
            quarters.setdefault(cid, set()).add(d.year * 4 + (d.month - 1) // 3)
    size, active, last = {}, {}, {}
    for cid, qs in quarters.items():
        c = min(qs)
        size[c] = size.get(c, 0) + 1
        for q in qs:
            active[(c, q - c)] = active.get((c, q - c), 0) + 1
        last[(c, max(qs) - c)] = last.get((c, max(qs) - c), 0) + 1
    return size, active, last


def ref_revenue(df: pd.DataFrame, start, end) -> dict:
    out: dict = {}
    for cid, d, r, flag in zip(df["customer_id"], df["order_date"], df["revenue"], df["is_return"].fillna(False)):
        if not flag and start <= d <= end:
            out[str(cid)] = out.get(str(cid), 0.0) + r
    return out


def ref_window_behaviour(df: pd.DataFrame, start, mid, end) -> pd.DataFrame:
    """Customers who bought in [start, mid): distinct purchase days, revenue, mean settlement_days over
    those lines (when given), and whether they bought again from mid to the day `end` (all of it)."""
    ret = _is_return(df)
    before: dict = {}
    after = set()
    for i, (cid, d, r) in enumerate(zip(df["customer_id"], df["order_date"], df["revenue"])):
        if ret.iloc[i]:
            continue
        if start <= d < mid:
            b = before.setdefault(cid, {"days": set(), "revenue": 0.0, "settle": []})
            b["days"].add((d.year, d.month, d.day))
            b["revenue"] += r
            if "settlement_days" in df and not pd.isna(df["settlement_days"].iloc[i]):
                b["settle"].append(float(df["settlement_days"].iloc[i]))
        elif mid <= d and d.date() <= end.date():
            after.add(cid)
    rows = {cid: {"purchase_days": len(b["days"]), "revenue": b["revenue"], "retained": cid in after,
                  **({"settlement_days": sum(b["settle"]) / len(b["settle"]) if b["settle"] else float("nan")}
                     if "settlement_days" in df else {})}
            for cid, b in sorted(before.items())}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "customer_id"
    return out


def with_settlement(df: pd.DataFrame) -> pd.DataFrame:
    """The edge orders with days to settle an invoice: A's first lines 10 and 20 days, its same-day
    second order unknown, E 5 days, the return r1 999 days (a return never counts)."""
    days = {0: 10.0, 1: 20.0, 3: 40.0, 4: 999.0, 9: 5.0}
    return df.assign(settlement_days=[days.get(i, float("nan")) for i in range(len(df))])


# two windows over the edge orders, hand-computed: A's two orders on 2024-01-05 (09:00 and 16:30) are one
# purchase day; E's credit c1 is a return; F's order of 2023-12-31 is before the first window
WINDOWS = {
    ("2024-01-01", "2024-02-05"): {"A": (1, 35.0, True, 15.0), "E": (1, 50.0, False, 5.0)},
    ("2024-01-01", "2024-03-01"): {"A": (2, 65.0, False, 70 / 3), "E": (1, 50.0, False, 5.0)},
}


def _window_expected(key, settlement: bool) -> pd.DataFrame:
    rows = WINDOWS[key]
    out = pd.DataFrame({"purchase_days": [v[0] for v in rows.values()], "revenue": [v[1] for v in rows.values()],
                        "retained": [v[2] for v in rows.values()]},
                       index=pd.Index(list(rows), name="customer_id"))
    if settlement:
        out["settlement_days"] = [v[3] for v in rows.values()]
    return out


def _check_windows(make_orders):
    """window_behaviour and first_purchase_time on `make_orders(frame)` (the engine's view of a frame)
    against the hand-computed values and the reference."""
    for settlement in (False, True):
        frame = with_settlement(edge_orders()) if settlement else edge_orders()
        orders = make_orders(frame)
        for (start, mid), _ in WINDOWS.items():
            got = E.window_behaviour(orders, pd.Timestamp(start), pd.Timestamp(mid), UNTIL)
            want = _window_expected((start, mid), settlement)
            _same(ref_window_behaviour(frame, pd.Timestamp(start), pd.Timestamp(mid), UNTIL), want)
            assert list(got.columns) == ["purchase_days", "revenue"] + (["settlement_days"] if settlement else []) + ["retained"]
            _same(got, want)
    assert E.first_purchase_time(make_orders(edge_orders())) == pd.Timestamp("2023-12-31")
    no_f = edge_orders().query("customer_id != 'F'")
    assert E.first_purchase_time(make_orders(no_f)) == pd.Timestamp("2024-01-05 09:00")   # the time is kept
    only_returns = edge_orders().query("customer_id == 'C'")
    assert E.first_purchase_time(make_orders(only_returns)) is None
    empty = with_settlement(edge_orders()).assign(settlement_days=float("nan"))            # a column without values
    got = E.window_behaviour(make_orders(empty), pd.Timestamp("2024-01-01"), pd.Timestamp("2024-02-05"), UNTIL)
    assert "settlement_days" not in got and got.index.tolist() == ["A", "E"]
    assert E.window_behaviour(make_orders(edge_orders()), pd.Timestamp("2020-01-01"),
                              pd.Timestamp("2020-06-01"), UNTIL).empty


def _on_parquet(con, folder):
    """make_orders for _check_windows: each frame written as the study store writes it, read by `con`."""
    count = iter(range(1000))

    def make(frame):
        path = folder / f"orders-{next(count)}.parquet"
        frame.to_parquet(path, index=False, coerce_timestamps="us")
        return con.read_parquet(str(path), table_name=path.stem.replace("-", "_"))
    return make


# --- engines ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def spark_con():
    """ONE local Spark session for the test run (Java from Debian's openjdk-17-jre-headless)."""
    pytest.importorskip("pyspark", reason="pyspark comes with requirements-engines.lock (make test installs it)")
    ensure_debian("openjdk-17-jre-headless", "java")
    return E.connect({"backend": "pyspark", "master": "local[2]"})


@pytest.fixture(scope="session")
def edge_parquet(tmp_path_factory):
    path = tmp_path_factory.mktemp("engine") / "orders.parquet"
    edge_orders().to_parquet(path, index=False, coerce_timestamps="us")   # as insight.data.prepare writes
    return path


@pytest.fixture(params=["pandas", "duckdb"])
def orders_on(request, edge_parquet):
    """The edge-case orders as a DataFrame (run through DuckDB in memory) and on DuckDB over Parquet
    (PySpark: test_pyspark_edge_cases, which runs each aggregation once to keep Spark's time short)."""
    if request.param == "pandas":
        return edge_orders()
    return E.connect().read_parquet(str(edge_parquet), table_name="edge_orders")


def _same(got: pd.DataFrame, want: pd.DataFrame):
    got = got[want.columns]
    assert list(got.index) == list(want.index)
    for c in want.columns:
        if pd.api.types.is_float_dtype(want[c]):
            assert (got[c] - want[c]).abs().max() < MONEY, (c, got[c].tolist(), want[c].tolist())
        else:
            assert got[c].tolist() == want[c].tolist(), (c, got[c].tolist(), want[c].tolist())


# --- edge cases ---------------------------------------------------------------------------------

def test_reference_matches_the_hand_computed_values():
    _same(ref_customer_orders(edge_orders(), UNTIL), EXPECTED)


def test_customer_orders_edge_cases(orders_on):
    _same(E.customer_orders(orders_on, UNTIL, returns=True), EXPECTED)
    plain = E.customer_orders(orders_on, UNTIL)     # on a table: the answer with returns, remembered, without them
    assert list(plain.columns) == [c for c in EXPECTED.columns if c != "returned"]
    _same(plain, EXPECTED.drop(columns="returned"))
    everything = E.customer_orders(orders_on, returns=True)
    _same(everything, ref_customer_orders(edge_orders(), None))
    assert everything.loc["D", "purchase_days"] == 2 and "C" not in everything.index   # only returns: no purchases


def test_span_and_day_counts(orders_on):
    assert E.purchase_span(orders_on) == (pd.Timestamp("2023-12-31"), pd.Timestamp("2024-05-02"))
    n = E.purchase_day_counts(orders_on, pd.Timestamp("2024-01-31"), UNTIL)
    assert n.to_dict() == {"A": 1, "B": 1, "D": 1, "E": 1, "F": 1}
    edges = [pd.Timestamp("2023-12-01"), pd.Timestamp("2024-01-31"), UNTIL]
    w = E.purchase_day_windows(orders_on, edges)       # the same counts per window, in one pass
    for i, (lo, hi) in enumerate(zip(edges[:-1], edges[1:])):
        want = E.purchase_day_counts(orders_on, lo, hi)
        assert w[f"w{i}"][w[f"w{i}"] > 0].to_dict() == want.to_dict()
    assert (w.sum(axis=1) > 0).all()


def _repeat_ok(orders):
    """repeat_purchase_counts (the BG/NBD tracking plot), hand-computed: purchase days up to the end
    A 01-05, 02-10; B 03-01; D 04-30 (late on the end day; 05-02 is after it); E 02-01 (its credit is a
    return); F 2023-12-31, 04-01. Acquired by the split 02-01: A, E, F; their repeats A 02-10, F 04-01."""
    firsts, repeats = E.repeat_purchase_counts(orders, pd.Timestamp("2024-02-01"), UNTIL)
    day = pd.Timestamp
    assert firsts.to_dict() == {day("2023-12-31"): 1, day("2024-01-05"): 1, day("2024-02-01"): 1,
                                day("2024-03-01"): 1, day("2024-04-30"): 1}
    assert repeats.to_dict() == {day("2024-02-10"): 1, day("2024-04-01"): 1}
    firsts, repeats = E.repeat_purchase_counts(orders, pd.Timestamp("2023-12-31"), pd.Timestamp("2024-03-31"))
    assert firsts.sum() == 4 and repeats.to_dict() == {}      # F's repeat is after the end


def test_repeat_purchase_counts_edge_cases(orders_on):
    _repeat_ok(orders_on)


def _first_purchase_ok(orders):
    """first_purchase_of (crm.opinions.adoption_frame), hand-computed: p1 lines from 2024-01-05 12:00 to
    2024-04-30 23:00 as recorded: A's 09:00 line is before the start (its 16:30 one counts), D's line at
    23:00 on the last day is in, E's credit of 02-02 is a return."""
    got = E.first_purchase_of(orders, ["p1"], pd.Timestamp("2024-01-05 12:00"), pd.Timestamp("2024-04-30 23:00"))
    assert got.to_dict() == {"A": pd.Timestamp("2024-01-05 16:30"), "B": pd.Timestamp("2024-03-01"),
                             "D": pd.Timestamp("2024-04-30 23:00"), "E": pd.Timestamp("2024-02-01")}
    got = E.first_purchase_of(orders, ["p1", "p4"], pd.Timestamp("2023-12-01"), UNTIL)
    assert got.to_dict() == {"A": pd.Timestamp("2024-01-05 09:00"), "B": pd.Timestamp("2024-03-01"),
                             "E": pd.Timestamp("2024-02-01"), "F": pd.Timestamp("2023-12-31")}


def _customer_items_ok(orders):
    """customer_items (crm.crosssell.basket_matrix), hand-computed: purchases up to the end day (D's line
    late on it counts, its 05-02 one not; returns and the credit do not): A p1 p2 p3, B p1, D p1, E p1,
    F p4; by an item map without p4, F is left out."""
    got = E.customer_items(orders, UNTIL)
    assert sorted(map(tuple, got[["customer_id", "item"]].to_numpy().tolist())) == [
        ("A", "p1"), ("A", "p2"), ("A", "p3"), ("B", "p1"), ("D", "p1"), ("E", "p1"), ("F", "p4")]
    got = E.customer_items(orders, UNTIL, pd.DataFrame({"product_id": ["p1", "p2", "p3"], "item": ["x", "x", "y"]}))
    assert sorted(map(tuple, got[["customer_id", "item"]].to_numpy().tolist())) == [
        ("A", "x"), ("A", "y"), ("B", "x"), ("D", "x"), ("E", "x")]
    assert len(E.customer_items(orders)) == 8                      # D's p2 of 05-02 too


def test_customer_items_edge_cases(orders_on):
    _customer_items_ok(orders_on)


def test_first_purchase_of_edge_cases(orders_on):
    _first_purchase_ok(orders_on)


def test_cohort_counts_edge_cases(orders_on):
    k = E.cohort_counts(orders_on, "Q", UNTIL)
    size, active, last = ref_cohort_counts(edge_orders(), UNTIL)
    assert k["size"].to_dict() == size == {2023 * 4 + 3: 1, 2024 * 4: 3, 2024 * 4 + 1: 1}
    assert {(r.cohort, r.offset): r.customers for r in k["active"].itertuples()} == active
    assert {(r.cohort, r.offset): r.customers for r in k["last_active"].itertuples()} == last
    assert active[(2023 * 4 + 3, 2)] == 1 and (2023 * 4 + 3, 1) not in active    # F: a gap quarter counts no one
    left = E.cohort_counts(orders_on, "Q", UNTIL, leave_out=["A", "Z"])
    assert left["left_out"] == 1 and left["size"].sum() == 4


def test_cohort_counts_with_given_cohorts_and_an_empty_result(orders_on):
    cohorts = pd.Series({"A": 2024 * 4, "B": 2024 * 4, "G": 2024 * 4})          # G signed up, never bought
    k = E.cohort_counts(orders_on, "Q", UNTIL, cohorts=cohorts)
    assert k["size"].to_dict() == {2024 * 4: 3}
    assert {(r.cohort, r.offset): r.customers for r in k["active"].itertuples()} == {(2024 * 4, 0): 2}
    assert E.cohort_counts(orders_on, "M", pd.Timestamp("2020-01-01"))["empty"]


def test_revenue_per_customer_edge_cases(orders_on):
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30 23:59:59")
    got = E.revenue_per_customer(orders_on, start, end)
    want = ref_revenue(edge_orders(), start, end)
    assert sorted(got.index) == sorted(want)
    assert all(abs(got[k] - v) < MONEY for k, v in want.items())
    assert abs(got["E"] - 45.0) < MONEY and abs(got["C"] + 12.0) < MONEY    # unflagged credits are netted here


# revenue in the 182 days before and from each anchor on (lines not flagged is_return), hand-computed
# from edge_orders: A's o3 falls on its anchor (after), E's credit counts, F's window starts
# 2024-01-01 (182 days before 2024-07-01) so o8 is out, Z has no lines, C's unflagged return counts
SPEND_ANCHORS = pd.DataFrame({"key": ["k1", "k2", "k3", "k4", "k5"], "customer_id": ["A", "E", "F", "Z", "C"],
                              "at": pd.to_datetime(["2024-02-10", "2024-02-02", "2024-07-01", "2024-03-01", "2024-01-20"])})
SPEND = {"k1": (35.0, 30.0), "k2": (50.0, -5.0), "k3": (19.99, 0.0), "k4": (0.0, 0.0), "k5": (0.0, -12.0)}


def _spend_ok(orders):
    got = E.spend_around(orders, SPEND_ANCHORS, days=182)
    assert list(got.index) == list(SPEND)
    for k, (before, after) in SPEND.items():
        assert abs(got.loc[k, "before"] - before) < MONEY and abs(got.loc[k, "after"] - after) < MONEY, k


def test_spend_around_edge_cases(orders_on):
    _spend_ok(orders_on)


# purchases per customer and product, 2024-01-01 .. 2024-04-30 (whole days: D's 23:00 line counts),
# hand-computed from edge_orders: returns, credits and C's unflagged return are not purchases
PRODUCT_SALES = {("A", "p1"): (30.0, 2), ("A", "p2"): (5.0, 1), ("A", "p3"): (30.0, 1), ("B", "p1"): (100.0, 1),
                 ("D", "p1"): (40.0, 1), ("E", "p1"): (50.0, 1), ("F", "p4"): (19.99, 1)}


def _product_sales_ok(orders):
    got = E.product_sales(orders, "2024-01-01", UNTIL)
    assert {(r.customer_id, r.product_id): r.lines for r in got.itertuples()} == {k: v[1] for k, v in PRODUCT_SALES.items()}
    assert all(abs(r.revenue - PRODUCT_SALES[(r.customer_id, r.product_id)][0]) < MONEY for r in got.itertuples())
    q = E.product_sales(orders, by=("product_id",), grain="Q")       # all dates, per product and quarter
    assert {(r.product_id, r.period): r.lines for r in q.itertuples()} == {
        ("p1", 2024 * 4): 4, ("p2", 2024 * 4): 1, ("p3", 2024 * 4): 1, ("p1", 2024 * 4 + 1): 1,
        ("p2", 2024 * 4 + 1): 1, ("p4", 2023 * 4 + 3): 1, ("p4", 2024 * 4 + 1): 1}
    assert abs(q.loc[(q.product_id == "p1") & (q.period == 2024 * 4), "revenue"].item() - 180.0) < MONEY
    assert E.purchase_customers(orders, "2024-01-01", UNTIL) == len({c for c, _ in PRODUCT_SALES}) == 5
    assert E.purchase_customers(orders) == len(E.product_sales(orders, by=("customer_id",)))


def test_product_sales_edge_cases(orders_on):
    _product_sales_ok(orders_on)
    assert E.product_sales(orders_on, "2020-01-01", "2020-12-31").empty
    assert E.purchase_customers(orders_on, "2020-01-01", "2020-12-31") == 0


def _customer_sales_ok(orders):
    # lines not flagged is_return in Jan-Apr 2024 (unflagged credits netted, as profitability counts them);
    # A's p1 (10 + 20) and p3 (30) tie: the smaller id is the main product
    got = E.customer_sales(orders, pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30 23:59:59"))
    want = {"A": (65.0, 3, "p1"), "B": (100.0, 1, "p1"), "C": (-12.0, 1, "p2"), "D": (40.0, 1, "p1"),
            "E": (45.0, 2, "p1"), "F": (19.99, 1, "p4")}
    assert list(got.index) == sorted(want)
    for k, (rev, n, main) in want.items():
        assert abs(got.at[k, "revenue"] - rev) < MONEY and got.at[k, "orders"] == n and got.at[k, "main_product"] == main


def test_customer_sales_edge_cases(orders_on):
    _customer_sales_ok(orders_on)


def usage_frame() -> pd.DataFrame:
    rows = [  # customer, month, feature, active users
        ("A", "2024-01-01", "f1", 4), ("A", "2024-01-01", "f2", 6), ("A", "2024-02-01", "f1", 3),
        ("A", "2024-04-01", "f1", 2), ("A", "2024-04-01", "f2", None),            # a missing count
        ("B", "2023-06-01", "f1", 9), ("B", "2024-03-01", "f1", 0), ("B", "2024-05-01", "f1", 7),   # May: after
        ("C", "2023-01-01", "f1", 1),                                               # no usage in the windows
    ]
    df = pd.DataFrame(rows, columns=["customer_id", "month", "feature", "active_users"])
    df["month"] = pd.to_datetime(df["month"])
    df["active_users"] = df["active_users"].astype("Int64")
    return df


def _usage_ok(usage):
    # windows up to April 2024, 2 months each: recent = Mar + Apr, prior = Jan + Feb
    w = E.usage_windows(usage, "2024-04-30", 2, per_month="sum")
    assert list(w.index) == ["A", "B"]
    assert w.loc["A", ["recent", "prior"]].tolist() == [2.0, 13.0] and w.loc["B", ["recent", "prior"]].tolist() == [0.0, 0.0]
    assert w["first_month"].tolist() == [pd.Timestamp("2024-01-01"), pd.Timestamp("2023-06-01")]
    m = E.usage_windows(usage, "2024-04-01", 2, per_month="max")    # the busiest feature: Jan 6, Feb 3
    assert m.loc["A", ["recent", "prior"]].tolist() == [2.0, 9.0]
    a = E.usage_adoption(usage)
    # A: months Jan 10, Feb 3, Apr 2 -> mean 5, features f1 and f2; B: 9, 0, 7 -> 16/3, one feature
    assert a["features used"].to_dict() == {"A": 2, "B": 1, "C": 1}
    assert abs(a.loc["A", "mean monthly active users"] - 5.0) < MONEY and abs(a.loc["B", "mean monthly active users"] - 16 / 3) < MONEY
    assert E.latest_usage(usage, "2024-04-15").to_dict() == {"A": 2.0, "B": 0.0, "C": 1.0}


def test_usage_aggregations_edge_cases(tmp_path):
    _usage_ok(usage_frame())
    path = tmp_path / "usage.parquet"
    usage_frame().to_parquet(path, index=False, coerce_timestamps="us")
    _usage_ok(E.connect().read_parquet(str(path), table_name="edge_usage"))


def test_usage_windows_take_whole_months_at_their_edges(tmp_path):
    """Usage dated inside a month (not on its first day) counts in that month, the windows' first and
    last months whole: up to April 2024 with 2 months each, recent = Mar + Apr, prior = Jan + Feb."""
    rows = [("D", "2023-12-31 23:00", 100), ("D", "2024-01-01 00:00", 1), ("D", "2024-02-29 12:00", 2),
            ("D", "2024-03-15 00:00", 4), ("D", "2024-04-30 18:00", 8), ("D", "2024-05-01 00:00", 200)]
    df = pd.DataFrame(rows, columns=["customer_id", "month", "active_users"])
    df["month"] = pd.to_datetime(df["month"])
    df["feature"] = "f1"
    path = tmp_path / "usage.parquet"
    df.to_parquet(path, index=False, coerce_timestamps="us")
    for usage in (df, E.connect().read_parquet(str(path), table_name="edge_usage_months")):
        w = E.usage_windows(usage, "2024-04-30", 2, per_month="sum")
        assert w.loc["D", ["recent", "prior"]].tolist() == [12.0, 3.0]
        assert w.loc["D", "first_month"] == pd.Timestamp("2023-12-31 23:00")


def test_window_behaviour_edge_cases(tmp_path):
    _check_windows(lambda frame: frame)
    _check_windows(_on_parquet(E.connect(), tmp_path))


def test_window_behaviour_counts_the_whole_as_of_day(tmp_path):
    """A customer whose only purchase after the first window is late on the as-of day is retained (the
    day is whole, as in customer_orders and the reports' "up to <day>"); one the day after is not."""
    rows = [("o1", "G", "p1", "2024-03-10", 1, 10.0, False), ("o2", "G", "p1", "2024-04-30 18:00", 1, 5.0, False),
            ("o3", "H", "p1", "2024-03-12", 1, 7.0, False), ("o4", "H", "p1", "2024-05-01 00:00", 1, 5.0, False)]
    frame = pd.DataFrame(rows, columns=["order_id", "customer_id", "product_id", "order_date", "quantity", "revenue", "is_return"])
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    frame["quantity"] = frame["quantity"].astype(float)
    start, mid = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-03-31")
    for orders in (frame, _on_parquet(E.connect(), tmp_path)(frame)):
        got = E.window_behaviour(orders, start, mid, UNTIL)
        assert got["retained"].to_dict() == {"G": True, "H": False}
    assert ref_window_behaviour(frame, start, mid, UNTIL)["retained"].to_dict() == {"G": True, "H": False}


def test_pyspark_edge_cases(spark_con, edge_parquet, tmp_path):
    _check_windows(_on_parquet(spark_con, tmp_path))
    orders = spark_con.read_parquet(str(edge_parquet), table_name="edge_orders")
    _same(E.customer_orders(orders, UNTIL, returns=True), EXPECTED)
    assert E.purchase_span(orders) == (pd.Timestamp("2023-12-31"), pd.Timestamp("2024-05-02"))
    assert E.purchase_day_counts(orders, pd.Timestamp("2024-01-31"), UNTIL).to_dict() == {"A": 1, "B": 1, "D": 1, "E": 1, "F": 1}
    assert E.purchase_day_windows(orders, [pd.Timestamp("2024-01-31"), UNTIL])["w0"].to_dict() == {"A": 1, "B": 1, "D": 1, "E": 1, "F": 1}
    k = E.cohort_counts(orders, "Q", UNTIL, leave_out=["B"])
    size, active, last = ref_cohort_counts(edge_orders().query("customer_id != 'B'"), UNTIL)
    assert k["left_out"] == 1 and k["size"].to_dict() == size
    assert {(r.cohort, r.offset): r.customers for r in k["active"].itertuples()} == active
    assert {(r.cohort, r.offset): r.customers for r in k["last_active"].itertuples()} == last
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2024-04-30 23:59:59")
    got = E.revenue_per_customer(orders, start, end)
    want = ref_revenue(edge_orders(), start, end)
    assert sorted(got.index) == sorted(want) and all(abs(got[k] - v) < MONEY for k, v in want.items())
    _product_sales_ok(orders)
    _customer_sales_ok(orders)
    _spend_ok(orders)
    _repeat_ok(orders)
    _first_purchase_ok(orders)
    _customer_items_ok(orders)
    usage_frame().to_parquet(tmp_path / "usage.parquet", index=False, coerce_timestamps="us")
    _usage_ok(spark_con.read_parquet(str(tmp_path / "usage.parquet"), table_name="edge_usage"))


def test_purchase_days_kept_once_in_the_study_store(tmp_path, monkeypatch):
    """On DuckDB the purchase days of a study's orders are written once into the study store (the
    first notebook that asks) and read by every later process; the aggregations over them are the
    pandas reference's, and a changed definition (other SQL) gets a file of its own."""
    from insight.data.prepare import Prepared

    folder = tmp_path / "fingerprint"
    folder.mkdir()
    edge_orders().to_parquet(folder / "orders.parquet", index=False, coerce_timestamps="us")
    prepared = Prepared(tables={"orders": folder / "orders.parquet"})
    until = pd.Timestamp("2024-06-30")
    want = ref_customer_orders(edge_orders(), until)
    monkeypatch.setattr(E, "_KEPT", {})
    monkeypatch.setattr(E, "_ANSWERS", {})              # nor an answer remembered (customer_orders)
    _same(E.customer_orders(E.StudyEngine(prepared).table("orders"), until, returns=True), want)
    (kept,) = (folder / "derived").glob("purchase_days-*.parquet")
    assert not list((folder / "derived").glob(".tmp-*"))

    writes = []
    monkeypatch.setattr(E, "_KEPT", {})                 # as in another notebook's process
    monkeypatch.setattr(E, "_ANSWERS", {})
    eng = E.StudyEngine(prepared)
    real = type(eng.con).to_parquet
    monkeypatch.setattr(type(eng.con), "to_parquet", lambda self, *a, **k: writes.append(a) or real(self, *a, **k))
    _same(E.customer_orders(eng.table("orders"), until, returns=True), want)
    size, active, _ = ref_cohort_counts(edge_orders(), until)
    assert E.cohort_counts(eng.table("orders"), "Q", until)["size"].to_dict() == size
    assert writes == [] and list((folder / "derived").glob("purchase_days-*.parquet")) == [kept]
    o = eng.table("orders")
    sold = o.filter(o.revenue > 0)
    eng.derived("purchase_days", sold.group_by("customer_id").agg(n=sold.count()))
    assert len(writes) == 1 and len(list((folder / "derived").glob("purchase_days-*.parquet"))) == 2

    # a damaged kept file is written again; a stale temporary file of a killed writer goes with the next run
    kept.write_bytes(b"PAR1 not a parquet file")
    monkeypatch.setattr(E, "_KEPT", {})
    monkeypatch.setattr(E, "_ANSWERS", {})              # nor an answer remembered (customer_orders)
    _same(E.customer_orders(E.StudyEngine(prepared).table("orders"), until, returns=True), want)
    assert kept.read_bytes()[:4] == b"PAR1" and kept.stat().st_size > 100
    import os
    import subprocess
    import sys

    from insight import safety
    from insight.paths import Project

    project = Project(tmp_path / "project")
    study = project.study_cache("toy")
    (study / "fp" / "derived").mkdir(parents=True)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    stale = study / "fp" / "derived" / f".tmp-purchase_days-0123-{dead}.parquet"
    live = study / "fp" / "derived" / f".tmp-purchase_days-0123-{os.getpid()}.parquet"
    stale.write_bytes(b"x")
    live.write_bytes(b"x")
    assert stale in safety.clean_stale(project, "toy") and not stale.exists() and live.exists()


# --- the demo study -----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def demo(small_project):
    from insight import load_study
    from insight.paths import Project

    return load_study("2024-annual", Project(small_project))


def test_demo_study_same_on_every_engine(demo, spark_con):
    from insight.crm.purchases import reference_dates

    as_of = reference_dates(demo.params)["as_of"]
    frame = demo.table("orders")
    want = ref_customer_orders(frame, as_of)
    spark = E.StudyEngine(demo.prepared, {"backend": "pyspark", "master": "local[2]"})
    assert spark.con is not None
    size, active, _ = ref_cohort_counts(frame, as_of)
    for orders in (demo.engine.table("orders"), spark.table("orders"), frame):
        got = E.customer_orders(orders, as_of, returns=True)
        _same(got, want)
        k = E.cohort_counts(orders, "Q", as_of)
        assert k["size"].to_dict() == size
        assert {(r.cohort, r.offset): r.customers for r in k["active"].itertuples()} == active
    assert len(want) > 100 and want["purchase_days"].sum() > 1000          # a real test, not an empty one


# --- journey events -----------------------------------------------------------------------------

JSTEPS = ["visit", "signup", "trial", "purchase"]
J0 = pd.Timestamp("2024-03-01 09:00")


def edge_journey() -> pd.DataFrame:
    """Hand-made journeys with the cases that break funnels (window 7 days)."""
    rows = [  # visitor, days after J0, step, channel, segment, customer
        ("v1", 0, "visit", "web", None, None), ("v1", 0, "visit", "ads", None, None),   # a tie at the first event: 'ads'
        ("v1", 1, "signup", "web", "smb", "C1"), ("v1", 8, "trial", "web", "smb", "C1"),   # trial exactly 7 d after signup: in
        ("v1", 9, "purchase", "web", "smb", "C1"),                                         # completes
        ("v2", 0, "visit", "ref", None, None), ("v2", 7.5, "signup", "web", None, None),    # 7.5 d: out of the window
        ("v3", 2, "trial", "ref", None, None), ("v3", 3, "visit", "ref", None, None),      # trial before the visit does not count
        ("v3", 4, "signup", "web", None, "C2"), ("v3", 5, "trial", "web", None, "C2"),      # ... the later one does; segment from C2
        ("v4", 0, "signup", "ads", "ent", None),                                           # never visits: not in the funnel
        ("v5", 0, "visit", "ads", "ent", None), ("v5", 1, "visit", "ads", "smb", None),     # first known segment: ent
        ("v5", 6, "signup", "ads", None, None), ("v5", 6.5, "qualified", "ads", None, None),
        ("v5", 20, "onboarded", "ads", None, None), ("v5", 30, "trial", "ads", None, None),
        ("v6", 1, "visit", "web", None, "C3"), ("v6", 2, "qualified", "web", None, "C3"),   # qualified, never onboarded
    ]
    df = pd.DataFrame(rows, columns=["visitor_id", "day", "step", "channel", "segment", "customer_id"])
    df["timestamp"] = J0 + pd.to_timedelta(df.pop("day"), unit="D")
    df["touchpoint"] = df["channel"] + "_page"
    df.loc[df["step"] == "qualified", "touchpoint"] = None
    return df


def edge_customers() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "segment": ["mid", "ent", "smb"],
                         "acquisition_channel": ["partner", None, "events"]})


def ref_journey_funnel(ev: pd.DataFrame, steps, window_days, customers) -> dict:
    """Per visitor who entered: (times of the steps reached, first-touch channel, segment), by loops."""
    window = pd.Timedelta(days=window_days)
    seg_of = dict(zip(customers["customer_id"], customers["segment"]))
    out = {}
    for v, mine in ev.groupby("visitor_id"):
        rows = list(zip(mine["timestamp"], mine["step"], mine["channel"], mine["segment"], mine["customer_id"]))
        starts = [t for t, s, *_ in rows if s == steps[0]]
        if not starts:
            continue
        times = [min(starts)]
        for step in steps[1:]:
            c = [t for t, s, *_ in rows if s == step and times[-1] <= t <= times[-1] + window]
            if not c:
                break
            times.append(min(c))
        t0 = min(t for t, *_ in rows)
        channel = min(ch for t, _, ch, *_ in rows if t == t0)
        known = [(t, sg) for t, _, _, sg, _ in rows if pd.notna(sg)]
        seg = min(sg for t, sg in known if t == min(t for t, _ in known)) if known else None
        cids = sorted(c for *_, c in rows if pd.notna(c))
        if seg is None and cids:
            seg = seg_of.get(cids[0])
        out[v] = (times, channel, seg)
    return out


def _journey_ok(events, customers):
    want = ref_journey_funnel(edge_journey(), JSTEPS, 7, edge_customers())
    got = E.journey_funnel_visitors(events, JSTEPS, 7, customers)
    assert sorted(got.index) == sorted(want) == ["v1", "v2", "v3", "v5", "v6"]
    for v, (times, channel, seg) in want.items():
        row = got.loc[v]
        assert [row[f"t{k}"] for k in range(len(times))] == times
        assert all(pd.isna(row[f"t{k}"]) for k in range(len(times), len(JSTEPS)))
        assert (int(row["last"]), row["channel"]) == (len(times) - 1, channel)
        assert row["segment"] == seg if seg is not None else pd.isna(row["segment"])
    # v1's own events carry smb (C1's mid is not used); v3 takes ent from C2; v5 its first known segment
    assert want["v1"][1:] == ("ads", "smb") and want["v3"][2] == "ent" and want["v5"][2] == "ent"
    counts = E.journey_funnel_counts(events, JSTEPS, 7, customers)
    expect: dict = {}
    for times, channel, seg in want.values():
        expect[(channel, seg, len(times) - 1)] = expect.get((channel, seg, len(times) - 1), 0) + 1
    assert {(r.channel, None if pd.isna(r.segment) else r.segment, r.last): r.visitors
            for r in counts.itertuples()} == expect
    wide: dict = {}
    for times, *_ in ref_journey_funnel(edge_journey(), JSTEPS, 30, edge_customers()).values():
        wide[len(times) - 1] = wide.get(len(times) - 1, 0) + 1
    assert wide == {3: 1, 1: 1, 2: 2, 0: 1}                      # 30 days: v2 signs up; v5 ... trial after 24 d
    assert E.journey_funnel_counts(events, JSTEPS, 30, by=()).set_index("last")["visitors"].to_dict() == wide
    narrow: dict = {}
    for times, *_ in want.values():
        narrow[len(times) - 1] = narrow.get(len(times) - 1, 0) + 1
    both = E.journey_funnel_windows(events, JSTEPS, [7.0, 30.0])     # the several windows of one read
    assert {w: c.set_index("last")["visitors"].to_dict() for w, c in both.items()} == {7.0: narrow, 30.0: wide}
    # leads: hand-made. v5 qualified day 6.5, onboarded day 20 (13.5 d later), trial day 30 without purchase;
    # v6 qualified, never onboarded; v1 and v3 trials (v1 converts on day 9)
    leads = E.journey_leads(events, customers, qualified="qualified", onboarded="onboarded", trial="trial",
                            converted="purchase")
    assert sorted(leads.index) == ["v1", "v3", "v5", "v6"]
    assert leads.loc["v5", "onboarded_at"] - leads.loc["v5", "qualified_at"] == pd.Timedelta(days=13.5)
    assert pd.isna(leads.loc["v6", "onboarded_at"]) and pd.isna(leads.loc["v3", "converted_at"])
    assert leads.loc["v1", "converted_at"] == J0 + pd.Timedelta(days=9)
    assert leads.loc["v3", "trial_at"] == J0 + pd.Timedelta(days=2)          # the first trial, before the visit
    # channel: the customer's acquisition channel, else first touch (C2 has none: v3's first touch 'ref')
    assert leads["channel"].to_dict() == {"v1": "partner", "v3": "ref", "v5": "ads", "v6": "events"}
    ch = E.journey_channels(events)
    ref = edge_journey()
    for c, mine in ref.groupby("channel"):
        assert ch.loc[c, "events"] == len(mine) and ch.loc[c, "visitors"] == mine["visitor_id"].nunique()
    assert ch["first_touch"].to_dict() == {"ads": 3, "ref": 2, "web": 1}      # v1 (tie) v4 v5; v2 v3; v6
    per, st = E.journey_touchpoints(events)
    none = per.set_index(["channel", "touchpoint"]).loc[("ads", "(none)")]
    assert (none["events"], none["visitors"], none["customers"]) == (1, 1, 0)
    assert len(st) == len(ref.assign(touchpoint=ref["touchpoint"].fillna("(none)"))[["channel", "touchpoint", "step"]].drop_duplicates())


@pytest.fixture(scope="module")
def journey_parquet(tmp_path_factory):
    folder = tmp_path_factory.mktemp("journey")
    edge_journey().to_parquet(folder / "journey.parquet", index=False, coerce_timestamps="us")
    edge_customers().to_parquet(folder / "customers.parquet", index=False)
    return folder


def test_journey_aggregations_edge_cases(journey_parquet):
    _journey_ok(edge_journey(), edge_customers())
    con = E.connect()
    _journey_ok(con.read_parquet(str(journey_parquet / "journey.parquet"), table_name="edge_journey"),
                con.read_parquet(str(journey_parquet / "customers.parquet"), table_name="edge_customers"))


def test_journey_visitors_kept_once_in_the_study_store(journey_parquet, tmp_path, monkeypatch):
    """Through a study's own tables (StudyEngine) the visitors' first touch, segment and customer are
    written once into the study store and every journey aggregation over them gives the hand-made
    answers (twice: the second time from the kept file, in a fresh process's state)."""
    import shutil

    from insight.data.prepare import Prepared

    for name in ("journey", "customers"):
        shutil.copy(journey_parquet / f"{name}.parquet", tmp_path / f"{name}.parquet")
    prepared = Prepared(tables={"journey_events": tmp_path / "journey.parquet", "customers": tmp_path / "customers.parquet"})
    for _ in range(2):
        monkeypatch.setattr(E, "_KEPT", {})
        eng = E.StudyEngine(prepared)
        _journey_ok(eng.table("journey_events"), eng.table("customers"))
        assert len(list((tmp_path / "derived").glob("journey_visitors-*.parquet"))) == 1
        # a period of the table (as the journey and lead notebooks read it): its visitors kept in a file of
        # their own, never mixed up with the whole table's, counts as the hand-made rows of the period
        first = E.journey_in_period(eng.table("journey_events"), "2024-03-01", "2024-03-02")
        ref = edge_journey()
        ref = ref[ref["timestamp"] < pd.Timestamp("2024-03-03")]
        assert E.journey_visitor_count(first) == ref["visitor_id"].nunique() == 5
        assert E.journey_channels(first)["first_touch"].to_dict() == {"ads": 3, "ref": 1, "web": 1}   # v1 (tie) v4 v5; v2; v6
        assert E.journey_visitor_count(eng.table("journey_events")) == 6
        assert len(list((tmp_path / "derived").glob("journey_visitors_20240301*-*.parquet"))) == 1


def test_journey_aggregations_on_pyspark(spark_con, journey_parquet):
    _journey_ok(spark_con.read_parquet(str(journey_parquet / "journey.parquet"), table_name="edge_journey"),
                spark_con.read_parquet(str(journey_parquet / "customers.parquet"), table_name="edge_customers"))


def test_a_repeated_question_to_a_study_table_is_answered_once(edge_parquet, monkeypatch):
    """cohort_counts on the same study table and arguments asks the engine once per process; each
    caller gets its own copy (changing it does not change the next answer)."""
    from insight.data.prepare import Prepared

    orders = E.StudyEngine(Prepared(tables={"orders": edge_parquet})).table("orders")
    calls = []
    real = E._cohort_counts
    monkeypatch.setattr(E, "_cohort_counts", lambda *a: calls.append(a) or real(*a))
    first = E.cohort_counts(orders, "Q", UNTIL, leave_out=["B"])
    first["size"].iloc[0] = -1
    again = E.cohort_counts(orders, "Q", UNTIL, leave_out=["B"])
    assert len(calls) == 1 and again["size"].to_dict() == ref_cohort_counts(edge_orders().query("customer_id != 'B'"), UNTIL)[0]
    E.cohort_counts(orders, "M", UNTIL, leave_out=["B"])          # another question: asked
    E.cohort_counts(edge_orders(), "Q", UNTIL, leave_out=["B"])   # a DataFrame: always asked
    assert len(calls) == 3


def test_another_table_under_the_same_name_is_asked_again(tmp_path):
    """Only a study's prepared tables (written once per data fingerprint) have their answers remembered
    and their purchase days kept: a file read again under the same name, or a warehouse table that gained
    rows, is known to ibis by its name and schema only, and must not get the old data's answers."""
    path, con = tmp_path / "orders.parquet", E.connect()
    edge_orders().to_parquet(path, index=False, coerce_timestamps="us")
    first = con.read_parquet(str(path), table_name="analyst_orders")
    _same(E.customer_orders(first, UNTIL, returns=True), EXPECTED)
    assert E.cohort_counts(first, "Q", UNTIL)["size"].to_dict() == ref_cohort_counts(edge_orders(), UNTIL)[0]
    changed = edge_orders().query("customer_id != 'A'").assign(revenue=lambda d: d["revenue"] * 2)
    changed.to_parquet(path, index=False, coerce_timestamps="us")
    again = con.read_parquet(str(path), table_name="analyst_orders")
    assert again.op() == first.op()                 # the same table to ibis ...
    _same(E.customer_orders(again, UNTIL), ref_customer_orders(changed, UNTIL).drop(columns="returned"))
    assert E.cohort_counts(again, "Q", UNTIL)["size"].to_dict() == ref_cohort_counts(changed, UNTIL)[0]   # ... other answers
    assert E.purchase_span(again) == (pd.Timestamp("2023-12-31"), pd.Timestamp("2024-05-02"))


def test_two_versions_of_a_study_table_in_one_process_keep_their_own_answers(tmp_path, monkeypatch):
    """Two studies (or one study's data before and after a change) opened in one process: each engine's
    tables answer from their own file. ibis takes tables of the same name and schema on DuckDB
    connections with the same settings for one, so the views are named after their file's version."""
    from insight.data.prepare import Prepared

    monkeypatch.setattr(E, "_KEPT", {})
    monkeypatch.setattr(E, "_ANSWERS", {})
    answers = []
    for i, frame in enumerate([edge_orders(), edge_orders().query("customer_id != 'A'")]):
        folder = tmp_path / f"fp{i}"
        folder.mkdir()
        frame.to_parquet(folder / "orders.parquet", index=False, coerce_timestamps="us")
        orders = E.StudyEngine(Prepared(tables={"orders": folder / "orders.parquet"})).table("orders")
        _same(E.customer_orders(orders, UNTIL, returns=True), ref_customer_orders(frame, UNTIL))
        assert E.cohort_counts(orders, "Q", UNTIL)["size"].to_dict() == ref_cohort_counts(frame, UNTIL)[0]
        answers.append(E.customer_orders(orders, UNTIL).index.tolist())
    assert answers == [["A", "B", "D", "E", "F"], ["B", "D", "E", "F"]]
