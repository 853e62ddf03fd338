"""Our loggers reach the Prefect UI: ``PREFECT_LOGGING_EXTRA_LOGGERS`` names them (issue 14.5)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from uuid import UUID

import pytest

from settings import apply_prefect_defaults

EXTRA = "PREFECT_LOGGING_EXTRA_LOGGERS"
ROOT = Path(__file__).resolve().parents[2]

# A process started the way `mysetlist` starts: the defaults first, then Prefect.
PROBE = """
import logging, sys
from settings import apply_prefect_defaults
apply_prefect_defaults()
from prefect import flow
from prefect.runtime import flow_run

@flow(name="mysetlist-log-probe")
def probe(token: str) -> str:
    logging.getLogger("mysetlist.flows").warning("flows warning %s", token)
    logging.getLogger("mysetlist.clients.ticketmaster").info("client info %s", token)
    return flow_run.id

print(probe(sys.argv[1]))
"""


def test_our_logger_namespace_is_an_extra_logger_by_default() -> None:
    environ: dict[str, str] = {}

    assert apply_prefect_defaults(environ)[EXTRA] == "mysetlist"
    assert environ[EXTRA] == "mysetlist"


def test_a_users_extra_loggers_are_kept() -> None:
    environ = {EXTRA: "httpx,mylib"}

    assert EXTRA not in apply_prefect_defaults(environ)
    assert environ[EXTRA] == "httpx,mylib"


@pytest.mark.prefect
async def test_a_flow_runs_logs_from_our_loggers_reach_the_prefect_server(
    prefect_harness: str,
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    token = uuid.uuid4().hex
    env = {k: v for k, v in os.environ.items() if k != EXTRA} | {"PREFECT_API_URL": prefect_harness}
    done = subprocess.run(  # noqa: ASYNC221 (one short child process; the loop has nothing else)
        [sys.executable, "-c", PROBE, token],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    flow_run_id = UUID(done.stdout.strip().splitlines()[-1])

    async with get_client() as client:
        logs = await client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    ours = sorted((log.name, log.message) for log in logs if token in log.message)

    # INFO stays below the root logger's WARNING unless a ``mysetlist`` level is configured.
    assert ours == [("mysetlist.flows", f"flows warning {token}")]
