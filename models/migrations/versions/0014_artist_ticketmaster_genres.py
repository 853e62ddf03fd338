"""Ticketmaster's genres of an artist (``artists.ticketmaster_genres``): the genre and sub-genre
names its attraction carries, kept apart from Spotify's ``genres``. The identity rules compare
the two before linking records found by name alone (``models/genres.py``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-30 11:00:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("artists", sa.Column("ticketmaster_genres", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("artists") as batch:
        batch.drop_column("ticketmaster_genres")
