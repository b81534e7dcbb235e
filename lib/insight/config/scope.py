"""Params section `scope`. Owned by the scope analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class ScopeConfig(Section):
    pass
