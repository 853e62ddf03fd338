"""prefect.yaml declares exactly the five deployments of ``cli.deployments.DEPLOYMENTS``."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.deployments import DEPLOYMENTS, JOBS, load_flow
from cli.main import build_runner_deployments
from cli.setup import TIMEZONE_VARIABLE, WORK_POOL_VARIABLE
from settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def project() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    return loaded


def _flow_name(entrypoint: str) -> str:
    return next(job.name for job in JOBS.values() if job.entrypoint == entrypoint)


def test_prefect_yaml_declares_exactly_the_shared_definitions(project: dict[str, Any]) -> None:
    declared = [
        (
            _flow_name(entry["entrypoint"]),
            entry["name"],
            entry["entrypoint"],
            [schedule["cron"] for schedule in entry["schedules"]],
            entry["parameters"],
            entry["description"],
            entry["concurrency_limit"],
        )
        for entry in project["deployments"]
    ]
    assert declared == [
        (
            d.job,
            d.name,
            d.entrypoint,
            [d.cron],
            d.parameters,
            d.description,
            {"limit": d.concurrency_limit, "collision_strategy": d.collision_strategy},
        )
        for d in DEPLOYMENTS
    ]
    assert {d.concurrency_limit for d in DEPLOYMENTS} == {1}


def test_the_five_deployments_and_their_schedules() -> None:
    assert [(d.full_name, d.cron, d.parameters) for d in DEPLOYMENTS] == [
        ("autonomous-sync/discovery", "0 */4 * * *", {"mode": "discovery", "limit": 25}),
        ("autonomous-sync/sync", "0 */2 * * *", {"mode": "sync", "limit": 25}),
        ("master-sync/daily", "0 6 * * *", {"mode": "daily", "limit": 50}),
        ("calculate-trending/hourly", "30 * * * *", {"mode": "hourly"}),
        ("calculate-trending/daily", "0 7 * * *", {"mode": "daily"}),
    ]


def test_every_deployment_uses_the_setup_variables_and_the_checkout(
    project: dict[str, Any],
) -> None:
    assert project["pull"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": "{{ $PWD }}"}}
    ]
    for entry in project["deployments"]:
        assert entry["work_pool"]["name"] == f"{{{{ prefect.variables.{WORK_POOL_VARIABLE} }}}}"
        assert [schedule["timezone"] for schedule in entry["schedules"]] == [
            f"{{{{ prefect.variables.{TIMEZONE_VARIABLE} }}}}"
        ]


def test_deployment_limits_are_the_flow_defaults() -> None:
    for definition in DEPLOYMENTS:
        signature = inspect.signature(load_flow(JOBS[definition.job]).fn)
        if JOBS[definition.job].takes_limit:
            assert definition.parameters["limit"] == signature.parameters["limit"].default
        else:
            assert "limit" not in signature.parameters
            assert "limit" not in definition.parameters
        assert definition.parameters["mode"] in JOBS[definition.job].modes


def test_serve_builds_the_same_five_deployments_in_the_configured_timezone() -> None:
    built = build_runner_deployments(Settings(schedule_timezone="America/New_York"))

    assert [(d.flow_name, d.name, d.parameters) for d in built] == [
        (d.job, d.name, d.parameters) for d in DEPLOYMENTS
    ]
    schedules = [[(s.schedule.cron, s.schedule.timezone) for s in d.schedules] for d in built]
    assert schedules == [[(d.cron, "America/New_York")] for d in DEPLOYMENTS]
