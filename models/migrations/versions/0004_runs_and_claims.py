"""Run heartbeats/crashed runs and artist claims (issue: unattended operation).

Placeholder in the revision chain: filled in by the change that adds these tables.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:50:00

"""

from collections.abc import Sequence

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
