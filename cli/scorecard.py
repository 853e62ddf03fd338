"""The simulation's scorecard: our database measured against the sandbox's truth.

Everything here is computed from the truth (``cli/truth.py``) and from what the database holds,
never from what the flows report. See ``issues show 12`` (Build 3) for the figures' definitions;
the choices made where it is silent are written next to each figure.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from cli.truth import CHANGE_KINDS, EVENT_CHANGE_KINDS, Change, Entry, SimTruth, truth_status
from cli.truth import entries as true_entries
from models.tables import Artist, Setlist, SetlistEntry, Show, Song, Venue
from sandbox.catalog import Artist as TrueArtist
from sandbox.catalog import Event

__all__ = [
    "DayQuota",
    "Measured",
    "Scorecard",
    "SpotifyRow",
    "compute_scorecard",
    "differences",
    "event_changes_within",
    "event_lag_figures",
    "history_figures",
    "lag_figures",
    "percentile",
    "quota_figures",
    "ratio",
    "spotify_figures",
]

API_QUOTAS: dict[str, int | None] = {"ticketmaster": 5000, "setlistfm": 1440, "spotify": None}
#: A setlist published less than this before the end is not yet history: the freshness goals
#: judge it (issue 16: >= 95 % stored within 24 h of publication).
HISTORY_ALLOWANCE = timedelta(hours=24)


def ratio(part: int, whole: int) -> float | None:
    """``part / whole`` rounded to 4 places; None when there is nothing to measure."""
    return round(part / whole, 4) if whole else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (no interpolation: exact on every platform)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


@dataclass(frozen=True, slots=True)
class DayQuota:
    """Requests one API answered (or refused) on one calendar day."""

    day: date
    api: str
    requests: int
    over_cap: int


@dataclass
class Scorecard:
    """The figures, grouped as the issue lists them; ``as_dict`` is the report's JSON."""

    identity: dict[str, Any]
    shows: dict[str, Any]
    setlists: dict[str, Any]
    freshness: dict[str, Any]
    quota: dict[str, Any]
    trending: dict[str, Any]
    run: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {
            "identity": self.identity,
            "shows": self.shows,
            "setlists": self.setlists,
            "freshness": self.freshness,
            "quota": self.quota,
            "trending": self.trending,
            "run": self.run,
        }

    def rows(self) -> list[tuple[str, str, str]]:
        """(section, figure, value) for the printed table."""
        out: list[tuple[str, str, str]] = []
        for section, figures in self.as_dict().items():
            for name, value in figures.items():
                if isinstance(value, dict | list):
                    continue
                out.append((section, name, _shown(value)))
            if section == "freshness":
                lags = figures.get("lag_hours", {})
                if "event_lag_hours" in figures:
                    lags = {"event changes": figures["event_lag_hours"], **lags}
                for kind, lag in lags.items():
                    out.append(
                        (
                            section,
                            f"{kind} lag h (median / p95 / n / pending)",
                            f"{_shown(lag['median'])} / {_shown(lag['p95'])} / {lag['count']}"
                            f" / {lag['pending']}",
                        )
                    )
                for kind, within in figures.get("event_changes_within_24h_by_kind", {}).items():
                    out.append(
                        (
                            section,
                            f"{kind} within 24 h (share / on time / due)",
                            f"{_shown(within['share'])} / {within['on_time']} / {within['due']}",
                        )
                    )
            if section == "quota":
                for api, worst in figures.get("worst_day", {}).items():
                    out.append((section, f"{api} busiest day (requests / quota)", worst))
                for api, share in figures.get("busiest_day_share", {}).items():
                    out.append(
                        (
                            section,
                            f"{api} busiest day share of quota / days above 90 %",
                            f"{_shown(share)} / {figures['days_above_90_percent'][api]}",
                        )
                    )
                for api, per in figures.get("requests_per_synced_artist_by_api", {}).items():
                    out.append((section, f"{api} requests per synced artist", _shown(per)))
        return out


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return str(value)


@dataclass(frozen=True, slots=True)
class _Row:
    id: int
    name: str
    spotify_id: str | None
    ticketmaster_id: str | None
    mbid: str | None
    synced: bool
    spotify_synced_at: datetime | None


def _true_artist(row: _Row, truth: SimTruth) -> tuple[TrueArtist | None, set[int]]:
    """The true artist a row stands for and every true artist its ids point to. The row stands
    for the artist its ids agree on; when they disagree, the one named like the row, else the
    Ticketmaster id's, then Spotify's, then MusicBrainz'."""
    pointed = [
        artist
        for artist in (
            truth.by_ticketmaster_id.get(row.ticketmaster_id or ""),
            truth.by_spotify_id.get(row.spotify_id or ""),
            truth.by_mbid.get(row.mbid or ""),
        )
        if artist is not None
    ]
    indexes = {a.index for a in pointed}
    if not pointed:
        return None, indexes
    for artist in pointed:
        if artist.name == row.name:
            return artist, indexes
    return pointed[0], indexes


@dataclass(frozen=True, slots=True)
class Measured:
    """One measured upstream change (``compute_scorecard`` says which are measured): its kind,
    when it happened upstream, and when our row came to reflect it (None: pending at the end)."""

    kind: str
    at: datetime
    reflected: datetime | None


def _lag_summary(values: Sequence[float], pending: int) -> dict[str, Any]:
    return {
        "median": round(statistics.median(values), 2) if values else None,
        "p95": round(p95, 2) if (p95 := percentile(values, 0.95)) is not None else None,
        "count": len(values),
        "pending": pending,
    }


def _lag_hours(change: Measured, reflected: datetime) -> float:
    return round((reflected - change.at).total_seconds() / 3600, 4)


def lag_figures(measured: Iterable[Measured]) -> dict[str, dict[str, Any]]:
    """Per change kind (those with a measured change): the lag in hours from the change to the
    row reflecting it (median and nearest-rank p95, of the reflected changes, rounded to 2
    places), how many were reflected (``count``) and how many are pending at the end."""
    lags: dict[str, list[float]] = {kind: [] for kind in CHANGE_KINDS}
    pending: Counter[str] = Counter()
    for change in measured:
        if change.reflected is None:
            pending[change.kind] += 1
        else:
            lags[change.kind].append(_lag_hours(change, change.reflected))
    return {
        kind: _lag_summary(values, pending[kind])
        for kind, values in lags.items()
        if values or pending[kind]
    }


def event_lag_figures(measured: Iterable[Measured]) -> dict[str, Any]:
    """``lag_figures``' four figures over the six event kinds together (``event_lag_hours``)."""
    events = [change for change in measured if change.kind in EVENT_CHANGE_KINDS]
    return _lag_summary(
        [_lag_hours(c, c.reflected) for c in events if c.reflected is not None],
        sum(1 for c in events if c.reflected is None),
    )


def event_changes_within(
    measured: Iterable[Measured], end: datetime, *, hours: int
) -> dict[str, Any]:
    """Event changes (the six ``EVENT_CHANGE_KINDS``) reflected within ``hours`` of happening.

    Due: a measured event change whose ``hours`` had passed by ``end`` (``at + hours <= end``);
    the ones still inside their window at the end, reflected or not, are not counted. On time: a
    due change whose row reflected it at most ``hours`` after it happened; a due change still
    pending at the end is late. ``event_changes_within_<hours>h``: on time / due over the six
    kinds (None: nothing due); ``..._by_kind``: per kind with a due change, ``share``,
    ``on_time`` and ``due``."""
    allowed = timedelta(hours=hours)
    due: Counter[str] = Counter()
    on_time: Counter[str] = Counter()
    for change in measured:
        if change.kind not in EVENT_CHANGE_KINDS or change.at + allowed > end:
            continue
        due[change.kind] += 1
        if change.reflected is not None and change.reflected <= change.at + allowed:
            on_time[change.kind] += 1
    name = f"event_changes_within_{hours}h"
    return {
        name: ratio(sum(on_time.values()), sum(due.values())),
        f"{name}_by_kind": {
            kind: {
                "share": ratio(on_time[kind], due[kind]),
                "on_time": on_time[kind],
                "due": due[kind],
            }
            for kind in EVENT_CHANGE_KINDS
            if due[kind]
        },
    }


@dataclass(frozen=True, slots=True)
class SpotifyRow:
    """A synced row's Spotify side: its Spotify id, when its Spotify metadata was last fetched
    (``spotify_synced_at``), and whether the truth's artist behind it is on Spotify."""

    spotify_id: str | None
    synced_at: datetime | None
    on_spotify: bool


def history_figures(
    published: Sequence[Sequence[tuple[str, datetime]]],
    stored: Container[str],
    end: datetime,
) -> dict[str, float | None]:
    """Which synced artists hold their complete setlist history at ``end``. ``published``: per
    synced artist, its setlists published by ``end`` (setlist.fm id, first publication).

    ``artists_with_full_history``: every setlist published at least ``HISTORY_ALLOWANCE``
    before the end is stored. A setlist published in the last 24 h is news, not history: the
    freshness goals judge it (stored within 24 h of publication), so a run is not scored on
    setlists it was still allowed to read. ``artists_with_full_history_at_end`` counts those
    too (the strict figure, printed beside it)."""
    cutoff = end - HISTORY_ALLOWANCE
    complete = complete_at_end = 0
    for setlists in published:
        missing = [at for setlist_id, at in setlists if setlist_id not in stored]
        complete_at_end += not missing
        complete += all(at > cutoff for at in missing)
    return {
        "artists_with_full_history": ratio(complete, len(published)),
        "artists_with_full_history_at_end": ratio(complete_at_end, len(published)),
    }


def spotify_figures(rows: Iterable[SpotifyRow], end: datetime, *, days: int) -> dict[str, Any]:
    """The age of the synced rows' Spotify metadata at ``end``.

    - ``spotify_rows``: synced rows holding a Spotify id;
    - ``spotify_synced_within_<days>d``: the share of those whose ``spotify_synced_at`` is at
      most ``days`` days before ``end`` (a row never fetched from Spotify is not);
    - ``spotify_oldest_days``: the oldest ``end - spotify_synced_at`` among them, in days
      (2 places; None: none was ever fetched);
    - ``spotify_never_synced``: those with a Spotify id but no ``spotify_synced_at``;
    - ``synced_without_spotify_id``: synced rows with no Spotify id, and
      ``..._on_spotify``: how many of those the truth says are on Spotify (a missed id)."""
    window = timedelta(days=days)
    rows = list(rows)
    with_id = [row for row in rows if row.spotify_id]
    ages = [end - row.synced_at for row in with_id if row.synced_at is not None]
    without = [row for row in rows if not row.spotify_id]
    return {
        "spotify_rows": len(with_id),
        f"spotify_synced_within_{days}d": ratio(sum(1 for a in ages if a <= window), len(with_id)),
        "spotify_oldest_days": round(max(ages).total_seconds() / 86400, 2) if ages else None,
        "spotify_never_synced": len(with_id) - len(ages),
        "synced_without_spotify_id": len(without),
        "synced_without_spotify_id_on_spotify": sum(1 for row in without if row.on_spotify),
    }


#: A day is "above" when the requests an API admitted that day exceed this share of its quota.
QUOTA_ALERT = (9, 10)


def quota_figures(days: Sequence[dict[str, Any]], synced_artists: int) -> dict[str, Any]:
    """Requests per API per calendar day of the run (``days``: the simulation's day reports,
    each ``{"date", "requests": {api: {"requests", "admitted", "over_cap"}}, "over_cap"}``;
    ``requests`` counts every request the API received, ``admitted`` those it answered within
    its caps, ``over_cap`` those it refused for a cap).

    - ``days_over_quota``: days on which an API admitted more than its daily quota (summed over
      the APIs with one);
    - ``over_cap_answers``: requests refused for a cap, all APIs, all days;
    - ``requests_per_synced_artist``: every request of every API over ``shows.synced_artists``;
    - ``worst_day``: per API, its busiest day's requests / its daily quota;
    - ``busiest_day_share``: per API with a daily quota (Ticketmaster 5,000, setlist.fm 1,440;
      not Spotify: a rolling window), the most requests it admitted in a day over that quota;
    - ``days_above_90_percent``: per API with a daily quota, the days on which it admitted more
      than 90 % of it (Ticketmaster > 4,500, setlist.fm > 1,296);
    - ``requests_per_synced_artist_by_api``: per API, its requests over the synced artists."""
    per_api: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for day in days:
        for api, figures in day["requests"].items():
            per_api[api].append({"day": day["date"], **figures})
    over_days = 0
    worst: dict[str, str] = {}
    busiest_share: dict[str, float | None] = {}
    above: dict[str, int] = {}
    by_api: dict[str, float | None] = {}
    for api, entries_ in per_api.items():
        limit = API_QUOTAS.get(api)
        busiest = max(entries_, key=lambda e: e["requests"])
        by_api[api] = ratio(sum(e["requests"] for e in entries_), synced_artists)
        worst[api] = f"{busiest['requests']} / {limit if limit is not None else '-'}"
        if limit is not None:
            over_days += sum(1 for e in entries_ if e["admitted"] > limit)
            busiest_share[api] = ratio(max(e["admitted"] for e in entries_), limit)
            part, whole = QUOTA_ALERT
            above[api] = sum(1 for e in entries_ if e["admitted"] * whole > limit * part)
    return {
        "days_over_quota": over_days,
        "over_cap_answers": sum(d["over_cap"] for d in days),
        "requests_per_synced_artist": ratio(
            sum(e["requests"] for entries_ in per_api.values() for e in entries_), synced_artists
        ),
        "worst_day": worst,
        "busiest_day_share": busiest_share,
        "days_above_90_percent": above,
        "requests_per_synced_artist_by_api": by_api,
    }


async def compute_scorecard(
    engine: AsyncEngine,
    truth: SimTruth,
    *,
    end: datetime,
    days: Sequence[dict[str, Any]],
    trending: dict[str, Any],
    run: dict[str, Any],
) -> Scorecard:
    """The scorecard of the database behind ``engine`` at ``end``."""
    async with engine.connect() as conn:
        a = Artist.__table__  # type: ignore[attr-defined]
        artist_rows = [
            _Row(
                r.id,
                r.name,
                r.spotify_id,
                r.ticketmaster_id,
                r.mbid,
                r.last_synced_at is not None,
                r.spotify_synced_at,
            )
            for r in (
                await conn.execute(
                    select(
                        a.c.id,
                        a.c.name,
                        a.c.spotify_id,
                        a.c.ticketmaster_id,
                        a.c.mbid,
                        a.c.last_synced_at,
                        a.c.spotify_synced_at,
                    )
                )
            ).all()
        ]
        v = Venue.__table__  # type: ignore[attr-defined]
        venues = {
            r.id: (r.ticketmaster_id, r.setlistfm_id)
            for r in (await conn.execute(select(v.c.id, v.c.ticketmaster_id, v.c.setlistfm_id)))
        }
        s = Show.__table__  # type: ignore[attr-defined]
        shows = (
            await conn.execute(
                select(
                    s.c.id,
                    s.c.artist_id,
                    s.c.venue_id,
                    s.c.ticketmaster_id,
                    s.c.setlistfm_id,
                    s.c.local_date,
                    s.c.status,
                    s.c.created_at,
                    s.c.updated_at,
                )
            )
        ).all()
        sl = Setlist.__table__  # type: ignore[attr-defined]
        setlists = (
            await conn.execute(
                select(
                    sl.c.id,
                    sl.c.setlistfm_id,
                    sl.c.version_id,
                    sl.c.artist_id,
                    sl.c.show_id,
                    sl.c.created_at,
                    sl.c.updated_at,
                )
            )
        ).all()
        se = SetlistEntry.__table__  # type: ignore[attr-defined]
        so = Song.__table__  # type: ignore[attr-defined]
        entries: dict[int, list[tuple[int, Entry]]] = defaultdict(list)
        for r in await conn.execute(
            select(
                se.c.setlist_id,
                se.c.position,
                se.c.set_index,
                se.c.encore,
                so.c.title,
                se.c.tape,
                se.c.cover_artist_name,
            ).join(so, so.c.id == se.c.song_id)
        ):
            entries[r.setlist_id].append(
                (r.position, (r.set_index, r.encore, r.title, bool(r.tape), r.cover_artist_name))
            )

    # identity ----------------------------------------------------------------------------------
    row_artist: dict[int, TrueArtist] = {}
    mixed = 0
    unlinked = 0
    held_by: Counter[int] = Counter()
    for row in artist_rows:
        artist, pointed = _true_artist(row, truth)
        if artist is None:
            unlinked += 1
            continue
        row_artist[row.id] = artist
        held_by[artist.index] += 1
        if len(pointed) > 1:
            mixed += 1
    split_rows = sum(n - 1 for n in held_by.values() if n > 1)
    clean = sum(
        1
        for row in artist_rows
        if row.id in row_artist
        and held_by[row_artist[row.id].index] == 1
        and len(_true_artist(row, truth)[1]) == 1
    )
    # Exposed during the period [start, end): an artist first exposed at ``end`` itself (a
    # window opening at the next midnight) is the next period's, no run of this one can see it.
    exposed = truth.exposed_artists(end - timedelta(microseconds=1))
    found = {artist.index for artist in row_artist.values()}

    def id_share(column: str, index: dict[str, TrueArtist]) -> float | None:
        holding = [row for row in artist_rows if getattr(row, column)]
        right = sum(
            1
            for row in holding
            if row.id in row_artist
            and (true := index.get(getattr(row, column))) is not None
            and true.index == row_artist[row.id].index
        )
        return ratio(right, len(holding))

    identity = {
        "rows": len(artist_rows),
        "precision": ratio(clean, len(artist_rows)),
        "rows_mixing_artists": mixed,
        "artists_in_two_rows": sum(1 for n in held_by.values() if n > 1),
        "extra_rows": split_rows,
        "rows_unknown_to_truth": unlinked,
        "exposed_artists": len(exposed),
        "recall": ratio(len(exposed & found), len(exposed)),
        "spotify_id_right": id_share("spotify_id", truth.by_spotify_id),
        "ticketmaster_id_right": id_share("ticketmaster_id", truth.by_ticketmaster_id),
        "mbid_right": id_share("mbid", truth.by_mbid),
    }

    # shows -------------------------------------------------------------------------------------
    synced = {
        row.id: row_artist[row.id] for row in artist_rows if row.synced and row.id in row_artist
    }
    synced_artists = list({a.index: a for a in synced.values()}.values())
    synced_indexes = {a.index for a in synced_artists}
    today = end.date()
    stored_by_tm = {r.ticketmaster_id: r for r in shows if r.ticketmaster_id}

    def venue_tm(row: Any) -> str | None:
        venue = venues.get(row.venue_id) if row.venue_id is not None else None
        return venue[0] if venue is not None else None

    def matches(event: Event, row: Any) -> bool:
        """The stored show holds the event's artist, status, date and venue."""
        owner = row_artist.get(row.artist_id)
        return (
            owner is not None
            and owner.index == event.headliner.index
            and row.status == truth_status(event)
            and row.local_date == event.local_date
            and venue_tm(row) == event.venue.ticketmaster_id
        )

    true_upcoming = [e for a in synced_artists for e in truth.upcoming_events(a, end)]
    recalled = sum(
        1
        for event in true_upcoming
        if (show_row := stored_by_tm.get(event.id)) is not None and matches(event, show_row)
    )
    # Stored as upcoming: not completed, and not delisted (Ticketmaster no longer lists it).
    stored_upcoming = [
        r
        for r in shows
        if r.artist_id in synced
        and r.local_date >= today
        and r.status not in ("completed", "delisted")
    ]
    precise = 0
    for up in stored_upcoming:
        event = truth.event_at(up.ticketmaster_id, end) if up.ticketmaster_id else None
        if event is not None and event.sort_instant >= end and matches(event, up):
            precise += 1
    phantoms = 0
    for shown in shows:
        if shown.status != "completed" or shown.ticketmaster_id is None:
            continue
        played = truth.truth.played(shown.ticketmaster_id)
        if (
            played is None  # canceled, dropped or still postponed: never played
            or played.local_date != shown.local_date
            or played.local_date >= today
            or venue_tm(shown) not in (None, played.venue.ticketmaster_id)
        ):
            phantoms += 1
    keys = Counter((r.artist_id, r.local_date, r.venue_id) for r in shows if r.venue_id is not None)
    show_card = {
        "synced_artists": len(synced_artists),
        "true_upcoming": len(true_upcoming),
        "stored_upcoming": len(stored_upcoming),
        "recall": ratio(recalled, len(true_upcoming)),
        "precision": ratio(precise, len(stored_upcoming)),
        "phantom_completions": phantoms,
        "duplicates": sum(n - 1 for n in keys.values() if n > 1),
    }

    # setlists ----------------------------------------------------------------------------------
    stored = {r.setlistfm_id: r for r in setlists}
    shows_by_id = {r.id: r for r in shows}
    published = [p for a in synced_artists for p in truth.published(a, end)]
    in_period = [p for p in published if p.versions[0] >= truth.start]

    def within(hours: int) -> float | None:
        allowed = timedelta(hours=hours)
        eligible = [p for p in in_period if p.versions[0] + allowed <= end]
        ok = sum(
            1
            for p in eligible
            if (r := stored.get(p.setlist_id)) is not None
            and r.created_at <= p.versions[0] + allowed
        )
        return ratio(ok, len(eligible))

    structure_ok = current = linked_ok = checked = 0
    for r in setlists:
        performance = truth.performance(r.setlistfm_id)
        if performance is None:
            continue
        checked += 1
        version = truth.version_of(performance, r.version_id)
        got = [entry for _, entry in sorted(entries.get(r.id, []))]
        if version is not None and got == true_entries(truth.catalog, performance, version):
            structure_ok += 1
        if version == performance.version_at(end):
            current += 1
        show = shows_by_id.get(r.show_id) if r.show_id is not None else None
        if show is not None:
            venue = venues.get(show.venue_id) if show.venue_id is not None else None
            owner = row_artist.get(show.artist_id)
            if (
                owner is not None
                and owner.index == performance.artist.index
                and show.local_date == performance.event_date
                and venue is not None
                and (
                    venue[1] == performance.venue.setlistfm_id
                    or venue[0] == performance.venue.ticketmaster_id
                )
            ):
                linked_ok += 1
    history = history_figures(
        [[(p.setlist_id, p.versions[0]) for p in truth.published(a, end)] for a in synced_artists],
        stored.keys(),
        end,
    )
    setlist_card = {
        "published_of_synced": len(published),
        "published_this_period": len(in_period),
        "stored_within_24h": within(24),
        "stored_within_72h": within(72),
        "stored": len(setlists),
        "structure_equal": ratio(structure_ok, checked),
        "current_version": ratio(current, checked),
        "linked_to_right_show": ratio(linked_ok, checked),
        "history_depth": ratio(sum(1 for p in published if p.setlist_id in stored), len(published)),
        **history,
    }

    # freshness: lag from an upstream change to the row that reflects it ------------------------
    # Only the database's final state is read: a change counts when it is the last of its event
    # (or setlist version) by the end and the row holds it (lag: the row's created_at for a new
    # event or a publication, its updated_at otherwise); a change the row does not hold is
    # pending; one superseded by a later change before the end is not measured.
    changes = [c for c in truth.changes(truth.start, end) if c.artist.index in synced_indexes]
    last_of_event: dict[str, datetime] = {}
    for change in changes:
        if change.kind.startswith("event_") and change.event_id is not None:
            last_of_event[change.event_id] = change.at
    measured: list[Measured] = []

    def reflected(change: Change, at: datetime | None) -> None:
        measured.append(Measured(change.kind, change.at, at))

    for change in changes:
        if change.kind in ("setlist_published", "setlist_edited"):
            held = stored.get(change.setlist_id or "")
            performance = truth.performance(change.setlist_id or "")
            version = (
                truth.version_of(performance, held.version_id)
                if held is not None and performance is not None
                else None
            )
            if held is None or version is None or version < (change.version or 0):
                reflected(change, None)
            elif change.kind == "setlist_published":
                reflected(change, held.created_at)
            elif version == change.version:
                reflected(change, held.updated_at)
            continue
        if change.event_id is None or last_of_event.get(change.event_id) != change.at:
            continue  # superseded
        held_show = stored_by_tm.get(change.event_id)
        if change.kind == "event_new":
            reflected(change, held_show.created_at if held_show is not None else None)
            continue
        event = change.event
        if event is None or event.sort_instant < end:
            continue  # played (or due) by the end: its status is the completion's business
        if change.kind == "event_dropped":
            if held_show is None:
                continue  # never stored: nothing to take back
            done = held_show.status in ("cancelled", "delisted")
            reflected(change, held_show.updated_at if done else None)
            continue
        if held_show is not None and matches(event, held_show):
            reflected(change, held_show.updated_at)
        else:
            reflected(change, None)
    # Spotify metadata: one entry per synced row (the rows behind ``shows.synced_artists``; an
    # artist held by two rows counts twice, ``identity.extra_rows`` says how often).
    spotify_rows = [
        SpotifyRow(row.spotify_id, row.spotify_synced_at, synced[row.id].spotify_id is not None)
        for row in artist_rows
        if row.id in synced
    ]
    freshness = {
        "lag_hours": lag_figures(measured),
        "event_lag_hours": event_lag_figures(measured),
        **event_changes_within(measured, end, hours=24),
        **spotify_figures(spotify_rows, end, days=7),
    }

    # quota -------------------------------------------------------------------------------------
    quota = quota_figures(days, len(synced_artists))
    return Scorecard(identity, show_card, setlist_card, freshness, quota, trending, run)


def table(card: Scorecard) -> str:
    """The scorecard as a fixed-width text table."""
    rows = card.rows()
    width = max(len(f"{s}.{n}") for s, n, _ in rows) + 2
    return "\n".join(f"{f'{s}.{n}':<{width}}{value}" for s, n, value in rows)


def flatten(values: Iterable[tuple[str, str, str]]) -> dict[str, str]:
    return {f"{s}.{n}": v for s, n, v in values}


#: The figures of the machine, not of the world: two runs of one world differ there.
MACHINE_FIGURES = {
    "run": ("wall_seconds", "peak_memory_mb", "database", "wall_seconds_per_run"),
    "trending": ("checked_against",),
}


def differences(first: dict[str, Any], second: dict[str, Any]) -> list[str]:
    """The figures two final scorecards (``Scorecard.as_dict``) disagree on, machine figures
    aside, as ``section.figure: first != second``: empty for two runs of one world that the
    databases did not tell apart."""

    def world(final: dict[str, Any]) -> dict[str, Any]:
        return {
            section: {k: v for k, v in figures.items() if k not in MACHINE_FIGURES.get(section, ())}
            if isinstance(figures, dict)
            else figures
            for section, figures in final.items()
        }

    out: list[str] = []

    def walk(path: str, a: Any, b: Any) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(a.keys() | b.keys(), key=str):
                walk(f"{path}.{key}" if path else str(key), a.get(key), b.get(key))
        elif a != b:
            out.append(f"{path}: {a!r} != {b!r}")

    walk("", world(first), world(second))
    return out
