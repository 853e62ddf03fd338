"""The ``mysetlist`` command gives Prefect a startup timeout that a first start can meet.

A first start of Prefect's ephemeral server migrates its database (26.7 s measured here, against
Prefect's 20 s default): the first ``make run`` on a fresh machine failed before this default.
"""

from __future__ import annotations

import os

import pytest
import typer
from typer.testing import CliRunner

import cli.main
from cli.main import app
from settings import PREFECT_DEFAULTS, apply_prefect_defaults

TIMEOUT = "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"
runner = CliRunner()


def test_the_default_is_set_where_the_environment_is_silent() -> None:
    environ: dict[str, str] = {"PATH": "/usr/bin"}

    assert apply_prefect_defaults(environ)[TIMEOUT] == "180"
    assert environ["PATH"] == "/usr/bin"
    assert environ[TIMEOUT] == "180"
    assert PREFECT_DEFAULTS[TIMEOUT] == "180"


def test_a_value_the_user_set_is_kept() -> None:
    environ = {TIMEOUT: "45"}

    assert TIMEOUT not in apply_prefect_defaults(environ)
    assert environ[TIMEOUT] == "45"


@pytest.mark.parametrize(("given", "seen"), [(None, "180"), ("45", "45")])
def test_every_command_runs_with_the_default_in_place(
    monkeypatch: pytest.MonkeyPatch, given: str | None, seen: str
) -> None:
    observed: list[str | None] = []

    def settings_probe() -> None:  # what ``db upgrade`` reads first, before any work
        observed.append(os.environ.get(TIMEOUT))
        raise typer.Exit(0)

    monkeypatch.setattr(cli.main, "_settings", settings_probe)
    # CliRunner sets (None: removes) the variable for the call and restores it afterwards.
    result = runner.invoke(app, ["db", "upgrade"], env={TIMEOUT: given})

    assert result.exit_code == 0, result.output
    assert observed == [seen]
