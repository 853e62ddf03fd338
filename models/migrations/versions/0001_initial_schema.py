"""Initial schema: every table of models/tables.py as of this revision.

Generated with ``alembic revision --autogenerate`` against an empty database, then reviewed:
column types are spelled with plain SQLAlchemy types so this file never changes meaning when
application code does (UTCDateTime is DateTime(timezone=True); Money is NUMERIC(12, 2), and
VARCHAR(32) decimal text on SQLite, exactly as models.types.Money renders it).

Revision ID: 0001
Revises:
Create Date: 2026-11-28 13:51:40.602543

"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# models.types.Money: exact NUMERIC(12, 2); SQLite has no exact decimal, so decimal text.
MONEY = sa.Numeric(precision=12, scale=2).with_variant(sa.String(length=32), "sqlite")

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "artists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("spotify_id", sa.String(length=64), nullable=True),
        sa.Column("ticketmaster_id", sa.String(length=64), nullable=True),
        sa.Column("mbid", sa.String(length=36), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("sort_name", sa.String(length=512), nullable=True),
        sa.Column("normalized_name", sa.String(length=512), nullable=False),
        sa.Column("slug", sa.String(length=600), nullable=False),
        sa.Column("image_url", sa.String(), nullable=True),
        sa.Column("images", sa.JSON(), nullable=True),
        sa.Column("genres", sa.JSON(), nullable=True),
        sa.Column("popularity", sa.Integer(), nullable=True),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("trending_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trending_views", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_follows", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_votes", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_attendance", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_growth", sa.Float(), nullable=True),
        sa.Column("trending_upcoming", sa.Float(), server_default="0", nullable=False),
        sa.Column("spotify_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ticketmaster_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("setlistfm_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sync_failures", sa.Integer(), nullable=False),
        sa.Column("last_sync_error", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "followers IS NULL OR followers >= 0", name=op.f("ck_artists_followers")
        ),
        sa.CheckConstraint(
            "popularity IS NULL OR (popularity BETWEEN 0 AND 100)",
            name=op.f("ck_artists_popularity"),
        ),
        sa.CheckConstraint("sync_failures >= 0", name=op.f("ck_artists_sync_failures")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artists")),
        sa.UniqueConstraint("mbid", name=op.f("uq_artists_mbid")),
        sa.UniqueConstraint("slug", name=op.f("uq_artists_slug")),
        sa.UniqueConstraint("spotify_id", name=op.f("uq_artists_spotify_id")),
        sa.UniqueConstraint("ticketmaster_id", name=op.f("uq_artists_ticketmaster_id")),
    )
    op.create_index(op.f("ix_artists_last_synced_at"), "artists", ["last_synced_at"], unique=False)
    op.create_index(op.f("ix_artists_next_sync_at"), "artists", ["next_sync_at"], unique=False)
    op.create_index(
        op.f("ix_artists_normalized_name"), "artists", ["normalized_name"], unique=False
    )
    op.create_index(op.f("ix_artists_trending_score"), "artists", ["trending_score"], unique=False)
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("flow_run_id", sa.String(length=64), nullable=True),
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=32), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.Column("error_summary", sa.String(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'success', 'partial', 'failed')",
            name=op.f("ck_sync_runs_status"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_runs")),
    )
    op.create_index("ix_sync_runs_job_started", "sync_runs", ["job", "started_at"], unique=False)
    op.create_index("ix_sync_runs_started", "sync_runs", ["started_at"], unique=False)
    op.create_table(
        "trending_history",
        sa.Column("entity_type", sa.String(length=8), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.CheckConstraint(
            "entity_type IN ('artist', 'show')", name=op.f("ck_trending_history_entity")
        ),
        sa.PrimaryKeyConstraint(
            "entity_type", "entity_id", "day", name=op.f("pk_trending_history")
        ),
    )
    op.create_table(
        "trending_watermarks",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_trending_watermarks")),
    )
    op.create_table(
        "venues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticketmaster_id", sa.String(length=64), nullable=True),
        sa.Column("setlistfm_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=False),
        sa.Column("normalized_name", sa.String(length=512), nullable=False),
        sa.Column("city", sa.String(length=256), nullable=True),
        sa.Column("state_code", sa.String(length=16), nullable=True),
        sa.Column("country_code", sa.String(length=2), nullable=True),
        sa.Column("postal_code", sa.String(length=32), nullable=True),
        sa.Column("address", sa.String(), nullable=True),
        sa.Column("latitude", sa.Float(), nullable=True),
        sa.Column("longitude", sa.Float(), nullable=True),
        sa.Column("timezone", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_venues")),
        sa.UniqueConstraint("setlistfm_id", name=op.f("uq_venues_setlistfm_id")),
        sa.UniqueConstraint("ticketmaster_id", name=op.f("uq_venues_ticketmaster_id")),
    )
    op.create_index(
        "ix_venues_match", "venues", ["normalized_name", "city", "country_code"], unique=False
    )
    op.create_table(
        "artist_snapshots",
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("popularity", sa.Integer(), nullable=True),
        sa.Column("followers", sa.Integer(), nullable=True),
        sa.Column("app_followers", sa.Integer(), nullable=False),
        sa.Column("upcoming_shows", sa.Integer(), nullable=False),
        sa.Column("total_shows", sa.Integer(), nullable=False),
        sa.Column("captured_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_artist_snapshots_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("artist_id", "day", name=op.f("pk_artist_snapshots")),
    )
    op.create_table(
        "shows",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticketmaster_id", sa.String(length=64), nullable=True),
        sa.Column("setlistfm_id", sa.String(length=64), nullable=True),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("venue_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=512), nullable=True),
        sa.Column("local_date", sa.Date(), nullable=False),
        sa.Column("local_time", sa.Time(), nullable=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("ticket_url", sa.String(), nullable=True),
        sa.Column("min_price", MONEY, nullable=True),
        sa.Column("max_price", MONEY, nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("trending_score", sa.Float(), nullable=True),
        sa.Column("trending_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("trending_views", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_follows", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_votes", sa.Float(), server_default="0", nullable=False),
        sa.Column("trending_attendance", sa.Float(), server_default="0", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('upcoming', 'ongoing', 'completed', 'cancelled', 'postponed')",
            name=op.f("ck_shows_status"),
        ),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_shows_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["venue_id"], ["venues.id"], name=op.f("fk_shows_venue_id_venues"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shows")),
        sa.UniqueConstraint("setlistfm_id", name=op.f("uq_shows_setlistfm_id")),
        sa.UniqueConstraint("ticketmaster_id", name=op.f("uq_shows_ticketmaster_id")),
    )
    op.create_index("ix_shows_artist_date", "shows", ["artist_id", "local_date"], unique=False)
    op.create_index("ix_shows_status_date", "shows", ["status", "local_date"], unique=False)
    op.create_index(op.f("ix_shows_trending_score"), "shows", ["trending_score"], unique=False)
    op.create_index("ix_shows_venue", "shows", ["venue_id"], unique=False)
    op.create_table(
        "songs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=512), nullable=False),
        sa.Column("normalized_title", sa.String(length=512), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_songs_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_songs")),
        sa.UniqueConstraint("artist_id", "normalized_title", name="uq_songs_artist_title"),
    )
    op.create_table(
        "sync_errors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("entity", sa.String(length=32), nullable=False),
        sa.Column("error", sa.String(), nullable=False),
        sa.Column("payload_excerpt", sa.String(), nullable=True),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["sync_runs.id"],
            name=op.f("fk_sync_errors_run_id_sync_runs"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sync_errors")),
        sa.UniqueConstraint("source", "key", name="uq_sync_errors_source_key"),
    )
    op.create_index(
        op.f("ix_sync_errors_last_seen_at"), "sync_errors", ["last_seen_at"], unique=False
    )
    op.create_table(
        "setlists",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setlistfm_id", sa.String(length=64), nullable=False),
        sa.Column("version_id", sa.String(length=64), nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("show_id", sa.Integer(), nullable=True),
        sa.Column("event_date", sa.Date(), nullable=False),
        sa.Column("tour_name", sa.String(length=512), nullable=True),
        sa.Column("info", sa.String(), nullable=True),
        sa.Column("url", sa.String(), nullable=True),
        sa.Column("last_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_setlists_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"], ["shows.id"], name=op.f("fk_setlists_show_id_shows"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setlists")),
        sa.UniqueConstraint("setlistfm_id", name=op.f("uq_setlists_setlistfm_id")),
    )
    op.create_index(
        "ix_setlists_artist_date", "setlists", ["artist_id", "event_date"], unique=False
    )
    op.create_index("ix_setlists_show", "setlists", ["show_id"], unique=False)
    op.create_table(
        "show_support_acts",
        sa.Column("show_id", sa.Integer(), nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.CheckConstraint("position >= 1", name=op.f("ck_show_support_acts_position")),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_show_support_acts_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
            name=op.f("fk_show_support_acts_show_id_shows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("show_id", "artist_id", name=op.f("pk_show_support_acts")),
    )
    op.create_table(
        "user_activity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("artist_id", sa.Integer(), nullable=True),
        sa.Column("show_id", sa.Integer(), nullable=True),
        sa.Column("song_id", sa.Integer(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN ('view', 'follow', 'unfollow', 'vote_up', 'vote_down', 'attendance')",
            name=op.f("ck_user_activity_kind"),
        ),
        sa.CheckConstraint(
            "artist_id IS NOT NULL OR show_id IS NOT NULL OR song_id IS NOT NULL",
            name=op.f("ck_user_activity_target"),
        ),
        sa.ForeignKeyConstraint(
            ["artist_id"],
            ["artists.id"],
            name=op.f("fk_user_activity_artist_id_artists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["show_id"],
            ["shows.id"],
            name=op.f("fk_user_activity_show_id_shows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["song_id"],
            ["songs.id"],
            name=op.f("fk_user_activity_song_id_songs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_activity")),
        sa.UniqueConstraint("event_id", name=op.f("uq_user_activity_event_id")),
    )
    op.create_index(
        "ix_user_activity_artist", "user_activity", ["artist_id", "occurred_at"], unique=False
    )
    op.create_index("ix_user_activity_occurred", "user_activity", ["occurred_at"], unique=False)
    op.create_index(
        "ix_user_activity_show", "user_activity", ["show_id", "occurred_at"], unique=False
    )
    op.create_table(
        "setlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("setlist_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("set_index", sa.Integer(), nullable=False),
        sa.Column("set_name", sa.String(length=256), nullable=True),
        sa.Column("encore", sa.Integer(), nullable=False),
        sa.Column("song_id", sa.Integer(), nullable=False),
        sa.Column("tape", sa.Boolean(), nullable=False),
        sa.Column("cover_artist_name", sa.String(length=512), nullable=True),
        sa.Column("cover_mbid", sa.String(length=36), nullable=True),
        sa.Column("with_artist_name", sa.String(length=512), nullable=True),
        sa.Column("info", sa.String(), nullable=True),
        sa.CheckConstraint("encore >= 0", name=op.f("ck_setlist_entries_encore")),
        sa.CheckConstraint("position >= 1", name=op.f("ck_setlist_entries_position")),
        sa.ForeignKeyConstraint(
            ["setlist_id"],
            ["setlists.id"],
            name=op.f("fk_setlist_entries_setlist_id_setlists"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["song_id"],
            ["songs.id"],
            name=op.f("fk_setlist_entries_song_id_songs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_setlist_entries")),
        sa.UniqueConstraint("setlist_id", "position", name="uq_setlist_entries_position"),
    )
    op.create_index(
        op.f("ix_setlist_entries_song_id"), "setlist_entries", ["song_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_setlist_entries_song_id"), table_name="setlist_entries")
    op.drop_table("setlist_entries")
    op.drop_index("ix_user_activity_show", table_name="user_activity")
    op.drop_index("ix_user_activity_occurred", table_name="user_activity")
    op.drop_index("ix_user_activity_artist", table_name="user_activity")
    op.drop_table("user_activity")
    op.drop_table("show_support_acts")
    op.drop_index("ix_setlists_show", table_name="setlists")
    op.drop_index("ix_setlists_artist_date", table_name="setlists")
    op.drop_table("setlists")
    op.drop_index(op.f("ix_sync_errors_last_seen_at"), table_name="sync_errors")
    op.drop_table("sync_errors")
    op.drop_table("songs")
    op.drop_index("ix_shows_venue", table_name="shows")
    op.drop_index(op.f("ix_shows_trending_score"), table_name="shows")
    op.drop_index("ix_shows_status_date", table_name="shows")
    op.drop_index("ix_shows_artist_date", table_name="shows")
    op.drop_table("shows")
    op.drop_table("artist_snapshots")
    op.drop_index("ix_venues_match", table_name="venues")
    op.drop_table("venues")
    op.drop_table("trending_watermarks")
    op.drop_table("trending_history")
    op.drop_index("ix_sync_runs_started", table_name="sync_runs")
    op.drop_index("ix_sync_runs_job_started", table_name="sync_runs")
    op.drop_table("sync_runs")
    op.drop_index(op.f("ix_artists_trending_score"), table_name="artists")
    op.drop_index(op.f("ix_artists_normalized_name"), table_name="artists")
    op.drop_index(op.f("ix_artists_next_sync_at"), table_name="artists")
    op.drop_index(op.f("ix_artists_last_synced_at"), table_name="artists")
    op.drop_table("artists")
