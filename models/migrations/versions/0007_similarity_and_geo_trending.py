"""Similar artists, geographic trending and venue markets (issue 17).

- ``venues.market_id``: the venue's Ticketmaster market (filled by the next venue sync);
- ``artist_similarity``: each artist's top 10 similar artists, rewritten daily;
- ``trending_geo``: per day, the top artists and shows of each market and city.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("market_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_venues_market"), "venues", ["market_id"])
    op.create_table(
        "artist_similarity",
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("similar_id", sa.Integer(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("shared_shows", sa.Integer(), nullable=False),
        sa.Column("shared_venues", sa.Float(), nullable=False),
        sa.Column("covers", sa.Integer(), nullable=False),
        sa.Column("shared_genres", sa.Float(), nullable=False),
        sa.Column("shared_markets", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.CheckConstraint("rank >= 1", name=op.f("ck_artist_similarity_rank")),
        sa.CheckConstraint("artist_id <> similar_id", name=op.f("ck_artist_similarity_distinct")),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_artist_similarity_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["similar_id"],
            ["artists.id"],
            name=op.f("fk_artist_similarity_similar_id_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artist_id", "similar_id", name=op.f("pk_artist_similarity")),
    )
    op.create_index(op.f("ix_artist_similarity_similar"), "artist_similarity", ["similar_id"])
    op.create_table(
        "trending_geo",
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("scope_id", sa.String(length=200), nullable=False),
        sa.Column("entity_type", sa.String(length=8), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.CheckConstraint("scope IN ('market', 'city')", name=op.f("ck_trending_geo_scope")),
        sa.CheckConstraint(
            "entity_type IN ('artist', 'show')", name=op.f("ck_trending_geo_entity")
        ),
        sa.PrimaryKeyConstraint(
            "scope", "scope_id", "entity_type", "day", "entity_id", name=op.f("pk_trending_geo")
        ),
    )
    op.create_index(op.f("ix_trending_geo_day"), "trending_geo", ["day"])


def downgrade() -> None:
    op.drop_index(op.f("ix_trending_geo_day"), table_name="trending_geo")
    op.drop_table("trending_geo")
    op.drop_index(op.f("ix_artist_similarity_similar"), table_name="artist_similarity")
    op.drop_table("artist_similarity")
    op.drop_index(op.f("ix_venues_market"), table_name="venues")
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("market_id")
