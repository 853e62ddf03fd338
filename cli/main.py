"""The ``mysetlist`` command: set-up, checks, triggers, the monitor, the sandbox, the demo.

Exit codes: 0 done; 1 failed (a failed run, a failed check, or a problem with the settings, the
database or the Prefect API, named in one line with its fix); 2 refused before any work (bad
arguments). ``--json`` prints one JSON object on stdout (shapes in docs/operations.md); errors
go to stderr.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
import threading
from collections.abc import Callable, Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, NoReturn, TypeVar, cast

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from cli.checks import Check, check_apis, check_database, check_settings, failed, safe_url
from cli.deployments import (
    DEPLOYMENTS,
    JOB_ALIASES,
    JOBS,
    MAX_LIMIT,
    MIN_LIMIT,
    InvalidJobRequest,
    JobRequest,
    load_flow,
    validate_request,
)
from cli.failures import (
    database_problem,
    database_url_problem,
    first_line,
    listen_problem,
    missing_database_problem,
    prefect_problem,
    revision_problem,
)
from clients.errors import redact
from models.types import utcnow
from sandbox.config import SpotifyTier
from settings import Settings, apply_prefect_defaults, get_settings

if TYPE_CHECKING:
    from prefect.client.schemas.objects import FlowRun, State
    from sqlalchemy.ext.asyncio import AsyncEngine

__all__ = ["DISTRIBUTION", "RunOutcome", "app", "run_flow_locally"]

T = TypeVar("T")

#: The installed distribution whose version ``--version`` prints.
DISTRIBUTION: Final = "mysetlist-sync"
USAGE_ERROR: Final = 2
#: Prefect state types after which a flow run never changes again.
FINAL_STATES: Final = frozenset({"COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
#: Ledger statuses that make a run a failure whatever Prefect's state says.
FAILED_LEDGER_STATUSES: Final = frozenset({"failed", "crashed"})
#: Seconds between two reads of a followed deployment run (``trigger --wait``).
POLL_SECONDS: Final = 5.0
# aiosqlite names each connection's worker thread after its target function.
_SQLITE_WORKER_SUFFIX: Final = "(_connection_worker_thread)"
_SQLITE_WORKER_JOIN_SECONDS: Final = 10.0

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# The clock of ``status`` and the pause of ``trigger --wait`` (tests replace them).
now: Callable[[], datetime] = utcnow
sleep: Callable[[float], Coroutine[Any, Any, None]] = asyncio.sleep

app = typer.Typer(
    name="mysetlist",
    help="MySetlist sync: artist discovery, show and setlist sync, trending, health.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
check_app = typer.Typer(
    help="Verify settings, upstream APIs and the database.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(check_app, name="check")

JsonOption = Annotated[
    bool,
    typer.Option("--json", help="Print the result as one JSON object (docs/operations.md)."),
]


def installed_version() -> str:
    """The version of the installed package (``pip install -e .`` included)."""
    try:
        return package_version(DISTRIBUTION)
    except PackageNotFoundError:  # pragma: no cover - run from a checkout never installed
        return "unknown (not installed)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"mysetlist {installed_version()}")
        raise typer.Exit()


@app.callback()
def _before_every_command(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    # Before any command imports Prefect, which reads its settings once (see PREFECT_DEFAULTS).
    apply_prefect_defaults()


# --- helpers -------------------------------------------------------------------------------------


def _fail(message: str, *, code: int = 1) -> NoReturn:
    err_console.print(f"[red]Error:[/red] {escape(message)}", soft_wrap=True)
    raise typer.Exit(code)


def _usage_error(message: str) -> NoReturn:
    _fail(message, code=USAGE_ERROR)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(_sqlite_workers_joined(coro))


def _read_database(url: str, reader: Callable[[AsyncEngine], Coroutine[Any, Any, T]]) -> T:
    """``reader``'s result on an engine for ``url``, disposed of afterwards."""
    from models.db import make_engine

    async def read() -> T:
        engine = make_engine(url)
        try:
            return await reader(engine)
        finally:
            await engine.dispose()

    return _run(read())


async def _sqlite_workers_joined(coro: Coroutine[Any, Any, T]) -> T:
    """``coro``'s result, once the aiosqlite worker threads it started have ended.

    aiosqlite 0.22 stops the worker of a connection that failed to open without awaiting the
    stop: the worker then answers to the event loop after ``asyncio.run`` has closed it, and
    prints an "Event loop is closed" traceback (4 runs in 5 of ``status`` on an unreachable
    SQLite file). Joining those threads while the loop is open lets them answer in time.
    """
    before = set(threading.enumerate())
    try:
        return await coro
    finally:
        for thread in threading.enumerate():
            if thread not in before and thread.name.endswith(_SQLITE_WORKER_SUFFIX):
                thread.join(_SQLITE_WORKER_JOIN_SECONDS)


def _settings() -> Settings:
    from pydantic import ValidationError

    try:
        return get_settings()
    except ValidationError as exc:  # name the settings and the rule, never the values
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        _fail(f"invalid settings: {problems}")


def _secrets(settings: Settings) -> list[str]:
    """Every secret a message could carry: the API keys and the database password."""
    from sqlalchemy.engine import make_url

    try:
        password = make_url(settings.database_url).password
    except Exception:
        password = None
    return [*settings.secret_values(), *([str(password)] if password else [])]


def _database_url(settings: Settings, *, existing: bool = False) -> str:
    """``DATABASE_URL`` once it names a database we can use; with ``existing``, a SQLite file
    must already be there (a command that only reads never creates one)."""
    url = settings.database_url
    problem = database_url_problem(url) or (missing_database_problem(url) if existing else None)
    if problem:
        _fail(problem)
    return url


def _prefect_api() -> str | None:
    """``PREFECT_API_URL``, or None for Prefect's ephemeral local server."""
    from prefect.settings import PREFECT_API_URL

    return PREFECT_API_URL.value() or None


@contextmanager
def _prefect_failures() -> Iterator[None]:
    """A Prefect API that cannot be reached or refuses us: one line and exit 1."""
    try:
        yield
    except typer.Exit:
        raise
    except Exception as exc:
        problem = prefect_problem(exc, _prefect_api())
        if problem is None:
            raise
        _fail(problem)


def _open_database(settings: Settings, *, at_head: bool, existing: bool = True) -> str:
    """``DATABASE_URL``, once its database exists and opens; with ``at_head``, once it is also
    at the newest revision (a flow writes every table). Without ``existing``, a missing SQLite
    file is created (for commands that migrate it next)."""
    from models.migrate import current_revision, head_revision

    url = _database_url(settings, existing=existing)
    try:
        current = _run(current_revision(url))
    except Exception as exc:
        problem = database_problem(exc, url, _secrets(settings))
        if problem is None:
            raise
        _fail(problem)
    head = head_revision()
    if at_head and current != head:
        state = "is not migrated" if current is None else f"is at revision {current}, not {head}"
        _fail(f"the database at {safe_url(url)} {state}: run `mysetlist db upgrade`")
    return url


def _print_json(payload: Mapping[str, Any], *, secrets: list[str]) -> None:
    sys.stdout.write(redact(json.dumps(payload, default=str), secrets) + "\n")


def _checks_table(title: str, checks: list[Check]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("part")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in checks:
        colour = "green" if check.ok else ("red" if check.required else "yellow")
        table.add_row(check.part, f"[{colour}]{check.status}[/{colour}]", check.detail)
    return table


def _checks_json(checks: list[Check]) -> list[dict[str, Any]]:
    """Every field of each row: a field added to ``Check`` appears here without more code."""
    return [asdict(check) for check in checks]


def _report_failures(checks: list[Check]) -> None:
    bad = failed(checks)
    if bad:
        _fail("failed: " + ", ".join(f"{check.part} ({check.status})" for check in bad))


# --- one flow run, here or through a deployment --------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """What ``trigger`` and ``seed`` know about the flow run they started."""

    job: str
    deployment: str | None
    parameters: dict[str, Any]
    flow_run_id: str | None
    flow_run_url: str | None
    state_type: str | None
    state_name: str | None
    state_message: str | None
    ledger: dict[str, Any] | None

    @property
    def finished(self) -> bool:
        return self.state_type in FINAL_STATES

    @property
    def ok(self) -> bool:
        """Started (not followed), or ended Completed (whatever its name, e.g. ``Partial``)
        without a failed ledger row."""
        if self.ledger is not None and self.ledger.get("status") in FAILED_LEDGER_STATUSES:
            return False
        return not self.finished or self.state_type == "COMPLETED"

    def to_json(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "deployment": self.deployment,
            "parameters": self.parameters,
            "flow_run_id": self.flow_run_id,
            "flow_run_url": self.flow_run_url,
            "state": {
                "type": self.state_type,
                "name": self.state_name,
                "message": self.state_message,
            },
            "ledger": self.ledger,
            "ok": self.ok,
        }


def run_flow_state(request: JobRequest) -> State:
    """Run the job's flow in this process (Prefect records it on the configured or an ephemeral
    API) and return its final state; exceptions inside the flow become a failed state."""
    flow = load_flow(request.job)
    state: Any = flow(**request.parameters, return_state=True)
    if inspect.isawaitable(state):
        state = _run(_awaited(state))
    return cast("State", state)


def run_flow_locally(request: JobRequest) -> Any:
    """Run the job's flow in this process and return its result (raising its exception)."""
    return run_flow_state(request).result()


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


class _UntracedRefusals(logging.Filter):
    """Drops the traceback from the log record of a run refused for its set-up (missing
    credentials): the message names the problem and its fix; the stack adds nothing."""

    def filter(self, record: logging.LogRecord) -> bool:
        from tasks.deps import MissingCredentials

        if record.exc_info and isinstance(record.exc_info[1], MissingCredentials):
            record.exc_info = None
            record.exc_text = None
        return True


@contextmanager
def _refusals_untraced() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in ("prefect.flow_runs", "prefect.task_runs")]
    refusals = _UntracedRefusals()
    for logger in loggers:
        logger.addFilter(refusals)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(refusals)


def _state_message(state: State, secrets: list[str]) -> str | None:
    if not state.message:
        return None
    return redact(state.message.strip().splitlines()[0], secrets)


def _ledger(settings: Settings, flow_run_id: str) -> dict[str, Any] | None:
    """The ledger row of the flow run in ``DATABASE_URL`` (id, status, counts), if there is one:
    a deployment run may write to another database."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from models.db import make_engine
    from models.tables import SyncRun

    url = settings.database_url
    if database_url_problem(url) or missing_database_problem(url):
        return None
    runs = SyncRun.__table__  # type: ignore[attr-defined]

    async def read() -> dict[str, Any] | None:
        engine = make_engine(url)
        try:
            async with engine.connect() as conn:
                row = (
                    await conn.execute(
                        select(runs.c.id, runs.c.status, runs.c.counts)
                        .where(runs.c.flow_run_id == flow_run_id)
                        .order_by(runs.c.id.desc())
                        .limit(1)
                    )
                ).first()
        finally:
            await engine.dispose()
        if row is None:
            return None
        return {"id": int(row.id), "status": str(row.status), "counts": dict(row.counts)}

    try:
        return _run(read())
    except (SQLAlchemyError, OSError):  # not our ledger, or not reachable from here
        return None


def _flow_run_url(flow_run_id: Any) -> str | None:
    """The flow run's page in the Prefect UI, when a UI URL is known."""
    from prefect.utilities.urls import url_for

    if flow_run_id is None:
        return None
    return url_for("flow-run", obj_id=flow_run_id) or None


def _label(request: JobRequest) -> str:
    return request.job.name + (f" (mode {request.mode})" if request.mode else "")


def _run_local(request: JobRequest, settings: Settings, *, as_json: bool) -> RunOutcome:
    _open_database(settings, at_head=True)
    secrets = _secrets(settings)
    if not as_json:
        console.print(
            f"Running [bold]{_label(request)}[/bold] in this process with {request.parameters} ...",
            soft_wrap=True,
        )
    with _prefect_failures(), _refusals_untraced():
        state = run_flow_state(request)
    flow_run_id = state.state_details.flow_run_id
    outcome = RunOutcome(
        job=request.job.name,
        deployment=None,
        parameters=dict(request.parameters),
        flow_run_id=str(flow_run_id) if flow_run_id else None,
        flow_run_url=_flow_run_url(flow_run_id),
        state_type=state.type.value,
        state_name=state.name,
        state_message=_state_message(state, secrets),
        ledger=_ledger(settings, str(flow_run_id)) if flow_run_id else None,
    )
    if as_json or not outcome.ok:
        return outcome
    named = "" if state.name == "Completed" else f" ({state.name})"
    if outcome.ledger is not None:
        named += f" (ledger run #{outcome.ledger['id']}: {outcome.ledger['status']})"
    console.print(f"[green]{escape(request.job.name + ' finished' + named)}[/green]")
    result = state.result()
    if isinstance(result, dict) and result:
        table = Table(title="counts", title_justify="left")
        table.add_column("key")
        table.add_column("value", justify="right")
        for key, value in sorted(result.items()):
            table.add_row(str(key), str(value))
        console.print(table)
    return outcome


def _finish(outcome: RunOutcome, *, as_json: bool, secrets: list[str]) -> None:
    """Print ``outcome`` (as JSON, or the failure line) and exit 1 unless it went well."""
    if as_json:
        _print_json(outcome.to_json(), secrets=secrets)
        if not outcome.ok:
            raise typer.Exit(1)
        return
    if not outcome.finished:
        return
    ended = f"{outcome.deployment or outcome.job} ended {outcome.state_name}"
    if outcome.state_message and not outcome.ok:
        ended += f": {outcome.state_message}"
    if outcome.ledger is not None:
        ended += f" (ledger run #{outcome.ledger['id']}: {outcome.ledger['status']})"
    if not outcome.ok:
        _fail(ended)
    if outcome.deployment is not None:  # a local run has printed its own counts
        console.print(f"[green]{escape(ended)}[/green]", soft_wrap=True)


# --- db ------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target Alembic revision.")] = "head",
    as_json: JsonOption = False,
) -> None:
    """Apply the schema migrations to DATABASE_URL."""
    from models.migrate import current_revision, upgrade

    settings = _settings()
    url = _database_url(settings)
    if not as_json:
        console.print(f"Migrating {safe_url(url)} to {revision} ...")
    try:
        _run(upgrade(url, revision))
        reached = _run(current_revision(url))
    except Exception as exc:
        problem = revision_problem(exc, revision) or database_problem(exc, url, _secrets(settings))
        if problem is None:
            raise
        _fail(problem)
    if as_json:
        _print_json({"database": safe_url(url), "revision": reached}, secrets=_secrets(settings))
        return
    console.print(f"[green]database at revision {reached}[/green]")


# --- setup ---------------------------------------------------------------------------------------


@app.command()
def setup(as_json: JsonOption = False) -> None:
    """Create or update the Prefect rate limits, work pool and deployment variables."""
    from cli.setup import run_setup, steps_table

    settings = _settings()
    api = _prefect_api()
    if not as_json:
        console.print(f"Setting up Prefect at {api or 'an ephemeral local Prefect server'} ...")
    with _prefect_failures():
        steps = _run(run_setup(settings))
    if as_json:
        _print_json(
            {"prefect_api": api, "steps": [asdict(step) for step in steps]},
            secrets=_secrets(settings),
        )
        return
    console.print(steps_table(steps, title="mysetlist setup"))


# --- sandbox, monitor, serve ---------------------------------------------------------------------


def _require_listenable(host: str, port: int) -> None:
    problem = listen_problem(host, port)
    if problem:
        _fail(problem)


@app.command()
def sandbox(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8765,
    artists: Annotated[int, typer.Option(min=1, help="Artists in the catalogue.")] = 500,
    seed: Annotated[int, typer.Option(help="Seed of the deterministic catalogue.")] = 7,
    caps: Annotated[
        bool, typer.Option("--caps/--no-caps", help="Enforce the upstream rate limits.")
    ] = True,
    fault_rate: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of requests answered with a fault.")
    ] = 0.0,
    spotify_tier: Annotated[
        SpotifyTier, typer.Option(help="Spotify app tier (development: a new app's limits).")
    ] = "extended",
) -> None:
    """Run the offline stand-in for Spotify, Ticketmaster and setlist.fm."""
    from sandbox.config import SandboxConfig
    from sandbox.server import run_server

    _require_listenable(host, port)
    config = SandboxConfig(
        artists=artists,
        seed=seed,
        caps=caps,
        fault_rate=fault_rate,
        spotify_tier=spotify_tier,
    )
    console.print(f"Sandbox on http://{host}:{port} ({artists} artists, seed {seed})")
    run_server(config, host, port)


@app.command()
def monitor(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
) -> None:
    """Serve the health report and activity intake API (needs CRON_SECRET)."""
    from monitor.api import serve as serve_monitor

    settings = _settings()
    _database_url(settings)
    _require_listenable(host, port)
    if settings.cron_secret is None:
        err_console.print("[yellow]CRON_SECRET is not set: every route but /healthz answers 503")
    serve_monitor(settings, host=host, port=port)


def build_runner_deployments(settings: Settings) -> list[Any]:
    """The deployments as ``RunnerDeployment`` objects for ``prefect.serve`` (an on-demand one
    without a schedule)."""
    from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
    from prefect.schedules import Cron

    return [
        load_flow(JOBS[definition.job]).to_deployment(
            name=definition.name,
            schedules=[
                Cron(cron, timezone=settings.schedule_timezone) for cron in definition.crons
            ],
            parameters=dict(definition.parameters),
            description=definition.description,
            concurrency_limit=ConcurrencyLimitConfig(
                limit=definition.concurrency_limit,
                collision_strategy=ConcurrencyLimitStrategy(definition.collision_strategy),
            ),
        )
        for definition in DEPLOYMENTS
    ]


@app.command()
def serve() -> None:
    """Run the deployments in this process (a small install, no worker): the five scheduled
    ones and sync-artist on demand."""
    from prefect import serve as prefect_serve

    from cli.setup import run_setup

    settings = _settings()
    _open_database(settings, at_head=True)
    with _prefect_failures():
        _run(run_setup(settings))
    deployments = build_runner_deployments(settings)
    names = ", ".join(definition.full_name for definition in DEPLOYMENTS)
    console.print(f"Serving {names} (timezone {settings.schedule_timezone})")
    prefect_serve(*deployments)


# --- running jobs --------------------------------------------------------------------------------

# Derived from the job table (cli/deployments.py), never repeated.
_JOB_CHOICES: Final = [*JOBS, *JOB_ALIASES]
_MODE_CHOICES: Final = list(dict.fromkeys(mode for job in JOBS.values() for mode in job.modes))
_JOB_HELP: Final = (
    "The job (aliases: " + ", ".join(f"{a} = {n}" for a, n in JOB_ALIASES.items()) + ")."
)
_MODE_HELP: Final = (
    "The flow's mode: "
    + "; ".join(f"{job.name} {'|'.join(job.modes)}" for job in JOBS.values() if job.modes)
    + ". Left out: the flow's default."
)
if TYPE_CHECKING:
    JobChoice = str
    ModeChoice = str
else:  # the choices typer lists in --help and completes in the shell
    JobChoice = Literal[tuple(_JOB_CHOICES)]
    ModeChoice = Literal[tuple(_MODE_CHOICES)]
_NO_LIMIT: Final = ", ".join(job.name for job in JOBS.values() if not job.takes_limit)
_NO_DRY_RUN: Final = ", ".join(job.name for job in JOBS.values() if not job.takes_dry_run)
_ARTIST_JOBS: Final = ", ".join(job.name for job in JOBS.values() if job.takes_artist)


@app.command()
def trigger(
    job: Annotated[JobChoice, typer.Argument(help=_JOB_HELP, show_default=False)],
    mode: Annotated[ModeChoice | None, typer.Option(help=_MODE_HELP)] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            help=f"Artists to handle ({MIN_LIMIT}-{MAX_LIMIT}; not for {_NO_LIMIT or 'none'})."
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help=f"Fetch, write nothing (not for {_NO_DRY_RUN or 'none'})."),
    ] = False,
    artist: Annotated[
        str | None,
        typer.Option(
            help=f"The artist ({_ARTIST_JOBS} only): our id, Spotify id, Ticketmaster id or name."
        ),
    ] = None,
    local: Annotated[
        bool, typer.Option("--local", help="Run here instead of through a deployment.")
    ] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait",
            help="Follow the deployment run to its end; exit 1 unless it ends Completed "
            "(--local always waits).",
        ),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Start a job: through its Prefect deployment, or in this process with --local."""
    request = _validated(job, mode=mode, limit=limit, dry_run=dry_run, artist=artist)
    settings = _settings()
    if local:
        outcome = _run_local(request, settings, as_json=as_json)
    else:
        outcome = _trigger_deployment(request, settings, wait=wait, as_json=as_json)
    _finish(outcome, as_json=as_json, secrets=_secrets(settings))


def _validated(
    job: str,
    *,
    mode: str | None,
    limit: int | None,
    dry_run: bool = False,
    artist: str | None = None,
) -> JobRequest:
    try:
        return validate_request(job, mode=mode, limit=limit, dry_run=dry_run, artist=artist)
    except InvalidJobRequest as exc:
        _usage_error(str(exc))


def _trigger_deployment(
    request: JobRequest, settings: Settings, *, wait: bool, as_json: bool
) -> RunOutcome:
    api = _prefect_api() or "the ephemeral local Prefect server"
    with _prefect_failures():
        name = _run(_find_deployment(request))
        if name is None:
            _fail(
                f"no deployment of {request.job.name} is registered on {api}. "
                "Run it in this process with --local, or register the deployments with "
                "`mysetlist setup` then `prefect --no-prompt deploy --all`."
            )
        flow_run = _run(_start_deployment(name, request.parameters))
    url = _flow_run_url(flow_run.id)
    if not as_json:
        console.print(f"Started [bold]{name}[/bold] with {request.parameters}", soft_wrap=True)
        console.print(f"flow run id: {flow_run.id}")
        if url:
            console.print(f"flow run URL: {url}", soft_wrap=True)
    if wait:
        report = None if as_json else _print_state
        with _prefect_failures():
            flow_run = _run(_follow(flow_run.id, on_change=report))
    state = flow_run.state
    finished = state is not None and state.type.value in FINAL_STATES
    return RunOutcome(
        job=request.job.name,
        deployment=name,
        parameters=dict(request.parameters),
        flow_run_id=str(flow_run.id),
        flow_run_url=url,
        state_type=state.type.value if state else None,
        state_name=state.name if state else None,
        state_message=_state_message(state, _secrets(settings)) if state else None,
        ledger=_ledger(settings, str(flow_run.id)) if finished else None,
    )


def _print_state(state: State) -> None:
    console.print(f"state: {state.name}")


async def _follow(flow_run_id: Any, *, on_change: Callable[[State], None] | None) -> FlowRun:
    """Read the flow run every ``POLL_SECONDS`` until its state is final."""
    from prefect.client.orchestration import get_client

    seen: str | None = None
    async with get_client() as client:
        while True:
            flow_run = await client.read_flow_run(flow_run_id)
            state = flow_run.state
            if state is not None and state.name != seen:
                seen = state.name
                if on_change is not None:
                    on_change(state)
            if state is not None and state.type.value in FINAL_STATES:
                return flow_run
            await sleep(POLL_SECONDS)


async def _find_deployment(request: JobRequest) -> str | None:
    """``<flow>/<deployment>`` to run: the one named after the mode, else the flow's first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName

    async with get_client() as client:
        deployments = await client.read_deployments(
            flow_filter=FlowFilter(name=FlowFilterName(any_=[request.job.name]))
        )
    names = sorted(deployment.name for deployment in deployments)
    if not names:
        return None
    chosen = request.mode if request.mode in names else names[0]
    return f"{request.job.name}/{chosen}"


async def _start_deployment(name: str, parameters: dict[str, Any]) -> FlowRun:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    start: Any = run_deployment  # sync_compatible: a coroutine when awaited from async code
    async with get_client() as client:
        flow_run: FlowRun = await start(name, client=client, parameters=parameters, timeout=0)
    return flow_run


@app.command()
def seed(
    limit: Annotated[
        int | None, typer.Option(help=f"Artists to discover and sync ({MIN_LIMIT}-{MAX_LIMIT}).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Fill an empty database: discovery, sync, master sync and trending, here and now."""
    request = _validated("seed-comprehensive", mode=None, limit=limit)
    settings = _settings()
    outcome = _run_local(request, settings, as_json=as_json)
    _finish(outcome, as_json=as_json, secrets=_secrets(settings))


# --- status and checks ---------------------------------------------------------------------------


@app.command()
def status(
    hours: Annotated[int, typer.Option(help="Report window in hours (1-720).")] = 24,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the monitor API's JSON answer.")
    ] = False,
) -> None:
    """The health report of the last HOURS hours."""
    from models.db import make_engine
    from monitor.health import InvalidHoursError, compute_health, validate_hours

    try:
        validate_hours(hours)
    except InvalidHoursError as exc:
        _usage_error(str(exc))
    settings = _settings()
    url = _open_database(settings, at_head=False)

    async def compute() -> Any:
        engine = make_engine(url)
        try:
            return await compute_health(
                engine,
                hours=hours,
                now=now(),
                stale_after_hours=settings.sync_stale_after_hours,
                settings=settings,
            )
        finally:
            await engine.dispose()

    try:
        report = _run(compute())
    except Exception as exc:
        _fail(
            f"cannot compute the health report from {safe_url(url)}: "
            f"{first_line(exc, _secrets(settings))}; is it migrated? `mysetlist db upgrade`"
        )
    if as_json:
        sys.stdout.write(report.model_dump_json(by_alias=True) + "\n")
        return
    from monitor.render import render_report

    console.print(render_report(report))


@app.command()
def trending(
    market: Annotated[
        int | None, typer.Option(help="A Ticketmaster market id (e.g. 27, Los Angeles).")
    ] = None,
    city: Annotated[
        str | None, typer.Option(help="A city: country/state/city, e.g. 'US/CA/San Francisco'.")
    ] = None,
    kind: Annotated[str, typer.Option(help="artist or show.")] = "artist",
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many (1-100).")] = 10,
    as_json: JsonOption = False,
) -> None:
    """The top trending artists or shows: global, of a market, or of a city."""
    from models.geo_trending import normalize_city_id, read_trending
    from models.markets import MARKET_NAMES

    if market is not None and city is not None:
        _usage_error("give --market or --city, not both")
    if kind not in ("artist", "show"):
        _usage_error(f"--kind is artist or show, got {kind!r}")
    scope, scope_id, title = "global", None, "everywhere"
    if market is not None:
        if market < 1:
            _usage_error(f"--market is a positive market id, got {market}")
        scope, scope_id = "market", str(market)
        title = f"market {market} ({MARKET_NAMES.get(market, 'not a major market')})"
    elif city is not None:
        try:
            scope, scope_id = "city", normalize_city_id(city)
        except ValueError as exc:
            _usage_error(str(exc))
        title = f"city {scope_id}"
    settings = _settings()
    url = _open_database(settings, at_head=True)

    async def read(engine: AsyncEngine) -> Any:
        async with engine.connect() as conn:
            return await read_trending(
                conn,
                scope=scope,
                scope_id=scope_id,
                kind=kind,
                limit=limit,
                now=now(),
                settings=settings,
            )

    day, ranked = _read_database(url, read)
    if as_json:
        payload = {
            "scope": scope,
            "id": scope_id,
            "kind": kind,
            "day": day.isoformat() if day else None,
            "items": [
                {"rank": r.rank, "id": r.id, "name": r.name, "score": r.score} for r in ranked
            ],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    when = f" on {day.isoformat()}" if day else ""
    table = Table()
    table.add_column("#", justify="right")
    table.add_column(kind.capitalize())
    table.add_column("Id", justify="right")
    table.add_column("Score", justify="right")
    for entry in ranked:
        label = entry.name
        if entry.venue_name:
            label += f" @ {entry.venue_name}"
        table.add_row(str(entry.rank), label, str(entry.id), f"{entry.score:.2f}")
    if not ranked:
        console.print(f"No trending {kind}s for {title} yet (the daily trending run fills it).")
        return
    console.print(f"Trending {kind}s, {title}{when}", soft_wrap=True)
    console.print(table)


@app.command()
def similar(
    artist_id: Annotated[int, typer.Argument(help="Our artist id.", min=1)],
    limit: Annotated[int, typer.Option(min=1, max=10, help="How many (1-10).")] = 10,
    as_json: JsonOption = False,
) -> None:
    """An artist's most similar artists (co-billing, venues, covers, genres, markets)."""
    from models.similarity import similar_artists

    settings = _settings()
    url = _open_database(settings, at_head=True)

    found = _read_database(url, lambda engine: similar_artists(engine, artist_id, limit=limit))
    if found is None:
        _fail(f"no artist with id {artist_id}")
    if as_json:
        payload = {
            "artist_id": found.artist_id,
            "name": found.name,
            "day": found.day.isoformat() if found.day else None,
            "similar": [
                {"rank": s.rank, "id": s.id, "name": s.name, "score": s.score}
                for s in found.similar
            ],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    if not found.similar:
        console.print(f"No similar artists for {found.name} yet (the daily trending run fills it).")
        return
    table = Table(
        title=f"Artists similar to {found.name} (#{found.artist_id})", title_justify="left"
    )
    for name in ("#", "Artist", "Id", "Score", "Shows", "Venues", "Covers", "Genres", "Markets"):
        table.add_column(name, justify="left" if name == "Artist" else "right")
    for s in found.similar:
        table.add_row(
            str(s.rank),
            s.name,
            str(s.id),
            f"{s.score:.2f}",
            str(s.shared_shows),
            f"{s.shared_venues:.2f}",
            str(s.covers),
            f"{s.shared_genres:.2f}",
            str(s.shared_markets),
        )
    console.print(f"Artists similar to {found.name} (#{found.artist_id})", soft_wrap=True)
    console.print(table)


@app.command()
def forecast(
    artist_id: Annotated[int, typer.Argument(help="Our artist id.", min=1)],
    as_json: JsonOption = False,
) -> None:
    """An artist's expected trending score on each of the next 7 days (the daily run's latest
    forecast: scheduled shows, activity decay, follower growth)."""
    from models.trending.forecast import read_forecast

    settings = _settings()
    url = _open_database(settings, at_head=True)

    found = _read_database(
        url, lambda engine: read_forecast(engine, artist_id, now=now(), settings=settings)
    )
    if found is None:
        _fail(f"no artist with id {artist_id}")
    if as_json:
        payload = {
            "artist_id": found.artist_id,
            "name": found.name,
            "score": found.score,
            "made_on": found.made_on.isoformat() if found.made_on else None,
            "days": [
                {"day": d.day.isoformat(), "horizon": d.horizon, "score": d.score}
                for d in found.days
            ],
        }
        sys.stdout.write(json.dumps(payload) + "\n")
        return
    if not found.days:
        console.print(f"No forecast for {found.name} yet (the daily trending run makes it).")
        return
    current = "none" if found.score is None else f"{found.score:.2f}"
    console.print(
        f"Trending forecast of {found.name} (#{found.artist_id}), made {found.made_on}; "
        f"score now {current}",
        soft_wrap=True,
    )
    table = Table()
    for name in ("Day", "In", "Expected score"):
        table.add_column(name, justify="right")
    for d in found.days:
        table.add_row(d.day.isoformat(), f"{d.horizon} d", f"{d.score:.2f}")
    console.print(table)


@check_app.command("env")
def check_env(as_json: JsonOption = False) -> None:
    """Which settings are present, and one authenticated call per API."""
    settings = _settings()
    presence = check_settings(settings)
    if not as_json:
        console.print(_checks_table("settings", presence))
    apis = _run(check_apis(settings))
    if as_json:
        bad = failed(presence + apis)
        _print_json(
            {
                "ok": not bad,
                "settings": _checks_json(presence),
                "apis": _checks_json(apis),
                "failed": [check.part for check in bad],
            },
            secrets=_secrets(settings),
        )
        if bad:
            raise typer.Exit(1)
        return
    console.print(_checks_table("upstream APIs", apis))
    _report_failures(presence + apis)
    console.print("[green]environment OK[/green]")


@check_app.command("db")
def check_db(as_json: JsonOption = False) -> None:
    """Connection, migrations at head, every table and index present, row counts."""
    settings = _settings()
    url = _database_url(settings)
    checks, counts = _run(check_database(settings))
    if as_json:
        bad = failed(checks)
        _print_json(
            {
                "ok": not bad,
                "database": safe_url(url),
                "checks": _checks_json(checks),
                "rows": dict(sorted(counts.items())),
                "failed": [check.part for check in bad],
            },
            secrets=_secrets(settings),
        )
        if bad:
            raise typer.Exit(1)
        return
    console.print(_checks_table("database", checks))
    if counts:
        table = Table(title="rows", title_justify="left")
        table.add_column("table")
        table.add_column("rows", justify="right")
        for name, count in sorted(counts.items()):
            table.add_row(name, str(count))
        console.print(table)
    _report_failures(checks)
    console.print("[green]database OK[/green]")


# --- demo ----------------------------------------------------------------------------------------


@app.command()
def demo(
    artists: Annotated[
        int, typer.Option(min=10, max=5000, help="Sandbox catalogue size (offline only).")
    ] = 300,
    limit: Annotated[
        int, typer.Option(min=MIN_LIMIT, max=MAX_LIMIT, help="Artists the demo seeds.")
    ] = 25,
) -> None:
    """The whole system end to end on the embedded database (what `make run` runs)."""
    from cli.demo import run_demo

    settings = _settings()
    _open_database(settings, at_head=False, existing=False)  # the demo migrates it first
    code = run_demo(console, artists=artists, limit=limit)
    if code:
        raise typer.Exit(code)


# --- simulate ------------------------------------------------------------------------------------


@app.command()
def simulate(
    artists: Annotated[int, typer.Option(help="Artists in the sandbox world (10 to 100,000).")],
    days: Annotated[int, typer.Option(help="Days to simulate (1 to 366).")],
    seed: Annotated[int, typer.Option(help="The world's seed (same seed, same world).")] = 7,
    fault_rate: Annotated[
        float, typer.Option(help="Share of upstream requests answered with a fault (0 to 1).")
    ] = 0.0,
    database_url: Annotated[
        str | None,
        typer.Option(help="An empty database to simulate on (default: a fresh SQLite file)."),
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write the report as JSON (one entry per day, a final one).")
    ] = None,
    check_trending_url: Annotated[
        str | None,
        typer.Option(
            help="An empty database of the other kind: the final data is copied there and "
            "trending recalculated on both, to compare the scores."
        ),
    ] = None,
) -> None:
    """Replay the deployments' schedules for DAYS days on a virtual clock against a sandbox
    world of ARTISTS artists, then score the database against the sandbox's truth."""
    import tempfile

    from cli.scorecard import Scorecard
    from cli.simulate import (
        InvalidSimulation,
        SimulationRequest,
        day_line,
        run_simulation,
        temporary_prefect,
    )

    try:
        request = SimulationRequest(
            artists=artists,
            days=days,
            seed=seed,
            fault_rate=fault_rate,
            database_url=database_url,
            report=report,
            check_trending_url=check_trending_url,
        )
    except InvalidSimulation as exc:
        _usage_error(str(exc))
    with tempfile.TemporaryDirectory(prefix="mysetlist-simulate-") as tmp:
        url = database_url or f"sqlite+aiosqlite:///{Path(tmp) / 'simulation.db'}"
        try:
            with temporary_prefect():
                result = _run(
                    run_simulation(
                        request, database_url=url, progress=lambda day: console.print(day_line(day))
                    )
                )
        except InvalidSimulation as exc:
            _usage_error(str(exc))
    card = Scorecard(**result["final"])
    table = Table(title=f"Scorecard: {artists} artists, {days} days, seed {seed}")
    for column in ("section", "figure", "value"):
        table.add_column(column)
    for section, figure, value in card.rows():
        table.add_row(section, figure, value)
    console.print(table)
    if report is not None:
        console.print(f"Report written to {report}")


if __name__ == "__main__":  # pragma: no cover
    app()
