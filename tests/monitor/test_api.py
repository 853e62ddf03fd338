from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from models.tables import UserActivity
from monitor import api
from monitor.api import MAX_BODY_BYTES, NO_SECRET_MESSAGE, create_app
from monitor.health import compute_health
from settings import Settings
from tests.monitor.factories import ARTISTS, RUNS, artist, insert_rows, run

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
SECRET = "s3cret-Value-0123456789"
GOOD = {"Authorization": f"Bearer {SECRET}"}
ACTIVITY = UserActivity.__table__  # type: ignore[attr-defined]
BATCH = {"events": [{"user_id": "u1", "kind": "view", "artist_id": 1, "event_id": "e1"}]}


def _settings(secret: str | None = SECRET) -> Settings:
    return Settings(
        _env_file=None,
        cron_secret=SecretStr(secret) if secret is not None else None,
        sync_stale_after_hours=24,
    )


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


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://monitor")


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    await insert_rows(engine, (ARTISTS, [artist(1), artist(2)]))
    async with _client(create_app(_settings(), engine=engine, clock=lambda: NOW)) as c:
        yield c


async def _activity_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ACTIVITY))).scalar_one())


# --- Liveness -------------------------------------------------------------------------------


async def test_healthz_answers_without_a_token_and_without_the_database(
    engine: AsyncEngine,
) -> None:
    app = create_app(_settings(None), engine=engine, clock=lambda: NOW)
    with StatementLog(engine) as log:
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
    ("hours", "message"),
    [
        ("0", "Input should be greater than or equal to 1"),
        ("721", "Input should be less than or equal to 720"),
        ("-1", "Input should be greater than or equal to 1"),
        ("2.5", "Input should be a valid integer, unable to parse string as an integer"),
        ("day", "Input should be a valid integer, unable to parse string as an integer"),
    ],
)
async def test_monitor_refuses_a_window_outside_1_to_720_hours_with_422(
    engine: AsyncEngine, client: httpx.AsyncClient, hours: str, message: str
) -> None:
    with StatementLog(engine) as log:
        response = await client.get("/api/sync/monitor", params={"hours": hours}, headers=GOOD)

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "hours"]
    assert error["msg"] == message
    assert log.statements == []


# --- Authentication -------------------------------------------------------------------------


PROTECTED: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/api/sync/monitor", {"params": {"hours": 24}}),
    ("GET", "/api/sync/monitor", {"params": {"hours": 0}}),
    ("POST", "/api/activity", {"json": BATCH}),
    ("POST", "/api/activity", {"content": b"{not json"}),
    ("GET", "/openapi.json", {}),
]
PROTECTED_IDS = ["monitor", "monitor-bad-hours", "activity", "activity-bad-json", "openapi"]

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
@pytest.mark.parametrize(("headers", "detail"), BAD_HEADERS, ids=BAD_HEADER_IDS)
async def test_a_missing_or_wrong_token_gets_401_and_touches_nothing(
    engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    request_args: dict[str, Any],
    headers: dict[str, str],
    detail: str,
) -> None:
    app = create_app(_settings(), engine=engine, clock=lambda: NOW)
    with StatementLog(engine) as log, caplog.at_level(logging.DEBUG):
        async with _client(app) as c:
            response = await c.request(method, path, headers=headers, **request_args)

    assert response.status_code == 401
    assert response.json() == {"detail": detail}
    assert response.headers["www-authenticate"] == "Bearer"
    assert log.statements == []
    assert SECRET[:-1] not in caplog.text
    assert "wrong-token" not in caplog.text


@pytest.mark.parametrize(("method", "path", "request_args"), PROTECTED, ids=PROTECTED_IDS)
@pytest.mark.parametrize("secret", [None, "", "   "], ids=["unset", "empty", "blank"])
@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer undefined"}, {"Authorization": "Bearer "}, GOOD],
    ids=["none", "undefined", "empty", "some-token"],
)
async def test_without_a_configured_secret_every_protected_route_answers_503(
    engine: AsyncEngine,
    method: str,
    path: str,
    request_args: dict[str, Any],
    secret: str | None,
    headers: dict[str, str],
) -> None:
    app = create_app(_settings(secret), engine=engine, clock=lambda: NOW)
    with StatementLog(engine) as log:
        async with _client(app) as c:
            response = await c.request(method, path, headers=headers, **request_args)

    assert response.status_code == 503
    assert response.json() == {"detail": NO_SECRET_MESSAGE}
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


async def test_the_bearer_scheme_name_is_case_insensitive(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/sync/monitor", headers={"Authorization": f"bearer {SECRET}"})

    assert response.status_code == 200


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


async def test_activity_with_one_bad_event_answers_422_and_stores_none(
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
    assert response.json() == {
        "detail": {"index": 2, "field": "artist_id", "message": "no artist 77"}
    }
    assert await _activity_count(engine) == 0


@pytest.mark.parametrize(
    ("content", "detail"),
    [
        (
            b"{not json",
            {
                "index": None,
                "field": "body",
                "message": "Invalid JSON: key must be a string at line 1 column 2",
            },
        ),
        (
            b"",
            {
                "index": None,
                "field": "body",
                "message": "Invalid JSON: EOF while parsing a value at line 1 column 0",
            },
        ),
        (
            json.dumps({"events": [{"user_id": "u", "kind": "vote_up", "song_id": 1}]}).encode(),
            {"index": 0, "field": "show_id", "message": "a vote needs the show_id of the setlist"},
        ),
    ],
)
async def test_activity_that_does_not_validate_answers_422_with_index_and_field(
    engine: AsyncEngine, client: httpx.AsyncClient, content: bytes, detail: dict[str, Any]
) -> None:
    response = await client.post("/api/activity", content=content, headers=GOOD)

    assert response.status_code == 422
    assert response.json() == {"detail": detail}
    assert await _activity_count(engine) == 0


async def test_activity_body_over_2_mib_answers_413_and_stores_none(
    engine: AsyncEngine, client: httpx.AsyncClient
) -> None:
    event_ = {"user_id": "u" * 128, "kind": "view", "artist_id": 1}
    padded = json.dumps({"events": [event_]}).encode() + b" " * MAX_BODY_BYTES

    declared = await client.post("/api/activity", content=padded, headers=GOOD)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(padded), 65536):
            yield padded[start : start + 65536]

    streamed = await client.post("/api/activity", content=chunks(), headers=GOOD)

    assert (declared.status_code, declared.json()) == (413, {"detail": "body larger than 2 MiB"})
    assert (streamed.status_code, streamed.json()) == (413, {"detail": "body larger than 2 MiB"})
    assert await _activity_count(engine) == 0


# --- OpenAPI --------------------------------------------------------------------------------


async def test_openapi_schema_is_served_with_a_token_and_documents_both_routes(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json", headers=GOOD)

    assert response.status_code == 200
    schema = response.json()
    assert sorted(schema["paths"]) == ["/api/activity", "/api/sync/monitor", "/healthz"]
    post = schema["paths"]["/api/activity"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ActivityBatch"
    }
    components = schema["components"]["schemas"]
    assert components["ActivityBatch"]["properties"]["events"]["items"] == {
        "$ref": "#/components/schemas/ActivityEvent"
    }
    assert components["ActivityBatch"]["properties"]["events"]["maxItems"] == 1000
    assert post["security"] == [{"HTTPBearer": []}]
    assert sorted(post["responses"]) == ["200", "401", "413", "422", "503"]
    monitor = schema["paths"]["/api/sync/monitor"]["get"]
    assert monitor["security"] == [{"HTTPBearer": []}]
    assert "security" not in schema["paths"]["/healthz"]["get"]
    assert schema["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "healthScore" in components["HealthReport"]["properties"]


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
async def test_no_unauthenticated_docs_ui_is_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


# --- Serving --------------------------------------------------------------------------------


@pytest.fixture
def uvicorn_calls(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    import uvicorn

    calls: list[dict[str, Any]] = []

    def fake_run(app: Any, **kwargs: Any) -> None:
        calls.append({"app": app, **kwargs})

    monkeypatch.setattr(uvicorn, "run", fake_run)
    return calls


def test_serve_runs_the_app_on_the_given_host_and_port(
    uvicorn_calls: list[dict[str, Any]],
) -> None:
    api.serve(_settings(), host="127.0.0.1", port=8123)

    [call] = uvicorn_calls
    assert isinstance(call.pop("app"), FastAPI)
    assert call == {"host": "127.0.0.1", "port": 8123, "log_level": "info"}
