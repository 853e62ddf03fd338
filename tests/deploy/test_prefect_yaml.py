"""prefect.yaml declares exactly the six deployments of ``cli.deployments.DEPLOYMENTS`` (five
scheduled, ``sync-artist/on-demand`` without a schedule)."""

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
            list(d.crons),
            d.parameters,
            d.description,
            {"limit": d.concurrency_limit, "collision_strategy": d.collision_strategy},
        )
        for d in DEPLOYMENTS
    ]
    # A scheduled deployment never overlaps itself; on-demand runs queue, a few at a time.
    assert {(d.concurrency_limit, d.collision_strategy) for d in DEPLOYMENTS if d.cron} == {
        (1, "CANCEL_NEW")
    }
    assert {(d.concurrency_limit, d.collision_strategy) for d in DEPLOYMENTS if not d.cron} == {
        (4, "ENQUEUE")
    }


def test_the_five_scheduled_deployments_and_the_one_on_demand() -> None:
    assert [(d.full_name, d.cron, d.parameters) for d in DEPLOYMENTS] == [
        ("autonomous-sync/discovery", "0 */4 * * *", {"mode": "discovery", "limit": 1000}),
        ("autonomous-sync/sync", "0 */2 * * *", {"mode": "sync", "limit": 1000}),
        ("master-sync/daily", "0 6 * * *", {"mode": "daily", "limit": 1000}),
        ("calculate-trending/hourly", "30 * * * *", {"mode": "hourly"}),
        ("calculate-trending/daily", "0 7 * * *", {"mode": "daily"}),
        ("sync-artist/on-demand", None, {}),  # the artist is each run's own parameter
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
        ] * len(entry["schedules"])
    assert [len(entry["schedules"]) for entry in project["deployments"]] == [1] * 5 + [0]


def test_deployment_limits_are_the_flow_defaults() -> None:
    for definition in DEPLOYMENTS:
        signature = inspect.signature(load_flow(JOBS[definition.job]).fn)
        if JOBS[definition.job].takes_limit:
            assert definition.parameters["limit"] == signature.parameters["limit"].default
        else:
            assert "limit" not in signature.parameters
            assert "limit" not in definition.parameters
        if JOBS[definition.job].modes:
            assert definition.parameters["mode"] in JOBS[definition.job].modes
        else:
            assert "mode" not in signature.parameters
        if JOBS[definition.job].takes_artist:  # required: each run names its artist
            assert signature.parameters["ref"].default is inspect.Parameter.empty
            assert "ref" not in definition.parameters


def test_serve_builds_the_same_six_deployments_in_the_configured_timezone() -> None:
    built = build_runner_deployments(Settings(schedule_timezone="America/New_York"))

    assert [(d.flow_name, d.name, d.parameters) for d in built] == [
        (d.job, d.name, d.parameters) for d in DEPLOYMENTS
    ]
    schedules = [[(s.schedule.cron, s.schedule.timezone) for s in d.schedules] for d in built]
    assert schedules == [[(cron, "America/New_York") for cron in d.crons] for d in DEPLOYMENTS]
