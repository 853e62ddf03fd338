"""Tables of the insights beyond the seed (issue 17): similar artists and geographic trending.

Both are rewritten by the daily ``calculate-trending`` run (``models/similarity.py``,
``models/geo_trending.py``); see ``docs/trending.md``.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import CheckConstraint, Index
from sqlmodel import Field, SQLModel

import models.tables  # noqa: F401  (the metadata's naming convention first)

__all__ = ["ArtistSimilarity", "TrendingGeo"]


class ArtistSimilarity(SQLModel, table=True):
    """One of an artist's top 10 similar artists, its score (0-100) and the evidence behind it."""

    __tablename__ = "artist_similarity"

    artist_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    similar_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    rank: int
    score: float
    shared_shows: int = Field(default=0, description="Shows billed together.")
    shared_venues: float = Field(default=0.0, description="Sum of 1/artists over shared venues.")
    covers: int = Field(default=0, description="Setlist entries of one covering the other.")
    shared_genres: float = Field(default=0.0, description="Jaccard index of their genres.")
    shared_markets: int = Field(default=0, description="Markets where both played.")
    day: date

    __table_args__ = (
        CheckConstraint("rank >= 1", name="rank"),
        CheckConstraint("artist_id <> similar_id", name="distinct"),
        Index("ix_artist_similarity_similar", "similar_id"),
    )


class TrendingGeo(SQLModel, table=True):
    """A day's trending score of an artist or show within one market or city (the day's top
    ``GEO_TOP`` of each scope and kind, kept ``GEO_HISTORY_DAYS`` days).

    ``scope_id``: the Ticketmaster market id as text for a market; ``cc/st/city`` in lower case
    for a city (``us/ca/san francisco``)."""

    __tablename__ = "trending_geo"

    scope: str = Field(primary_key=True, max_length=8)
    scope_id: str = Field(primary_key=True, max_length=200)
    entity_type: str = Field(primary_key=True, max_length=8)
    day: date = Field(primary_key=True)
    entity_id: int = Field(primary_key=True)
    score: float

    __table_args__ = (
        CheckConstraint("scope IN ('market', 'city')", name="scope"),
        CheckConstraint("entity_type IN ('artist', 'show')", name="entity"),
        Index("ix_trending_geo_day", "day"),
    )
