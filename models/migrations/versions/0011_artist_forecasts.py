"""The trending forecast (issue 17): ``artist_forecasts``, each artist's expected score on each of
the next 7 days, forecast by the daily run; forecasts made on the last 8 days are kept.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 14:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "artist_forecasts",
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("made_on", sa.Date(), nullable=False),
        sa.Column("horizon", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.CheckConstraint("horizon BETWEEN 1 AND 7", name=op.f("ck_artist_forecasts_horizon")),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_artist_forecasts_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "artist_id", "made_on", "horizon", name=op.f("pk_artist_forecasts")
        ),
    )
    op.create_index(op.f("ix_artist_forecasts_made_on"), "artist_forecasts", ["made_on"])


def downgrade() -> None:
    op.drop_index(op.f("ix_artist_forecasts_made_on"), table_name="artist_forecasts")
    op.drop_table("artist_forecasts")
