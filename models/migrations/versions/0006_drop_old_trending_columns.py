"""Drop the old trending columns of ``artists`` and ``shows`` (unused since revision 0003).

Revision 0003 moved every trending score and input to ``trending_artists``/``trending_shows``;
nothing reads or writes ``artists.trending_*`` or ``shows.trending_*`` any more (the monitor,
the CLI and the flows read the trending tables). Dropping them narrows the two widest tables
and removes an index per table that every catalogue write maintained.

SQLite drops a column in place (``ALTER TABLE ... DROP COLUMN``, SQLite 3.35+) once its index is
gone: no table rebuild, so the trending rows that cascade from ``artists``/``shows`` stay. The
downgrade adds the columns back empty (NULL scores, zero sums), as a fresh revision 0001 would.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 13:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SHARED = ("views", "follows", "votes", "attendance")
_ARTIST_ONLY = ("growth", "upcoming")


def _columns(table: str) -> list[sa.Column[object]]:
    """The old columns of ``table``, as revision 0001 created them."""
    columns: list[sa.Column[object]] = [
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("trending_updated_at", sa.DateTime(timezone=True), nullable=True),
    ]
    columns += [
        sa.Column(f"trending_{name}", sa.Float(), server_default="0", nullable=False)
        for name in _SHARED
    ]
    if table == "artists":
        columns += [
            sa.Column("trending_growth", sa.Float(), nullable=True),
            sa.Column("trending_upcoming", sa.Float(), server_default="0", nullable=False),
        ]
    return columns


def upgrade() -> None:
    for table in ("artists", "shows"):
        op.drop_index(op.f(f"ix_{table}_trending_score"), table_name=table)
        for column in _columns(table):
            op.drop_column(table, column.name)


def downgrade() -> None:
    for table in ("artists", "shows"):
        for column in _columns(table):
            op.add_column(table, column)
        op.create_index(op.f(f"ix_{table}_trending_score"), table, ["trending_score"], unique=False)
