"""Incremental runs: stored sums aged to now plus the events since the last run, nothing else."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from models.artists import merge_artists
from models.trending import forget_artist_activity, recalculate_trending
from tests.trending.scenario import (
    ARTIST_TRENDS,
    ARTISTS,
    HISTORY,
    NOW,
    SHOW_TRENDS,
    SHOWS,
    WATERMARKS,
    add_events,
    artist,
    events,
    rows,
    scores,
    seed,
    show,
    trending_settings,
)
from tests.trending.test_scores import EXPECTED_ARTISTS, EXPECTED_SHOWS

SETTINGS = trending_settings()
LATER = NOW + timedelta(hours=72)  # one activity half-life after the daily run


async def _full_scores(engine: AsyncEngine, at: object) -> tuple[dict[int, float], ...]:
    """The scores a full recomputation gives at ``at`` (committed: it becomes the state)."""
    await recalculate_trending(engine, mode="full", now=at, settings=SETTINGS)  # type: ignore[arg-type]
    return await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS)


async def _sums(engine: AsyncEngine, artist_id: int) -> tuple[object, ...]:
    c = ARTIST_TRENDS.c
    async with engine.connect() as conn:
        row = (
            await conn.execute(
                select(c.views, c.follows, c.votes, c.attendance, c.as_of).where(
                    c.artist_id == artist_id
                )
            )
        ).one()
    return tuple(row)


async def test_a_run_without_new_events_ages_the_stored_sums_and_rewrites_only_moved_scores(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = {r[0]: r for r in await rows(engine, ARTIST_TRENDS)}

    result = await recalculate_trending(engine, mode="hourly", now=LATER, settings=SETTINGS)

    assert result.counts() == {
        "artists_added": 0,
        "shows_added": 0,
        # only artist 1's inputs change (its show passed); the other scores move when read
        "artists_scored": 1,
        "shows_scored": 0,  # 1 and 4 decay, 3 comes closer: computed when read
        "history_rows": 0,
    }
    assert (result.full, result.since) == (False, NOW)
    assert await scores(engine, ARTIST_TRENDS) == {
        # 30*0.8 + 15*(0.1/0.12) + 15*(2.5/7.5) + 10*0 (its show passed) + 10*(10/30) * 3
        1: 51.5,
        # (10*(10/30) + 10*(p/(1+p))) / 55 * 100, p = 2 ** (-25/14): the show 25 days ahead
        2: 10.15,
        3: 17.65,  # no activity: untouched
        4: 17.65,
        5: 22.19,  # 30*0.2 + 15*(0.35/0.37) + 10*(1.25/6.25)
        6: 14.12,
        7: 18.0,  # net follows -1 -> -0.5, still 0
    }
    assert await scores(engine, SHOW_TRENDS) == {
        1: 5.0,  # now in the past: only its votes, 15*(5/15)
        2: 0.0,
        3: 9.06,  # 25*2**(-25/14) / 80 * 100
        4: 3.0,  # 15*(1.25/6.25)
    }
    after = {r[0]: r for r in await rows(engine, ARTIST_TRENDS)}
    for untouched in (2, 3, 4, 5, 6, 7):
        assert after[untouched] == before[untouched]
    # no new event: artist 2's sums stay as of the daily run, only its score moved when read
    assert await _sums(engine, 2) == (20.0, 0.0, 0.0, 0.0, NOW)
    # artist 1 is rewritten (its show passed): its sums aged by one half-life, as of LATER
    assert await _sums(engine, 1) == (10.0, 2.5, 5.0, 2.5, LATER)
    assert (await _full_scores(engine, LATER)) == (
        await scores(engine, ARTIST_TRENDS),
        await scores(engine, SHOW_TRENDS),
    )
    history = await rows(engine, HISTORY)
    assert {r[2] for r in history} == {NOW.date(), LATER.date()}  # the daily's, then full's


async def test_a_quiet_hour_without_any_activity_changes_nothing(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=70, followers=None)])
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = await rows(engine, ARTIST_TRENDS)

    result = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    assert result.counts() == dict.fromkeys(result.counts(), 0)
    assert await rows(engine, ARTIST_TRENDS) == before
    assert await rows(engine, WATERMARKS) == [("activity", NOW + timedelta(hours=1), "hourly", 0)]


async def test_new_events_are_added_to_the_aged_sums_exactly_as_a_full_run_counts_them(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    at = NOW + timedelta(hours=6)  # same UTC day: days-to-show and growth unchanged
    await add_events(
        engine,
        [
            *events("view", 7, artist_id=3, at=NOW + timedelta(hours=1)),
            *events("vote_up", 4, artist_id=2, show_id=3, at=NOW + timedelta(hours=2)),
            *events("unfollow", 1, artist_id=1, at=at),
        ],
    )

    daily = await recalculate_trending(engine, mode="daily", now=at, settings=SETTINGS)
    incremental = (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))

    assert daily.full is False
    # 1, 2, 3 took events and show 3 took votes: only their rows are rewritten (5, 1 and 4
    # decay when read)
    assert (daily.artists_scored, daily.shows_scored) == (3, 1)
    v = 7 * 2 ** (-5 / 72)  # 7 views, 5 hours old
    assert incremental[0][3] == 20.59 == round((15 + 10 * v / (v + 20)) / 85 * 100, 2)
    q = 4 * 2 ** (-4 / 72)  # 4 votes, 4 hours old
    assert incremental[1][3] == 13.02 == round((25 * 0.25 + 15 * q / (q + 10)) / 80 * 100, 2)
    assert incremental[0][4] == EXPECTED_ARTISTS[4]
    # summed event by event, as the database sums them
    assert await _sums(engine, 3) == (sum([2 ** (-5 / 72)] * 7), 0.0, 0.0, 0.0, at)
    assert await _full_scores(engine, at) == incremental


async def test_an_event_recorded_late_is_counted_by_the_next_run(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    # occurred before the last run, arrived after it
    await add_events(engine, events("view", 20, artist_id=1, at=NOW - timedelta(hours=1)))

    await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    v = 20 * 2 ** (-2 / 72)  # 20 views, 2 hours old
    assert await scores(engine, ARTIST_TRENDS) == {1: round(10 * v / (v + 20) / 55 * 100, 2)}
    assert await scores(engine, ARTIST_TRENDS) == {1: 9.0}
    assert (await _full_scores(engine, NOW + timedelta(hours=1)))[0] == {1: 9.0}


async def test_an_event_dated_after_a_run_counts_once_when_it_has_happened(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(1, popularity=None, followers=None)])
    await add_events(engine, events("view", 20, artist_id=1, at=NOW + timedelta(minutes=30)))

    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    assert await scores(engine, ARTIST_TRENDS) == {1: 0.0}  # not yet
    await recalculate_trending(engine, mode="hourly", now=LATER, settings=SETTINGS)
    once = await scores(engine, ARTIST_TRENDS)
    await recalculate_trending(engine, mode="hourly", now=LATER, settings=SETTINGS)

    assert await scores(engine, ARTIST_TRENDS) == once
    v = 20 * 2 ** (-71.5 / 72)
    assert once == {1: round(10 * v / (v + 20) / 55 * 100, 2)} == {1: 6.08}
    assert (await _full_scores(engine, LATER))[0] == once


async def test_an_incremental_run_finds_new_rows_by_key_or_by_stamp_and_a_full_one_finds_all(
    engine: AsyncEngine,
) -> None:
    """New catalogue rows get a state row from an incremental run when their key is above the
    state's highest, or when they were stamped since the previous run (a key taken before a
    larger one, committed later); a row with neither is left to a full run."""
    await seed(engine)  # shows 1-4
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:
        await conn.execute(
            SHOWS.insert(),
            [
                show(9, artist_id=1, local_date=NOW.date(), status="upcoming"),  # above: found
                # Below the highest state key (9, once the next run adds it):
                {**show(7, artist_id=1, local_date=NOW.date(), status="upcoming"),
                 "updated_at": NOW + timedelta(minutes=30)},  # stamped since: found
                show(6, artist_id=1, local_date=NOW.date(), status="upcoming"),  # neither
            ],
        )  # fmt: skip
    async with engine.begin() as conn:  # 9 first: the state's highest key is then 9
        await conn.execute(SHOW_TRENDS.insert().values(show_id=9, as_of=None))

    hourly = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    assert hourly.shows_added == 1
    assert sorted(r[0] for r in await rows(engine, SHOW_TRENDS)) == [1, 2, 3, 4, 7, 9]
    full = await recalculate_trending(
        engine, mode="full", now=NOW + timedelta(hours=2), settings=SETTINGS
    )
    assert full.shows_added == 1
    assert sorted(r[0] for r in await rows(engine, SHOW_TRENDS)) == [1, 2, 3, 4, 6, 7, 9]


async def test_new_artists_and_shows_are_scored_from_all_their_events(
    engine: AsyncEngine,
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:
        await conn.execute(ARTISTS.insert(), [artist(8, popularity=90, followers=None)])
        await conn.execute(
            SHOWS.insert(), [show(5, artist_id=8, local_date=NOW.date(), status="upcoming")]
        )
    await add_events(engine, events("attendance", 5, artist_id=8, show_id=5))

    result = await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    assert (result.artists_added, result.shows_added) == (1, 1)
    a = 5 * 2 ** (-1 / 72)
    # 30*0.9 + 10*(1/2) (a show today) + 10*(a/(a+5)), over 85 (growth absent)
    assert (await scores(engine, ARTIST_TRENDS))[8] == round(
        (27 + 5 + 10 * a / (a + 5)) / 85 * 100, 2
    )
    # 20*0.9 + 25*1 + 15*(a/(a+5))
    assert (await scores(engine, SHOW_TRENDS))[5] == round(18 + 25 + 15 * a / (a + 5), 2)
    incremental = (await scores(engine, ARTIST_TRENDS), await scores(engine, SHOW_TRENDS))
    assert await _full_scores(engine, NOW + timedelta(hours=1)) == incremental


async def test_a_merge_has_the_survivors_activity_recounted_from_the_raw_events(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            ARTISTS.insert(),
            [artist(n, popularity=None, followers=None) for n in (1, 2)],
        )
    await add_events(
        engine,
        [*events("view", 10, artist_id=1), *events("view", 30, artist_id=2)],
    )
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)

    async with engine.begin() as conn:
        await merge_artists(conn, survivor_id=1, loser_id=2, now=NOW)
    await recalculate_trending(
        engine, mode="hourly", now=NOW + timedelta(hours=1), settings=SETTINGS
    )

    v = 40 * 2 ** (-1 / 72)  # both artists' views, one hour old
    assert await scores(engine, ARTIST_TRENDS) == {1: round(10 * v / (v + 20) / 55 * 100, 2)}
    assert await scores(engine, ARTIST_TRENDS) == {1: 12.08}
    assert (await _sums(engine, 1))[4] == NOW + timedelta(hours=1)


@pytest.mark.parametrize("mode", ["hourly", "daily"])
async def test_an_incremental_run_before_the_last_run_is_refused_and_a_full_one_is_not(
    engine: AsyncEngine, mode: str
) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    before = await rows(engine, ARTIST_TRENDS)
    earlier = NOW - timedelta(minutes=1)

    with pytest.raises(ValueError, match=r"is before the last trending run \(2025-06-01T12:00"):
        await recalculate_trending(engine, mode=mode, now=earlier, settings=SETTINGS)  # type: ignore[arg-type]
    assert await rows(engine, ARTIST_TRENDS) == before

    full = await recalculate_trending(engine, mode="full", now=earlier, settings=SETTINGS)
    assert full.full is True
    assert await rows(engine, WATERMARKS) == [
        ("activity", earlier, "full", 81)
    ]  # the seed's 81 events
    # Every row is rewritten as of the earlier instant, those without events too: a row kept as
    # of a later instant would hold a ranking bound valid only from that instant on.
    assert (full.artists_scored, full.shows_scored) == (7, 4)
    async with engine.connect() as conn:
        as_of = {
            *(await conn.execute(select(ARTIST_TRENDS.c.as_of))).scalars(),
            *(await conn.execute(select(SHOW_TRENDS.c.as_of))).scalars(),
        }
    assert as_of == {earlier}


async def test_the_first_run_and_one_after_a_run_without_an_event_mark_recompute_everything(
    engine: AsyncEngine,
) -> None:
    await seed(engine)

    first = await recalculate_trending(engine, mode="hourly", now=NOW, settings=SETTINGS)

    assert (first.full, first.since, first.artists_added, first.shows_added) == (True, None, 7, 4)
    assert await scores(engine, ARTIST_TRENDS) == EXPECTED_ARTISTS
    assert await scores(engine, SHOW_TRENDS) == EXPECTED_SHOWS
    assert await rows(engine, HISTORY) == []  # hourly keeps no history
    async with engine.begin() as conn:  # as revision 0003 leaves an older watermark
        await conn.execute(update(WATERMARKS).values(event_id=None))
    again = await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    # a full run recomputes every row, and rewrites none: every stored input is right
    assert (again.full, again.since, again.artists_scored, again.shows_scored) == (
        True,
        NOW,
        0,
        0,
    )
    assert await scores(engine, ARTIST_TRENDS) == EXPECTED_ARTISTS


async def test_activity_without_a_show_rescores_the_artist_only(engine: AsyncEngine) -> None:
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    shows_before = await rows(engine, SHOW_TRENDS)
    await add_events(engine, events("view", 1, artist_id=4, at=NOW))

    result = await recalculate_trending(engine, mode="hourly", now=NOW, settings=SETTINGS)

    # a NULL show_id never reaches the shows: only artist 4 is written
    assert (result.artists_scored, result.shows_scored) == (1, 0)
    assert await rows(engine, SHOW_TRENDS) == shows_before


async def test_scores_read_while_an_artist_is_marked_for_a_recount(engine: AsyncEngine) -> None:
    """Between a merge (``forget_artist_activity``) and the next run, a reader scores the artist
    without its activity (recounted by the next run) and with its shows ahead counted from
    ``shows``: on SQLite the read failed (``floor(NULL)``), on PostgreSQL its shows ahead counted
    0 (36.5)."""
    await seed(engine)
    await recalculate_trending(engine, mode="daily", now=NOW, settings=SETTINGS)
    async with engine.begin() as conn:
        await forget_artist_activity(conn, artist_ids=[1])

    # 30*0.8 + 15*(0.1/0.12) + 10*(1/(1+1)): its show today; no activity until the next run
    assert (await scores(engine, ARTIST_TRENDS))[1] == 41.5
