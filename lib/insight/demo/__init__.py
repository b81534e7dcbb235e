"""The demo company: a deterministic generator of every canonical table with planted effects.

`generate(scale=1.0, seed=20240101)` -> dict of DataFrames; `PLANTED` lists what was planted.
"""
from insight.demo.generate import generate
from insight.demo.planted import PLANTED, Planted, planted

__all__ = ["generate", "PLANTED", "Planted", "planted"]
