"""Property-based fuzz of every monitor route, on both databases: never a 5xx, every error in
the one shape, and nothing stored by a refused request.

Bounded and deterministic: a fixed number of examples, derandomized, no example database.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import ActivityKind, UserActivity
from monitor.api import ERROR_CODES, create_app
from settings import Settings
from tests.monitor.factories import (
    ARTISTS,
    ENTRIES,
    SETLISTS,
    SHOWS,
    SONGS,
    SUPPORT_ACTS,
    artist,
    entry,
    insert_rows,
    setlist,
    show,
    song,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SECRET = "fuzz-secret-0123456789-abcdefghijklmnopq"
ACTIVITY = UserActivity.__table__  # type: ignore[attr-defined]
EXAMPLES = 150

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- Strategies -----------------------------------------------------------------------------

_known_ids = st.sampled_from([1, 2, 3, 10, 11, 100, 101, 102])
_ids = st.one_of(
    _known_ids,
    _known_ids,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4),
    st.none(),
)
_text = st.one_of(
    st.text(max_size=140),
    st.sampled_from(["u1", "u\x00", "\x00", "u\x1b[0m", " ", "a\u2028b", "\ud800", "x" * 129]),
)
_offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
_instants = st.one_of(
    # Near the server's clock: inside and just outside the window.
    st.integers(min_value=-31 * 24 * 3600, max_value=600).map(
        lambda seconds: (NOW + timedelta(seconds=seconds)).isoformat()
    ),
    # Anywhere Python can represent, at any offset (year 1 at +14:00 overflowed).
    st.datetimes(timezones=_offsets).map(lambda value: value.isoformat()),
    st.sampled_from(
        [
            "0001-01-01T00:00:00+14:00",
            "0001-01-01T00:00:00Z",
            "0001-01-01Z",
            "9999-12-31T23:59:59-12:00",
            "1970-01-01T00:00:00Z",
            "2026-03-10",
            "2026-03-10T12:00:00",
        ]
    ),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(),
    st.text(max_size=30),
    st.none(),
)
_kinds = st.one_of(st.sampled_from([kind.value for kind in ActivityKind]), st.text(max_size=12))
_event = st.fixed_dictionaries(
    {"kind": _kinds},
    optional={
        "user_id": _text,
        "event_id": st.one_of(st.text(max_size=70), st.integers()),
        "artist_id": _ids,
        "show_id": _ids,
        "song_id": _ids,
        "occurred_at": _instants,
        "artistId": _ids,
    },
)
# Targets that exist in the catalogue (see _catalog), by kind.
_valid_targets = st.sampled_from(
    [
        ("view", {"artist_id": 2}),
        ("view", {"show_id": 10}),
        ("view", {"song_id": 102}),
        ("follow", {"artist_id": 1}),
        ("unfollow", {"show_id": 11}),
        ("vote_up", {"song_id": 100, "show_id": 10}),
        ("vote_down", {"song_id": 100, "show_id": 10, "artist_id": 1}),
        ("attendance", {"show_id": 10, "artist_id": 2}),
    ]
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``good`` four times in five, else ``bad``."""
    return st.integers(min_value=0, max_value=4).flatmap(lambda n: bad if n == 4 else good)


_near_now = st.integers(min_value=-31 * 24 * 3600, max_value=600).map(
    lambda seconds: (NOW + timedelta(seconds=seconds)).isoformat()
)
#: Events as the web app sends them, each field now and then replaced by a hostile value.
_plausible_event = st.builds(
    lambda target, user_id, event_id, occurred_at: {
        "kind": target[0],
        **target[1],
        "user_id": user_id,
        **({"event_id": event_id} if event_id is not None else {}),
        **({"occurred_at": occurred_at} if occurred_at is not None else {}),
    },
    _valid_targets,
    _mostly(st.from_regex(r"u-[0-9]{1,6}", fullmatch=True), _text),
    _mostly(st.one_of(st.none(), st.from_regex(r"[a-z0-9]{1,8}", fullmatch=True)), st.text()),
    _mostly(st.one_of(st.none(), _near_now), _instants),
)
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)
_plausible_batches = st.fixed_dictionaries(
    {"events": st.lists(_plausible_event, min_size=1, max_size=4)}
).map(json.dumps)
_bodies = st.one_of(
    _plausible_batches,
    st.fixed_dictionaries({"events": st.lists(_event, min_size=1, max_size=4)}).map(json.dumps),
    st.fixed_dictionaries({"events": st.lists(_event, max_size=3)}, optional={"x": _json}).map(
        json.dumps
    ),
    _json.map(json.dumps),
    st.binary(max_size=64),
    st.none(),
)
_paths = st.one_of(
    st.sampled_from(
        [
            "/api/activity",
            "/api/sync/monitor",
            "/healthz",
            "/openapi.json",
            "/api/activity/",
            "/api//activity",
            "/API/ACTIVITY",
            "/api/sync/monitor/",
            "/healthz/",
            "/docs",
            "/redoc",
            "/api/activity%00",
            "/api/sync/artist",
        ]
    ),
    st.text(max_size=20).map(lambda text: "/" + quote(text, safe="")),
)
_auth = st.one_of(
    st.just({"Authorization": f"Bearer {SECRET}"}),
    st.just({"Authorization": f"Bearer {SECRET}"}),
    st.just({"Authorization": f"bearer {SECRET}"}),
    st.just({}),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=50).map(
        lambda token: {"Authorization": f"Bearer {token}"}
    ),
    st.just({"Authorization": SECRET}),
)
_content_types = st.sampled_from(
    [None, "application/json", "application/json; charset=utf-8", "text/plain", "x/y+json"]
)
_query: st.SearchStrategy[dict[str, Any]] = st.one_of(
    st.just({}),
    st.fixed_dictionaries(
        {"hours": st.one_of(st.integers(min_value=-(2**40), max_value=2**40), st.text(max_size=6))}
    ),
    st.fixed_dictionaries({"token": st.just(SECRET)}),
)


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    headers: dict[str, str]
    params: dict[str, Any]
    body: bytes | str | None
    ip: str


_GOOD = {"Authorization": f"Bearer {SECRET}"}
_JSON = {**_GOOD, "Content-Type": "application/json"}
# A few clients, so that some are rate limited (429) by their failed authentications.
_ips = st.sampled_from([f"10.0.0.{n}" for n in range(1, 9)])

#: Any method, path, token, query and body.
_any_request = st.builds(
    Probe,
    method=st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"]),
    path=_paths,
    headers=st.tuples(_auth, _content_types).map(
        lambda pair: {**pair[0], **({"Content-Type": pair[1]} if pair[1] else {})}
    ),
    params=_query,
    body=_bodies,
    ip=_ips,
)
#: Activity batches with the token, as the web app sends them (and as it should not).
_activity = st.builds(
    Probe,
    method=st.just("POST"),
    path=st.just("/api/activity"),
    headers=st.sampled_from([_JSON, _JSON, _JSON, {**_GOOD, "Content-Type": "text/plain"}]),
    params=st.just({}),
    body=_mostly(_plausible_batches, _bodies),
    ip=st.just("10.1.0.1"),
)
#: The health report with the token and any query.
_report = st.builds(
    Probe,
    method=st.sampled_from(["GET", "GET", "HEAD"]),
    path=st.just("/api/sync/monitor"),
    headers=st.just(_GOOD),
    params=st.one_of(_query, st.dictionaries(st.text(max_size=6), st.text(max_size=6))),
    body=st.none(),
    ip=st.just("10.2.0.1"),
)

# --- The property ---------------------------------------------------------------------------


async def _catalog(engine: AsyncEngine) -> None:
    await insert_rows(
        engine,
        (ARTISTS, [artist(1), artist(2), artist(3)]),
        (SHOWS, [show(10, artist_id=1), show(11, artist_id=3)]),
        (SUPPORT_ACTS, [{"show_id": 10, "artist_id": 2, "position": 1}]),
        (SONGS, [song(100, artist_id=1), song(101, artist_id=1), song(102, artist_id=3)]),
        (SETLISTS, [setlist(1, artist_id=1, show_id=10), setlist(2, artist_id=3, show_id=11)]),
        (ENTRIES, [entry(1, setlist_id=1, position=1, song_id=100)]),
    )


@pytest.fixture
async def target(engine: AsyncEngine) -> tuple[AsyncEngine, Any]:
    """The engine with a small catalogue, and the monitor app on it."""
    await _catalog(engine)
    settings_ = Settings(_env_file=None, cron_secret=SecretStr(SECRET))
    return engine, create_app(settings_, engine=engine, clock=lambda: NOW)


async def _stored(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ACTIVITY))).scalar_one())


async def _holds(target: tuple[AsyncEngine, Any], probe: Probe) -> None:
    """No 5xx; every error in the one shape; only a 200 of POST /api/activity stores rows,
    exactly as many as it says."""
    engine, app = target
    before = await _stored(engine)
    transport = httpx.ASGITransport(app=app, client=(probe.ip, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://monitor") as client:
        response = await client.request(
            probe.method,
            probe.path,
            headers=probe.headers,
            params=probe.params,
            content=probe.body,
        )
    after = await _stored(engine)
    event(f"HTTP {response.status_code}")  # shown by --hypothesis-show-statistics

    assert response.status_code < 500, response.text
    if response.status_code >= 400 and probe.method != "HEAD":
        body = response.json()
        assert set(body) == {"error"}
        assert body["error"]["status"] == response.status_code
        assert body["error"]["code"] == ERROR_CODES[response.status_code]
        assert isinstance(body["error"]["message"], str)
    if response.status_code == 200 and probe.method == "POST" and probe.path == "/api/activity":
        assert after - before == response.json()["stored"]
    else:
        assert after == before


@FUZZ
@given(probe=_any_request)
async def test_any_request_to_any_path_gets_no_5xx_and_stores_nothing_when_refused(
    target: tuple[AsyncEngine, Any], probe: Probe
) -> None:
    await _holds(target, probe)


@FUZZ
@given(probe=_activity)
async def test_any_activity_batch_gets_no_5xx_and_stores_nothing_when_refused(
    target: tuple[AsyncEngine, Any], probe: Probe
) -> None:
    await _holds(target, probe)


@settings(FUZZ, max_examples=EXAMPLES // 3)
@given(probe=_report)
async def test_any_health_report_query_gets_no_5xx(
    target: tuple[AsyncEngine, Any], probe: Probe
) -> None:
    await _holds(target, probe)
