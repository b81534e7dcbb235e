"""Work-arounds for pandas performance traps that bite at benchmark scale (1M order lines).

`install()` is idempotent and changes no result, only how fast it is computed:

- pandas 3's `ArrowStringArray.isin(values)` (the default `str` dtype) builds one pyarrow scalar
  per element of `values` in a Python loop: `customers["customer_id"].isin(orders["customer_id"])`
  with a million orders costs seconds. Here, when `values` is large, it is first reduced to its
  distinct values (in C: pyarrow's `unique` for Arrow strings, pandas' hash table otherwise);
  membership is the same set test, so the result is identical.

It is installed by `insight.study` and `insight.data.prepare` (the paths every notebook and the
data preparation take); analyses called directly on DataFrames work unchanged without it.
INSIGHT_SPEEDUPS=0 leaves pandas as it is (`make bench BENCH_ARGS=--ablation` measures the difference).
"""
from __future__ import annotations

import os

_INSTALLED = False
_SMALL = 512  # below this many values the original loop is as fast


def _fast_isin(orig):
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc
    from pandas.core.arrays.string_arrow import ArrowStringArray

    def isin(self, values):
        try:
            n = len(values)
        except TypeError:
            return orig(self, values)
        if n <= _SMALL:
            return orig(self, values)
        arr = values.array if isinstance(values, (pd.Series, pd.Index)) else values
        if isinstance(arr, ArrowStringArray):
            distinct = pc.unique(arr._pa_array)
            if isinstance(distinct, pa.ChunkedArray):
                distinct = distinct.combine_chunks()
            if len(distinct) == 0:
                return np.zeros(len(self), dtype=bool)
            distinct = distinct.cast(self._pa_array.type)
            return np.array(pc.is_in(self._pa_array, value_set=distinct), dtype=np.bool_)
        if isinstance(arr, (np.ndarray, pd.api.extensions.ExtensionArray)):
            return orig(self, pd.unique(arr))
        return orig(self, values)

    isin._insight_fast = True
    return isin


def install() -> None:
    global _INSTALLED
    if _INSTALLED or os.environ.get("INSIGHT_SPEEDUPS", "1") == "0":
        return
    try:
        from pandas.core.arrays.string_arrow import ArrowStringArray
    except ImportError:  # pragma: no cover - another pandas layout: nothing to fix
        _INSTALLED = True
        return
    if not getattr(ArrowStringArray.isin, "_insight_fast", False):
        ArrowStringArray.isin = _fast_isin(ArrowStringArray.isin)
    _INSTALLED = True
