"""Params section `survey`. Owned by the survey analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class SurveyConfig(Section):
    pass
