"""Run heartbeats/crashed runs and artist claims (issue: unattended operation).

- ``sync_runs.heartbeat_at`` and the status ``crashed`` (the CHECK constraint is replaced);
- ``artists.claimed_by_run`` / ``artists.claimed_until``: the lease a run holds on an artist.

SQLite cannot alter a CHECK constraint: ``sync_runs`` is rebuilt (batch mode). Rebuilding drops
the old table, and with foreign keys on, that drop sets ``sync_errors.run_id`` to NULL (its
``ON DELETE SET NULL``); the links are saved before and put back after, so nothing is lost.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 10:50:00

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_BEFORE = "status IN ('running', 'success', 'partial', 'failed')"
_STATUS_AFTER = "status IN ('running', 'success', 'partial', 'failed', 'crashed')"


def _replace_status_check(check: str, *, heartbeat: bool) -> None:
    """Swap the status CHECK (and add or drop ``heartbeat_at``) keeping every error's run link."""
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_sync_runs_status"), "sync_runs", type_="check")
        op.create_check_constraint(op.f("ck_sync_runs_status"), "sync_runs", check)
        if heartbeat:
            op.add_column(
                "sync_runs", sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True)
            )
        else:
            op.drop_column("sync_runs", "heartbeat_at")
        return
    op.execute(
        "CREATE TEMPORARY TABLE _sync_error_runs AS "
        "SELECT id, run_id FROM sync_errors WHERE run_id IS NOT NULL"
    )
    with op.batch_alter_table("sync_runs", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_sync_runs_status"), type_="check")
        batch.create_check_constraint(op.f("ck_sync_runs_status"), check)
        if heartbeat:
            batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        else:
            batch.drop_column("heartbeat_at")
    op.execute(
        "UPDATE sync_errors SET run_id = "
        "(SELECT saved.run_id FROM _sync_error_runs AS saved WHERE saved.id = sync_errors.id) "
        "WHERE id IN (SELECT id FROM _sync_error_runs)"
    )
    op.execute("DROP TABLE _sync_error_runs")


def upgrade() -> None:
    # Plain nullable columns: SQLite adds them in place, no rebuild of the artists table.
    op.add_column("artists", sa.Column("claimed_by_run", sa.Integer(), nullable=True))
    op.add_column("artists", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    _replace_status_check(_STATUS_AFTER, heartbeat=True)


def downgrade() -> None:
    # A crashed run was a failed one before this revision knew the word.
    op.execute("UPDATE sync_runs SET status = 'failed' WHERE status = 'crashed'")
    _replace_status_check(_STATUS_BEFORE, heartbeat=False)
    with op.batch_alter_table("artists") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by_run")
