"""Incremental trending state and compact history (issue: trending at scale).

``trending_artists`` and ``trending_shows``: one narrow row per artist and show holding its
trending score and the inputs it came from (decayed activity sums as of ``as_of``; for artists
also follower growth and the upcoming-shows sum). Rewritten in place by every run, so on
PostgreSQL they leave half of each page free for HOT updates; a partial index finds the rows to
recount from their raw events (``as_of`` NULL). ``trending_watermarks.event_id``:
the last event a run folded in. The scores already stored on ``artists``/``shows`` are copied
over; the first run after this revision recomputes everything from the raw events (it finds no
``event_id``). ``trending_history`` keeps its columns and from now on holds each day's top scores.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STORAGE = {"postgresql_with": {"fillfactor": 50}}
_SUMS = ("views", "follows", "votes", "attendance")


def _sum_columns() -> list[sa.Column[float]]:
    return [sa.Column(name, sa.Float(), server_default="0", nullable=False) for name in _SUMS]


def upgrade() -> None:
    op.create_table(
        "trending_artists",
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        *_sum_columns(),
        sa.Column("growth", sa.Float(), nullable=True),
        sa.Column("upcoming", sa.Float(), server_default="0", nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_trending_artists_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artist_id", name=op.f("pk_trending_artists")),
        **_STORAGE,
    )
    op.create_table(
        "trending_shows",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        *_sum_columns(),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
            name=op.f("fk_trending_shows_show_id_shows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("show_id", name=op.f("pk_trending_shows")),
        **_STORAGE,
    )
    for table, key in (("trending_artists", "artist_id"), ("trending_shows", "show_id")):
        where = sa.text("as_of IS NULL")
        op.create_index(
            f"ix_{table}_stale", table, [key], postgresql_where=where, sqlite_where=where
        )
    op.add_column("trending_watermarks", sa.Column("event_id", sa.Integer(), nullable=True))
    sums = ", ".join(_SUMS)
    old_sums = ", ".join(f"trending_{name}" for name in _SUMS)
    op.execute(
        f"INSERT INTO trending_artists (artist_id, score, {sums}, growth, upcoming, as_of)"
        f" SELECT id, trending_score, {old_sums}, trending_growth, trending_upcoming,"
        " trending_updated_at FROM artists WHERE trending_score IS NOT NULL"
    )
    op.execute(
        f"INSERT INTO trending_shows (show_id, score, {sums}, as_of)"
        f" SELECT id, trending_score, {old_sums}, trending_updated_at"
        " FROM shows WHERE trending_score IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column("trending_watermarks", "event_id")
    op.drop_table("trending_shows")
    op.drop_table("trending_artists")
