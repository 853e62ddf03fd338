"""Every command answers --help; parameters are refused before any work, with exit code 2."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from prefect.client.schemas.objects import State, StateDetails
from prefect.settings import PREFECT_UI_URL, temporary_settings
from prefect.states import Completed, Crashed, Failed
from typer.testing import CliRunner

import cli.main
from cli.deployments import (
    JOBS,
    InvalidJobRequest,
    JobRequest,
    resolve_job,
    validate_request,
)
from cli.main import app
from models.migrate import upgrade

runner = CliRunner()
RUN_ID = UUID("8d4f6e0c-3b1a-4c55-9a7e-2f1d0c9b8a71")

COMMANDS = [
    [],
    ["db"],
    ["db", "upgrade"],
    ["setup"],
    ["sandbox"],
    ["monitor"],
    ["serve"],
    ["seed"],
    ["status"],
    ["check"],
    ["check", "env"],
    ["check", "db"],
    ["trigger"],
    ["demo"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "mysetlist")
def test_every_command_answers_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: mysetlist" in result.output
    assert " ".join(["mysetlist", *command]) in result.output


def test_top_level_help_lists_every_command() -> None:
    result = runner.invoke(app, ["--help"])
    for name in ("db", "setup", "sandbox", "monitor", "serve", "seed", "status", "check"):
        assert name in result.output
    assert "trigger" in result.output
    assert "demo" in result.output


@pytest.fixture
def no_work(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Any attempt to run a flow or reach Prefect is recorded (and fails the command)."""
    calls: list[str] = []

    def forbidden(*args: Any, **kwargs: Any) -> Any:
        calls.append("work")
        raise AssertionError("work started before validation")

    monkeypatch.setattr(cli.main, "run_flow_state", forbidden)
    monkeypatch.setattr(cli.main, "_trigger_deployment", forbidden)
    monkeypatch.setattr(cli.main, "_open_database", forbidden)
    return calls


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["trigger", "backfill"],
            "Invalid value for 'job': Value error, 'backfill' is not one of 'autonomous-sync', "
            "'master-sync', 'calculate-trending', 'seed-comprehensive', 'sync-artist', "
            "'autonomous-discovery', 'trending'.",
        ),
        (
            ["trigger", "trending", "--mode", "weekly"],
            "Invalid value for '--mode': Value error, 'weekly' is not one of 'discovery', "
            "'sync', 'full', 'hourly', 'daily'.",
        ),
        (
            ["trigger", "autonomous-sync", "--mode", "hourly"],
            "unknown mode 'hourly' for autonomous-sync; choose one of: discovery, sync, full",
        ),
        (
            ["trigger", "trending", "--mode", "discovery"],
            "unknown mode 'discovery' for calculate-trending; choose one of: "
            + ", ".join(JOBS["calculate-trending"].modes),
        ),
        (
            ["trigger", "master-sync", "--mode", "daily", "--limit", "0"],
            "--limit must be from 1 to 10000, got 0",
        ),
        (
            ["trigger", "autonomous-discovery", "--limit", "10001", "--local"],
            "--limit must be from 1 to 10000, got 10001",
        ),
        (
            ["trigger", "calculate-trending", "--mode", "daily", "--limit", "5"],
            "calculate-trending takes no --limit",
        ),
        (
            ["trigger", "seed-comprehensive", "--mode", "daily"],
            "seed-comprehensive takes no --mode",
        ),
        (["trigger", "seed-comprehensive", "--dry-run"], "seed-comprehensive has no dry run"),
        (
            ["trigger", "sync-artist"],
            "sync-artist needs --artist (our id, Spotify id, Ticketmaster id or name)",
        ),
        (
            ["trigger", "sync-artist", "--artist", " ", "--local"],
            "--artist: the artist reference must not be empty",
        ),
        (
            ["trigger", "sync-artist", "--artist", "x", "--limit", "5"],
            "sync-artist takes no --limit",
        ),
        (["trigger", "master-sync", "--artist", "Ghost"], "master-sync takes no --artist"),
        (["seed", "--limit", "0"], "--limit must be from 1 to 10000, got 0"),
        (["status", "--hours", "0"], "hours must be from 1 to 720, got 0"),
        (["status", "--hours", "721", "--json"], "hours must be from 1 to 720, got 721"),
        (
            ["sandbox", "--spotify-tier", "premium"],
            "Invalid value for '--spotify-tier': Value error, 'premium' is not one of "
            "'extended', 'development'.",
        ),
    ],
)
def test_invalid_parameters_exit_2_with_a_clear_message_before_any_work(
    arguments: list[str], message: str, no_work: list[str]
) -> None:
    result = runner.invoke(app, arguments, env={"COLUMNS": "400"})
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert no_work == []


@pytest.mark.parametrize(
    "arguments",
    [
        ["trigger", "master-sync", "--limit", "many"],
        ["status", "--hours", "1.5"],
        ["trigger"],
    ],
)
def test_malformed_options_are_usage_errors(arguments: list[str], no_work: list[str]) -> None:
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert no_work == []


def test_seed_aliases_resolve_to_our_jobs() -> None:
    assert resolve_job("autonomous-discovery").name == "autonomous-sync"
    assert resolve_job("trending").name == "calculate-trending"
    assert resolve_job("master-sync").entrypoint == "cli/jobs.py:master_sync"


def test_a_request_passes_only_the_options_given() -> None:
    request = validate_request("autonomous-discovery", mode="discovery", limit=20, dry_run=True)
    assert request == JobRequest(
        resolve_job("autonomous-sync"), {"mode": "discovery", "limit": 20, "dry_run": True}
    )
    assert validate_request("master-sync", mode=None, limit=None).parameters == {}
    assert validate_request("seed-comprehensive", mode=None, limit=100).parameters == {"limit": 100}
    assert validate_request(
        "sync-artist", mode=None, limit=None, dry_run=True, artist=" Ghost "
    ).parameters == {"ref": "Ghost", "dry_run": True}


@pytest.mark.parametrize("limit", [1, 10000])
def test_limit_bounds_are_inclusive(limit: int) -> None:
    assert validate_request("master-sync", mode="full", limit=limit).parameters["limit"] == limit


def test_a_boolean_is_not_a_limit() -> None:
    with pytest.raises(InvalidJobRequest, match="--limit must be from 1 to 10000"):
        validate_request("master-sync", mode="full", limit=True)


@pytest.fixture
def migrated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """DATABASE_URL at a migrated SQLite database."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'migrated.db'}"
    asyncio.run(upgrade(url))
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def _ran(state: State, seen: list[JobRequest]) -> Callable[[JobRequest], State]:
    def fake_run(request: JobRequest) -> State:
        seen.append(request)
        return state

    return fake_run


def test_trigger_local_runs_the_validated_request(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[JobRequest] = []
    state: State = Completed(
        data={"artists_found": 3}, state_details=StateDetails(flow_run_id=RUN_ID)
    )
    monkeypatch.setattr(cli.main, "run_flow_state", _ran(state, seen))

    result = runner.invoke(
        app, ["trigger", "autonomous-discovery", "--mode", "full", "--limit", "20", "--local"]
    )

    assert result.exit_code == 0, result.output
    assert seen == [JobRequest(resolve_job("autonomous-sync"), {"mode": "full", "limit": 20})]
    assert result.stdout.splitlines()[:2] == [
        "Running autonomous-sync (mode full) in this process with {'mode': 'full', 'limit': 20} "
        "...",
        "autonomous-sync finished",
    ]
    assert "│ artists_found │     3 │" in result.stdout


def test_trigger_local_json_reports_the_run(migrated: str, monkeypatch: pytest.MonkeyPatch) -> None:
    state: State = Completed(
        name="Partial", data={"artists_found": 3}, state_details=StateDetails(flow_run_id=RUN_ID)
    )
    monkeypatch.setattr(cli.main, "run_flow_state", _ran(state, []))

    with temporary_settings(updates={PREFECT_UI_URL: "http://prefect.test"}):
        result = runner.invoke(app, ["trigger", "master-sync", "--local", "--json"])

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "job": "master-sync",
        "deployment": None,
        "parameters": {},
        "flow_run_id": str(RUN_ID),
        "flow_run_url": f"http://prefect.test/runs/flow-run/{RUN_ID}",
        "state": {"type": "COMPLETED", "name": "Partial", "message": None},
        "ledger": None,
        "ok": True,
    }


def test_a_failing_local_run_exits_1_with_the_error_redacted(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TICKETMASTER_API_KEY", "tm-secret-key-123")
    message = (
        "Flow run encountered an exception: RuntimeError: GET "
        "https://tm.example/events.json?apikey=tm-secret-key-123 failed\nsecond line"
    )
    state: State = Failed(message=message, state_details=StateDetails(flow_run_id=RUN_ID))
    monkeypatch.setattr(cli.main, "run_flow_state", _ran(state, []))

    result = runner.invoke(app, ["trigger", "master-sync", "--local"])

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: master-sync ended Failed: Flow run encountered an exception: RuntimeError: GET "
        "https://tm.example/events.json?apikey=*** failed\n"
    )
    assert "tm-secret-key-123" not in result.output


def test_a_failing_local_run_with_json_prints_the_run_and_exits_1(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    state: State = Crashed(
        message="Execution was interrupted", state_details=StateDetails(flow_run_id=RUN_ID)
    )
    monkeypatch.setattr(cli.main, "run_flow_state", _ran(state, []))

    result = runner.invoke(app, ["seed", "--limit", "5", "--json"])

    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert (payload["job"], payload["parameters"], payload["state"], payload["ok"]) == (
        "seed-comprehensive",
        {"limit": 5},
        {"type": "CRASHED", "name": "Crashed", "message": "Execution was interrupted"},
        False,
    )
    assert result.stderr == ""


def test_missing_credentials_name_the_settings(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tasks.deps import MissingCredentials

    refused = MissingCredentials("missing settings: TICKETMASTER_API_KEY")
    state: State = Failed(
        message=f"Flow run encountered an exception: MissingCredentials: {refused}"
    )
    monkeypatch.setattr(cli.main, "run_flow_state", _ran(state, []))

    result = runner.invoke(app, ["seed", "--limit", "5"])

    assert result.exit_code == 1
    assert result.stderr == (
        "Error: seed-comprehensive ended Failed: Flow run encountered an exception: "
        "MissingCredentials: missing settings: TICKETMASTER_API_KEY\n"
    )


def test_sandbox_options_become_the_sandbox_config(monkeypatch: pytest.MonkeyPatch) -> None:
    import sandbox.server
    from sandbox.config import SandboxConfig

    served: list[tuple[SandboxConfig, str, int]] = []
    monkeypatch.setattr(
        sandbox.server, "run_server", lambda config, host, port: served.append((config, host, port))
    )

    result = runner.invoke(
        app,
        [
            "sandbox",
            "--port",
            "9100",
            "--artists",
            "120",
            "--seed",
            "3",
            "--no-caps",
            "--fault-rate",
            "0.25",
            "--spotify-tier",
            "development",
        ],
    )

    assert result.exit_code == 0, result.output
    [(config, host, port)] = served
    assert (host, port) == ("127.0.0.1", 9100)
    assert (config.artists, config.seed, config.caps, config.fault_rate, config.spotify_tier) == (
        120,
        3,
        False,
        0.25,
        "development",
    )


def test_sandbox_default_port_is_the_sandbox_default() -> None:
    from sandbox.server import DEFAULT_PORT

    result = runner.invoke(app, ["sandbox", "--help"], env={"COLUMNS": "200"})
    assert f"[default: {DEFAULT_PORT}]" in result.output


def test_monitor_serves_the_monitor_app_with_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    import monitor.api

    calls: list[tuple[object, str, int]] = []
    monkeypatch.setattr(
        monitor.api, "serve", lambda settings, *, host, port: calls.append((settings, host, port))
    )
    monkeypatch.setenv("CRON_SECRET", "monitor-secret-0123456789abcdefghij")

    result = runner.invoke(app, ["monitor", "--host", "0.0.0.0", "--port", "8081"])

    assert result.exit_code == 0, result.output
    assert [(host, port) for _, host, port in calls] == [("0.0.0.0", 8081)]
    assert "monitor-secret-0123456789abcdefghij" not in result.output


def test_invalid_settings_are_named_without_their_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "soon-ish-7731")
    monkeypatch.setenv("COLUMNS", "200")

    result = runner.invoke(app, ["status"])

    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert "invalid settings: HTTP_TIMEOUT_SECONDS: Input should be a valid number" in text
    assert "soon-ish-7731" not in result.output


def test_serve_sets_up_then_serves_the_six_deployments(
    migrated: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import prefect

    import cli.setup
    from cli.deployments import DEPLOYMENTS

    served: list[tuple[str, str, list[tuple[str, str]], tuple[int, str]]] = []
    set_up: list[str] = []

    async def fake_setup(settings: Any) -> list[Any]:
        set_up.append(settings.schedule_timezone)
        return []

    def fake_serve(*deployments: Any) -> None:
        for d in deployments:
            schedules = [(s.schedule.cron, s.schedule.timezone) for s in d.schedules]
            limit = (d.concurrency_limit, d.concurrency_options.collision_strategy.value)
            served.append((d.flow_name, d.name, schedules, limit))

    monkeypatch.setattr(cli.setup, "run_setup", fake_setup)
    monkeypatch.setattr(prefect, "serve", fake_serve)
    monkeypatch.setenv("SCHEDULE_TIMEZONE", "Europe/Paris")

    result = runner.invoke(app, ["serve"])

    assert result.exit_code == 0, result.output
    assert set_up == ["Europe/Paris"]
    assert served == [
        (
            d.job,
            d.name,
            [(cron, "Europe/Paris") for cron in d.crons],
            (d.concurrency_limit, d.collision_strategy),
        )
        for d in DEPLOYMENTS
    ]
    assert served[0][3] == (1, "CANCEL_NEW")  # a scheduled deployment never overlaps itself
    assert served[-1] == ("sync-artist", "on-demand", [], (4, "ENQUEUE"))  # on demand, queued


def test_serve_refuses_an_unmigrated_database_before_touching_prefect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.setup

    (tmp_path / "empty.db").touch()
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(cli.setup, "run_setup", _forbidden)

    result = runner.invoke(app, ["serve"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: the database at {url} is not migrated: run `mysetlist db upgrade`\n"
    )


def test_demo_names_a_database_it_cannot_open_before_it_starts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import cli.demo

    url = f"sqlite+aiosqlite:///{tmp_path / 'no-such-directory' / 'demo.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setattr(cli.demo, "run_demo", _forbidden)

    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: cannot open the database at {url}: OperationalError: unable to open database "
        "file; check DATABASE_URL\n"
    )


def _forbidden(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("started despite a database it cannot use")
