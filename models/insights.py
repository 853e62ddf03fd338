"""The insights beyond the global scores, computed by the daily trending run after them:
geographic trending (``models/geo_trending.py``) and similar artists (``models/similarity.py``),
in one transaction of set-based SQL."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from models.geo_trending import recalculate_geo_trending
from models.similarity import recalculate_similarity
from models.trending.formula import Clock
from settings import Settings

__all__ = ["InsightsResult", "recalculate_insights"]


@dataclass(frozen=True, slots=True)
class InsightsResult:
    geo_rows: dict[str, int]
    similar_rows: int

    def counts(self) -> dict[str, int]:
        """``geo_<scope>_<kind>s``: the day's rows per scope and kind; ``similar_artists``."""
        return {
            **{f"geo_{key}": value for key, value in self.geo_rows.items()},
            "similar_artists": self.similar_rows,
        }


async def recalculate_insights(
    engine: AsyncEngine, *, now: datetime, settings: Settings, dry_run: bool = False
) -> InsightsResult:
    """Geographic trending and similar artists as of ``now``; ``dry_run`` rolls back."""
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    clock = Clock.at(now, settings)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            geo = await recalculate_geo_trending(conn, clock)
            similar = await recalculate_similarity(conn, day=clock.today)
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return InsightsResult(geo_rows=geo.rows, similar_rows=similar)
