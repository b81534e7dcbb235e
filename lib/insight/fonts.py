"""Fonts for plots: matplotlib's DejaVu Sans plus a CJK font as fallback so Chinese (and other
CJK) labels render as text rather than boxes.

The environment ships Noto Sans CJK SC through the `mplfonts` package (pinned in the lock): it is
registered with matplotlib here, offline, from the package's own font file. A CJK font already
installed on the system is used when mplfonts is absent.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

CJK_CANDIDATES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Zen Hei", "SimHei")


def bundled_cjk_font() -> Path | None:
    """The Noto Sans CJK SC font file shipped by mplfonts, or None."""
    try:
        import mplfonts
    except ImportError:
        return None
    path = Path(mplfonts.__file__).resolve().parent / "fonts" / "NotoSansCJKsc-Regular.otf"
    return path if path.is_file() else None


@lru_cache(maxsize=1)
def register_fonts() -> list[str]:
    """Register the bundled CJK font with matplotlib (once); the family names added."""
    path = bundled_cjk_font()
    if path is None:
        return []
    import logging

    from matplotlib import font_manager
    font_manager.fontManager.addfont(str(path))
    # the CJK font has one weight: bold titles fall back to it silently instead of logging each time
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    return [font_manager.FontProperties(fname=str(path)).get_name()]


@lru_cache(maxsize=1)
def font_family() -> list[str]:
    """Font families for rcParams['font.family']: DejaVu Sans first, then a CJK fallback."""
    families = ["DejaVu Sans"]
    try:
        from matplotlib import font_manager
    except ImportError:  # pragma: no cover
        return families
    added = register_fonts()
    names = {f.name for f in font_manager.fontManager.ttflist}
    for cand in (*added, *CJK_CANDIDATES):
        if cand in names:
            families.append(cand)
            break
    return families
