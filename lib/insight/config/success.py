"""Params section `success`. Owned by the success analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class SuccessConfig(Section):
    pass
