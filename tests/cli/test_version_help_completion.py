"""``--version``, shell completion, and the choices of every option listed in ``--help``, taken
from the job table (cli/deployments.py) and the sandbox's tier type, never repeated."""

from __future__ import annotations

import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.deployments import JOB_ALIASES, JOBS
from cli.main import DISTRIBUTION, app

runner = CliRunner()
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


@pytest.fixture
def shell_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """``--show-completion SHELL``: typer lets a test name the shell instead of detecting the
    one it runs in (read when the command is built, so before ``invoke`` applies its env)."""
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")


def _help(*command: str) -> str:
    result = runner.invoke(app, [*command, "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    return " ".join(result.output.split())


def test_version_is_the_installed_package_version() -> None:
    declared = tomllib.loads(PYPROJECT.read_text())["project"]

    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output == f"mysetlist {declared['version']}\n"
    assert (DISTRIBUTION, version(DISTRIBUTION)) == (declared["name"], declared["version"])


def test_version_needs_no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_TIMEOUT_SECONDS", "not-a-number")

    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.output.startswith("mysetlist ")


def test_help_offers_completion_and_version() -> None:
    text = _help()
    for option in ("--version", "--install-completion", "--show-completion"):
        assert option in text


@pytest.mark.usefixtures("shell_named")
def test_show_completion_prints_the_bash_script() -> None:
    result = runner.invoke(app, ["--show-completion", "bash"])

    assert result.exit_code == 0
    assert result.output.splitlines() == [
        "_mysetlist_completion() {",
        "    local IFS=$'",
        "'",
        '    COMPREPLY=( $( env COMP_WORDS="${COMP_WORDS[*]}" \\',
        "                   COMP_CWORD=$COMP_CWORD \\",
        "                   _MYSETLIST_COMPLETE=complete_bash $1 ) )",
        "    return 0",
        "}",
        "",
        "complete -o default -F _mysetlist_completion mysetlist",
    ]


@pytest.mark.usefixtures("shell_named")
def test_show_completion_prints_the_zsh_script() -> None:
    result = runner.invoke(app, ["--show-completion", "zsh"])

    assert result.exit_code == 0
    lines = result.output.splitlines()
    assert lines[0] == "#compdef mysetlist"
    assert "compdef _mysetlist_completion mysetlist" in lines


def _complete(words: str) -> list[str]:
    """What bash completion offers for the last word of ``words``."""
    parts = words.split(" ")
    result = runner.invoke(
        app,
        [],
        env={
            "_MYSETLIST_COMPLETE": "complete_bash",
            "COMP_WORDS": words,
            "COMP_CWORD": str(len(parts) - 1),
        },
    )
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def test_completion_offers_the_jobs_then_the_modes() -> None:
    assert _complete("mysetlist trigger ") == [
        "autonomous-sync",
        "master-sync",
        "calculate-trending",
        "seed-comprehensive",
        "sync-artist",
        "autonomous-discovery",
        "trending",
    ]
    assert _complete("mysetlist trigger master-sync --mode ") == [
        "discovery",
        "sync",
        "full",
        "hourly",
        "daily",
    ]
    assert _complete("mysetlist sandbox --spotify-tier ") == ["extended", "development"]
    assert _complete("mysetlist ch") == ["check"]


def test_trigger_help_lists_jobs_and_each_jobs_modes() -> None:
    text = _help("trigger")

    assert (
        "<autonomous-sync|master-sync|calculate-trending|seed-comprehensive|sync-artist|"
        "autonomous-discovery|trending>"
    ) in text
    assert "<discovery|sync|full|hourly|daily>" in text
    assert (
        "The flow's mode: autonomous-sync discovery|sync|full; master-sync hourly|daily|full; "
        f"calculate-trending {'|'.join(JOBS['calculate-trending'].modes)}. Left out: the flow's "
        "default."
    ) in text
    assert "Artists to handle (1-10000; not for calculate-trending, sync-artist)." in text
    assert "The artist (sync-artist only): our id, Spotify id, Ticketmaster id or name." in text
    assert "Fetch, write nothing (not for seed-comprehensive)." in text


def test_the_choices_in_help_follow_the_job_table() -> None:
    text = _help("trigger")

    assert "<" + "|".join([*JOBS, *JOB_ALIASES]) + ">" in text
    for job in JOBS.values():
        if job.modes:
            assert f"{job.name} {'|'.join(job.modes)}" in text


def test_sandbox_help_lists_the_spotify_tiers() -> None:
    assert "--spotify-tier <extended|development>" in _help("sandbox")


@pytest.mark.parametrize(
    "command", [["status"], ["check", "env"], ["check", "db"], ["setup"], ["seed"], ["trigger"]]
)
def test_every_reporting_command_offers_json(command: list[str]) -> None:
    assert "--json" in _help(*command)
