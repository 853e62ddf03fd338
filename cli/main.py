"""The ``mysetlist`` command: set-up, checks, triggers, the monitor, the sandbox, the demo."""

from __future__ import annotations

import asyncio
import inspect
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
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
from clients.errors import redact
from models.types import utcnow
from settings import Settings, apply_prefect_defaults, get_settings

__all__ = ["app", "run_flow_locally"]

T = TypeVar("T")

USAGE_ERROR = 2

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

# The clock of ``status`` (tests replace it).
now: Callable[[], datetime] = utcnow

app = typer.Typer(
    name="mysetlist",
    help="MySetlist sync: artist discovery, show and setlist sync, trending, health.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
check_app = typer.Typer(
    help="Verify settings, upstream APIs and the database.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(check_app, name="check")


@app.callback()
def _before_every_command() -> None:
    # Before any command imports Prefect, which reads its settings once (see PREFECT_DEFAULTS).
    apply_prefect_defaults()


# --- helpers -------------------------------------------------------------------------------------


def _fail(message: str, *, code: int = 1) -> NoReturn:
    err_console.print(f"[red]Error:[/red] {message}", soft_wrap=True)
    raise typer.Exit(code)


def _usage_error(message: str) -> NoReturn:
    _fail(message, code=USAGE_ERROR)


def _run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


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


def _url_secrets(settings: Settings) -> list[str]:
    from sqlalchemy.engine import make_url

    password = make_url(settings.database_url).password
    return [*settings.secret_values(), *([str(password)] if password else [])]


def _checks_table(title: str, checks: list[Check]) -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("part")
    table.add_column("status")
    table.add_column("detail", overflow="fold")
    for check in checks:
        colour = "green" if check.ok else ("red" if check.required else "yellow")
        table.add_row(check.part, f"[{colour}]{check.status}[/{colour}]", check.detail)
    return table


def _report_failures(checks: list[Check]) -> None:
    bad = failed(checks)
    if bad:
        _fail("failed: " + ", ".join(f"{check.part} ({check.status})" for check in bad))


def run_flow_locally(request: JobRequest) -> Any:
    """Run the job's flow in this process (Prefect records it on the configured or an ephemeral
    API) and return its result."""
    flow = load_flow(request.job)
    result = flow(**request.parameters)
    if inspect.isawaitable(result):
        return asyncio.run(_awaited(result))
    return result


async def _awaited(awaitable: Any) -> Any:
    return await awaitable


def _validated(
    job: str, *, mode: str | None, limit: int | None, dry_run: bool = False
) -> JobRequest:
    try:
        return validate_request(job, mode=mode, limit=limit, dry_run=dry_run)
    except InvalidJobRequest as exc:
        _usage_error(str(exc))


def _run_local(request: JobRequest, settings: Settings) -> None:
    from tasks.ratelimits import MissingRateLimits

    label = request.job.name + (f" (mode {request.mode})" if request.mode else "")
    console.print(f"Running [bold]{label}[/bold] in this process with {request.parameters} ...")
    try:
        result = run_flow_locally(request)
    except MissingRateLimits as exc:
        _fail(str(exc))
    except Exception as exc:
        _fail(
            f"{request.job.name} failed: {type(exc).__name__}: "
            f"{redact(str(exc), settings.secret_values())}"
        )
    console.print(f"[green]{request.job.name} finished[/green]")
    if isinstance(result, dict) and result:
        table = Table(title="counts", title_justify="left")
        table.add_column("key")
        table.add_column("value", justify="right")
        for key, value in sorted(result.items()):
            table.add_row(str(key), str(value))
        console.print(table)


# --- db ------------------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Option(help="Target Alembic revision.")] = "head",
) -> None:
    """Apply the schema migrations to DATABASE_URL."""
    from models.migrate import current_revision, upgrade

    settings = _settings()
    url = settings.database_url
    console.print(f"Migrating {safe_url(url)} to {revision} ...")
    _run(upgrade(url, revision))
    console.print(f"[green]database at revision {_run(current_revision(url))}[/green]")


# --- setup ---------------------------------------------------------------------------------------


@app.command()
def setup() -> None:
    """Create or update the Prefect rate limits, work pool and deployment variables."""
    from prefect.settings import PREFECT_API_URL

    from cli.setup import run_setup, steps_table

    settings = _settings()
    api = PREFECT_API_URL.value() or "an ephemeral local Prefect server"
    console.print(f"Setting up Prefect at {api} ...")
    console.print(steps_table(_run(run_setup(settings)), title="mysetlist setup"))


# --- sandbox, monitor, serve ---------------------------------------------------------------------


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
        str, typer.Option(help="Spotify app tier: extended or development.")
    ] = "extended",
) -> None:
    """Run the offline stand-in for Spotify, Ticketmaster and setlist.fm."""
    if spotify_tier not in ("extended", "development"):
        _usage_error(f"--spotify-tier must be extended or development, got {spotify_tier!r}")
    from sandbox.config import SandboxConfig
    from sandbox.server import run_server

    config = SandboxConfig(
        artists=artists,
        seed=seed,
        caps=caps,
        fault_rate=fault_rate,
        spotify_tier="development" if spotify_tier == "development" else "extended",
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
    if settings.cron_secret is None:
        err_console.print("[yellow]CRON_SECRET is not set: every route but /healthz answers 503")
    serve_monitor(settings, host=host, port=port)


def build_runner_deployments(settings: Settings) -> list[Any]:
    """The five deployments as ``RunnerDeployment`` objects for ``prefect.serve``."""
    from prefect.schedules import Cron

    return [
        load_flow(JOBS[definition.job]).to_deployment(
            name=definition.name,
            schedules=[Cron(definition.cron, timezone=settings.schedule_timezone)],
            parameters=dict(definition.parameters),
            description=definition.description,
        )
        for definition in DEPLOYMENTS
    ]


@app.command()
def serve() -> None:
    """Run the five scheduled deployments in this process (a small install, no worker)."""
    from prefect import serve as prefect_serve

    from cli.setup import run_setup

    settings = _settings()
    _run(run_setup(settings))
    deployments = build_runner_deployments(settings)
    names = ", ".join(definition.full_name for definition in DEPLOYMENTS)
    console.print(f"Serving {names} (timezone {settings.schedule_timezone})")
    prefect_serve(*deployments)


# --- running jobs --------------------------------------------------------------------------------

_JOB_HELP = (
    "One of: " + ", ".join(JOBS) + " (aliases: " + ", ".join(f"{a}" for a in JOB_ALIASES) + ")."
)


@app.command()
def trigger(
    job: Annotated[str, typer.Argument(help=_JOB_HELP)],
    mode: Annotated[str | None, typer.Option(help="The flow's mode.")] = None,
    limit: Annotated[
        int | None, typer.Option(help=f"Artists to handle ({MIN_LIMIT}-{MAX_LIMIT}).")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Fetch, write nothing.")] = False,
    local: Annotated[
        bool, typer.Option("--local", help="Run here instead of through a deployment.")
    ] = False,
) -> None:
    """Start a job: through its Prefect deployment, or in this process with --local."""
    request = _validated(job, mode=mode, limit=limit, dry_run=dry_run)
    settings = _settings()
    if local:
        _run_local(request, settings)
        return
    _trigger_deployment(request)


def _trigger_deployment(request: JobRequest) -> None:
    from prefect.settings import PREFECT_API_URL

    api = PREFECT_API_URL.value() or "the ephemeral local Prefect server"
    name = _run(_find_deployment(request))
    if name is None:
        _fail(
            f"no deployment of {request.job.name} is registered on {api}. "
            "Run it in this process with --local, or register the deployments with "
            "`mysetlist setup` then `prefect --no-prompt deploy --all`."
        )
    flow_run = _run(_start_deployment(name, request.parameters))
    from prefect.utilities.urls import url_for

    console.print(f"Started [bold]{name}[/bold] with {request.parameters}")
    console.print(f"flow run id: {flow_run.id}")
    url = url_for(flow_run)
    if url:
        console.print(f"flow run URL: {url}")


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


async def _start_deployment(name: str, parameters: dict[str, Any]) -> Any:
    from prefect.client.orchestration import get_client
    from prefect.deployments import run_deployment

    start: Any = run_deployment  # sync_compatible: a coroutine when awaited from async code
    async with get_client() as client:
        return await start(name, client=client, parameters=parameters, timeout=0)


@app.command()
def seed(
    limit: Annotated[
        int | None, typer.Option(help=f"Artists to discover and sync ({MIN_LIMIT}-{MAX_LIMIT}).")
    ] = None,
) -> None:
    """Fill an empty database: discovery, sync, master sync and trending, here and now."""
    request = _validated("seed-comprehensive", mode=None, limit=limit)
    _run_local(request, _settings())


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

    async def compute() -> Any:
        engine = make_engine(settings.database_url)
        try:
            return await compute_health(
                engine, hours=hours, now=now(), stale_after_hours=settings.sync_stale_after_hours
            )
        finally:
            await engine.dispose()

    try:
        report = _run(compute())
    except Exception as exc:
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        _fail(
            f"cannot compute the health report from {safe_url(settings.database_url)}: "
            f"{type(exc).__name__}: {redact(first_line, _url_secrets(settings))} "
            "(is the database migrated? `mysetlist db upgrade`)"
        )
    if as_json:
        sys.stdout.write(report.model_dump_json(by_alias=True) + "\n")
        return
    from monitor.render import render_report

    console.print(render_report(report))


@check_app.command("env")
def check_env() -> None:
    """Which settings are present, and one authenticated call per API."""
    settings = _settings()
    presence = check_settings(settings)
    console.print(_checks_table("settings", presence))
    apis = _run(check_apis(settings))
    console.print(_checks_table("upstream APIs", apis))
    _report_failures(presence + apis)
    console.print("[green]environment OK[/green]")


@check_app.command("db")
def check_db() -> None:
    """Connection, migrations at head, every table and index present, row counts."""
    settings = _settings()
    checks, counts = _run(check_database(settings))
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

    code = run_demo(console, artists=artists, limit=limit)
    if code:
        raise typer.Exit(code)


if __name__ == "__main__":  # pragma: no cover
    app()
