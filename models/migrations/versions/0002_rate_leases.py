"""Rate-limit leases and per-day quota counters (issue: orchestration off the hot path).

``rate_schedules``: one row per API, the end of its shared send schedule (store epoch seconds)
and a lease counter; ``rate_quota_days``: requests reserved per API and UTC calendar day.
Both exactly as ``models/rate_leases.py`` declares them.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 10:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "rate_schedules",
        sa.Column("api", sa.String(length=32), nullable=False),
        sa.Column("next_slot_at", sa.Float(), nullable=False),
        sa.Column("lease_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("api", name=op.f("pk_rate_schedules")),
    )
    op.create_table(
        "rate_quota_days",
        sa.Column("api", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("used", sa.Integer(), nullable=False),
        sa.CheckConstraint("used >= 0", name=op.f("ck_rate_quota_days_used")),
        sa.PrimaryKeyConstraint("api", "day", name=op.f("pk_rate_quota_days")),
    )


def downgrade() -> None:
    op.drop_table("rate_quota_days")
    op.drop_table("rate_schedules")
