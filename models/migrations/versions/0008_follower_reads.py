"""Follower snapshots record real reads (issue 12).

``artists.followers_read_at``: when the artist's Spotify followers were last read.
``artist_snapshots.followers_read_at``: the instant the snapshot's followers were read; a
snapshot carries followers only when they were read since the artist's previous snapshot, so
growth is measured between real reads over the real interval.

Existing snapshots keep their followers with no read instant (growth falls back to their days).
Plain nullable columns: SQLite adds them in place, no rebuild.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 14:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "artists", sa.Column("followers_read_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "artist_snapshots",
        sa.Column("followers_read_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    with op.batch_alter_table("artist_snapshots") as batch:
        batch.drop_column("followers_read_at")
    with op.batch_alter_table("artists") as batch:
        batch.drop_column("followers_read_at")
