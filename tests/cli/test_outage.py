"""A total upstream outage through the command (issue 14): ``mysetlist trigger autonomous-sync
--mode discovery --local`` against the sandbox answering 503 to every request exits 1, says the
run failed, and leaves exactly one ``failed`` ledger row, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from typer.testing import CliRunner

from cli.main import app
from models.db import make_engine
from models.migrate import upgrade
from models.tables import SyncRun
from sandbox.app import create_app
from sandbox.config import SandboxConfig
from sandbox.core import Sandbox
from sandbox.server import demo_settings_overrides
from settings import get_settings
from tasks.deps import use_http_factory
from tests.conftest import PG_SERVER_URL, _create_database, _drop_database, _run
from tests.flows.conftest import FAST_ENV

pytestmark = pytest.mark.prefect

runner = CliRunner()
RUNS = SyncRun.__table__  # type: ignore[attr-defined]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def migrated_url(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    """A database of each dialect at the newest migration (as ``trigger --local`` requires);
    ``DATABASE_URL`` points at it."""
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'outage.db'}"
        name = ""
    else:
        request.getfixturevalue("postgres_url")  # skips (or fails) like every PostgreSQL test
        server = make_url(PG_SERVER_URL)
        admin_url = server.set(database="postgres").render_as_string(hide_password=False)
        name = f"mysetlist_outage_{uuid.uuid4().hex[:12]}"
        _run(_create_database(admin_url, name))
        url = server.set(database=name).render_as_string(hide_password=False)
    try:
        _run(upgrade(url))
        monkeypatch.setenv("DATABASE_URL", url)
        yield url
    finally:
        if name:
            _run(_drop_database(admin_url, name))


@pytest.fixture
def outage(
    prefect_harness: str, migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Sandbox]:
    """The in-process sandbox answering 503 to every request (``fault_rate=1``), the clients
    routed to it; caps lifted and no back-off, so the test waits for nothing."""
    del prefect_harness, migrated_url
    sandbox_url = f"http://sandbox-{uuid.uuid4().hex[:12]}.test"  # no cached sweep answers
    env = {**FAST_ENV, **{k.upper(): v for k, v in demo_settings_overrides(sandbox_url).items()}}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    config = SandboxConfig(
        settings=get_settings(), artists=20, caps=False, fault_rate=1.0, fault_kinds=("503",)
    )
    sandbox_app = create_app(config)
    with use_http_factory(
        lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox_app))
    ):
        yield sandbox_app.state.sandbox
    get_settings.cache_clear()


async def _ledger(url: str) -> list[dict[str, Any]]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(select(RUNS).order_by(RUNS.c.id))
            return [dict(row) for row in rows.mappings()]
    finally:
        await engine.dispose()


def test_an_outage_exits_1_and_leaves_one_failed_ledger_row(
    outage: Sandbox, migrated_url: str
) -> None:
    result = runner.invoke(
        app, ["trigger", "autonomous-sync", "--mode", "discovery", "--limit", "5", "--local"]
    )

    assert result.exit_code == 1, result.output
    markets = len(get_settings().discovery_markets)
    [run] = asyncio.run(_ledger(migrated_url))
    assert (run["job"], run["mode"], run["status"]) == ("autonomous-sync", "discovery", "failed")
    assert run["finished_at"] is not None
    assert (run["counts"]["markets_scanned"], run["counts"]["markets_failed"]) == (0, markets)
    assert run["counts"].get("artists_added", 0) == 0
    last_line = " ".join(result.output.split()).split("Error: ")[-1]
    assert last_line.startswith("autonomous-sync ended Failed: ")
    assert "autonomous-sync: nothing went through" in last_line
    assert last_line.endswith(f"(ledger run #{run['id']}: failed)")
    # Every Ticketmaster request was answered 503 by the sandbox, and only Ticketmaster was asked.
    answered = outage.stats.totals
    assert set(answered) == {"ticketmaster"}
    assert answered["ticketmaster"] == outage.stats.count("ticketmaster", status=503) >= markets
