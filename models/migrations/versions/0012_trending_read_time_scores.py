"""Trending at scale (issue 15): scores computed when read, a change feed, a bounded ranking.

``trending_artists``/``trending_shows`` lose ``score`` (a score is computed when read, from the
stored inputs: see ``models/trending``); artists gain ``popularity``, ``growth_day`` and ``upcoming_until``
(until when the stored growth and upcoming-shows sum hold), shows their headliner and its
popularity, ``cancelled``, ``ahead_date`` and ``bound`` (the ranking key, index ``ix_trending_shows_rank``). Indexes on
``shows.updated_at``, ``artists.updated_at`` and ``artist_snapshots.captured_at`` find what changed
since the last run. The event mark is cleared, so the next run is a full recomputation that
fills the new columns (until then the ranking reads zero bounds).

SQLite drops the ``score`` columns in place (no index names them): no rebuild, no cascade.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 10:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FEED = (
    ("ix_shows_updated", "shows", "updated_at"),
    ("ix_artists_updated", "artists", "updated_at"),
    ("ix_artist_snapshots_captured", "artist_snapshots", "captured_at"),
)


def upgrade() -> None:
    for table in ("trending_artists", "trending_shows"):
        op.drop_column(table, "score")
    op.add_column("trending_artists", sa.Column("popularity", sa.Integer(), nullable=True))
    op.add_column("trending_artists", sa.Column("growth_day", sa.Date(), nullable=True))
    op.add_column("trending_artists", sa.Column("upcoming_until", sa.Date(), nullable=True))
    op.add_column("trending_shows", sa.Column("artist_id", sa.Integer(), nullable=True))
    op.add_column("trending_shows", sa.Column("popularity", sa.Integer(), nullable=True))
    op.add_column(
        "trending_shows",
        sa.Column("cancelled", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("trending_shows", sa.Column("ahead_date", sa.Date(), nullable=True))
    op.add_column(
        "trending_shows", sa.Column("bound", sa.Float(), server_default="0", nullable=False)
    )
    op.create_index("ix_trending_shows_rank", "trending_shows", ["ahead_date", "bound"])
    for name, table, column in _FEED:
        op.create_index(name, table, [column])
    op.execute("UPDATE trending_watermarks SET event_id = NULL")


def downgrade() -> None:
    for name, table, _ in _FEED:
        op.drop_index(name, table_name=table)
    op.drop_index("ix_trending_shows_rank", table_name="trending_shows")
    for column in ("bound", "ahead_date", "cancelled", "popularity", "artist_id"):
        op.drop_column("trending_shows", column)
    for column in ("upcoming_until", "growth_day", "popularity"):
        op.drop_column("trending_artists", column)
    for table in ("trending_artists", "trending_shows"):
        op.add_column(table, sa.Column("score", sa.Float(), server_default="0", nullable=False))
    op.execute("UPDATE trending_watermarks SET event_id = NULL")
