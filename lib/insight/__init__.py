"""insight: the shared code of the customer-insight workbook.

Notebooks stay thin: they call `load_study`, the analysis modules, `show_*` display helpers and
`record_finding`. Everything here is importable without starting a kernel.
"""
from importlib import import_module as _import_module

__version__ = "0.1.0"

_LAZY = {
    "load_study": "insight.study",
    "record_finding": "insight.findings",
    "load_findings": "insight.findings",
    "show_table": "insight.display",
    "show_figure": "insight.display",
    "show_note": "insight.display",
    "setup_plots": "insight.display",
}


def __getattr__(name):  # lazy so that `python -m insight report` starts fast
    if name in _LAZY:
        return getattr(_import_module(_LAZY[name]), name)
    raise AttributeError(name)
