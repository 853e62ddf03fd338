"""The artists' ranking bound (``trending_artists.bound``): an upper bound of each artist's
score until its row is rewritten, so that the daily history's top 1,000 scores only the artists
that can reach it (``models/trending/scores.py``, ``ranked``). NULL until a run writes the row
(the ranking then always scores it).

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 11:10:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("trending_artists", sa.Column("bound", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trending_artists") as batch:
        batch.drop_column("bound")
