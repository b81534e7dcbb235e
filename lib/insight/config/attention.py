"""Params section `attention`. Owned by the attention analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class AttentionConfig(Section):
    pass
