"""The daily request plan (issue 16): ``request_budget_days``, the requests each API's planned
runs were granted or spent per UTC calendar day (``models/request_budget.py``).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30 01:20:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "request_budget_days",
        sa.Column("api", sa.String(length=32), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("committed", sa.Integer(), nullable=False),
        sa.CheckConstraint("committed >= 0", name=op.f("ck_request_budget_days_committed")),
        sa.PrimaryKeyConstraint("api", "day", name=op.f("pk_request_budget_days")),
    )


def downgrade() -> None:
    op.drop_table("request_budget_days")
