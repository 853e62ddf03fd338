"""The scorecard's issue-16 figures (``cli/scorecard.py``) on small hand-built inputs: event
changes within 24 h, complete histories, the age of the Spotify metadata, each API's busiest
day against its quota and requests per synced artist per API, and how the printed table shows
them. The whole
scorecard of a simulated world is ``tests/cli/test_simulate.py``'s."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cli.scorecard import (
    Measured,
    Scorecard,
    SpotifyRow,
    event_changes_within,
    event_lag_figures,
    history_figures,
    lag_figures,
    quota_figures,
    spotify_figures,
)

END = datetime(2026, 3, 5, tzinfo=UTC)
H = timedelta(hours=1)


def _at(hours_before_end: float, after: float | None) -> tuple[datetime, datetime | None]:
    at = END - hours_before_end * H
    return at, (at + after * H if after is not None else None)


def _measured(kind: str, hours_before_end: float, after: float | None) -> Measured:
    return Measured(kind, *_at(hours_before_end, after))


MEASURED = [
    _measured("event_new", 48, 2),  # due, on time
    _measured("event_new", 30, 25),  # due, late
    _measured("event_new", 30, None),  # due, pending at the end: late
    _measured("event_new", 10, None),  # its 24 h not over: not counted
    _measured("event_new", 10, 1),  # its 24 h not over: not counted, though on time
    _measured("event_canceled", 24, 24),  # due exactly at the end, reflected at 24 h: on time
    _measured("event_postponed", 72, 23.99),  # due, on time
    _measured("setlist_published", 48, None),  # not an event change
    _measured("setlist_edited", 48, 30),  # not an event change
]


def test_event_changes_within_24h_count_the_due_ones_and_a_pending_one_is_late() -> None:
    assert event_changes_within(MEASURED, END, hours=24) == {
        "event_changes_within_24h": 0.6,
        "event_changes_within_24h_by_kind": {
            "event_new": {"share": 0.3333, "on_time": 1, "due": 3},
            "event_canceled": {"share": 1.0, "on_time": 1, "due": 1},
            "event_postponed": {"share": 1.0, "on_time": 1, "due": 1},
        },
    }


def test_event_changes_within_24h_with_nothing_due_is_unmeasured() -> None:
    assert event_changes_within(MEASURED[3:5], END, hours=24) == {
        "event_changes_within_24h": None,
        "event_changes_within_24h_by_kind": {},
    }
    assert event_changes_within([], END, hours=72) == {
        "event_changes_within_72h": None,
        "event_changes_within_72h_by_kind": {},
    }


def test_lag_figures_per_kind_from_the_measured_changes() -> None:
    assert lag_figures(MEASURED) == {
        "event_new": {"median": 2.0, "p95": 25.0, "count": 3, "pending": 2},
        "event_canceled": {"median": 24.0, "p95": 24.0, "count": 1, "pending": 0},
        "event_postponed": {"median": 23.99, "p95": 23.99, "count": 1, "pending": 0},
        "setlist_published": {"median": None, "p95": None, "count": 0, "pending": 1},
        "setlist_edited": {"median": 30.0, "p95": 30.0, "count": 1, "pending": 0},
    }


def test_event_lag_over_the_six_event_kinds_together() -> None:
    # Reflected: 2, 25, 1 (event_new), 24 (canceled), 23.99 (postponed); two new ones pending.
    assert event_lag_figures(MEASURED) == {"median": 23.99, "p95": 25.0, "count": 5, "pending": 2}
    assert event_lag_figures(MEASURED[7:]) == {
        "median": None,
        "p95": None,
        "count": 0,
        "pending": 0,
    }


SPOTIFY_ROWS = [
    SpotifyRow("sp-a", END - timedelta(days=1), True),  # fresh
    SpotifyRow("sp-b", END - timedelta(days=7), True),  # exactly 7 days: fresh
    SpotifyRow("sp-c", END - timedelta(days=7, hours=1), True),  # 7.04 days: stale
    SpotifyRow("sp-d", None, True),  # never fetched: stale, not in the oldest age
    SpotifyRow(None, None, True),  # no id, though on Spotify: a missed id
    SpotifyRow(None, END - timedelta(days=2), False),
    SpotifyRow("", None, False),  # an empty id is no id
]


def test_spotify_metadata_age_of_the_synced_rows() -> None:
    assert spotify_figures(SPOTIFY_ROWS, END, days=7) == {
        "spotify_rows": 4,
        "spotify_synced_within_7d": 0.5,
        "spotify_oldest_days": 7.04,
        "spotify_never_synced": 1,
        "synced_without_spotify_id": 3,
        "synced_without_spotify_id_on_spotify": 1,
    }


def test_spotify_metadata_age_with_no_rows_is_unmeasured() -> None:
    assert spotify_figures([], END, days=7) == {
        "spotify_rows": 0,
        "spotify_synced_within_7d": None,
        "spotify_oldest_days": None,
        "spotify_never_synced": 0,
        "synced_without_spotify_id": 0,
        "synced_without_spotify_id_on_spotify": 0,
    }
    assert spotify_figures([SpotifyRow("sp-d", None, True)], END, days=7) == {
        "spotify_rows": 1,
        "spotify_synced_within_7d": 0.0,
        "spotify_oldest_days": None,
        "spotify_never_synced": 1,
        "synced_without_spotify_id": 0,
        "synced_without_spotify_id_on_spotify": 0,
    }


def _api(requests: int, admitted: int) -> dict[str, int]:
    return {"requests": requests, "admitted": admitted, "over_cap": requests - admitted}


DAYS: list[dict[str, Any]] = [
    {
        "date": "2026-03-02",
        "requests": {
            "spotify": _api(50, 50),
            "ticketmaster": _api(4600, 4600),  # above 90 % (4,500)
            "setlistfm": _api(1307, 1297),  # above 90 % (1,296) by one
        },
        "over_cap": 10,
    },
    {
        "date": "2026-03-03",
        "requests": {
            "spotify": _api(30, 30),
            "ticketmaster": _api(5010, 5001),  # over the quota itself
            "setlistfm": _api(1296, 1296),  # exactly 90 %: not above
        },
        "over_cap": 9,
    },
]


def test_quota_busiest_day_share_days_above_90_percent_and_requests_per_api() -> None:
    assert quota_figures(DAYS, 10) == {
        "days_over_quota": 1,
        "over_cap_answers": 19,
        "requests_per_synced_artist": 1229.3,
        "worst_day": {
            "spotify": "50 / -",
            "ticketmaster": "5010 / 5000",
            "setlistfm": "1307 / 1440",
        },
        "busiest_day_share": {"ticketmaster": 1.0002, "setlistfm": 0.9007},
        "days_above_90_percent": {"ticketmaster": 2, "setlistfm": 1},
        "requests_per_synced_artist_by_api": {
            "spotify": 8.0,
            "ticketmaster": 961.0,
            "setlistfm": 260.3,
        },
    }


def test_quota_with_no_synced_artist_has_no_per_artist_figure() -> None:
    figures = quota_figures(DAYS[:1], 0)
    assert figures["requests_per_synced_artist"] is None
    assert figures["requests_per_synced_artist_by_api"] == {
        "spotify": None,
        "ticketmaster": None,
        "setlistfm": None,
    }
    assert figures["busiest_day_share"] == {"ticketmaster": 0.92, "setlistfm": 0.9007}


def test_the_printed_table_shows_the_new_figures() -> None:
    card = Scorecard(
        identity={},
        shows={},
        setlists={},
        freshness={
            "lag_hours": lag_figures(MEASURED[6:7]),
            "event_lag_hours": event_lag_figures(MEASURED),
            **event_changes_within(MEASURED, END, hours=24),
            **spotify_figures(SPOTIFY_ROWS, END, days=7),
        },
        quota=quota_figures(DAYS, 10),
        trending={},
        run={},
    )
    assert card.rows() == [
        ("freshness", "event_changes_within_24h", "0.6"),
        ("freshness", "spotify_rows", "4"),
        ("freshness", "spotify_synced_within_7d", "0.5"),
        ("freshness", "spotify_oldest_days", "7.04"),
        ("freshness", "spotify_never_synced", "1"),
        ("freshness", "synced_without_spotify_id", "3"),
        ("freshness", "synced_without_spotify_id_on_spotify", "1"),
        ("freshness", "event changes lag h (median / p95 / n / pending)", "23.99 / 25 / 5 / 2"),
        (
            "freshness",
            "event_postponed lag h (median / p95 / n / pending)",
            "23.99 / 23.99 / 1 / 0",
        ),
        ("freshness", "event_new within 24 h (share / on time / due)", "0.3333 / 1 / 3"),
        ("freshness", "event_canceled within 24 h (share / on time / due)", "1 / 1 / 1"),
        ("freshness", "event_postponed within 24 h (share / on time / due)", "1 / 1 / 1"),
        ("quota", "days_over_quota", "1"),
        ("quota", "over_cap_answers", "19"),
        ("quota", "requests_per_synced_artist", "1229.3"),
        ("quota", "spotify busiest day (requests / quota)", "50 / -"),
        ("quota", "ticketmaster busiest day (requests / quota)", "5010 / 5000"),
        ("quota", "setlistfm busiest day (requests / quota)", "1307 / 1440"),
        ("quota", "ticketmaster busiest day share of quota / days above 90 %", "1.0002 / 2"),
        ("quota", "setlistfm busiest day share of quota / days above 90 %", "0.9007 / 1"),
        ("quota", "spotify requests per synced artist", "8"),
        ("quota", "ticketmaster requests per synced artist", "961"),
        ("quota", "setlistfm requests per synced artist", "260.3"),
    ]


def test_full_history_leaves_the_last_24_hours_to_the_freshness_goals() -> None:
    published = [
        [("a1", END - 400 * H), ("a2", END - 30 * H)],  # both stored: complete
        [("b1", END - 400 * H), ("b2", END - 3 * H)],  # b2 published 3 h before the end, missing
        [("c1", END - 24 * H)],  # missing, published exactly 24 h before the end: due
        [("d1", END - 500 * H), ("d2", END - 25 * H)],  # d1 missing: incomplete
        [],  # nothing published yet: complete
    ]
    stored = {"a1", "a2", "b1", "d2"}
    assert history_figures(published, stored, END) == {
        "artists_with_full_history": 0.6,  # a, b, the artist without setlists
        "artists_with_full_history_at_end": 0.4,  # a and the artist without setlists
    }


def test_full_history_without_synced_artists_is_unmeasured() -> None:
    assert history_figures([], set(), END) == {
        "artists_with_full_history": None,
        "artists_with_full_history_at_end": None,
    }
