"""The catalogue: deterministic, consistent across APIs, with the documented proportions."""

from __future__ import annotations

import re
import uuid
from collections import Counter
from datetime import date, timedelta

import pytest

from sandbox.catalog import (
    PLAYABLE_STATUSES,
    SCENE_MAX,
    SCENE_MIN,
    TM_FUTURE_DAYS,
    TM_PAST_DAYS,
    Catalog,
)
from sandbox.names import GENRES
from tests.sandbox.conftest import ARTISTS, SEED, TODAY

SPOTIFY_ID = re.compile(r"^[0-9A-Za-z]{22}$")
ATTRACTION_ID = re.compile(r"^K8vZ917[0-9A-Za-z]{4}$")
VENUE_ID = re.compile(r"^KovZpZA[0-9A-Za-z]{5}$")
EVENT_ID = re.compile(r"^vvG1[0-9A-Za-z]{10}$")
HEX8 = re.compile(r"^[0-9a-f]{8}$")


def _fingerprint(catalog: Catalog) -> list[object]:
    now = catalog.origin
    rows: list[object] = [(a, catalog.songs(a)) for a in catalog.artists]
    rows += list(catalog.venues) + list(catalog.events) + list(catalog.playlists)
    for artist in catalog.artists[:40]:
        for performance in catalog.setlists(artist, now):
            rows.append((performance, catalog.sets(performance, performance.version_at(now))))
    return rows


def test_same_seed_size_and_date_give_the_same_catalogue(catalog: Catalog) -> None:
    again = Catalog(seed=SEED, artists=ARTISTS, today=TODAY)
    assert _fingerprint(again) == _fingerprint(catalog)


def test_another_seed_gives_another_catalogue(catalog: Catalog) -> None:
    other = Catalog(seed=SEED + 1, artists=ARTISTS, today=TODAY)
    assert [a.name for a in other.artists] != [a.name for a in catalog.artists]
    assert {a.spotify_id for a in other.artists}.isdisjoint(
        {a.spotify_id for a in catalog.artists if a.spotify_id}
    )


def test_a_catalogue_needs_ten_artists() -> None:
    with pytest.raises(ValueError, match="at least 10 artists, got 9"):
        Catalog(seed=1, artists=9, today=TODAY)


def test_artist_ids_have_each_apis_format_and_are_unique(catalog: Catalog) -> None:
    spotify = [a.spotify_id for a in catalog.artists if a.spotify_id]
    attractions = [a.ticketmaster_id for a in catalog.artists if a.ticketmaster_id]
    mbids = [a.mbid for a in catalog.artists if a.mbid]
    assert all(SPOTIFY_ID.match(i) for i in spotify)
    assert all(ATTRACTION_ID.match(i) for i in attractions)
    assert all(str(uuid.UUID(m)) == m and uuid.UUID(m).version == 4 for m in mbids)
    assert len(set(spotify)) == len(spotify) == 116
    assert len(set(attractions)) == len(attractions) == 116
    assert len(set(mbids)) == len(mbids) == 112
    # Names are unique but for the deliberate homonyms (one twin per 125 artists).
    twins = {h.twin.index for h in catalog.homonyms}
    assert len(twins) == 1
    assert len({a.name.casefold() for a in catalog.artists if a.index not in twins}) == ARTISTS - 1


def test_a_few_artists_exist_only_on_spotify_and_a_few_only_on_ticketmaster(
    catalog: Catalog,
) -> None:
    kinds = Counter(a.kind for a in catalog.artists)
    assert kinds == {"core": 112, "spotify_only": 4, "tm_only": 4}
    for artist in catalog.artists:
        assert artist.on_spotify == (artist.kind != "tm_only")
        assert artist.on_ticketmaster == (artist.kind != "spotify_only")
        assert artist.on_setlistfm == (artist.kind == "core")


def test_about_a_fifth_of_attractions_lack_a_spotify_or_musicbrainz_link(
    catalog: Catalog,
) -> None:
    core = [a for a in catalog.artists if a.kind == "core"]
    assert sum(not a.link_spotify for a in core) == 17
    assert sum(not a.link_musicbrainz for a in core) == 17
    assert sum(not (a.link_spotify and a.link_musicbrainz) for a in core) == 27
    # setlist.fm knows the Ticketmaster id of most, so artistTmid search links the rest.
    assert sum(a.setlistfm_tmid is None for a in core) == 12
    assert all(a.setlistfm_tmid in (None, a.ticketmaster_id) for a in core)


def test_ticketmaster_spells_a_few_names_differently_but_equal_once_normalised(
    catalog: Catalog,
) -> None:
    from models.identity import normalize_name

    variants = [
        (a.name, a.ticketmaster_name) for a in catalog.artists if a.name != a.ticketmaster_name
    ]
    assert variants == [
        ("Blue Kings", "BLUE KINGS"),
        ("Hazel Sullivan & The Wolves", "HAZEL SULLIVAN & THE WOLVES"),
        ("Amara Marlowe", "AMARA MARLOWE"),
        ("Renée Reyes", "Renee Reyes"),
        ("MC Stranger", "MC STRANGER"),
        ("Lil River", "LIL RIVER"),
    ]
    assert all(normalize_name(a) == normalize_name(b) for a, b in variants)


def test_venues_are_in_the_21_major_markets_with_ids_of_both_apis(catalog: Catalog) -> None:
    assert len(catalog.venues) == 147
    assert {v.market.id for v in catalog.venues} == {
        3, 5, 6, 7, 10, 11, 14, 15, 16, 18, 20, 22, 27, 31, 35, 36, 37, 40, 41, 42, 47,
    }  # fmt: skip
    assert all(VENUE_ID.match(v.ticketmaster_id) for v in catalog.venues)
    assert all(HEX8.match(v.setlistfm_id) for v in catalog.venues)
    assert len({v.ticketmaster_id for v in catalog.venues}) == 147
    assert len({v.setlistfm_id for v in catalog.venues}) == 147
    assert len({(v.name, v.city.name) for v in catalog.venues}) == 147


def test_events_span_the_last_30_days_to_a_year_ahead_with_realistic_statuses(
    catalog: Catalog,
) -> None:
    events = catalog.events
    assert len(events) == 383
    assert all(EVENT_ID.match(e.id) for e in events)
    assert min(e.local_date for e in events) >= TODAY - timedelta(days=TM_PAST_DAYS)
    assert max(e.local_date for e in events) <= TODAY + timedelta(days=TM_FUTURE_DAYS)
    assert Counter(e.status for e in events) == {
        "onsale": 335,
        "offsale": 19,
        "rescheduled": 12,
        "canceled": 10,
        "postponed": 7,
    }
    assert sum(e.onsale_placeholder for e in events) == 73  # 19%
    assert sum(e.price_range is None for e in events) == 121
    assert all(low < high for low, high in (e.price_range for e in events if e.price_range))
    assert sum(e.date_tba for e in events) == 13
    assert sum(e.time_tba for e in events) == 27
    assert all(e.local_time is None for e in events if e.time_tba)
    assert Counter(len(e.support) for e in events) == {0: 223, 1: 117, 2: 43}
    assert all(e.headliner not in e.support for e in events)
    assert [e.sort_instant for e in events] == sorted(e.sort_instant for e in events)


def test_setlists_cover_past_years_and_the_ticketmaster_events_that_happened(
    catalog: Catalog,
) -> None:
    now = catalog.origin
    performances = [p for a in catalog.artists for p in catalog.performances(a)]
    published = [p for p in performances if p.published(now)]
    assert len(performances) == 3224  # with the shows announced after day 0
    assert len(published) == 2850
    assert min(p.event_date for p in published) >= date(2022, 3, 2)
    assert len({p.setlist_id for p in performances}) == 3224
    from_events = [p for p in published if p.event_id is not None]
    assert len(from_events) == 25
    for performance in from_events:
        event = catalog.event_by_id[performance.event_id or ""]
        assert event.headliner is performance.artist
        assert (event.local_date, event.venue) == (performance.event_date, performance.venue)
        assert event.status in PLAYABLE_STATUSES


def test_artists_without_setlists_exist(catalog: Catalog) -> None:
    silent = [
        a.index
        for a in catalog.artists
        if a.on_setlistfm and not catalog.setlists(a, catalog.origin)
    ]
    assert silent == [9, 29, 45, 86, 106]


def test_a_setlist_id_resolves_back_to_its_performance(catalog: Catalog) -> None:
    artist = catalog.artists[0]
    for performance in catalog.performances(artist):
        assert catalog.performance_by_setlist_id(performance.setlist_id) is performance
    assert catalog.performance_by_setlist_id("zzzzzzzz") is None
    assert catalog.performance_by_setlist_id("abc") is None


def test_edits_change_the_sets_deterministically(catalog: Catalog) -> None:
    edited = next(
        p
        for a in catalog.artists
        for p in catalog.performances(a)
        if len(p.versions) > 1 and not p.empty_at_first
    )
    first, second = catalog.sets(edited, 0), catalog.sets(edited, 1)
    assert first != second
    assert catalog.sets(edited, 1) == second
    assert catalog.version_id(edited, 0) != catalog.version_id(edited, 1)


def test_an_empty_setlist_is_filled_by_its_first_edit(catalog: Catalog) -> None:
    empty = next(
        p
        for a in catalog.artists
        for p in catalog.performances(a)
        if p.empty_at_first and len(p.versions) > 1
    )
    assert catalog.sets(empty, 0) == ()
    assert len(catalog.sets(empty, 1)) >= 1


def test_followers_and_popularity_drift_day_by_day(catalog: Catalog) -> None:
    artist = max(catalog.artists, key=lambda a: a.daily_growth)
    assert artist.followers_on(0) == artist.base_followers
    assert artist.followers_on(30) > artist.followers_on(0)
    assert artist.popularity_on(0) == artist.base_popularity
    assert 0 <= artist.popularity_on(3650) <= 100


def test_playlists_list_catalogue_artists_including_the_spotify_only_ones(
    catalog: Catalog,
) -> None:
    owners = [(p.owner, len(p.tracks)) for p in catalog.playlists]
    assert owners == [("developer", 54), ("user", 59), ("spotify", 47), ("spotify", 75)]
    assert catalog.playlist_ids == [p.id for p in catalog.playlists]
    credited = {a.index for p in catalog.playlists for t, _ in p.tracks for a in t.artists}
    only_spotify = {a.index for a in catalog.artists if a.kind == "spotify_only"}
    assert only_spotify <= credited
    assert all(catalog.artists[i].on_spotify for i in credited)


def test_a_track_has_the_same_id_in_a_playlist_and_in_top_tracks(catalog: Catalog) -> None:
    track, _ = catalog.playlists[0].tracks[0]
    artist = track.artists[0]
    assert track in catalog.top_tracks(artist)
    assert track.title in catalog.songs(artist)


# ------------------------------------------------------------------------------------ scenes


def test_scenes_are_co_touring_groups_of_8_to_20_artists_inside_a_genre() -> None:
    world = Catalog(seed=SEED, artists=500, today=TODAY)
    assert len(world.scenes) == 37
    assert sorted(a.index for scene in world.scenes for a in scene) == list(range(500))
    for number, scene in enumerate(world.scenes):
        assert SCENE_MIN <= len(scene) <= SCENE_MAX
        assert len({a.genre.name for a in scene}) == 1
        assert all(a.scene == number for a in scene)
    # Scenes are numbered genre by genre, in GENRES order.
    firsts = [GENRES.index(scene[0].genre) for scene in world.scenes]
    assert firsts == sorted(firsts)


def test_a_genre_smaller_than_a_scene_is_one_scene(catalog: Catalog) -> None:
    # 120 artists: about 10 per genre, so one scene per genre (7 to 17 artists).
    assert len(catalog.scenes) == len(GENRES)
    assert sorted(len(s) for s in catalog.scenes) == [7, 7, 8, 9, 9, 10, 10, 10, 10, 10, 13, 17]


def test_supporting_acts_come_mostly_from_the_headliners_scene() -> None:
    world = Catalog(seed=SEED, artists=500, today=TODAY)
    acts = [(e.headliner, act) for e in world.all_events for act in e.support]
    assert len(acts) == 990
    assert sum(h.scene == act.scene for h, act in acts) == 792  # 80 %
    assert all(h.index != act.index for h, act in acts)
    assert all(len(set(e.support)) == len(e.support) for e in world.all_events)


def test_covers_and_guests_come_mostly_from_the_scene_or_the_genre() -> None:
    world = Catalog(seed=SEED, artists=500, today=TODAY)
    covers: list[tuple[int, int, bool]] = []  # (performer, covered, tape)
    guests: list[tuple[int, int]] = []
    for artist in world.artists[:100]:
        for performance in world.performances(artist):
            for content in world.sets(performance, 0):
                for song in content.songs:
                    if song.cover is not None:
                        covers.append((artist.index, song.cover.index, song.tape))
                    if song.with_artist is not None:
                        guests.append((artist.index, song.with_artist.index))
    a = world.artists
    played = [(x, y) for x, y, tape in covers if not tape]
    assert all(x != y and a[y].on_setlistfm for x, y, _ in covers)
    assert len(played) == 638
    # 60 % from the scene, and some of the genre's 25 %.
    assert sum(a[x].scene == a[y].scene for x, y in played) == 435
    assert sum(a[x].genre == a[y].genre for x, y in played) == 551  # 86 %
    tapes = [(x, y) for x, y, tape in covers if tape]
    assert (len(tapes), sum(a[x].scene == a[y].scene for x, y in tapes)) == (212, 2)  # anyone's
    assert len(guests) == 1098
    assert sum(a[x].scene == a[y].scene for x, y in guests) == 756
