"""``mysetlist check env`` and ``check db``: what is configured, reachable and in place.

Every result is a ``Check`` row; a failed required row makes the command exit non-zero. No
secret value ever reaches a row: settings are reported as present or missing, and error texts
come from the clients (which redact) and are redacted again here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import UniqueConstraint, func, inspect, select, text
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

from clients.errors import (
    AuthError,
    EndpointUnavailable,
    QuotaExhausted,
    RetriesExhausted,
    UpstreamError,
    redact,
)
from clients.ratelimit import NoLimiter
from models.db import make_engine
from models.types import utcnow

if TYPE_CHECKING:
    import httpx
    from sqlalchemy.engine import Connection

    from settings import Settings

__all__ = [
    "Check",
    "check_apis",
    "check_database",
    "check_settings",
    "failed",
    "safe_url",
    "sqlite_file",
]

# One request per API, quickly: a probe is not a sync run.
_PROBE_OVERRIDES: Final[dict[str, Any]] = {"http_max_retries": 1, "http_timeout_seconds": 10.0}


@dataclass(frozen=True, slots=True)
class Check:
    """One checked part: ``ok`` False on a required part fails the command."""

    part: str
    ok: bool
    status: str
    detail: str = ""
    required: bool = True


def failed(checks: list[Check]) -> list[Check]:
    """The required parts that failed."""
    return [check for check in checks if check.required and not check.ok]


def safe_url(url: str) -> str:
    """``url`` with any password masked."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url``; None for other databases, in-memory ones and bad URLs."""
    try:
        parsed = make_url(url)
    except Exception:
        return None
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):  # a URI filename: SQLite parses it
        return None
    return Path(database)


# --- environment ---------------------------------------------------------------------------------

_SECRETS: Final[tuple[tuple[str, str], ...]] = (
    ("SPOTIFY_CLIENT_ID", "spotify_client_id"),
    ("SPOTIFY_CLIENT_SECRET", "spotify_client_secret"),
    ("TICKETMASTER_API_KEY", "ticketmaster_api_key"),
    ("SETLISTFM_API_KEY", "setlistfm_api_key"),
    ("CRON_SECRET", "cron_secret"),
)
_BASE_URLS: Final[tuple[tuple[str, str], ...]] = (
    ("SPOTIFY_API_URL", "spotify_api_url"),
    ("SPOTIFY_ACCOUNTS_URL", "spotify_accounts_url"),
    ("TICKETMASTER_API_URL", "ticketmaster_api_url"),
    ("SETLISTFM_API_URL", "setlistfm_api_url"),
)


def check_settings(settings: Settings) -> list[Check]:
    """Which settings are present (never their values, except URLs without passwords), and
    where each secret came from (environment, .env, a Prefect Secret block)."""
    from settings import Settings, secret_origins

    defaults = Settings.model_fields
    origins = secret_origins(settings)
    checks = [
        Check(
            "DATABASE_URL",
            True,
            "set" if "database_url" in settings.model_fields_set else "default",
            safe_url(settings.database_url),
        )
    ]
    for env, field in _SECRETS:
        secret = getattr(settings, field)
        present = secret is not None and bool(secret.get_secret_value().strip())
        checks.append(Check(env, present, "set" if present else "missing", origins.get(env, "")))
    for env, field in _BASE_URLS:
        value = getattr(settings, field)
        is_default = value == defaults[field].default
        checks.append(Check(env, True, "default" if is_default else "overridden", value))
    return checks


def _failure(part: str, exc: Exception, secrets: list[str]) -> Check:
    message = redact(str(exc), secrets)
    if isinstance(exc, AuthError):
        return Check(part, False, "bad key", message)
    if isinstance(exc, QuotaExhausted):
        return Check(part, False, "quota exhausted", message)
    if isinstance(exc, EndpointUnavailable):
        return Check(part, False, "tier limits", message)
    if isinstance(exc, RetriesExhausted):
        if exc.status is None:
            return Check(part, False, "unreachable", message)
        if exc.status == 429:
            return Check(part, False, "rate limited", message)
        return Check(part, False, f"server error {exc.status}", message)
    if isinstance(exc, UpstreamError):
        return Check(part, False, f"error {exc.status or ''}".strip(), message)
    return Check(part, False, "unreachable", f"{type(exc).__name__}: {message}")


async def _check_spotify(settings: Settings, http: httpx.AsyncClient | None) -> Check:
    from clients.spotify import SpotifyClient

    async with SpotifyClient.from_settings(settings, http=http, limiter=NoLimiter()) as client:
        await client.probe()
        notes = client.degradation_notes()
    if notes:
        return Check("Spotify", True, "OK (tier limits)", "; ".join(notes))
    return Check("Spotify", True, "OK", "extended quota: every endpoint the sync uses answered")


async def _check_ticketmaster(settings: Settings, http: httpx.AsyncClient | None) -> Check:
    from clients.ticketmaster import TicketmasterClient

    now = utcnow().replace(microsecond=0)
    async with TicketmasterClient.from_settings(settings, http=http, limiter=NoLimiter()) as client:
        page = await client.events_page(start=now, end=now + timedelta(days=30), size=1)
        quota = client.rate_limit_status
    detail = f"{page.total_elements} music events in the next 30 days"
    if quota is not None and quota.available is not None and quota.limit is not None:
        detail += f"; daily quota {quota.available} of {quota.limit} left"
    return Check("Ticketmaster", True, "OK", detail)


async def _check_setlistfm(settings: Settings, http: httpx.AsyncClient | None) -> Check:
    from clients.setlistfm import SetlistFmClient

    async with SetlistFmClient.from_settings(settings, http=http, limiter=NoLimiter()) as client:
        artists = await client.search_artists(name="Radiohead")
    return Check("setlist.fm", True, "OK", f"artist search answered ({len(artists)} found)")


async def check_apis(settings: Settings, *, http: httpx.AsyncClient | None = None) -> list[Check]:
    """One real authenticated call per API through our clients (to the sandbox when the base
    URLs point at it). An API without credentials is reported ``not configured``."""
    probe_settings = settings.model_copy(update=_PROBE_OVERRIDES)
    secrets = settings.secret_values()
    configured = {
        "Spotify": settings.spotify_client_id is not None
        and settings.spotify_client_secret is not None,
        "Ticketmaster": settings.ticketmaster_api_key is not None,
        "setlist.fm": settings.setlistfm_api_key is not None,
    }
    probes = {
        "Spotify": _check_spotify,
        "Ticketmaster": _check_ticketmaster,
        "setlist.fm": _check_setlistfm,
    }
    checks: list[Check] = []
    for part, probe in probes.items():
        if not configured[part]:
            checks.append(Check(part, False, "not configured", "credentials missing"))
            continue
        try:
            check = await probe(probe_settings, http)
        except Exception as exc:
            check = _failure(part, exc, secrets)
        checks.append(replace(check, detail=redact(check.detail, secrets)))
    return checks


# --- database ------------------------------------------------------------------------------------


def _schema_checks(conn: Connection) -> tuple[list[Check], list[str]]:
    """Tables, indexes and unique constraints of the metadata; the tables present."""
    inspector = inspect(conn)
    present = set(inspector.get_table_names())
    checks: list[Check] = []
    missing_tables: list[str] = []
    missing_indexes: list[str] = []
    missing_uniques: list[str] = []
    for table in SQLModel.metadata.sorted_tables:
        if table.name not in present:
            missing_tables.append(table.name)
            continue
        reflected = inspector.get_indexes(table.name)
        index_names = {index["name"] for index in reflected}
        unique_sets = {
            frozenset(index["column_names"]) for index in reflected if index.get("unique")
        } | {
            frozenset(constraint["column_names"])
            for constraint in inspector.get_unique_constraints(table.name)
        }
        for index in table.indexes:
            if index.name not in index_names:
                missing_indexes.append(str(index.name))
        for constraint in table.constraints:
            if not isinstance(constraint, UniqueConstraint):
                continue
            columns = [column.name for column in constraint.columns]
            if frozenset(columns) not in unique_sets:
                missing_uniques.append(f"{table.name}({', '.join(columns)})")
    total = len(SQLModel.metadata.sorted_tables)
    checks.append(
        Check(
            "tables",
            not missing_tables,
            f"{total - len(missing_tables)} of {total} present",
            "missing: " + ", ".join(missing_tables) if missing_tables else "",
        )
    )
    checks.append(
        Check(
            "indexes",
            not missing_indexes,
            "all present" if not missing_indexes else f"{len(missing_indexes)} missing",
            ", ".join(missing_indexes),
        )
    )
    checks.append(
        Check(
            "unique keys",
            not missing_uniques,
            "all present" if not missing_uniques else f"{len(missing_uniques)} missing",
            ", ".join(missing_uniques),
        )
    )
    return checks, sorted(present)


async def check_database(settings: Settings) -> tuple[list[Check], dict[str, int]]:
    """Connection, migrations at head, schema objects present; row counts per table."""
    from models.migrate import current_revision, head_revision

    url = settings.database_url
    counts: dict[str, int] = {}
    path = sqlite_file(url)
    if path is not None and not path.exists():  # connecting would create an empty file
        detail = f"{path} does not exist: run `mysetlist db upgrade`, or fix DATABASE_URL"
        return [Check("connection", False, "no database", detail)], counts
    engine = make_engine(url)
    try:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
                dialect = conn.dialect.name
        except Exception as exc:
            password = make_url(url).password
            first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            message = redact(first_line, [str(password)] if password else [])
            return [Check("connection", False, "unreachable", message)], counts
        checks = [Check("connection", True, "OK", f"{dialect}: {safe_url(url)}")]

        head = head_revision()
        current = await current_revision(url)
        if current == head:
            checks.append(Check("migrations", True, "at head", str(head)))
        elif current is None:
            checks.append(Check("migrations", False, "not applied", "run `mysetlist db upgrade`"))
        else:
            checks.append(
                Check(
                    "migrations",
                    False,
                    "behind",
                    f"at {current}, head is {head}: run `mysetlist db upgrade`",
                )
            )

        async with engine.connect() as conn:
            schema, present = await conn.run_sync(_schema_checks)
            checks.extend(schema)
            wanted = {table.name: table for table in SQLModel.metadata.sorted_tables}
            for name in present:
                if name in wanted:
                    counts[name] = int(
                        (
                            await conn.execute(select(func.count()).select_from(wanted[name]))
                        ).scalar_one()
                    )
        return checks, counts
    finally:
        await engine.dispose()
