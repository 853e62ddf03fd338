"""The status page (``GET /status``): the health report and what a person reads it with, as one
server-rendered HTML page — no script, no front-end build, inline CSS and SVG.

It shows the health scores, the last runs of each job as a timeline, today's quota use per API,
the top trending artists and shows each with a sparkline of its last 30 days from
``trending_history``, and the latest errors. ``status_data`` reads it all (the health report plus
three ``SELECT``s); ``render_status`` and ``render_login`` build the HTML, every value escaped.

The page is laid out for a phone first: one column, tables that wrap their cells, nothing wider
than 360 px (tested in Chromium, ``tests/monitor/test_status_browser.py``).

Sessions: the login form posts the secret once; the answer sets a cookie holding
``<expiry>.<HMAC-SHA256(secret, "status-session:<expiry>")>`` — never the secret itself —
HttpOnly, SameSite=Strict, Path=/status, Secure over HTTPS. Changing ``CRON_SECRET`` ends every
session. The cookie is accepted on ``GET /status`` only; scripts keep the bearer token.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from typing import Any, Final

from sqlalchemy import Table, and_, func, literal, select
from sqlalchemy.ext.asyncio import AsyncEngine

from clients.ratelimit import API_NAMES, SETLISTFM, SPOTIFY, TICKETMASTER
from models.ledger import (
    JOB_AUTONOMOUS_SYNC,
    JOB_CALCULATE_TRENDING,
    JOB_MASTER_SYNC,
    JOB_SEED,
    JOB_SYNC_ARTIST,
)
from models.rate_leases import RateQuotaDay
from models.tables import RunStatus, SyncRun, TrendingHistory
from monitor.health import HealthReport, compute_health
from settings import Settings

__all__ = [
    "SESSION_COOKIE",
    "SESSION_HOURS",
    "SPARK_DAYS",
    "TIMELINE_RUNS",
    "QuotaUse",
    "RunMark",
    "StatusData",
    "make_session",
    "render_login",
    "render_status",
    "session_is_valid",
    "sparkline_svg",
    "status_data",
]

SESSION_COOKIE: Final = "mysetlist_status"
SESSION_HOURS: Final = 12
#: Runs per job on the timeline, oldest left.
TIMELINE_RUNS: Final = 20
#: Days of a sparkline, today included.
SPARK_DAYS: Final = 30
TOP: Final = 10
JOBS: Final = (
    ("Master sync", JOB_MASTER_SYNC),
    ("Autonomous sync", JOB_AUTONOMOUS_SYNC),
    ("Trending", JOB_CALCULATE_TRENDING),
    ("Seed", JOB_SEED),
    ("Sync artist", JOB_SYNC_ARTIST),
)

_runs: Table = SyncRun.__table__  # type: ignore[attr-defined]
_quota_days: Table = RateQuotaDay.__table__  # type: ignore[attr-defined]
_history: Table = TrendingHistory.__table__  # type: ignore[attr-defined]


# --- Sessions ---------------------------------------------------------------------------------


def _signature(secret: bytes, expires: int) -> str:
    return hmac.new(secret, f"status-session:{expires}".encode(), hashlib.sha256).hexdigest()


def make_session(secret: bytes, *, now: datetime) -> tuple[str, int]:
    """A session cookie's value and its lifetime in seconds."""
    lifetime = SESSION_HOURS * 3600
    expires = int(now.timestamp()) + lifetime
    return f"{expires}.{_signature(secret, expires)}", lifetime


def session_is_valid(secret: bytes, value: str, *, now: datetime) -> bool:
    """Whether ``value`` is a session cookie signed with ``secret`` and not expired."""
    expires_text, _, signature = value.partition(".")
    if not expires_text.isdigit() or len(expires_text) > 12:
        return False
    expires = int(expires_text)
    if expires <= now.timestamp():
        return False
    return hmac.compare_digest(signature.encode(), _signature(secret, expires).encode())


# --- The data -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunMark:
    """One run on the timeline."""

    id: int
    status: str
    mode: str | None
    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class QuotaUse:
    """Requests reserved today (UTC) against one API's quota; ``cap`` None: no daily cap."""

    api: str
    used: int
    cap: int | None


@dataclass(frozen=True, slots=True)
class StatusData:
    report: HealthReport
    runs: dict[str, list[RunMark]]
    quota: list[QuotaUse]
    # (kind, id) -> score per day of the last SPARK_DAYS days, oldest first, None when absent.
    sparks: dict[tuple[str, int], list[float | None]]
    today: date


def _daily_caps(settings: Settings) -> dict[str, int | None]:
    return {
        SPOTIFY: None,
        TICKETMASTER: settings.ticketmaster_requests_per_day,
        SETLISTFM: settings.setlistfm_requests_per_day,
    }


async def status_data(engine: AsyncEngine, *, now: datetime, settings: Settings) -> StatusData:
    """Everything the page shows, as of ``now``."""
    report = await compute_health(
        engine,
        hours=24,
        now=now,
        stale_after_hours=settings.sync_stale_after_hours,
        top=TOP,
        settings=settings,
    )
    today = now.astimezone(UTC).date()
    first_day = today - timedelta(days=SPARK_DAYS - 1)
    wanted = [("artist", a.id) for a in report.trending.artists] + [
        ("show", s.id) for s in report.trending.shows
    ]
    r = _runs.c
    rank = (
        func.row_number()
        .over(partition_by=r.job, order_by=(r.started_at.desc(), r.id.desc()))
        .label("rank")
    )
    latest = (
        select(r.id, r.job, r.status, r.mode, r.started_at, r.finished_at, rank)
        .where(r.job.in_([job for _, job in JOBS]), r.started_at <= now)
        .subquery()
    )
    async with engine.connect() as conn:
        run_rows = (
            await conn.execute(
                select(latest)
                .where(latest.c.rank <= literal(TIMELINE_RUNS))
                .order_by(latest.c.job, latest.c.started_at, latest.c.id)
            )
        ).all()
        quota_rows = (
            await conn.execute(
                select(_quota_days.c.api, _quota_days.c.used).where(_quota_days.c.day == today)
            )
        ).all()
        h = _history.c
        history_rows: list[Any] = []
        for kind in ("artist", "show"):
            ids = [entity_id for k, entity_id in wanted if k == kind]
            if ids:
                history_rows += (
                    await conn.execute(
                        select(h.entity_type, h.entity_id, h.day, h.score).where(
                            and_(
                                h.entity_type == kind,
                                h.entity_id.in_(ids),
                                h.day >= first_day,
                                h.day <= today,
                            )
                        )
                    )
                ).all()
    runs: dict[str, list[RunMark]] = {job: [] for _, job in JOBS}
    for row in run_rows:
        runs[row.job].append(
            RunMark(
                id=row.id,
                status=row.status,
                mode=row.mode,
                started_at=row.started_at,
                finished_at=row.finished_at,
            )
        )
    used = {row.api: int(row.used) for row in quota_rows}
    caps = _daily_caps(settings)
    quota = [QuotaUse(api=api, used=used.get(api, 0), cap=caps.get(api)) for api in API_NAMES]
    sparks: dict[tuple[str, int], list[float | None]] = {key: [None] * SPARK_DAYS for key in wanted}
    for row in history_rows:
        sparks[(row.entity_type, row.entity_id)][(row.day - first_day).days] = float(row.score)
    return StatusData(report=report, runs=runs, quota=quota, sparks=sparks, today=today)


# --- HTML -----------------------------------------------------------------------------------

_CSS = """
*{box-sizing:border-box}
body{font:15px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1b1f24;
background:#f6f7f9}
main{max-width:960px;margin:0 auto;padding:12px}
h1{font-size:1.3em;margin:.2em 0}h2{font-size:1.05em;margin:1.2em 0 .4em}
section{background:#fff;border:1px solid #dde1e6;border-radius:8px;padding:10px 12px;
margin-bottom:12px;overflow-wrap:break-word}
.muted{color:#5b6570;font-size:.9em}
.scores{display:flex;flex-wrap:wrap;gap:8px;margin:0;padding:0;list-style:none}
.scores li{flex:1 1 130px;border-radius:6px;padding:6px 8px;background:#f1f3f5}
.scores b{display:block;font-size:1.5em}
.good b{color:#1a7f37}.fair b{color:#9a6700}.bad b{color:#cf222e}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #eceff2;vertical-align:middle}
th{font-weight:600;font-size:.85em;color:#5b6570;white-space:nowrap}
td{overflow-wrap:anywhere}
td.n{text-align:right;white-space:nowrap}
.job{margin:6px 0}.job span.name{display:inline-block;min-width:8em;font-weight:600}
.marks{display:flex;flex-wrap:wrap;gap:3px;margin-top:3px}
.mark{width:12px;height:18px;border-radius:2px;display:inline-block}
.s-success{background:#2da44e}.s-partial{background:#d4a72c}.s-failed{background:#cf222e}
.s-crashed{background:#6e40c9}.s-running{background:#0969da}
.bar{height:8px;background:#eceff2;border-radius:4px;overflow:hidden;min-width:60px}
.bar i{display:block;height:100%;background:#0969da}
.bar i.hot{background:#cf222e}
svg.spark{width:100px;height:24px;display:block}
form.login{display:flex;flex-direction:column;gap:8px;max-width:340px}
input,button{font:inherit;padding:8px;border-radius:6px;border:1px solid #b6bec7}
button{background:#0969da;color:#fff;border-color:#0969da;cursor:pointer}
.error{color:#cf222e}
header{display:flex;justify-content:space-between;align-items:center;flex-wrap:wrap;gap:6px}
"""

_TIME = "%Y-%m-%d %H:%M"


def _page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width,initial-scale=1'>"
        "<meta name='robots' content='noindex'>"
        f"<title>{escape(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}</main></body></html>\n"
    )


def render_login(*, failed: bool = False) -> str:
    """The login form: the secret, posted once to ``/status/login``."""
    message = "<p class='error' role='alert'>Wrong secret.</p>" if failed else ""
    return _page(
        "MySetlist sync — sign in",
        "<h1>MySetlist sync status</h1>"
        "<section><p>Sign in with the monitor's secret (CRON_SECRET).</p>"
        f"{message}"
        "<form class='login' method='post' action='/status/login'>"
        "<label for='secret'>Secret</label>"
        "<input id='secret' name='secret' type='password' autocomplete='current-password' "
        "required autofocus>"
        "<button type='submit'>Sign in</button></form></section>",
    )


def _when(moment: datetime | None) -> str:
    return "—" if moment is None else moment.astimezone(UTC).strftime(_TIME)


def _score_class(score: int) -> str:
    return "good" if score >= 80 else "fair" if score >= 50 else "bad"


def sparkline_svg(points: list[float | None], *, label: str) -> str:
    """An inline SVG line of daily scores (0-100), one x step per day, gaps where absent."""
    width, height, pad = 100.0, 24.0, 2.0
    step = width / max(1, len(points) - 1)
    segments: list[list[str]] = []
    current: list[str] = []
    for index, value in enumerate(points):
        if value is None:
            if current:
                segments.append(current)
                current = []
            continue
        y = pad + (height - 2 * pad) * (1.0 - max(0.0, min(100.0, value)) / 100.0)
        current.append(f"{index * step:.1f},{y:.1f}")
    if current:
        segments.append(current)
    shapes = []
    for segment in segments:
        if len(segment) == 1:
            cx, cy = segment[0].split(",")
            shapes.append(f"<circle cx='{cx}' cy='{cy}' r='1.5' fill='#0969da'/>")
        else:
            shapes.append(
                f"<polyline fill='none' stroke='#0969da' stroke-width='1.5' "
                f"points='{' '.join(segment)}'/>"
            )
    days = sum(1 for value in points if value is not None)
    title = f"{label}: {days} of the last {len(points)} days in the history"
    return (
        f"<svg class='spark' viewBox='0 0 {width:.0f} {height:.0f}' role='img' "
        f"aria-label='{escape(title)}'><title>{escape(title)}</title>"
        f"<line x1='0' y1='{height - pad}' x2='{width:.0f}' y2='{height - pad}' "
        f"stroke='#dde1e6' stroke-width='1'/>{''.join(shapes)}</svg>"
    )


def _scores(report: HealthReport) -> str:
    s = report.health_score
    items = (
        ("Overall", s.overall),
        ("Sync coverage", s.sync_coverage),
        ("Sync freshness", s.sync_freshness),
        ("Trending coverage", s.trending_coverage),
        ("Success rate", s.error_rate),
    )
    cells = "".join(
        f"<li class='{_score_class(value)}'><span>{escape(name)}</span><b>{value}%</b></li>"
        for name, value in items
    )
    return (
        f"<section id='health'><h2>Health (last 24 h)</h2><ul class='scores'>{cells}</ul></section>"
    )


def _timeline(data: StatusData) -> str:
    rows = []
    for label, job in JOBS:
        marks = data.runs.get(job, [])
        if marks:
            last = marks[-1]
            latest = f"last: {escape(last.status)} at {_when(last.started_at)}"
        else:
            latest = "never ran"
        blocks = "".join(
            f"<span class='mark s-{escape(m.status)}' title='#{m.id} {escape(m.status)}"
            f"{' (' + escape(m.mode) + ')' if m.mode else ''} {_when(m.started_at)} → "
            f"{_when(m.finished_at)}'></span>"
            for m in marks
        )
        rows.append(
            f"<div class='job' data-job='{escape(job)}'><span class='name'>{escape(label)}</span> "
            f"<span class='muted'>{latest}</span><div class='marks'>{blocks}</div></div>"
        )
    legend = " ".join(
        f"<span class='mark s-{status.value}'></span> {status.value}" for status in RunStatus
    )
    return (
        f"<section id='runs'><h2>Last runs (up to {TIMELINE_RUNS} per job, oldest left)</h2>"
        f"{''.join(rows)}<p class='muted'>{legend}</p></section>"
    )


def _quota(data: StatusData) -> str:
    rows = []
    for use in data.quota:
        if use.cap is None:
            share, bar = "no daily cap", ""
        else:
            percent = min(100.0, 100.0 * use.used / use.cap) if use.cap else 0.0
            hot = " class='hot'" if percent >= 90 else ""
            share = f"{use.used} / {use.cap}"
            bar = f"<div class='bar'><i{hot} style='width:{percent:.0f}%'></i></div>"
        rows.append(
            f"<tr data-api='{escape(use.api)}'><td>{escape(use.api)}</td>"
            f"<td class='n'>{use.used if use.cap is None else share}</td><td>"
            f"{bar if use.cap is not None else share}</td></tr>"
        )
    return (
        f"<section id='quota'><h2>Quota used today ({data.today.isoformat()} UTC)</h2>"
        "<table><thead><tr><th>API</th><th>Requests</th><th>Of the daily cap</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></section>"
    )


def _trending(data: StatusData) -> str:
    report = data.report
    artist_rows = "".join(
        f"<tr><td class='n'>{rank}</td><td>{escape(a.name)}</td>"
        f"<td class='n'>{a.trending_score:.1f}</td>"
        f"<td>{sparkline_svg(data.sparks.get(('artist', a.id), []), label=a.name)}</td></tr>"
        for rank, a in enumerate(report.trending.artists, start=1)
    )
    show_rows = []
    for rank, s in enumerate(report.trending.shows, start=1):
        where = f" @ {s.venue_name}" if s.venue_name else ""
        label = f"{s.artist_name} {s.local_date.isoformat()}{where}"
        show_rows.append(
            f"<tr><td class='n'>{rank}</td><td>{escape(label)}</td>"
            f"<td class='n'>{s.trending_score:.1f}</td>"
            f"<td>{sparkline_svg(data.sparks.get(('show', s.id), []), label=label)}</td></tr>"
        )
    head = "<thead><tr><th>#</th><th>{}</th><th>Score</th><th>30 days</th></tr></thead>"
    empty = "<p class='muted'>Nothing scored yet.</p>"
    artists = (
        f"<table id='trending-artists'>{head.format('Artist')}<tbody>{artist_rows}</tbody></table>"
        if artist_rows
        else empty
    )
    shows = (
        f"<table id='trending-shows'>{head.format('Show')}<tbody>{''.join(show_rows)}</tbody>"
        "</table>"
        if show_rows
        else empty
    )
    return (
        "<section id='trending'><h2>Trending artists</h2>"
        f"{artists}<h2>Trending shows</h2>{shows}</section>"
    )


def _errors(data: StatusData) -> str:
    errors = data.report.recent_errors
    if not errors:
        return (
            "<section id='errors'><h2>Latest errors</h2><p>No unresolved sync errors.</p></section>"
        )
    rows = "".join(
        f"<tr><td>{_when(e.last_seen_at)}</td><td>{escape(e.source)}</td>"
        f"<td>{escape(e.key)}</td><td class='n'>{e.attempts}</td>"
        f"<td class='error'>{escape(e.error)}</td></tr>"
        for e in errors
    )
    return (
        "<section id='errors'><h2>Latest errors</h2><table><thead><tr><th>Last seen</th>"
        "<th>Source</th><th>Key</th><th>Tries</th><th>Error</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def render_status(data: StatusData, *, signed_in: bool) -> str:
    """The whole page. ``signed_in`` (a cookie session) adds the sign-out button."""
    report = data.report
    stats = report.statistics
    sign_out = (
        "<form method='post' action='/status/logout'><button type='submit'>Sign out</button></form>"
        if signed_in
        else ""
    )
    summary = (
        f"<p class='muted'>As of {_when(report.window.to)} UTC · {stats.artists.total} artists "
        f"({stats.artists.synced} synced) · {stats.shows.total} shows · "
        f"{stats.venues.total} venues · {stats.setlists.total} setlists</p>"
    )
    body = (
        f"<header><h1>MySetlist sync status</h1>{sign_out}</header>{summary}"
        f"{_scores(report)}{_timeline(data)}{_quota(data)}{_trending(data)}"
        f"{_errors(data)}"
    )
    return _page("MySetlist sync status", body)
