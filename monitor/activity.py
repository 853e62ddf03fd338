"""User activity intake: validate a batch of events, check what they reference, store all or none.

Targets by kind (``artist_id`` / ``show_id`` / ``song_id``):

- ``view``: at least one of the three;
- ``follow`` / ``unfollow``: an artist or a show, no song;
- ``vote_up`` / ``vote_down``: a show, and optionally a song of it. Without a song, the vote is on
  the show itself (any show, upcoming ones included). With a song: a song of the show's stored
  setlist, or, while the show has no setlist stored (an upcoming show: a vote on the predicted
  setlist), a song by its headliner or one of its support acts;
- ``attendance``: a show, no song.

When several targets are given they must agree: the song is in the setlist of the show (or, for a
show without a stored setlist, by one of its performers), the artist is the song's artist, or
(without a song) the show's headliner or one of its support acts. A missing ``artist_id`` is
filled from the song's artist, else the show's headliner.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)
from pydantic_core import PydanticCustomError
from sqlalchemy import and_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.tables import (
    ActivityKind,
    Artist,
    Setlist,
    SetlistEntry,
    Show,
    ShowSupportAct,
    Song,
    UserActivity,
)
from models.types import MAX_INSTANT, MIN_INSTANT, OutOfRangeInstantError, to_storable_utc

__all__ = [
    "MAX_EVENTS",
    "MAX_EVENT_AGE",
    "MAX_FUTURE_SKEW",
    "ActivityBatch",
    "ActivityEvent",
    "ActivityRejected",
    "store_activity",
]

MAX_EVENTS = 1000
#: The plausible window of ``occurred_at`` around the server's clock. Older events would weigh
#: under 0.1 % in trending (72 h half-life), and an instant decades old broke its SQL.
MAX_EVENT_AGE = timedelta(days=30)
MAX_FUTURE_SKEW = timedelta(minutes=5)
_MAX_ID = 2**31 - 1  # integer primary keys

_artists = Artist.__table__  # type: ignore[attr-defined]
_shows = Show.__table__  # type: ignore[attr-defined]
_support = ShowSupportAct.__table__  # type: ignore[attr-defined]
_songs = Song.__table__  # type: ignore[attr-defined]
_setlists = Setlist.__table__  # type: ignore[attr-defined]
_entries = SetlistEntry.__table__  # type: ignore[attr-defined]
_activity = UserActivity.__table__  # type: ignore[attr-defined]

# Control characters (C0, DEL, C1), lone surrogates (not UTF-8: PostgreSQL refused them with a
# 500) and the Unicode line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
# RFC 3339, the ISO 8601 profile of JSON APIs: a date, a time with seconds, an offset.
_RFC3339 = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def _plain_text(value: str) -> str:
    for char in value:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise PydanticCustomError(
                "control_character",
                "must not contain control characters (found U+{code})",
                {"code": f"{ord(char):04X}"},
            )
    return value


def _instant_text(value: Any) -> Any:
    if not isinstance(value, str) or _RFC3339.fullmatch(value) is None:
        raise PydanticCustomError(
            "instant_format",
            "must be an ISO 8601 (RFC 3339) string with seconds and an offset, "
            "such as 2026-03-10T11:58:00Z",
        )
    return value


def _storable(value: datetime) -> datetime:
    try:
        return to_storable_utc(value)
    except OutOfRangeInstantError:
        raise PydanticCustomError(
            "instant_range",
            "must be from {earliest} to {latest}, the instants both databases store alike",
            {
                "earliest": MIN_INSTANT.isoformat().replace("+00:00", "Z"),
                "latest": MAX_INSTANT.isoformat().replace("+00:00", "Z"),
            },
        ) from None


EntityId = Annotated[int, Field(strict=True, gt=0, le=_MAX_ID)]
EventKey = Annotated[
    str, Field(strict=True), StringConstraints(min_length=1, max_length=64, pattern=r"^[!-~]+$")
]
UserId = Annotated[
    str,
    Field(strict=True),
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
    AfterValidator(_plain_text),
]
#: An instant as RFC 3339 text (never a number), converted to UTC.
Instant = Annotated[AwareDatetime, BeforeValidator(_instant_text), AfterValidator(_storable)]


class ActivityRejected(ValueError):
    """A batch refused because of one event's field (``index`` None: the batch itself)."""

    def __init__(self, *, index: int | None, field: str, message: str) -> None:
        self.index = index
        self.field = field
        self.message = message
        where = "batch" if index is None else f"event {index}"
        super().__init__(f"{where}, {field}: {message}")

    def location(self) -> list[str | int]:
        """Where in the request body: ``["body", "events", index, field]``."""
        if self.index is None:
            return ["body", self.field]
        return ["body", "events", self.index, self.field]


def _target_error(field: str, message: str) -> PydanticCustomError:
    return PydanticCustomError("activity_target", "{message}", {"field": field, "message": message})


class ActivityEvent(BaseModel):
    """One user event. ``event_id`` is an optional idempotency key."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_id: EventKey | None = Field(
        default=None, description="Idempotency key: 1-64 printable ASCII characters, no spaces."
    )
    user_id: UserId = Field(
        description="1-128 characters after trimming, without control characters."
    )
    kind: ActivityKind
    artist_id: EntityId | None = None
    show_id: EntityId | None = None
    song_id: EntityId | None = None
    occurred_at: Instant | None = Field(
        default=None,
        description="RFC 3339 with an offset, e.g. 2026-03-10T11:58:00Z; within the last 30 days "
        "and at most 5 minutes ahead of the server clock. Defaults to the time received.",
    )

    @model_validator(mode="after")
    def _targets_fit_the_kind(self) -> Self:
        kind = self.kind
        if kind is ActivityKind.VIEW:
            if self.artist_id is None and self.show_id is None and self.song_id is None:
                raise _target_error("artist_id", "a view needs an artist_id, show_id or song_id")
        elif kind in (ActivityKind.FOLLOW, ActivityKind.UNFOLLOW):
            what = "a follow" if kind is ActivityKind.FOLLOW else "an unfollow"
            if self.song_id is not None:
                raise _target_error("song_id", f"{what} targets an artist or a show")
            if self.artist_id is None and self.show_id is None:
                raise _target_error("artist_id", f"{what} needs an artist_id or show_id")
        elif kind in (ActivityKind.VOTE_UP, ActivityKind.VOTE_DOWN):
            if self.show_id is None:
                raise _target_error(
                    "show_id", "a vote needs the show_id voted on (with a song_id: its song)"
                )
        else:  # attendance
            if self.song_id is not None:
                raise _target_error("song_id", "an attendance targets a show")
            if self.show_id is None:
                raise _target_error("show_id", "an attendance needs a show_id")
        return self


class ActivityBatch(BaseModel):
    """1 to 1,000 events, stored all together or not at all."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    events: list[ActivityEvent] = Field(min_length=1, max_length=MAX_EVENTS)


async def store_activity(engine: AsyncEngine, batch: ActivityBatch, *, now: datetime) -> int:
    """Store every event of ``batch`` in one transaction; return how many were new.

    ``occurred_at`` must lie in ``[now - MAX_EVENT_AGE, now + MAX_FUTURE_SKEW]`` (``now`` is
    known here, not when the model validates). Referenced ids are checked with set-based
    queries. The first bad event raises ``ActivityRejected`` and nothing is stored. An
    ``event_id`` already stored is skipped.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    events = batch.events
    _check_times_and_keys(events, now=now)
    async with engine.begin() as conn:
        known = await _Known.load(conn, events)
        rows = [
            {
                "event_id": event.event_id,
                "user_id": event.user_id,
                "kind": event.kind.value,
                "artist_id": known.artist_of(index, event),
                "show_id": event.show_id,
                "song_id": event.song_id,
                "occurred_at": event.occurred_at or now,
                "received_at": now,
            }
            for index, event in enumerate(events)
        ]
        dialect_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = (
            dialect_insert(_activity)
            .on_conflict_do_nothing(index_elements=[_activity.c.event_id])
            .returning(_activity.c.id)
        )
        result = await conn.execute(stmt, rows)
        return len(result.all())


def _check_times_and_keys(events: Iterable[ActivityEvent], *, now: datetime) -> None:
    earliest, latest = now - MAX_EVENT_AGE, now + MAX_FUTURE_SKEW
    first_index: dict[str, int] = {}
    for index, event in enumerate(events):
        if event.occurred_at is not None and event.occurred_at > latest:
            ahead = event.occurred_at - now
            raise ActivityRejected(
                index=index,
                field="occurred_at",
                message=f"is {ahead} in the future; at most {MAX_FUTURE_SKEW} is allowed",
            )
        if event.occurred_at is not None and event.occurred_at < earliest:
            raise ActivityRejected(
                index=index,
                field="occurred_at",
                message=f"is older than {MAX_EVENT_AGE.days} days "
                f"(before {earliest.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ})",
            )
        if event.event_id is not None:
            if event.event_id in first_index:
                raise ActivityRejected(
                    index=index,
                    field="event_id",
                    message=f"repeats the event_id of event {first_index[event.event_id]}",
                )
            first_index[event.event_id] = index


class _Known:
    """What the batch references, read with one query per table."""

    def __init__(
        self,
        *,
        artists: set[int],
        show_headliner: dict[int, int],
        song_artist: dict[int, int],
        support_acts: set[tuple[int, int]],
        setlist_songs: set[tuple[int, int]],
        shows_with_setlist: set[int],
    ) -> None:
        self.artists = artists
        self.show_headliner = show_headliner
        self.song_artist = song_artist
        self.support_acts = support_acts
        self.setlist_songs = setlist_songs
        self.shows_with_setlist = shows_with_setlist

    @classmethod
    async def load(cls, conn: AsyncConnection, events: list[ActivityEvent]) -> _Known:
        artist_ids = {e.artist_id for e in events if e.artist_id is not None}
        show_ids = {e.show_id for e in events if e.show_id is not None}
        song_ids = {e.song_id for e in events if e.song_id is not None}
        artists: set[int] = set()
        show_headliner: dict[int, int] = {}
        song_artist: dict[int, int] = {}
        support_acts: set[tuple[int, int]] = set()
        setlist_songs: set[tuple[int, int]] = set()
        shows_with_setlist: set[int] = set()
        if artist_ids:
            found = await conn.execute(select(_artists.c.id).where(_artists.c.id.in_(artist_ids)))
            artists = set(found.scalars())
        if show_ids:
            found = await conn.execute(
                select(_shows.c.id, _shows.c.artist_id).where(_shows.c.id.in_(show_ids))
            )
            show_headliner = {row.id: row.artist_id for row in found}
        if song_ids:
            found = await conn.execute(
                select(_songs.c.id, _songs.c.artist_id).where(_songs.c.id.in_(song_ids))
            )
            song_artist = {row.id: row.artist_id for row in found}
        if show_ids and (artist_ids or song_ids):
            performers = artist_ids | set(song_artist.values())
            found = await conn.execute(
                select(_support.c.show_id, _support.c.artist_id).where(
                    and_(_support.c.show_id.in_(show_ids), _support.c.artist_id.in_(performers))
                )
            )
            support_acts = {(row.show_id, row.artist_id) for row in found}
        if show_ids and song_ids:
            # One query: each show's setlist songs among those voted on, and which shows have a
            # setlist at all (a row with no song).
            voted = and_(_entries.c.setlist_id == _setlists.c.id, _entries.c.song_id.in_(song_ids))
            found = await conn.execute(
                select(_setlists.c.show_id, _entries.c.song_id)
                .distinct()
                .select_from(_setlists.outerjoin(_entries, voted))
                .where(_setlists.c.show_id.in_(show_ids))
            )
            for show_id, song_id in found.all():
                shows_with_setlist.add(show_id)
                if song_id is not None:
                    setlist_songs.add((show_id, song_id))
        return cls(
            artists=artists,
            show_headliner=show_headliner,
            song_artist=song_artist,
            support_acts=support_acts,
            setlist_songs=setlist_songs,
            shows_with_setlist=shows_with_setlist,
        )

    def artist_of(self, index: int, event: ActivityEvent) -> int | None:
        """The event's artist (given or derived), after checking every reference it makes."""
        artist, show, song = event.artist_id, event.show_id, event.song_id
        if artist is not None and artist not in self.artists:
            raise ActivityRejected(index=index, field="artist_id", message=f"no artist {artist}")
        if show is not None and show not in self.show_headliner:
            raise ActivityRejected(index=index, field="show_id", message=f"no show {show}")
        if song is not None and song not in self.song_artist:
            raise ActivityRejected(index=index, field="song_id", message=f"no song {song}")
        if show is not None and song is not None and (show, song) not in self.setlist_songs:
            if show in self.shows_with_setlist:
                raise ActivityRejected(
                    index=index,
                    field="song_id",
                    message=f"song {song} is not in the setlist of show {show}",
                )
            performer = self.song_artist[song]
            if (
                performer != self.show_headliner[show]
                and (show, performer) not in self.support_acts
            ):
                raise ActivityRejected(
                    index=index,
                    field="song_id",
                    message=f"song {song} is not by an artist of show {show}, which has no "
                    "setlist yet",
                )
        if song is not None:
            song_artist = self.song_artist[song]
            if artist is not None and artist != song_artist:
                raise ActivityRejected(
                    index=index,
                    field="artist_id",
                    message=f"artist {artist} is not the artist of song {song}",
                )
            return song_artist
        if show is not None:
            headliner = self.show_headliner[show]
            if (
                artist is not None
                and artist != headliner
                and (show, artist) not in self.support_acts
            ):
                raise ActivityRejected(
                    index=index,
                    field="artist_id",
                    message=f"artist {artist} does not play show {show}",
                )
            return headliner if artist is None else artist
        return artist
