"""A venue's city coordinates apart from its own (issue 12).

setlist.fm gives only the coordinates of a venue's city (its centre); they were stored as the
venue's, 1-6 km off for about one venue in six. ``venues.city_latitude`` / ``city_longitude``
now hold them, and ``latitude`` / ``longitude`` only the venue's own position (Ticketmaster's).

Existing rows: a venue known only from setlist.fm (no ``ticketmaster_id``) had its city's
coordinates in ``latitude`` / ``longitude``: they move to the city columns and the venue's own
become NULL. A venue with a Ticketmaster id kept Ticketmaster's coordinates (setlist.fm never
overwrote them): unchanged. Plain nullable columns: SQLite adds them in place, no rebuild.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 13:30:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("venues", sa.Column("city_latitude", sa.Float(), nullable=True))
    op.add_column("venues", sa.Column("city_longitude", sa.Float(), nullable=True))
    op.execute(
        "UPDATE venues SET city_latitude = latitude, city_longitude = longitude,"
        " latitude = NULL, longitude = NULL"
        " WHERE ticketmaster_id IS NULL AND setlistfm_id IS NOT NULL"
    )


def downgrade() -> None:
    # Before this revision a setlist.fm-only venue carried its city's coordinates as its own.
    op.execute(
        "UPDATE venues SET latitude = city_latitude, longitude = city_longitude"
        " WHERE ticketmaster_id IS NULL AND latitude IS NULL AND longitude IS NULL"
    )
    with op.batch_alter_table("venues") as batch:
        batch.drop_column("city_longitude")
        batch.drop_column("city_latitude")
