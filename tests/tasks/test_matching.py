"""The homonym rules of a name search (``tasks/matching.py``): a result is taken only when it is
unambiguous, and ``why`` says why none was."""

from __future__ import annotations

from clients.setlistfm import SfmArtist
from clients.spotify import SpotifyArtist
from clients.ticketmaster import TmAttraction
from tasks.matching import (
    Known,
    confirm,
    names_from_sort_name,
    pick_attraction,
    pick_setlistfm_artist,
    pick_spotify_artist,
    spelled_alike,
    tmid_contradicts,
)

SP_PLAIN = "0000000000000000000001"
SP_THE = "0000000000000000000002"
MB_PLAIN = "a1b2c3d4-0000-4000-8000-000000000001"
MB_THE = "a1b2c3d4-0000-4000-8000-000000000002"


def _spotify(spotify_id: str, name: str) -> SpotifyArtist:
    return SpotifyArtist(id=spotify_id, name=name)


def test_spotify_two_hits_of_one_normalised_name_are_ambiguous() -> None:
    results = [_spotify(SP_PLAIN, "Young Owls"), _spotify(SP_THE, "The Young Owls")]
    pick = pick_spotify_artist("Young Owls", results, Known())
    assert pick.found is None
    assert pick.ambiguous
    assert pick.why == f"2 Spotify artists named 'Young Owls': {SP_PLAIN}, {SP_THE}"


def test_spotify_a_hit_another_row_holds_is_that_row_and_leaves_the_other() -> None:
    results = [_spotify(SP_PLAIN, "Young Owls"), _spotify(SP_THE, "The Young Owls")]
    known = Known(held_elsewhere=frozenset({SP_PLAIN}))
    pick = pick_spotify_artist("Young Owls", results, known)
    spelled = pick_spotify_artist("Young Owls", results, known, also_known_as=["The Young Owls"])
    # The one left is spelled with an article ours lacks: held back until a linked source
    # spells our artist so (rule 4).
    assert (pick.found, pick.held_back) == (None, results[1])
    assert (spelled.found, spelled.exact) == (results[1], False)


def test_spotify_one_hit_for_two_rows_of_that_name_is_ambiguous() -> None:
    pick = pick_spotify_artist(
        "Young Owls", [_spotify(SP_PLAIN, "Young Owls")], Known(same_name_rows_without_id=1)
    )
    assert pick.found is None
    assert pick.why == (
        "one Spotify artist named 'Young Owls', but 2 of our artists have that name: "
        "it could be any of theirs"
    )


def test_spotify_no_hit_of_the_name_is_a_plain_miss() -> None:
    pick = pick_spotify_artist("Young Owls", [_spotify(SP_PLAIN, "Young Owls Tribute")], Known())
    assert (pick.found, pick.ambiguous, pick.why) == (
        None,
        False,
        "no Spotify artist named 'Young Owls'",
    )


def test_setlistfm_a_differing_tmid_is_another_artist() -> None:
    other = SfmArtist(mbid=MB_PLAIN, name="Young Owls", tmid="K8vZ917aaaa")
    pick = pick_setlistfm_artist("Young Owls", [other], Known(), ticketmaster_id="K8vZ917bbbb")
    assert pick.found is None
    assert pick.why == (
        f"the setlist.fm artists named 'Young Owls' are others: {MB_PLAIN} (Ticketmaster id "
        "K8vZ917aaaa)"
    )


def test_setlistfm_own_tmid_is_exact_and_an_unknown_tmid_falls_back_to_the_name() -> None:
    own = SfmArtist(mbid=MB_THE, name="The Young Owls", tmid="K8vZ917bbbb")
    plain = SfmArtist(mbid=MB_PLAIN, name="Young Owls")
    exact = pick_setlistfm_artist(
        "Young Owls", [plain, own], Known(), ticketmaster_id="K8vZ917bbbb"
    )
    by_name = pick_setlistfm_artist("Young Owls", [plain], Known(), ticketmaster_id="K8vZ917bbbb")
    assert (exact.found, exact.exact) == (own, True)
    assert (by_name.found, by_name.exact) == (plain, False)


def test_a_legacy_numeric_tmid_cannot_contradict_a_discovery_id() -> None:
    assert not tmid_contradicts(735610, "K8vZ9171ob7")
    assert tmid_contradicts(735610, "735611")
    assert tmid_contradicts("K8vZ917aaaa", "K8vZ9171ob7")
    assert not tmid_contradicts(None, "K8vZ9171ob7")
    assert not tmid_contradicts("K8vZ917aaaa", None)


def test_attraction_linking_our_spotify_id_is_exact_one_linking_another_is_excluded() -> None:
    ours = TmAttraction(id="K8vZ917aaaa", name="Young Owls", spotify_id=SP_THE)
    theirs = TmAttraction(id="K8vZ917bbbb", name="Young Owls", spotify_id=SP_PLAIN)
    unlinked = TmAttraction(id="K8vZ917cccc", name="YOUNG OWLS")
    exact = pick_attraction("Young Owls", [theirs, ours], Known(), spotify_id=SP_THE, mbid=None)
    by_name = pick_attraction(
        "Young Owls", [theirs, unlinked], Known(), spotify_id=SP_THE, mbid=None
    )
    none = pick_attraction("Young Owls", [theirs], Known(), spotify_id=SP_THE, mbid=None)
    assert (exact.found, exact.exact) == (ours, True)
    assert (by_name.found, by_name.exact) == (unlinked, False)
    assert none.found is None
    assert none.why == (
        f"the Ticketmaster artists named 'Young Owls' are others: K8vZ917bbbb (links Spotify "
        f"{SP_PLAIN})"
    )


def test_attraction_whose_link_another_row_holds_is_that_row() -> None:
    linked = TmAttraction(id="K8vZ917aaaa", name="Young Owls", mbid=MB_PLAIN)
    pick = pick_attraction(
        "Young Owls",
        [linked],
        Known(held_elsewhere=frozenset({MB_PLAIN})),
        spotify_id=SP_THE,
        mbid=None,
    )
    assert pick.found is None
    assert pick.why == (
        "the Ticketmaster artists named 'Young Owls' are others: K8vZ917aaaa (another of our "
        f"artists holds {MB_PLAIN})"
    )


# A leading article is part of the name (issue 12, the 5,000-artist month): "Young Owls" known
# from Ticketmaster only, and a different "The Young Owls" on Spotify and setlist.fm.


def test_spotify_one_hit_with_another_leading_article_is_held_back_not_taken() -> None:
    the_owls = _spotify(SP_THE, "The Young Owls")
    pick = pick_spotify_artist("Young Owls", [the_owls], Known())
    assert (pick.found, pick.ambiguous, pick.held_back) == (None, True, the_owls)
    assert pick.why == (
        "one Spotify artist named 'Young Owls', spelled 'The Young Owls': a leading article "
        "apart, it may be another artist"
    )


def test_spotify_hit_with_another_article_is_taken_when_a_linked_source_spells_it_so() -> None:
    the_owls = _spotify(SP_THE, "The Young Owls")
    pick = pick_spotify_artist("Young Owls", [the_owls], Known(), also_known_as=("the young owls",))
    assert (pick.found, pick.exact, pick.held_back) == (the_owls, False, None)
    assert confirm(pick_spotify_artist("Young Owls", [the_owls], Known()), ["The Young Owls"]) == (
        the_owls
    )
    assert confirm(pick_spotify_artist("Young Owls", [the_owls], Known()), ["Young Owls"]) is None


def test_setlistfm_name_hit_with_another_leading_article_is_held_back_not_taken() -> None:
    the_owls = SfmArtist(mbid=MB_THE, name="The Young Owls")
    pick = pick_setlistfm_artist("Young Owls", [the_owls], Known(), ticketmaster_id="K8vZ917bbbb")
    assert (pick.found, pick.held_back) == (None, the_owls)
    assert pick.why == (
        "one setlist.fm artist named 'Young Owls', spelled 'The Young Owls': a leading article "
        "apart, it may be another artist"
    )
    spelled = pick_setlistfm_artist(
        "Young Owls",
        [the_owls],
        Known(),
        ticketmaster_id="K8vZ917bbbb",
        also_known_as=["The Young Owls"],
    )
    assert spelled.found == the_owls


def test_attraction_name_hit_with_another_leading_article_is_held_back_not_taken() -> None:
    the_owls = TmAttraction(id="K8vZ917cccc", name="The Young Owls")
    pick = pick_attraction("Young Owls", [the_owls], Known(), spotify_id=SP_PLAIN, mbid=None)
    assert (pick.found, pick.held_back) == (None, the_owls)


def test_a_name_sort_name_gives_the_spelling_with_its_article() -> None:
    assert names_from_sort_name("Young Owls, The") == ("The Young Owls",)
    assert names_from_sort_name("Perfect Circle, A") == ("A Perfect Circle",)
    assert names_from_sort_name("Hart, June") == ()
    assert names_from_sort_name(None) == ()


def test_spelled_alike_keeps_the_article_and_ignores_the_rest() -> None:
    assert spelled_alike("The Young Owls", "THE YOUNG OWLS!")
    assert spelled_alike("Beyoncé & Jay-Z", "beyonce and jay z")
    assert not spelled_alike("The Young Owls", "Young Owls")
    assert not spelled_alike("A Young Owls", "The Young Owls")


def _tagged(spotify_id: str, name: str, *genres: str) -> SpotifyArtist:
    return SpotifyArtist(id=spotify_id, name=name, genres=list(genres))


def test_spotify_a_hit_whose_genres_contradict_ticketmasters_is_another_artist() -> None:
    metal = _tagged(SP_PLAIN, "Hollow Strangers", "metalcore", "metal")
    soul = _tagged(SP_THE, "Hollow Strangers", "neo soul")
    alone = pick_spotify_artist(
        "Hollow Strangers", [metal], Known(), ticketmaster_genres=["R&B", "Soul"]
    )
    assert (alone.found, alone.ambiguous) == (None, True)
    assert alone.why == (
        f"the Spotify artists named 'Hollow Strangers' are others: {SP_PLAIN} (its genres "
        "metalcore, metal are not Ticketmaster's R&B, Soul)"
    )
    # Of two hits of the name, the one whose genres fit is taken.
    both = pick_spotify_artist(
        "Hollow Strangers", [metal, soul], Known(), ticketmaster_genres=["R&B", "Soul"]
    )
    assert (both.found, both.exact) == (soul, False)
    # Without Ticketmaster's genres, or without Spotify's, nothing is known: the name decides.
    assert pick_spotify_artist("Hollow Strangers", [metal], Known()).found == metal
    untagged = _tagged(SP_PLAIN, "Hollow Strangers")
    assert (
        pick_spotify_artist(
            "Hollow Strangers", [untagged], Known(), ticketmaster_genres=["R&B"]
        ).found
        == untagged
    )


def test_spotify_another_row_of_the_name_counts_unless_its_genres_contradict_the_hit() -> None:
    metal = _tagged(SP_PLAIN, "Hollow Strangers", "metal")
    apart = Known(same_name_rows_without_id=1, same_name_genres=((("R&B",), ()),))
    could = Known(same_name_rows_without_id=1, same_name_genres=((("Metal", "Hard Rock"), ()),))
    unknown = Known(same_name_rows_without_id=1, same_name_genres=(((), ()),))
    mine = ["Metal"]
    assert pick_spotify_artist(
        "Hollow Strangers", [metal], apart, ticketmaster_genres=mine
    ).found == (metal)
    for known in (could, unknown):
        pick = pick_spotify_artist("Hollow Strangers", [metal], known, ticketmaster_genres=mine)
        assert (pick.found, pick.ambiguous) == (None, True)
        assert pick.why == (
            "one Spotify artist named 'Hollow Strangers', but 2 of our artists have that name: "
            "it could be any of theirs"
        )


def test_attraction_whose_genres_contradict_our_spotify_genres_is_another_artist() -> None:
    rock = TmAttraction(id="K8vZ917aaaa", name="Caleb Brennan & The Mirrors", genres=["Rock"])
    country = TmAttraction(
        id="K8vZ917bbbb", name="Caleb Brennan and The Mirrors", genres=["Country"]
    )
    ours = ["alt country"]
    alone = pick_attraction(
        "Caleb Brennan & The Mirrors",
        [rock],
        Known(),
        spotify_id=SP_PLAIN,
        mbid=None,
        spotify_genres=ours,
    )
    assert alone.found is None
    assert alone.why == (
        "the Ticketmaster artists named 'Caleb Brennan & The Mirrors' are others: K8vZ917aaaa "
        "(its genres Rock are not Spotify's alt country)"
    )
    both = pick_attraction(
        "Caleb Brennan & The Mirrors",
        [rock, country],
        Known(),
        spotify_id=SP_PLAIN,
        mbid=None,
        spotify_genres=ours,
    )
    assert both.found == country
    # Another row of the name, known from Spotify as "metal" only, cannot be the country act.
    other = Known(same_name_rows_without_id=1, same_name_genres=(((), ("metal",)),))
    assert (
        pick_attraction(
            "Caleb Brennan & The Mirrors",
            [country],
            other,
            spotify_id=SP_PLAIN,
            mbid=None,
            spotify_genres=ours,
        ).found
        == country
    )
