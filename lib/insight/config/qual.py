"""Params section `qual`. Owned by the qual analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class QualConfig(Section):
    pass
