"""The small condition language of a mapping's `where:` and `exclude_if:` (keep / drop rows).

A condition compares columns with values or with other columns and joins comparisons with
`and`, `or`, `not` and parentheses:

    mrr < 0
    status == 'test' or customer_id == ''
    plan in ['trial', 'internal'] and not (mrr > 0)
    `Total Charges` >= 0            (a header with spaces or symbols goes in backticks)
    churn_reason is missing         (also: is not missing)

Comparisons: == != < <= > >=, `in [..]`, `not in [..]`. Values: numbers, 'text' or "text", true, false.
Nothing else is allowed (no function calls, attributes, arithmetic or indexing): the text is parsed
with Python's `ast` and each node is checked against this list, then evaluated column by column
with pandas. It is never passed to eval. A comparison with a missing value is neither true nor
false: `where:` drops such rows, `exclude_if:` keeps them.
"""
from __future__ import annotations

import ast
import operator
import re

import numpy as np
import pandas as pd

_BACKTICK = re.compile(r"`([^`]+)`")
_MISSING = re.compile(r"\bis\s+(not\s+)?missing\b")
_OPS = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
        ast.Gt: operator.gt, ast.GtE: operator.ge}
_CONST = {"true": True, "false": False, "True": True, "False": False}


class ConditionError(ValueError):
    pass


def _prepare(expr: str) -> tuple[str, dict[str, str]]:
    """Backticked headers and `is (not) missing` rewritten into Python names/calls we check ourselves."""
    quoted: dict[str, str] = {}

    def sub(m):
        key = f"__col{len(quoted)}"
        quoted[key] = m.group(1)
        return key
    text = _BACKTICK.sub(sub, expr)
    text = _MISSING.sub(lambda m: "== __notmissing" if m.group(1) else "== __missing", text)
    return text, quoted


def parse(expr: str) -> tuple[ast.AST, dict[str, str]]:
    """The checked syntax tree of a condition; ConditionError says what is not allowed."""
    if not isinstance(expr, str) or not expr.strip():
        raise ConditionError("the condition is empty")
    text, quoted = _prepare(expr)
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConditionError(f"it cannot be read ({exc.msg}); write comparisons such as `mrr < 0`, "
                             "joined by and / or / not") from None
    _check(tree, top=True)
    return tree, quoted


def _check(node, top=False):
    if isinstance(node, ast.BoolOp):
        for v in node.values:
            _check(v, top=True)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        _check(node.operand, top=True)
    elif isinstance(node, ast.Compare):
        if len(node.ops) != 1:
            raise ConditionError("write one comparison at a time (`a < b and b < c`, not `a < b < c`)")
        op, right = node.ops[0], node.comparators[0]
        if isinstance(op, (ast.In, ast.NotIn)):
            _operand(node.left)
            if not isinstance(right, (ast.List, ast.Tuple)) or not all(_is_value(e) for e in right.elts):
                raise ConditionError("`in` needs a list of values, e.g. plan in ['trial', 'internal']")
        elif type(op) in _OPS:
            _operand(node.left)
            _operand(right)
        else:
            raise ConditionError(f"the comparison {type(op).__name__} is not allowed; use == != < <= > >= in, not in")
    elif top:
        raise ConditionError("each part must be a comparison (e.g. `mrr < 0` or `plan == 'trial'`)")
    else:
        _operand(node)


def _is_value(node) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, ast.Constant) and isinstance(node.operand.value, (int, float))
    return isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool))


def _operand(node):
    if isinstance(node, ast.Name) or _is_value(node):
        return
    raise ConditionError("only column names and plain values (numbers, 'text', true, false) can be compared; "
                         "arithmetic, calls and attributes are not allowed")


def names_in(expr: str) -> set[str]:
    """The column names a condition reads (an unreadable condition reads none)."""
    try:
        tree, quoted = parse(expr)
    except ConditionError:
        return set()
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in _CONST and node.id not in ("__missing", "__notmissing"):
            out.add(quoted.get(node.id, node.id))
    return out


def evaluate(expr: str, df: pd.DataFrame) -> pd.Series:
    """A nullable boolean Series: True / False per row, <NA> where a compared value is missing.
    Raises ConditionError naming a column the frame does not have."""
    tree, quoted = parse(expr)
    unknown = sorted(n for n in names_in(expr) if n not in df.columns)
    if unknown:
        raise ConditionError(f"it uses {', '.join(map(repr, unknown))}, which {'is' if len(unknown) == 1 else 'are'} "
                             f"not a column; columns: {', '.join(map(str, df.columns))}")
    return _eval(tree, df, quoted).astype("boolean")


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    s = df[name]
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype) \
            or pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    text = s.astype("string").str.strip()
    text = text.mask(text == "")                  # a blank cell is a missing value
    num = pd.to_numeric(text, errors="coerce")
    if num.notna().sum() == text.notna().sum() and text.notna().any():   # a text column of numbers
        return num
    return text


def _value(node, df, quoted):
    if isinstance(node, ast.Name):
        if node.id in _CONST:
            return _CONST[node.id]
        return _column(df, quoted.get(node.id, node.id))
    if isinstance(node, ast.UnaryOp):
        return -node.operand.value
    return node.value


def _eval(node, df, quoted) -> pd.Series:
    if isinstance(node, ast.BoolOp):
        parts = [_eval(v, df, quoted) for v in node.values]
        out = parts[0]
        for p in parts[1:]:
            out = (out & p) if isinstance(node.op, ast.And) else (out | p)
        return out
    if isinstance(node, ast.UnaryOp):
        return ~_eval(node.operand, df, quoted)
    op, right = node.ops[0], node.comparators[0]
    if isinstance(right, ast.Name) and right.id in ("__missing", "__notmissing"):
        miss = pd.Series(pd.isna(_value(node.left, df, quoted)), index=df.index)
        return pd.Series(miss if right.id == "__missing" else ~miss, index=df.index, dtype="boolean")
    left = _value(node.left, df, quoted)
    if isinstance(op, (ast.In, ast.NotIn)):
        values = [_value(e, df, quoted) for e in right.elts]
        s = left if isinstance(left, pd.Series) else pd.Series(left, index=df.index)
        hit = s.isin(values) | s.astype("string").isin([str(v) for v in values])
        res = pd.Series(hit if isinstance(op, ast.In) else ~hit, index=df.index, dtype="boolean")
        return res.mask(s.isna())
    rval = _value(right, df, quoted)
    missing = pd.Series(False, index=df.index)
    for v in (left, rval):
        if isinstance(v, pd.Series):
            missing |= v.isna().to_numpy()
    try:
        res = _OPS[type(op)](left, rval)
    except TypeError:
        shown = ast.unparse(node)
        for key, name in quoted.items():
            shown = shown.replace(key, f"`{name}`")
        raise ConditionError(f"{shown}: compares text with a number; quote the value, or correct the column's "
                             "values that are not numbers") from None
    res = pd.Series(np.asarray(res, dtype=bool) if not isinstance(res, pd.Series) else res.fillna(False).astype(bool),
                    index=df.index, dtype="boolean")
    return res.mask(missing)
