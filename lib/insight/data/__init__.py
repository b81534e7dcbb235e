"""The data layer: canonical tables (schema), loaders for a user's exports, validation,
pseudonymisation, the prepared-data cache and the data inventory.

    from insight.data import prepare_study_data, data_fingerprint, DataError
"""
from importlib import import_module as _import_module

from insight.data.problems import DataError

_LAZY = {
    "prepare_study_data": "insight.data.prepare",
    "data_fingerprint": "insight.data.prepare",
    "Prepared": "insight.data.prepare",
    "mask_text": "insight.data.pii",
    "pseudonymise": "insight.data.pii",
    "TABLES": "insight.data.schema",
}

__all__ = ["DataError", *_LAZY]


def __getattr__(name):
    if name in _LAZY:
        return getattr(_import_module(_LAZY[name]), name)
    raise AttributeError(name)
