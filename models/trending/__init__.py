"""Trending scores of artists and shows: one formula each, 0-100, computed by set-based SQL.

- ``formula``: the weights, the decay and the score expressions;
- ``queries``: the inputs (activity sums, follower growth, upcoming shows) and the ranking;
- ``writes``: the state rows, the day's history and the watermark;
- ``recalculate``: one run (``hourly``, ``daily`` or ``full``) in one transaction.

See ``docs/trending.md``.
"""

from __future__ import annotations

from models.trending.formula import ARTIST_WEIGHTS, HALF_SATURATION, SHOW_WEIGHTS
from models.trending.queries import RankedEntity
from models.trending.recalculate import (
    TRENDING_MODES,
    TrendingMode,
    TrendingResult,
    recalculate_trending,
)
from models.trending.writes import HISTORY_DAYS, HISTORY_TOP, forget_artist_activity

__all__ = [
    "ARTIST_WEIGHTS",
    "HALF_SATURATION",
    "HISTORY_DAYS",
    "HISTORY_TOP",
    "SHOW_WEIGHTS",
    "TRENDING_MODES",
    "RankedEntity",
    "TrendingMode",
    "TrendingResult",
    "forget_artist_activity",
    "recalculate_trending",
]
