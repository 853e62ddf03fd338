"""The SQL schema: SQLModel tables. Natural keys are real UNIQUE constraints.

Conventions: integer surrogate keys; every instant is a UTC-aware ``UTCDateTime``; money is
``Money`` (exact decimal); enumerations are short strings guarded by CHECK constraints.
"""

from datetime import date, datetime, time
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Column, Index, UniqueConstraint, false, text
from sqlmodel import Field, SQLModel

from models.types import Money, UTCDateTime, utcnow

__all__ = [
    "ActivityKind",
    "Artist",
    "ArtistForecast",
    "ArtistSnapshot",
    "RunStatus",
    "Setlist",
    "SetlistEntry",
    "SetlistHistory",
    "Show",
    "ShowStatus",
    "ShowSupportAct",
    "Song",
    "SyncError",
    "SyncRun",
    "TrendingArtist",
    "TrendingHistory",
    "TrendingShow",
    "TrendingWatermark",
    "UserActivity",
    "Venue",
]


# Deterministic constraint names: migrations and the metadata agree on every dialect.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _check_in(column: str, values: type[StrEnum], name: str) -> CheckConstraint:
    allowed = ", ".join(f"'{member.value}'" for member in values)
    return CheckConstraint(f"{column} IN ({allowed})", name=name)


class ShowStatus(StrEnum):
    UPCOMING = "upcoming"
    ONGOING = "ongoing"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    POSTPONED = "postponed"
    # Ticketmaster no longer lists the event (dropped, or moved under another id): never
    # completed; listed again, it takes the listed status (models/catalog.py, revision 0009).
    DELISTED = "delisted"


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    PARTIAL = "partial"
    FAILED = "failed"
    # Closed by the reconciliation: its heartbeat stopped or its Prefect flow run ended.
    CRASHED = "crashed"


class ActivityKind(StrEnum):
    VIEW = "view"
    FOLLOW = "follow"
    UNFOLLOW = "unfollow"
    VOTE_UP = "vote_up"
    VOTE_DOWN = "vote_down"
    ATTENDANCE = "attendance"


class Artist(SQLModel, table=True):
    """One real-world artist, whichever source found it first."""

    __tablename__ = "artists"

    id: int | None = Field(default=None, primary_key=True)
    spotify_id: str | None = Field(default=None, unique=True, max_length=64)
    ticketmaster_id: str | None = Field(default=None, unique=True, max_length=64)
    mbid: str | None = Field(default=None, unique=True, max_length=36)
    name: str = Field(max_length=512)
    sort_name: str | None = Field(default=None, max_length=512)
    normalized_name: str = Field(index=True, max_length=512)
    slug: str = Field(unique=True, max_length=600)
    image_url: str | None = None
    images: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    genres: list[str] | None = Field(default=None, sa_column=Column(JSON))  # Spotify's
    popularity: int | None = None
    followers: int | None = None
    # Sync bookkeeping: per source, plus the overall outcome. A failure never touches these.
    spotify_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ticketmaster_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    setlistfm_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_synced_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    next_sync_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    sync_failures: int = Field(default=0)
    last_sync_error: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Work split across workers (models/sync_state.py): the ledger run holding this artist, and
    # until when. An expired claim is free for any run; no foreign key, it is a lease.
    claimed_by_run: int | None = None
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When ``followers`` was last read from Spotify (the snapshots record only real reads).
    followers_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Ticketmaster's genre and sub-genre names, beside Spotify's ``genres``: the identity rules
    # compare the two before linking records found by name (``models/genres.py``).
    ticketmaster_genres: list[str] | None = Field(default=None, sa_column=Column(JSON))

    __table_args__ = (
        CheckConstraint("popularity IS NULL OR (popularity BETWEEN 0 AND 100)", name="popularity"),
        CheckConstraint("followers IS NULL OR followers >= 0", name="followers"),
        CheckConstraint("sync_failures >= 0", name="sync_failures"),
        # Trending's change feed: the artists edited (popularity) since its last run.
        Index("ix_artists_updated", "updated_at"),
    )


class Venue(SQLModel, table=True):
    __tablename__ = "venues"

    id: int | None = Field(default=None, primary_key=True)
    ticketmaster_id: str | None = Field(default=None, unique=True, max_length=64)
    setlistfm_id: str | None = Field(default=None, unique=True, max_length=64)
    name: str = Field(max_length=512)
    normalized_name: str = Field(max_length=512)
    city: str | None = Field(default=None, max_length=256)
    state_code: str | None = Field(default=None, max_length=16)
    country_code: str | None = Field(default=None, max_length=2)
    postal_code: str | None = Field(default=None, max_length=32)
    address: str | None = None
    # The venue's own position (Ticketmaster's); NULL until a source that knows it brings it.
    latitude: float | None = None
    longitude: float | None = None
    timezone: str | None = Field(default=None, max_length=64)
    url: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The centre of the venue's city (setlist.fm's ``city.coords``), never the venue's position
    # (revision 0005).
    city_latitude: float | None = None
    city_longitude: float | None = None
    # The venue's Ticketmaster market (its first ``markets[].id``; revision 0006): where
    # geographic trending ranks it (models/geo_trending.py).
    market_id: int | None = None

    __table_args__ = (
        Index("ix_venues_match", "normalized_name", "city", "country_code"),
        Index("ix_venues_market", "market_id"),
    )


class Show(SQLModel, table=True):
    __tablename__ = "shows"

    id: int | None = Field(default=None, primary_key=True)
    ticketmaster_id: str | None = Field(default=None, unique=True, max_length=64)
    setlistfm_id: str | None = Field(default=None, unique=True, max_length=64)
    artist_id: int = Field(foreign_key="artists.id", ondelete="CASCADE")
    venue_id: int | None = Field(default=None, foreign_key="venues.id", ondelete="SET NULL")
    name: str | None = Field(default=None, max_length=512)
    local_date: date
    local_time: time | None = None
    starts_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=ShowStatus.UPCOMING.value, max_length=16)
    ticket_url: str | None = None
    min_price: Decimal | None = Field(default=None, sa_type=Money)
    max_price: Decimal | None = Field(default=None, sa_type=Money)
    currency: str | None = Field(default=None, max_length=3)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        _check_in("status", ShowStatus, "status"),
        # One show per artist, date and venue (revision 0009): duplicates are refused. A show
        # without a venue has no slot (NULLs never collide).
        Index("ix_shows_artist_date_venue", "artist_id", "local_date", "venue_id", unique=True),
        Index("ix_shows_venue", "venue_id"),
        Index("ix_shows_status_date", "status", "local_date"),
        # Trending's change feed: the shows edited since its last run.
        Index("ix_shows_updated", "updated_at"),
    )


class ShowSupportAct(SQLModel, table=True):
    """A supporting act of a show, in billing order (1 = first after the headliner)."""

    __tablename__ = "show_support_acts"

    show_id: int = Field(foreign_key="shows.id", primary_key=True, ondelete="CASCADE")
    artist_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    position: int

    __table_args__ = (CheckConstraint("position >= 1", name="position"),)


class Song(SQLModel, table=True):
    __tablename__ = "songs"

    id: int | None = Field(default=None, primary_key=True)
    artist_id: int = Field(foreign_key="artists.id", ondelete="CASCADE")
    title: str = Field(max_length=512)
    normalized_title: str = Field(max_length=512)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        UniqueConstraint("artist_id", "normalized_title", name="uq_songs_artist_title"),
    )


class Setlist(SQLModel, table=True):
    __tablename__ = "setlists"

    id: int | None = Field(default=None, primary_key=True)
    setlistfm_id: str = Field(unique=True, max_length=64)
    version_id: str = Field(max_length=64)
    artist_id: int = Field(foreign_key="artists.id", ondelete="CASCADE")
    show_id: int | None = Field(default=None, foreign_key="shows.id", ondelete="SET NULL")
    event_date: date
    tour_name: str | None = Field(default=None, max_length=512)
    info: str | None = None
    url: str | None = None
    last_updated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        Index("ix_setlists_artist_date", "artist_id", "event_date"),
        Index("ix_setlists_show", "show_id"),
    )


class SetlistEntry(SQLModel, table=True):
    """One song in a setlist, keeping the set structure (set index, name, encore number)."""

    __tablename__ = "setlist_entries"

    id: int | None = Field(default=None, primary_key=True)
    setlist_id: int = Field(foreign_key="setlists.id", ondelete="CASCADE")
    position: int
    set_index: int
    set_name: str | None = Field(default=None, max_length=256)
    encore: int = Field(default=0)
    song_id: int = Field(foreign_key="songs.id", ondelete="CASCADE", index=True)
    tape: bool = Field(default=False)
    cover_artist_name: str | None = Field(default=None, max_length=512)
    cover_mbid: str | None = Field(default=None, max_length=36)
    with_artist_name: str | None = Field(default=None, max_length=512)
    info: str | None = None

    __table_args__ = (
        UniqueConstraint("setlist_id", "position", name="uq_setlist_entries_position"),
        CheckConstraint("encore >= 0", name="encore"),
        CheckConstraint("position >= 1", name="position"),
    )


class SetlistHistory(SQLModel, table=True):
    """How far the history backfill has read an artist's setlist.fm history (newest first):
    ``pages_read`` pages of 20 for ``mbid``, ``complete`` once the last page was read."""

    __tablename__ = "setlist_history"

    artist_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    mbid: str = Field(max_length=36)
    pages_read: int = Field(default=0)
    complete: bool = Field(default=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (CheckConstraint("pages_read >= 0", name="pages_read"),)


class UserActivity(SQLModel, table=True):
    """A user event the web app posts. ``artist_id`` is filled for every event that concerns an
    artist (directly, or through a show's headliner or a song's artist), so per-artist and per-show
    aggregates are single index range scans."""

    __tablename__ = "user_activity"

    id: int | None = Field(default=None, primary_key=True)
    event_id: str | None = Field(default=None, unique=True, max_length=64)
    user_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)
    artist_id: int | None = Field(default=None, foreign_key="artists.id", ondelete="CASCADE")
    show_id: int | None = Field(default=None, foreign_key="shows.id", ondelete="CASCADE")
    song_id: int | None = Field(default=None, foreign_key="songs.id", ondelete="CASCADE")
    occurred_at: datetime = Field(sa_type=UTCDateTime)
    received_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    __table_args__ = (
        _check_in("kind", ActivityKind, "kind"),
        CheckConstraint(
            "artist_id IS NOT NULL OR show_id IS NOT NULL OR song_id IS NOT NULL",
            name="target",
        ),
        Index("ix_user_activity_occurred", "occurred_at"),
        Index("ix_user_activity_artist", "artist_id", "occurred_at"),
        Index("ix_user_activity_show", "show_id", "occurred_at"),
    )


class ArtistSnapshot(SQLModel, table=True):
    """One artist's measured figures on one UTC day: the history trending growth is read from."""

    __tablename__ = "artist_snapshots"

    artist_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    day: date = Field(primary_key=True)
    popularity: int | None = None
    # Spotify followers only when they were read since the artist's previous snapshot, with the
    # instant they were read (``followers_read_at``; else both NULL): growth is measured
    # between real reads.
    followers: int | None = None
    app_followers: int = Field(default=0)
    upcoming_shows: int = Field(default=0)
    total_shows: int = Field(default=0)
    captured_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    followers_read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    # Trending's change feed: the snapshots captured since its last run.
    __table_args__ = (Index("ix_artist_snapshots_captured", "captured_at"),)


class TrendingHistory(SQLModel, table=True):
    """A day's trending score of one of that day's top artists or shows (the top 1,000 of each
    kind, kept 400 days: see models/trending/writes.py)."""

    __tablename__ = "trending_history"

    entity_type: str = Field(primary_key=True, max_length=8)
    entity_id: int = Field(primary_key=True)
    day: date = Field(primary_key=True)
    score: float

    __table_args__ = (CheckConstraint("entity_type IN ('artist', 'show')", name="entity"),)


class ArtistForecast(SQLModel, table=True):
    """An artist's expected trending score on ``day``, forecast by the daily run of ``made_on``
    (``horizon`` = days ahead, 1 to 7); forecasts made on the last 8 days are kept (see
    models/trending/forecast.py)."""

    __tablename__ = "artist_forecasts"

    artist_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    made_on: date = Field(primary_key=True)
    horizon: int = Field(primary_key=True)
    day: date
    score: float

    __table_args__ = (
        CheckConstraint("horizon BETWEEN 1 AND 7", name="horizon"),
        Index("ix_artist_forecasts_made_on", "made_on"),
    )


class TrendingWatermark(SQLModel, table=True):
    """The instant up to which trending last scored activity (one row per name, e.g. 'activity')
    and the last ``user_activity.id`` it folded in (NULL: the next run recomputes everything)."""

    __tablename__ = "trending_watermarks"

    name: str = Field(primary_key=True, max_length=32)
    computed_at: datetime = Field(sa_type=UTCDateTime)
    mode: str = Field(max_length=16)
    event_id: int | None = None


# Trending state is rewritten in place every run (only rows whose rounded score or inputs change):
# narrow rows, no index on the score, and room on each PostgreSQL page for the new version, so an
# update stays on its page and touches no index (a HOT update).
_TRENDING_STORAGE = {"postgresql_with": {"fillfactor": 50}}


def _stale_index(table: str, key: str) -> Index:
    """The few rows to recount from their raw events (``as_of`` NULL), found without a scan."""
    where = text("as_of IS NULL")
    return Index(f"ix_{table}_stale", key, postgresql_where=where, sqlite_where=where)


class TrendingArtist(SQLModel, table=True):
    """An artist's trending inputs, from which its score is computed when read (see
    models/trending/scores.py): no stored score, so a row changes only when its inputs do.

    ``views``..``attendance`` are decayed activity sums as of ``as_of`` (NULL: to be recomputed
    from the raw events, e.g. after a merge); ``upcoming`` is the upcoming-shows proximity sum as
    of ``as_of``'s UTC day (it grows by ``2 ** (days / S)`` until ``upcoming_until``, the date of
    its nearest show ahead); ``growth`` the weekly Spotify follower growth (NULL = not
    measurable), holding while ``growth_day`` (its latest snapshot's day) is at most 7 days old;
    ``popularity`` the artist's Spotify popularity when the row was written."""

    __tablename__ = "trending_artists"

    artist_id: int = Field(foreign_key="artists.id", primary_key=True, ondelete="CASCADE")
    views: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    follows: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    votes: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    attendance: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    growth: float | None = None
    upcoming: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    as_of: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Added by revision 0012, after the columns above (the order a migrated table has).
    popularity: int | None = None
    growth_day: date | None = None
    upcoming_until: date | None = None
    # Added by revision 0015: an upper bound of the score from ``as_of`` on, until the row is
    # rewritten (``formula.artist_bound``; NULL: none known). The ranking scores only the
    # artists whose bound reaches its threshold. No index: about a third of the rows pass.
    bound: float | None = None

    __table_args__ = (_stale_index("trending_artists", "artist_id"), _TRENDING_STORAGE)


class TrendingShow(SQLModel, table=True):
    """A show's decayed activity sums as of ``as_of`` (see ``TrendingArtist``), its headliner
    and the headliner's popularity, whether it is cancelled, and the key of the ranking:
    ``ahead_date`` (its date while its status is ahead, else NULL) and ``bound``, an upper bound
    of its score without the proximity points at any instant from ``as_of`` on (activity only
    decays between events); index ``(ahead_date, bound)``."""

    __tablename__ = "trending_shows"

    show_id: int = Field(foreign_key="shows.id", primary_key=True, ondelete="CASCADE")
    views: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    follows: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    votes: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    attendance: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})
    as_of: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Added by revision 0012, after the columns above (the order a migrated table has).
    artist_id: int | None = None
    popularity: int | None = None
    cancelled: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    ahead_date: date | None = None
    bound: float = Field(default=0.0, sa_column_kwargs={"server_default": "0"})

    __table_args__ = (
        _stale_index("trending_shows", "show_id"),
        Index("ix_trending_shows_rank", "ahead_date", "bound"),
        _TRENDING_STORAGE,
    )


class SyncRun(SQLModel, table=True):
    """The run ledger: exactly one row per flow run, updated in place from running to its end."""

    __tablename__ = "sync_runs"

    id: int | None = Field(default=None, primary_key=True)
    flow_run_id: str | None = Field(default=None, max_length=64)
    job: str = Field(max_length=64)
    mode: str | None = Field(default=None, max_length=32)
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    dry_run: bool = Field(default=False)
    started_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=RunStatus.RUNNING.value, max_length=16)
    counts: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error_summary: str | None = None
    # The run's last sign of life (models.ledger.beat); a running row silent for longer than
    # RUN_HEARTBEAT_STALE_MINUTES is closed as crashed by models.ledger.reconcile_runs.
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (
        _check_in("status", RunStatus, "status"),
        Index("ix_sync_runs_job_started", "job", "started_at"),
        Index("ix_sync_runs_started", "started_at"),
    )


class SyncError(SQLModel, table=True):
    """A record or artist that failed: one row per (source, key), counting attempts."""

    __tablename__ = "sync_errors"

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=32)
    key: str = Field(max_length=256)
    entity: str = Field(max_length=32)
    error: str
    payload_excerpt: str | None = None
    run_id: int | None = Field(default=None, foreign_key="sync_runs.id", ondelete="SET NULL")
    first_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_seen_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    attempts: int = Field(default=1)
    resolved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    __table_args__ = (UniqueConstraint("source", "key", name="uq_sync_errors_source_key"),)


# Tables defined in their own modules, registered on the same metadata (create_all, Alembic).
import models.insight_tables  # noqa: E402
import models.rate_leases  # noqa: E402
import models.request_budget  # noqa: E402, F401
