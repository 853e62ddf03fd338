"""The setlist history backfill's cursor per artist (issue 12).

``setlist_history``: for each artist, the setlist.fm pages of its history read so far (newest
first, ``pages_read`` of them, for the MusicBrainz id ``mbid``) and whether the last page was
reached (``complete``). Master sync reads the rest of an artist's published history over days,
with its own share of the setlist.fm quota, resuming where the cursor stopped.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 14:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "setlist_history",
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("mbid", sa.String(length=36), nullable=False),
        sa.Column("pages_read", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("pages_read >= 0", name=op.f("ck_setlist_history_pages_read")),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_setlist_history_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artist_id", name=op.f("pk_setlist_history")),
    )


def downgrade() -> None:
    op.drop_table("setlist_history")
