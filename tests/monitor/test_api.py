from __future__ import annotations

import asyncio
import json
import logging
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from models.db import make_engine
from models.tables import UserActivity
from models.trending import recalculate_trending
from monitor import api
from monitor.api import (
    AUTH_FAILURE_BURST,
    MAX_BODY_BYTES,
    MIN_SECRET_LENGTH,
    NO_SECRET_MESSAGE,
    PUBLIC_PATHS,
    SESSION_PATHS,
    STATUS_PATH,
    AuthFailureLimiter,
    WeakSecretError,
    create_app,
)
from monitor.health import compute_health
from settings import Settings
from tests.monitor.factories import (
    ARTISTS,
    RUNS,
    SHOW_TRENDS,
    SHOWS,
    SONGS,
    artist,
    insert_rows,
    run,
    show,
    song,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SECRET = "s3cret-Value-0123456789-abcdefghijklmnop"
GOOD = {"Authorization": f"Bearer {SECRET}"}
ACTIVITY = UserActivity.__table__  # type: ignore[attr-defined]
BATCH = {"events": [{"user_id": "u1", "kind": "view", "artist_id": 1, "event_id": "e1"}]}
WEAK_SECRET_MESSAGE = (
    "CRON_SECRET is shorter than 32 characters: the monitor does not start with a guessable "
    'secret. Make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"'
)


def _settings(secret: str | None = SECRET) -> Settings:
    return Settings(
        _env_file=None,
        cron_secret=SecretStr(secret) if secret is not None else None,
        sync_stale_after_hours=24,
    )


def _error(status: int, code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"status": status, "code": code, "message": message, **extra}}


class StatementLog:
    """Every SQL statement the engine runs while attached."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _record(self, *args: Any) -> None:
        self.statements.append(args[2])

    def __enter__(self) -> StatementLog:
        event.listen(self.engine.sync_engine, "before_cursor_execute", self._record)
        return self

    def __exit__(self, *exc: object) -> None:
        event.remove(self.engine.sync_engine, "before_cursor_execute", self._record)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime = NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _client(app: FastAPI, *, ip: str = "203.0.113.7") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://monitor")


@pytest.fixture
async def offline() -> AsyncIterator[AsyncEngine]:
    """An engine never connected to: for requests refused before any SQL (one dialect is
    enough to prove none runs)."""
    engine = make_engine("sqlite+aiosqlite://")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def offline_client(offline: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(create_app(_settings(), engine=offline, clock=lambda: NOW)) as c:
        yield c


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await insert_rows(engine, (ARTISTS, [artist(1), artist(2)]))
    async with _client(create_app(_settings(), engine=engine, clock=lambda: NOW)) as c:
        yield c


async def _activity_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ACTIVITY))).scalar_one())


def _operations(app: FastAPI) -> list[tuple[str, str]]:
    """Every (method, path) the app serves, from its own OpenAPI schema (new routes included)."""
    paths = app.openapi()["paths"]
    operations = [(method.upper(), path) for path in paths for method in paths[path]]
    return [*operations, ("GET", str(app.openapi_url))]


# --- Liveness -------------------------------------------------------------------------------


async def test_healthz_answers_without_a_token_and_without_the_database(
    offline: AsyncEngine,
) -> None:
    app = create_app(_settings(None), engine=offline, clock=lambda: NOW)
    with StatementLog(offline) as log:
        async with _client(app) as c:
            response = await c.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert log.statements == []


# --- The report -----------------------------------------------------------------------------


async def test_monitor_returns_the_health_report_for_the_requested_window(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    await insert_rows(
        engine,
        (
            RUNS,
            [
                run(1, job="master-sync", started_at=NOW.replace(hour=2), status="success"),
                run(2, job="master-sync", started_at=NOW.replace(day=9), status="failed"),
            ],
        ),
    )

    response = await client.get("/api/sync/monitor", params={"hours": 12}, headers=GOOD)

    assert response.status_code == 200
    body = response.json()
    assert body["window"] == {
        "hours": 12,
        "from": "2026-03-10T00:00:00Z",
        "to": "2026-03-10T12:00:00Z",
    }
    assert body["syncSummary"]["masterSync"]["runs"] == 1
    assert body["healthScore"] == {
        "overall": 25,
        "syncCoverage": 0,
        "syncFreshness": 0,
        "trendingCoverage": 0,
        "errorRate": 100,
    }
    expected = await compute_health(engine, hours=12, now=NOW, stale_after_hours=24)
    assert body == expected.model_dump(mode="json")


async def test_monitor_window_defaults_to_24_hours(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/sync/monitor", headers=GOOD)

    assert response.status_code == 200
    assert response.json()["window"]["hours"] == 24


@pytest.mark.parametrize("hours", ["1", "720"])
async def test_monitor_accepts_the_window_bounds(client: httpx.AsyncClient, hours: str) -> None:
    response = await client.get("/api/sync/monitor", params={"hours": hours}, headers=GOOD)

    assert response.status_code == 200
    assert response.json()["window"]["hours"] == int(hours)


@pytest.mark.parametrize(
    ("hours", "message", "kind"),
    [
        ("0", "Input should be greater than or equal to 1", "greater_than_equal"),
        ("721", "Input should be less than or equal to 720", "less_than_equal"),
        ("-1", "Input should be greater than or equal to 1", "greater_than_equal"),
        (
            "2.5",
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        ),
        (
            "day",
            "Input should be a valid integer, unable to parse string as an integer",
            "int_parsing",
        ),
    ],
)
async def test_monitor_refuses_a_window_outside_1_to_720_hours_with_422(
    offline: AsyncEngine, offline_client: httpx.AsyncClient, hours: str, message: str, kind: str
) -> None:
    with StatementLog(offline) as log:
        response = await offline_client.get(
            "/api/sync/monitor", params={"hours": hours}, headers=GOOD
        )

    assert response.status_code == 422
    assert response.json() == _error(
        422,
        "validation_failed",
        f"query.hours: {message}",
        details=[{"location": ["query", "hours"], "message": message, "type": kind}],
    )
    assert log.statements == []


# --- Authentication -------------------------------------------------------------------------


PROTECTED: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/sync/monitor", {"params": {"hours": 24}}),
    ("GET", "/api/sync/monitor", {"params": {"hours": 0}}),
    ("POST", "/api/activity", {"json": BATCH}),
    ("POST", "/api/activity", {"content": b"{not json"}),
    ("GET", "/openapi.json", {}),
    # Wrong methods, unknown paths and a trailing slash are refused before routing.
    ("PUT", "/api/activity", {"json": BATCH}),
    ("DELETE", "/api/sync/monitor", {}),
    ("GET", "/api/activity", {}),
    ("GET", "/api/activity/", {}),
    ("GET", "/api/nothing-here", {}),
    ("GET", "/docs", {}),
    ("POST", "/healthz/", {}),
]
PROTECTED_IDS = [
    "monitor",
    "monitor-bad-hours",
    "activity",
    "activity-bad-json",
    "openapi",
    "wrong-method-put",
    "wrong-method-delete",
    "wrong-method-get",
    "trailing-slash",
    "unknown-path",
    "docs",
    "public-path-with-slash",
]

BAD_HEADERS: list[tuple[dict[str, str], str]] = [
    ({}, "missing bearer token"),
    ({"Authorization": "Bearer wrong-token"}, "invalid bearer token"),
    ({"Authorization": "Bearer undefined"}, "invalid bearer token"),
    ({"Authorization": "Bearer "}, "missing bearer token"),
    ({"Authorization": f"Bearer {SECRET[:-1]}"}, "invalid bearer token"),
    ({"Authorization": f"Bearer {SECRET}x"}, "invalid bearer token"),
    ({"Authorization": f"Basic {SECRET}"}, "missing bearer token"),
    ({"Authorization": SECRET}, "missing bearer token"),
    ({"X-Cron-Secret": SECRET}, "missing bearer token"),
]
BAD_HEADER_IDS = [
    "none",
    "wrong",
    "undefined",
    "empty",
    "prefix",
    "longer",
    "basic",
    "no-scheme",
    "other-header",
]


@pytest.mark.parametrize(("method", "path", "request_args"), PROTECTED, ids=PROTECTED_IDS)
@pytest.mark.parametrize(("headers", "message"), BAD_HEADERS, ids=BAD_HEADER_IDS)
async def test_a_missing_or_wrong_token_gets_401_before_any_route_method_or_body_check(
    offline: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    request_args: dict[str, Any],
    headers: dict[str, str],
    message: str,
) -> None:
    app = create_app(_settings(), engine=offline, clock=lambda: NOW)
    with StatementLog(offline) as log, caplog.at_level(logging.DEBUG):
        async with _client(app) as c:
            response = await c.request(method, path, headers=headers, **request_args)

    assert response.status_code == 401
    assert response.json() == _error(401, "unauthorized", message)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "allow" not in response.headers
    assert log.statements == []
    assert SECRET[:-1] not in caplog.text
    assert "wrong-token" not in caplog.text


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("PUT", "/api/activity", 405, "PUT is not allowed here; allowed: POST"),
        ("GET", "/api/activity", 405, "GET is not allowed here; allowed: POST"),
        ("DELETE", "/api/sync/monitor", 405, "DELETE is not allowed here; allowed: GET"),
        ("POST", "/healthz", 405, "POST is not allowed here; allowed: GET"),
        ("GET", "/api/nothing-here", 404, "no such route"),
        ("GET", "/docs", 404, "no such route"),
        ("GET", "/redoc", 404, "no such route"),
    ],
)
async def test_with_the_token_route_and_method_errors_have_the_error_shape(
    offline_client: httpx.AsyncClient, method: str, path: str, status: int, message: str
) -> None:
    response = await offline_client.request(method, path, headers=GOOD)

    code = {404: "not_found", 405: "method_not_allowed"}[status]
    assert (response.status_code, response.json()) == (status, _error(status, code, message))
    if status == 405:
        assert response.headers["allow"] == message.split("allowed: ")[1]


@pytest.mark.parametrize("headers", [GOOD, {}], ids=["token", "no-token"])
async def test_a_trailing_slash_is_never_redirected_to_the_clients_host(
    offline_client: httpx.AsyncClient, headers: dict[str, str]
) -> None:
    for path in ("/api/activity/", "/api/sync/monitor/", "/openapi.json/"):
        response = await offline_client.get(path, headers={**headers, "Host": "attacker.example"})

        assert response.status_code == (404 if headers else 401)
        assert "location" not in response.headers
        assert "attacker.example" not in response.text


@pytest.mark.parametrize(("method", "path", "request_args"), PROTECTED, ids=PROTECTED_IDS)
@pytest.mark.parametrize("secret", [None, "", "   "], ids=["unset", "empty", "blank"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer undefined"}, {"Authorization": "Bearer "}, GOOD],
    ids=["none", "undefined", "empty", "some-token"],
)
async def test_without_a_configured_secret_every_protected_route_answers_503(
    offline: AsyncEngine,
    method: str,
    path: str,
    request_args: dict[str, Any],
    secret: str | None,
    headers: dict[str, str],
) -> None:
    app = create_app(_settings(secret), engine=offline, clock=lambda: NOW)
    with StatementLog(offline) as log:
        async with _client(app) as c:
            response = await c.request(method, path, headers=headers, **request_args)

    assert response.status_code == 503
    assert response.json() == _error(503, "not_configured", NO_SECRET_MESSAGE)
    assert log.statements == []


def test_a_missing_secret_is_logged_as_an_error_at_start_up(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="mysetlist.monitor"):
        create_app(_settings(None), engine=None)

    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        (
            "ERROR",
            "CRON_SECRET is not configured: the monitor refuses every request "
            "(every route except /healthz answers 503)",
        )
    ]


def test_a_configured_secret_logs_nothing_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="mysetlist.monitor"):
        create_app(_settings(), engine=None)

    assert caplog.records == []


async def test_the_bearer_scheme_name_is_case_insensitive(
    offline_client: httpx.AsyncClient,
) -> None:
    response = await offline_client.get(
        "/openapi.json", headers={"Authorization": f"bearer {SECRET}"}
    )

    assert response.status_code == 200


async def test_a_secret_in_the_query_string_is_refused(
    offline_client: httpx.AsyncClient,
) -> None:
    for name in ("token", "cron_secret", "access_token", "authorization"):
        response = await offline_client.get("/api/sync/monitor", params={name: SECRET})

        assert response.status_code == 401


# --- The secret's strength ------------------------------------------------------------------


@pytest.mark.parametrize("length", [1, 8, 16, 31])
def test_a_cron_secret_shorter_than_32_characters_is_refused_at_start(length: int) -> None:
    with pytest.raises(WeakSecretError) as caught:
        create_app(_settings("#" * length), engine=None)

    assert str(caught.value) == WEAK_SECRET_MESSAGE
    assert "#" not in str(caught.value)


def test_surrounding_blanks_do_not_count_towards_the_length() -> None:
    with pytest.raises(WeakSecretError):
        create_app(_settings(" " * 10 + "k" * 31 + " " * 10), engine=None)


@pytest.mark.parametrize(
    "secret",
    ["k" * MIN_SECRET_LENGTH, secrets.token_urlsafe(32), f"demo-{secrets.token_urlsafe(24)}"],
    ids=["32-characters", "token_urlsafe-32", "demo-secret"],
)
def test_a_cron_secret_of_32_characters_or_more_is_accepted(secret: str) -> None:
    assert isinstance(create_app(_settings(secret), engine=None), FastAPI)


def test_serve_ends_the_process_with_the_message_for_a_short_secret(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    with pytest.raises(SystemExit) as caught:
        api.serve(_settings("short-secret-1234"))

    assert caught.value.code == WEAK_SECRET_MESSAGE  # printed to stderr, exit status 1
    assert uvicorn_calls == []


def test_mysetlist_monitor_refuses_to_start_with_a_short_secret(
    monkeypatch: pytest.MonkeyPatch, uvicorn_calls: list[dict[str, Any]]
) -> None:
    from cli.main import app as cli_app

    monkeypatch.setenv("CRON_SECRET", "short-secret-1234")
    monkeypatch.setenv("COLUMNS", "300")

    result = CliRunner().invoke(cli_app, ["monitor"])

    assert result.exit_code == 1
    assert WEAK_SECRET_MESSAGE in result.output
    assert "short-secret-1234" not in result.output
    assert uvicorn_calls == []


# --- 401s rate limited per client -----------------------------------------------------------


async def test_failed_authentications_are_rate_limited_per_client(
    offline: AsyncEngine,
) -> None:
    clock = Clock()
    app = create_app(_settings(), engine=offline, clock=clock)
    wrong = {"Authorization": "Bearer wrong-token"}
    async with _client(app, ip="198.51.100.1") as guesser, _client(app, ip="198.51.100.2") as other:
        answers = [
            (await guesser.get("/openapi.json", headers=wrong)).status_code for _ in range(12)
        ]
        limited = await guesser.get("/openapi.json", headers=GOOD)
        elsewhere = await other.get("/openapi.json", headers=GOOD)
        clock.now += timedelta(seconds=5)
        still = await guesser.get("/openapi.json", headers=GOOD)
        clock.now += timedelta(seconds=1)
        after_wait = await guesser.get("/openapi.json", headers=GOOD)
        next_guess = await guesser.get("/openapi.json", headers=wrong)
        limited_again = await guesser.get("/openapi.json", headers=wrong)

    assert answers == [401] * AUTH_FAILURE_BURST + [429, 429]
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "6"
    assert limited.json() == _error(
        429, "too_many_requests", "too many failed authentications; retry in 6 s"
    )
    assert elsewhere.status_code == 200
    assert (still.status_code, still.headers["retry-after"]) == (429, "1")
    # One failure is refilled every 6 s (10 a minute); a right token does not refill.
    assert after_wait.status_code == 200
    assert next_guess.status_code == 401
    assert limited_again.status_code == 429


def test_the_limiter_keeps_a_bounded_number_of_clients() -> None:
    limiter = AuthFailureLimiter(burst=1, per_minute=1, max_clients=2)

    for client in ("a", "b", "c"):
        limiter.failed(client=client, now=0.0)

    # "a" was the least recently seen and was dropped: it starts afresh.
    assert limiter.retry_after(client="a", now=0.0) is None
    assert limiter.retry_after(client="b", now=0.0) == 60
    assert limiter.retry_after(client="c", now=30.0) == 30


# --- Activity -------------------------------------------------------------------------------


async def test_activity_stores_a_batch_and_answers_how_many(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    batch = {
        "events": [
            {"user_id": "u1", "kind": "view", "artist_id": 1, "event_id": "e1"},
            {"user_id": "u2", "kind": "follow", "artist_id": 2},
        ]
    }

    first = await client.post("/api/activity", json=batch, headers=GOOD)
    again = await client.post("/api/activity", json=batch, headers=GOOD)

    assert (first.status_code, first.json()) == (200, {"stored": 2, "received": 2})
    # e1 is already stored; the event without an event_id is stored again.
    assert (again.status_code, again.json()) == (200, {"stored": 1, "received": 2})
    assert await _activity_count(engine) == 3


async def test_votes_on_an_upcoming_show_are_stored_and_count_in_its_trending(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Issue 12 defect: votes needed a stored setlist song, so an upcoming show's votes (a
    trending input, docs/trending.md) were always 0."""
    await insert_rows(
        engine,
        (SHOWS, [show(7, artist_id=1, local_date=NOW.date() + timedelta(days=10))]),
        (SONGS, [song(70, artist_id=1)]),
    )
    batch = {
        "events": [
            {"user_id": "u1", "kind": "vote_up", "show_id": 7},
            {"user_id": "u2", "kind": "vote_up", "show_id": 7, "song_id": 70},
            {"user_id": "u3", "kind": "vote_down", "show_id": 7, "song_id": 70},
        ]
    }

    answer = await client.post("/api/activity", json=batch, headers=GOOD)

    assert (answer.status_code, answer.json()) == (200, {"stored": 3, "received": 3})
    await recalculate_trending(
        engine, mode="full", now=NOW + timedelta(minutes=1), settings=_settings()
    )
    async with engine.connect() as conn:
        votes = (
            await conn.execute(select(SHOW_TRENDS.c.votes).where(SHOW_TRENDS.c.show_id == 7))
        ).scalar_one()
    assert votes > 2.99  # three votes a minute old (72 h half-life)


async def test_activity_with_one_bad_reference_answers_422_and_stores_none(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    batch = {
        "events": [
            {"user_id": "u1", "kind": "view", "artist_id": 1},
            {"user_id": "u1", "kind": "view", "artist_id": 2},
            {"user_id": "u1", "kind": "follow", "artist_id": 77},
        ]
    }

    response = await client.post("/api/activity", json=batch, headers=GOOD)

    assert response.status_code == 422
    assert response.json() == _error(
        422,
        "validation_failed",
        "body.events.2.artist_id: no artist 77",
        details=[
            {
                "location": ["body", "events", 2, "artist_id"],
                "message": "no artist 77",
                "type": "activity_rejected",
            }
        ],
    )
    assert await _activity_count(engine) == 0


def _one(**event: Any) -> dict[str, Any]:
    return {"events": [{"user_id": "u", "kind": "view", "artist_id": 1}, event]}


_EVENT_1: list[str | int] = ["body", "events", 1]
_NOT_AN_OBJECT = "Input should be a valid dictionary or object to extract fields from"
_KINDS = "Input should be 'view', 'follow', 'unfollow', 'vote_up', 'vote_down' or 'attendance'"
_INSTANT_FORMAT = (
    "must be an ISO 8601 (RFC 3339) string with seconds and an offset, such as 2026-03-10T11:58:00Z"
)


_RANGE = (
    "must be from 0001-01-02T00:00:00Z to 9999-12-30T23:59:59.999999Z, "
    "the instants both databases store alike"
)


@pytest.mark.parametrize(
    ("body", "location", "message", "kind"),
    [
        ([], ["body"], _NOT_AN_OBJECT, "model_attributes_type"),
        ({}, ["body", "events"], "Field required", "missing"),
        (
            {"events": []},
            ["body", "events"],
            "List should have at least 1 item after validation, not 0",
            "too_short",
        ),
        (
            {"events": [{"user_id": "u", "kind": "view", "artist_id": 1}], "extra": 1},
            ["body", "extra"],
            "Extra inputs are not permitted",
            "extra_forbidden",
        ),
        (
            {"events": [{"user_id": "u", "kind": "view", "artist_id": 1}] * 1001},
            ["body", "events"],
            "List should have at most 1000 items after validation, not 1001",
            "too_long",
        ),
        (
            {"events": [{"user_id": "u", "kind": "view", "artist_id": 1}, 7]},
            ["body", "events", 1],
            _NOT_AN_OBJECT,
            "model_attributes_type",
        ),
        (
            _one(user_id="u", kind="wave", artist_id=1),
            ["body", "events", 1, "kind"],
            _KINDS,
            "enum",
        ),
        (
            _one(user_id="   ", kind="view", artist_id=1),
            ["body", "events", 1, "user_id"],
            "String should have at least 1 character",
            "string_too_short",
        ),
        (
            _one(user_id="u" * 129, kind="view", artist_id=1),
            ["body", "events", 1, "user_id"],
            "String should have at most 128 characters",
            "string_too_long",
        ),
        (
            _one(user_id=42, kind="view", artist_id=1),
            ["body", "events", 1, "user_id"],
            "Input should be a valid string",
            "string_type",
        ),
        (
            _one(kind="view", artist_id=1),
            ["body", "events", 1, "user_id"],
            "Field required",
            "missing",
        ),
        (
            _one(user_id="u", kind="view", artist_id="1"),
            ["body", "events", 1, "artist_id"],
            "Input should be a valid integer",
            "int_type",
        ),
        (
            _one(user_id="u", kind="view", artist_id=True),
            ["body", "events", 1, "artist_id"],
            "Input should be a valid integer",
            "int_type",
        ),
        (
            _one(user_id="u", kind="view", artist_id=1.0),
            ["body", "events", 1, "artist_id"],
            "Input should be a valid integer",
            "int_type",
        ),
        (
            _one(user_id="u", kind="view", show_id=0),
            ["body", "events", 1, "show_id"],
            "Input should be greater than 0",
            "greater_than",
        ),
        (
            _one(user_id="u", kind="view", song_id=2**31),
            ["body", "events", 1, "song_id"],
            "Input should be less than or equal to 2147483647",
            "less_than_equal",
        ),
        (
            _one(user_id="u", kind="view", artistId=1),
            ["body", "events", 1, "artistId"],
            "Extra inputs are not permitted",
            "extra_forbidden",
        ),
        (
            _one(user_id="u", kind="view", artist_id=1, event_id="has space"),
            ["body", "events", 1, "event_id"],
            "String should match pattern '^[!-~]+$'",
            "string_pattern_mismatch",
        ),
        (
            _one(user_id="u", kind="view", artist_id=1, event_id="x" * 65),
            ["body", "events", 1, "event_id"],
            "String should have at most 64 characters",
            "string_too_long",
        ),
        (
            _one(user_id="u", kind="view"),
            ["body", "events", 1, "artist_id"],
            "a view needs an artist_id, show_id or song_id",
            "activity_target",
        ),
        (
            _one(user_id="u", kind="follow", song_id=3),
            ["body", "events", 1, "song_id"],
            "a follow targets an artist or a show",
            "activity_target",
        ),
        (
            _one(user_id="u", kind="unfollow"),
            ["body", "events", 1, "artist_id"],
            "an unfollow needs an artist_id or show_id",
            "activity_target",
        ),
        (
            _one(user_id="u", kind="vote_down", song_id=3),
            ["body", "events", 1, "show_id"],
            "a vote needs the show_id voted on (with a song_id: its song)",
            "activity_target",
        ),
        (
            _one(user_id="u", kind="vote_up"),
            ["body", "events", 1, "show_id"],
            "a vote needs the show_id voted on (with a song_id: its song)",
            "activity_target",
        ),
        (
            _one(user_id="u", kind="attendance", artist_id=3),
            ["body", "events", 1, "show_id"],
            "an attendance needs a show_id",
            "activity_target",
        ),
        (
            _one(user_id="u", kind="attendance", show_id=3, song_id=4),
            ["body", "events", 1, "song_id"],
            "an attendance targets a show",
            "activity_target",
        ),
    ],
)
async def test_activity_that_does_not_validate_answers_422_with_every_fault_located(
    offline: AsyncEngine,
    offline_client: httpx.AsyncClient,
    body: Any,
    location: list[str | int],
    message: str,
    kind: str,
) -> None:
    with StatementLog(offline) as log:
        response = await offline_client.post("/api/activity", json=body, headers=GOOD)

    assert response.status_code == 422
    where = ".".join(str(part) for part in location)
    assert response.json() == _error(
        422,
        "validation_failed",
        f"{where}: {message}",
        details=[{"location": location, "message": message, "type": kind}],
    )
    assert log.statements == []


async def test_every_fault_of_a_request_is_listed(offline_client: httpx.AsyncClient) -> None:
    body = {"events": [{"user_id": 1, "kind": "wave", "artist_id": "1"}]}

    response = await offline_client.post("/api/activity", json=body, headers=GOOD)

    error = response.json()["error"]
    assert error["message"] == "body.events.0.user_id: Input should be a valid string (and 2 more)"
    assert [d["location"] for d in error["details"]] == [
        ["body", "events", 0, "user_id"],
        ["body", "events", 0, "kind"],
        ["body", "events", 0, "artist_id"],
    ]


@pytest.mark.parametrize(
    ("content", "headers", "status", "message", "details"),
    [
        (
            b"{not json",
            {"Content-Type": "application/json"},
            422,
            "body: invalid JSON at character 1: Expecting property name enclosed in double quotes",
            [
                {
                    "location": ["body"],
                    "message": "invalid JSON at character 1: "
                    "Expecting property name enclosed in double quotes",
                    "type": "json_invalid",
                }
            ],
        ),
        (
            b"",
            {"Content-Type": "application/json"},
            422,
            "body: Field required",
            [{"location": ["body"], "message": "Field required", "type": "missing"}],
        ),
        (
            json.dumps(BATCH).encode(),
            {},
            415,
            "the body must be JSON, sent as Content-Type: application/json",
            None,
        ),
        (
            json.dumps(BATCH).encode(),
            {"Content-Type": "text/plain"},
            415,
            "the body must be JSON, sent as Content-Type: application/json",
            None,
        ),
        (
            b"\xff\xfe\xfd",
            {"Content-Type": "application/json"},
            400,
            "There was an error parsing the body",
            None,
        ),
        (
            b"[" * 100_000,
            {"Content-Type": "application/json"},
            400,
            "There was an error parsing the body",
            None,
        ),
    ],
    ids=["malformed", "empty", "no-content-type", "text-plain", "not-utf8", "too-deep"],
)
async def test_a_body_that_is_not_a_json_object_is_refused_in_the_error_shape(
    offline_client: httpx.AsyncClient,
    content: bytes,
    headers: dict[str, str],
    status: int,
    message: str,
    details: list[dict[str, Any]] | None,
) -> None:
    response = await offline_client.post(
        "/api/activity", content=content, headers={**GOOD, **headers}
    )

    code = {400: "bad_request", 415: "unsupported_media_type", 422: "validation_failed"}[status]
    extra = {"details": details} if details is not None else {}
    assert (response.status_code, response.json()) == (
        status,
        _error(status, code, message, **extra),
    )


_OCCURRED_AT_REFUSED = [
    # Numbers were read as Unix time: 0 was stored as 1970-01-01.
    (0, _INSTANT_FORMAT, "instant_format"),
    (1773144000, _INSTANT_FORMAT, "instant_format"),
    (1.5, _INSTANT_FORMAT, "instant_format"),
    (True, _INSTANT_FORMAT, "instant_format"),
    ("2026-03-10", _INSTANT_FORMAT, "instant_format"),
    ("0001-01-01Z", _INSTANT_FORMAT, "instant_format"),
    ("2026-03-10T12:00Z", _INSTANT_FORMAT, "instant_format"),
    ("2026-03-10 12:00:00Z", _INSTANT_FORMAT, "instant_format"),
    ("now", _INSTANT_FORMAT, "instant_format"),
    ("2026-03-10T12:00:00", _INSTANT_FORMAT, "instant_format"),
    # An OverflowError (HTTP 500) on both databases, logging the whole batch.
    ("0001-01-01T00:00:00+14:00", _RANGE, "instant_range"),
    # Stored as -infinity on PostgreSQL.
    ("0001-01-01T00:00:00Z", _RANGE, "instant_range"),
    ("9999-12-31T23:59:59Z", _RANGE, "instant_range"),
    # Plausible window: at most 30 days old, at most 5 minutes ahead.
    (
        "1970-01-01T00:00:00Z",
        "is older than 30 days (before 2026-02-08T12:00:00Z)",
        "activity_rejected",
    ),
    (
        "2026-02-08T11:59:59Z",
        "is older than 30 days (before 2026-02-08T12:00:00Z)",
        "activity_rejected",
    ),
    (
        "2026-03-10T12:05:01Z",
        "is 0:05:01 in the future; at most 0:05:00 is allowed",
        "activity_rejected",
    ),
    (
        "2100-01-01T00:00:00Z",
        "is 26959 days, 12:00:00 in the future; at most 0:05:00 is allowed",
        "activity_rejected",
    ),
]


@pytest.mark.parametrize(
    ("occurred_at", "message", "kind"),
    _OCCURRED_AT_REFUSED,
    ids=[repr(case[0]) for case in _OCCURRED_AT_REFUSED],
)
async def test_an_implausible_occurred_at_is_refused_with_422_and_nothing_is_stored(
    engine: AsyncEngine, client: httpx.AsyncClient, occurred_at: Any, message: str, kind: str
) -> None:
    event_ = {"user_id": "u", "kind": "view", "artist_id": 1, "occurred_at": occurred_at}

    response = await client.post("/api/activity", json={"events": [event_]}, headers=GOOD)

    assert response.status_code == 422
    assert response.json() == _error(
        422,
        "validation_failed",
        f"body.events.0.occurred_at: {message}",
        details=[
            {"location": ["body", "events", 0, "occurred_at"], "message": message, "type": kind}
        ],
    )
    assert await _activity_count(engine) == 0


@pytest.mark.parametrize(
    ("occurred_at", "stored"),
    [
        ("2026-03-10T11:58:00Z", datetime(2026, 3, 10, 11, 58, tzinfo=UTC)),
        ("2026-03-10t11:58:00.123z", datetime(2026, 3, 10, 11, 58, 0, 123000, tzinfo=UTC)),
        ("2026-03-10T06:58:00.123456-05:00", datetime(2026, 3, 10, 11, 58, 0, 123456, tzinfo=UTC)),
        ("2026-03-11T02:05:00+14:00", datetime(2026, 3, 10, 12, 5, tzinfo=UTC)),
        ("2026-02-08T12:00:00Z", datetime(2026, 2, 8, 12, 0, tzinfo=UTC)),
    ],
)
async def test_an_rfc_3339_occurred_at_within_the_window_is_stored_in_utc(
    engine: AsyncEngine, client: httpx.AsyncClient, occurred_at: str, stored: datetime
) -> None:
    event_ = {"user_id": "u", "kind": "view", "artist_id": 1, "occurred_at": occurred_at}

    response = await client.post("/api/activity", json={"events": [event_]}, headers=GOOD)

    assert (response.status_code, response.json()) == (200, {"stored": 1, "received": 1})
    async with engine.connect() as conn:
        assert (await conn.execute(select(ACTIVITY.c.occurred_at))).scalar_one() == stored


@pytest.mark.parametrize(
    ("user_id", "code"),
    [
        ("u\x00", "0000"),  # PostgreSQL: CharacterNotInRepertoireError, an HTTP 500
        ("u\x1b[31m", "001B"),
        ("line\nbreak", "000A"),
        ("tab\there", "0009"),
        ("del\x7f", "007F"),
        ("c1\x85next", "0085"),
        ("line\u2028separator", "2028"),
    ],
    ids=["nul", "escape", "newline", "tab", "del", "c1-next-line", "line-separator"],
)
async def test_control_characters_in_user_id_are_refused_on_both_databases(
    engine: AsyncEngine, client: httpx.AsyncClient, user_id: str, code: str
) -> None:
    body = json.dumps(
        {"events": [{"user_id": user_id, "kind": "view", "artist_id": 1}]}
    ).encode()  # json.dumps escapes them as \\uXXXX, as a browser would

    response = await client.post(
        "/api/activity", content=body, headers={**GOOD, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert detail["location"] == ["body", "events", 0, "user_id"]
    assert detail["message"] == f"must not contain control characters (found U+{code})"
    assert await _activity_count(engine) == 0


async def test_a_lone_surrogate_in_user_id_is_refused_on_both_databases(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    """Not UTF-8: PostgreSQL cannot store it."""
    body = b'{"events": [{"user_id": "lone\\ud800", "kind": "view", "artist_id": 1}]}'

    response = await client.post(
        "/api/activity", content=body, headers={**GOOD, "Content-Type": "application/json"}
    )

    assert response.status_code == 422
    assert response.json()["error"]["details"] == [
        {
            "location": ["body", "events", 0, "user_id"],
            "message": "Input should be a valid string, unable to parse raw data as a unicode "
            "string",
            "type": "string_unicode",
        }
    ]
    assert await _activity_count(engine) == 0


async def test_unicode_text_without_control_characters_is_stored_as_sent(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    user_id = "Zoë 🎸 东京 " + "x" * 110

    response = await client.post(
        "/api/activity",
        json={"events": [{"user_id": f"  {user_id}  ", "kind": "view", "artist_id": 1}]},
        headers=GOOD,
    )

    assert response.status_code == 200
    async with engine.connect() as conn:
        assert (await conn.execute(select(ACTIVITY.c.user_id))).scalar_one() == user_id.strip()


async def test_activity_body_over_2_mib_answers_413_and_stores_none(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    event_ = {"user_id": "u" * 128, "kind": "view", "artist_id": 1}
    padded = json.dumps({"events": [event_]}).encode() + b" " * MAX_BODY_BYTES
    json_headers = {**GOOD, "Content-Type": "application/json"}

    declared = await client.post("/api/activity", content=padded, headers=json_headers)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(padded), 65536):
            yield padded[start : start + 65536]

    streamed = await client.post("/api/activity", content=chunks(), headers=json_headers)

    expected = _error(413, "payload_too_large", "body larger than 2 MiB")
    assert (declared.status_code, declared.json()) == (413, expected)
    assert (streamed.status_code, streamed.json()) == (413, expected)
    assert await _activity_count(engine) == 0


async def test_a_body_of_exactly_2_mib_is_read(offline_client: httpx.AsyncClient) -> None:
    body = json.dumps(BATCH).encode()
    padded = body[:-1] + b" " * (MAX_BODY_BYTES - len(body)) + b"}"

    response = await offline_client.post(
        "/api/activity", content=padded, headers={**GOOD, "Content-Type": "text/plain"}
    )

    assert len(padded) == MAX_BODY_BYTES
    assert response.status_code == 415  # read and parsed, not refused for its size


# --- One error shape on every route ---------------------------------------------------------


async def test_every_route_answers_every_refusal_in_the_error_shape(offline: AsyncEngine) -> None:
    app = create_app(_settings(), engine=offline, clock=lambda: NOW)
    closed = create_app(_settings(None), engine=offline, clock=lambda: NOW)
    operations = _operations(app)
    assert ("POST", "/api/activity") in operations
    assert ("GET", "/openapi.json") in operations
    seen: set[tuple[str, str, int]] = set()

    for index, (method, path) in enumerate(operations):
        ip = f"192.0.2.{index + 1}"
        async with _client(app, ip=ip) as c, _client(closed, ip=ip) as shut:
            answers = []
            if path in SESSION_PATHS:  # the login form's target: no token, but a secret
                answers.append(await shut.request(method, path, headers=GOOD))
            elif path not in PUBLIC_PATHS:
                # /status answers a missing token with its login form (test_status_page.py).
                wrong = {"Authorization": "Bearer x"} if path == STATUS_PATH else {}
                answers.append(await c.request(method, path, headers=wrong))
                answers.append(await shut.request(method, path, headers=GOOD))
                for _ in range(AUTH_FAILURE_BURST):
                    await c.request(method, path, headers={"Authorization": "Bearer x"})
                answers.append(await c.request(method, path, headers=GOOD))
            other = "PATCH"
            async with _client(app, ip=f"198.18.0.{index + 1}") as fresh:
                answers.append(await fresh.request(other, path, headers=GOOD))
                answers.append(await fresh.request(method, path + "/nope", headers=GOOD))
        for response in answers:
            status = response.status_code
            body = response.json()
            assert set(body) == {"error"}, (method, path, body)
            assert body["error"]["status"] == status
            assert set(body["error"]) == {"status", "code", "message"}
            assert body["error"]["code"] == api.ERROR_CODES[status]
            seen.add((method, path, status))

    for method, path in operations:
        expected = {405, 404} | (
            set() if path in PUBLIC_PATHS else {503} if path in SESSION_PATHS else {401, 503, 429}
        )
        assert {s for m, p, s in seen if (m, p) == (method, path)} == expected


# --- OpenAPI --------------------------------------------------------------------------------


async def test_openapi_comes_from_the_models_and_documents_the_error_shape(
    offline_client: httpx.AsyncClient,
) -> None:
    response = await offline_client.get("/openapi.json", headers=GOOD)

    assert response.status_code == 200
    schema = response.json()
    assert sorted(schema["paths"]) == [
        "/api/activity",
        "/api/artists/{artist_id}/forecast",
        "/api/artists/{artist_id}/similar",
        "/api/sync/artist",
        "/api/sync/monitor",
        "/api/trending",
        "/healthz",
        "/status",
        "/status/login",
        "/status/logout",
    ]
    post = schema["paths"]["/api/activity"]["post"]
    assert post["requestBody"] == {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ActivityBatch"}}},
    }
    components = schema["components"]["schemas"]
    assert components["ActivityBatch"]["properties"]["events"]["items"] == {
        "$ref": "#/components/schemas/ActivityEvent"
    }
    assert components["ActivityBatch"]["properties"]["events"]["maxItems"] == 1000
    assert components["ActivityEvent"]["additionalProperties"] is False
    assert "HTTPValidationError" not in components
    error_ref = {"$ref": "#/components/schemas/ErrorBody"}
    expected_errors = {
        ("/api/activity", "post"): ["401", "413", "415", "422", "429", "503"],
        ("/api/sync/monitor", "get"): ["401", "422", "429", "503"],
        ("/api/sync/artist", "post"): ["401", "413", "415", "422", "429", "503"],
    }
    for (path, method), statuses in expected_errors.items():
        operation = schema["paths"][path][method]
        assert operation["security"] == [{"HTTPBearer": []}]
        success = "202" if path == "/api/sync/artist" else "200"  # a run started, not done
        assert sorted(operation["responses"]) == [success, *statuses]
        for status in statuses:
            content = operation["responses"][status]["content"]["application/json"]
            assert content["schema"] == error_ref
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "healthScore" in components["HealthReport"]["properties"]
    assert components["ErrorBody"]["required"] == ["error"]
    assert components["ErrorInfo"]["required"] == ["status", "code", "message"]


def test_every_route_but_the_public_ones_declares_the_bearer_scheme() -> None:
    schema = create_app(_settings(), engine=None).openapi()
    operations = [(path, op) for path, ops in schema["paths"].items() for op in ops.values()]

    assert len(operations) == 10
    for path, operation in operations:
        assert ("security" in operation) is (path not in PUBLIC_PATHS | SESSION_PATHS), path


# --- Serving --------------------------------------------------------------------------------


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_runs_the_app_on_the_given_host_and_port_without_query_strings_in_its_log(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    api.serve(_settings(), host="127.0.0.1", port=8123)

    [call] = uvicorn_calls
    assert isinstance(call.pop("app"), FastAPI)
    assert call.pop("log_config") == api.log_config()
    assert call == {"host": "127.0.0.1", "port": 8123, "log_level": "info"}


class _ListHandler(logging.Handler):
    def __init__(self, records: list[logging.LogRecord]) -> None:
        super().__init__()
        self.records = records

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def uvicorn_loggers() -> Iterator[None]:
    """uvicorn's loggers as they were, after the test configured them."""
    names = ("uvicorn", "uvicorn.error", "uvicorn.access")
    saved = {}
    for name in names:
        logger = logging.getLogger(name)
        saved[name] = (list(logger.handlers), list(logger.filters), logger.level, logger.propagate)
    try:
        yield
    finally:
        for name, (handlers, filters, level, propagate) in saved.items():
            logger = logging.getLogger(name)
            logger.handlers[:] = handlers
            logger.filters[:] = filters
            logger.setLevel(level)
            logger.propagate = propagate


async def test_uvicorns_access_log_never_holds_a_query_string(
    offline: AsyncEngine, uvicorn_loggers: None
) -> None:
    """A token sent in the query string is refused, and was still written to the access log."""
    canary = "canary-" + secrets.token_urlsafe(24)
    app = create_app(_settings(), engine=offline, clock=lambda: NOW)
    # The configuration serve() gives uvicorn, applied as uvicorn applies it.
    config = uvicorn.Config(app, log_config=api.log_config(), log_level="info", lifespan="off")
    records: list[logging.LogRecord] = []
    logging.getLogger("uvicorn.access").handlers[:] = [_ListHandler(records)]
    server = uvicorn.Server(config)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as c:
            refused = await c.get("/api/sync/monitor", params={"token": canary, "hours": 24})
            unknown = await c.get("/nowhere", params={"cron_secret": canary})
            allowed = await c.get("/healthz", params={"access_token": canary})
    finally:
        server.should_exit = True
        await serving
        sock.close()

    assert (refused.status_code, unknown.status_code, allowed.status_code) == (401, 401, 200)
    lines = [record.getMessage() for record in records]
    assert [line.split(" - ", 1)[1] for line in lines] == [
        '"GET /api/sync/monitor HTTP/1.1" 401',
        '"GET /nowhere HTTP/1.1" 401',
        '"GET /healthz HTTP/1.1" 200',
    ]
    assert not any(canary in line for line in lines)
