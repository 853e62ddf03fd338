"""``mysetlist setup --json``: one step per row of the table, against the session's Prefect
server (tests/cli/test_setup.py covers what the steps do)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from cli.setup import TIMEZONE_VARIABLE, WORK_POOL_VARIABLE
from tests.cli.conftest import TEST_POOL as POOL

runner = CliRunner()
OURS = {"work pool", "variable"}


@pytest.mark.prefect
def test_setup_json_lists_every_step_and_its_outcome(
    fresh_prefect: str, prefect_harness: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WORK_POOL", POOL)
    monkeypatch.setenv("CRON_SECRET", "setup-json-cron-secret")

    first = runner.invoke(app, ["setup", "--json"])
    second = runner.invoke(app, ["setup", "--json"])

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    created, again = json.loads(first.stdout), json.loads(second.stdout)
    assert created["prefect_api"] == again["prefect_api"] == prefect_harness
    assert [step for step in created["steps"] if step["kind"] in OURS] == [
        {"kind": "work pool", "name": POOL, "outcome": "created", "detail": "process"},
        {"kind": "variable", "name": WORK_POOL_VARIABLE, "outcome": "created", "detail": POOL},
        {"kind": "variable", "name": TIMEZONE_VARIABLE, "outcome": "created", "detail": "UTC"},
    ]
    assert {step["outcome"] for step in again["steps"] if step["kind"] in OURS} == {"unchanged"}
    assert all(set(step) == {"kind", "name", "outcome", "detail"} for step in created["steps"])
    assert "setup-json-cron-secret" not in first.stdout + second.stdout
    assert first.stderr == second.stderr == ""
