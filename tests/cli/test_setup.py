"""``mysetlist setup`` against the session's Prefect server: work pool, variables,
notification block and automations (those are tested in depth in ``test_prefect_setup.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prefect.client.orchestration import get_client
from typer.testing import CliRunner

from cli.main import app
from cli.prefect_setup import ALERT_BLOCK
from cli.setup import TIMEZONE_VARIABLE, WORK_POOL_VARIABLE, SetupStep, run_setup
from settings import Settings
from tests.cli.conftest import TEST_POOL as POOL
from tests.cli.test_prefect_setup import AUTOMATIONS, _forget_alerts

runner = CliRunner()


@pytest.fixture(autouse=True)
async def _no_alerts(fresh_prefect: str) -> AsyncIterator[None]:
    """No automation or notification block of ours before or after each test."""
    await _forget_alerts()
    yield
    await _forget_alerts()


@pytest.mark.prefect
@pytest.mark.usefixtures("fresh_prefect")
async def test_run_setup_creates_everything_then_changes_nothing() -> None:
    settings = Settings(work_pool=POOL, schedule_timezone="America/Chicago")

    first = await run_setup(settings)
    second = await run_setup(settings)

    assert [(s.kind, s.name, s.outcome) for s in first] == [
        ("work pool", POOL, "created"),
        ("variable", WORK_POOL_VARIABLE, "created"),
        ("variable", TIMEZONE_VARIABLE, "created"),
        ("notification", ALERT_BLOCK, "skipped"),
        ("automation", AUTOMATIONS[0], "created"),
        *[("automation", name, "skipped") for name in AUTOMATIONS[1:]],
    ]
    assert first[3] == SetupStep(
        "notification", ALERT_BLOCK, "skipped", "ALERT_WEBHOOK_URL not set"
    )
    assert [s.outcome for s in second] == [
        *["unchanged"] * 3,
        "skipped",
        "unchanged",
        *["skipped"] * 3,
    ]
    async with get_client() as client:
        pool_variable = await client.read_variable_by_name(WORK_POOL_VARIABLE)
        timezone_variable = await client.read_variable_by_name(TIMEZONE_VARIABLE)
        pool = await client.read_work_pool(POOL)
    assert pool_variable is not None
    assert pool_variable.value == POOL
    assert timezone_variable is not None
    assert timezone_variable.value == "America/Chicago"
    assert pool.type == "process"


@pytest.mark.prefect
@pytest.mark.usefixtures("fresh_prefect")
async def test_run_setup_follows_a_changed_timezone_and_creates_no_rate_limit() -> None:
    await run_setup(Settings(work_pool=POOL))
    changed = Settings(
        work_pool=POOL, schedule_timezone="Europe/Berlin", setlistfm_requests_per_day=50000
    )

    outcomes = {(s.kind, s.name): s.outcome for s in await run_setup(changed)}

    assert outcomes[("variable", TIMEZONE_VARIABLE)] == "updated"
    assert outcomes[("variable", WORK_POOL_VARIABLE)] == "unchanged"
    assert "rate limit" not in {kind for kind, _ in outcomes}  # leased from our database
    async with get_client() as client:
        limits = await client.read_global_concurrency_limits(limit=200)
    assert [limit.name for limit in limits if limit.name.startswith("mysetlist-")] == []


@pytest.mark.prefect
@pytest.mark.usefixtures("fresh_prefect")
async def test_a_webhook_adds_the_block_and_the_notifying_automations() -> None:
    await run_setup(Settings(work_pool=POOL))
    with_webhook = Settings(work_pool=POOL, alert_webhook_url="http://127.0.0.1:9/hook")

    first = {(s.kind, s.name): (s.outcome, s.detail) for s in await run_setup(with_webhook)}
    second = {(s.kind, s.name): s.outcome for s in await run_setup(with_webhook)}

    assert first[("notification", ALERT_BLOCK)] == ("created", "webhook, json")
    assert [first[("automation", name)] for name in AUTOMATIONS] == [
        ("unchanged", "on"),
        ("created", "on"),
        ("created", "on"),
        ("created", "on"),
    ]
    assert set(second.values()) == {"unchanged"}


@pytest.mark.prefect
@pytest.mark.usefixtures("fresh_prefect")
def test_setup_command_prints_what_it_did(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORK_POOL", POOL)
    monkeypatch.setenv("COLUMNS", "400")  # every name whole, whatever the pool and URL

    first = runner.invoke(app, ["setup"])
    second = runner.invoke(app, ["setup"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    for name in [POOL, WORK_POOL_VARIABLE, TIMEZONE_VARIABLE, ALERT_BLOCK, *AUTOMATIONS]:
        assert name in first.output
    assert first.output.count("created") == 4
    assert second.output.count("unchanged") == 4
    assert second.output.count("skipped") == 4
    assert "created" not in second.output
