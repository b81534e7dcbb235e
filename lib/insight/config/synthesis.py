"""Params section `synthesis`. Owned by the synthesis analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class SynthesisConfig(Section):
    pass
