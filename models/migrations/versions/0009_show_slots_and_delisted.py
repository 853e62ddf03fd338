"""One show per artist, date and venue; the status ``delisted`` (issue 12).

- ``shows.status`` may be ``delisted``: Ticketmaster no longer lists the event (dropped, or
  moved under another id). Such a show is never completed; listed again, it takes the listed
  status back (models/catalog.py). The CHECK constraint is replaced.
- ``ix_shows_artist_date_venue``: a UNIQUE index on ``(artist_id, local_date, venue_id)``
  replaces ``ix_shows_artist_date`` (same prefix, so the per-artist lookups keep their index).
  Existing duplicates are merged first into the oldest row: setlists, user activity and
  supporting acts move to it, it takes the ids it lacked (Ticketmaster, setlist.fm), its
  trending row is marked for a recount and the duplicates' trending rows are deleted.
- Before that, a venue stored twice (once from each source, as the Ticketmaster path used to
  add a second row) is merged: when exactly one Ticketmaster-only row and exactly one
  setlist.fm-only row share the normalised name, the city (case-insensitive) and the country,
  with no different state and the Ticketmaster venue within 30 km of setlist.fm's city centre,
  the Ticketmaster row takes the setlist.fm id and city centre, and the shows of the other.
  (The rule of ``models.catalog.venues_match``, spelled out here so the revision never
  changes meaning with application code.)

SQLite cannot alter a CHECK constraint: ``shows`` is rebuilt (batch mode). With foreign keys on,
dropping the old table deletes the supporting acts, user activity and trending rows of every
show and unlinks the setlists (their ``ON DELETE``): they are saved before and put back after.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 14:30:00

"""

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUS_BEFORE = "status IN ('upcoming', 'ongoing', 'completed', 'cancelled', 'postponed')"
_STATUS_AFTER = (
    "status IN ('upcoming', 'ongoing', 'completed', 'cancelled', 'postponed', 'delisted')"
)
_SAVED = {  # SQLite: what dropping the old shows table would take with it
    "_saved_acts": "SELECT * FROM show_support_acts",
    "_saved_activity": "SELECT * FROM user_activity WHERE show_id IS NOT NULL",
    "_saved_trending": "SELECT * FROM trending_shows",
    "_saved_setlist_shows": "SELECT id, show_id FROM setlists WHERE show_id IS NOT NULL",
}


_CITY_MATCH_KM = 30.0


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, a)))


def _same_place(tm: Any, sfm: Any) -> bool:
    if tm.state_code and sfm.state_code and tm.state_code != sfm.state_code:
        return False
    own = (tm.latitude, tm.longitude)
    centre = (sfm.city_latitude, sfm.city_longitude)
    if None not in own and None not in centre:
        return _km(*own, *centre) <= _CITY_MATCH_KM
    return True


def _merge_duplicate_venues() -> None:
    """One venue stored once from each source becomes one row (the Ticketmaster one)."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.text(
            "SELECT id, ticketmaster_id, setlistfm_id, normalized_name, city, state_code,"
            " country_code, latitude, longitude, city_latitude, city_longitude FROM venues"
            " WHERE (ticketmaster_id IS NULL OR setlistfm_id IS NULL)"
            " AND city IS NOT NULL AND country_code IS NOT NULL"
        )
    ).all()
    groups: dict[tuple[str, str, str], list[Any]] = defaultdict(list)
    for row in rows:
        key = (row.normalized_name, row.city.strip().lower(), row.country_code.upper())
        groups[key].append(row)
    for group in groups.values():
        tm = [r for r in group if r.ticketmaster_id is not None]
        sfm = [r for r in group if r.setlistfm_id is not None]
        if len(tm) != 1 or len(sfm) != 1 or not _same_place(tm[0], sfm[0]):
            continue
        keep, drop = tm[0], sfm[0]
        ids = {"keep": keep.id, "drop": drop.id}
        bind.execute(sa.text("UPDATE shows SET venue_id = :keep WHERE venue_id = :drop"), ids)
        bind.execute(sa.text("UPDATE venues SET setlistfm_id = NULL WHERE id = :drop"), ids)
        bind.execute(
            sa.text(
                "UPDATE venues SET setlistfm_id = :sfm,"
                " city_latitude = COALESCE(city_latitude, :lat),"
                " city_longitude = COALESCE(city_longitude, :lon) WHERE id = :keep"
            ),
            {**ids, "sfm": drop.setlistfm_id, "lat": drop.city_latitude, "lon": drop.city_longitude},
        )
        bind.execute(sa.text("DELETE FROM venues WHERE id = :drop"), ids)


def _merge_duplicates() -> None:
    """Every show after the oldest of its (artist, date, venue) is merged into the oldest."""
    keeper = (
        "(SELECT MIN(k.id) FROM shows AS k WHERE k.artist_id = s.artist_id"
        " AND k.local_date = s.local_date AND k.venue_id = s.venue_id)"
    )
    op.execute(
        f"CREATE TEMPORARY TABLE _show_dups AS SELECT s.id AS loser, {keeper} AS keeper"
        f" FROM shows AS s WHERE s.venue_id IS NOT NULL AND s.id > {keeper}"
    )
    moved = "(SELECT d.keeper FROM _show_dups AS d WHERE d.loser = {table}.show_id)"
    losers = "(SELECT loser FROM _show_dups)"
    for table in ("setlists", "user_activity"):
        op.execute(
            f"UPDATE {table} SET show_id = {moved.format(table=table)}"
            f" WHERE show_id IN {losers}"
        )
    op.execute(
        "INSERT INTO show_support_acts (show_id, artist_id, position)"
        " SELECT d.keeper, a.artist_id, MIN(a.position) FROM show_support_acts AS a"
        " JOIN _show_dups AS d ON a.show_id = d.loser"
        " WHERE NOT EXISTS (SELECT 1 FROM show_support_acts AS k"
        " WHERE k.show_id = d.keeper AND k.artist_id = a.artist_id)"
        " GROUP BY d.keeper, a.artist_id"
    )
    op.execute(f"DELETE FROM trending_shows WHERE show_id IN {losers}")
    op.execute(
        "UPDATE trending_shows SET as_of = NULL"
        " WHERE show_id IN (SELECT keeper FROM _show_dups)"
    )
    op.execute(
        "CREATE TEMPORARY TABLE _show_ids AS SELECT d.keeper AS keeper,"
        " MIN(s.ticketmaster_id) AS tm, MIN(s.setlistfm_id) AS sfm"
        " FROM _show_dups AS d JOIN shows AS s ON s.id = d.loser GROUP BY d.keeper"
    )
    op.execute(f"DELETE FROM show_support_acts WHERE show_id IN {losers}")
    op.execute(f"DELETE FROM shows WHERE id IN {losers}")
    op.execute(
        "UPDATE shows SET"
        " ticketmaster_id = COALESCE(ticketmaster_id,"
        " (SELECT i.tm FROM _show_ids AS i WHERE i.keeper = shows.id)),"
        " setlistfm_id = COALESCE(setlistfm_id,"
        " (SELECT i.sfm FROM _show_ids AS i WHERE i.keeper = shows.id))"
        " WHERE id IN (SELECT keeper FROM _show_ids)"
    )
    op.execute("DROP TABLE _show_ids")
    op.execute("DROP TABLE _show_dups")


def _replace_status_check(check: str) -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_shows_status"), "shows", type_="check")
        op.create_check_constraint(op.f("ck_shows_status"), "shows", check)
        return
    for name, query in _SAVED.items():
        op.execute(f"CREATE TEMPORARY TABLE {name} AS {query}")
    with op.batch_alter_table("shows", recreate="always") as batch:
        batch.drop_constraint(op.f("ck_shows_status"), type_="check")
        batch.create_check_constraint(op.f("ck_shows_status"), check)
    op.execute("INSERT OR IGNORE INTO show_support_acts SELECT * FROM _saved_acts")
    op.execute("INSERT OR IGNORE INTO user_activity SELECT * FROM _saved_activity")
    op.execute("INSERT OR IGNORE INTO trending_shows SELECT * FROM _saved_trending")
    op.execute(
        "UPDATE setlists SET show_id ="
        " (SELECT saved.show_id FROM _saved_setlist_shows AS saved WHERE saved.id = setlists.id)"
        " WHERE id IN (SELECT id FROM _saved_setlist_shows)"
    )
    for name in _SAVED:
        op.execute(f"DROP TABLE {name}")


def upgrade() -> None:
    _merge_duplicate_venues()
    _merge_duplicates()
    _replace_status_check(_STATUS_AFTER)
    op.drop_index("ix_shows_artist_date", table_name="shows")
    op.create_index(
        "ix_shows_artist_date_venue",
        "shows",
        ["artist_id", "local_date", "venue_id"],
        unique=True,
    )


def downgrade() -> None:
    # Before this revision a show no longer listed stayed upcoming.
    op.execute("UPDATE shows SET status = 'upcoming' WHERE status = 'delisted'")
    op.drop_index("ix_shows_artist_date_venue", table_name="shows")
    op.create_index("ix_shows_artist_date", "shows", ["artist_id", "local_date"], unique=False)
    _replace_status_check(_STATUS_BEFORE)
