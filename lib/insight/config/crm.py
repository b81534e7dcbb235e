"""Params section `crm`. Owned by the crm analyses; every key documented with Field(description=...)."""
from __future__ import annotations

from insight.config.base import Section


class CrmConfig(Section):
    pass
