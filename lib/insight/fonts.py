"""Fonts for plots: matplotlib's DejaVu Sans plus, when the environment ships one, a CJK font as
fallback so Chinese labels render as text rather than boxes."""
from __future__ import annotations

from functools import lru_cache


@lru_cache(maxsize=1)
def font_family() -> list[str]:
    families = ["DejaVu Sans"]
    try:
        from matplotlib import font_manager
    except ImportError:  # pragma: no cover
        return families
    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei"):
        if cand in names:
            families.append(cand)
            break
    return families
