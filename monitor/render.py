"""The health report as a rich renderable, for ``mysetlist status``."""

from __future__ import annotations

from datetime import UTC, datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from monitor.health import HealthReport, JobSummary

__all__ = ["render_report", "score_style"]

_TIME = "%Y-%m-%d %H:%M"


def score_style(score: int) -> str:
    """Green from 80, yellow from 50, red below."""
    if score >= 80:
        return "green"
    if score >= 50:
        return "yellow"
    return "red"


def _when(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(UTC).strftime(_TIME)


def _score(score: int) -> Text:
    return Text(f"{score}%", style=score_style(score))


def _health_table(report: HealthReport) -> Table:
    scores = report.health_score
    table = Table(title="Health score", title_justify="left")
    table.add_column("Metric")
    table.add_column("Score", justify="right")
    table.add_row(Text("Overall", style="bold"), _score(scores.overall))
    table.add_row("Sync coverage", _score(scores.sync_coverage))
    table.add_row("Sync freshness", _score(scores.sync_freshness))
    table.add_row("Trending coverage", _score(scores.trending_coverage))
    table.add_row("Success rate", _score(scores.error_rate))
    return table


def _statistics_table(report: HealthReport) -> Table:
    stats = report.statistics
    table = Table(title="Statistics", title_justify="left")
    table.add_column("Table")
    table.add_column("Total", justify="right")
    table.add_column("Breakdown")
    artists, shows, venues = stats.artists, stats.shows, stats.venues
    table.add_row(
        "Artists",
        str(artists.total),
        f"synced {artists.synced}, needs sync {artists.needs_sync}",
    )
    table.add_row(
        "Shows",
        str(shows.total),
        f"upcoming {shows.upcoming}, completed {shows.completed}, "
        f"cancelled {shows.cancelled}, postponed {shows.postponed}",
    )
    table.add_row("Venues", str(venues.total), f"with shows {venues.with_shows}")
    table.add_row("Setlists", str(stats.setlists.total), "")
    return table


def _runs_table(report: HealthReport) -> Table:
    summary = report.sync_summary
    table = Table(title="Runs in the window", title_justify="left")
    for name in ("Job", "Runs", "Success", "Partial", "Failed", "Crashed", "Running"):
        table.add_column(name, justify="left" if name == "Job" else "right")
    table.add_column("Last run")
    jobs: tuple[tuple[str, JobSummary], ...] = (
        ("Master sync", summary.master_sync),
        ("Autonomous sync", summary.autonomous_sync),
        ("Trending", summary.trending_calc),
        ("Seed", summary.seed),
        ("Sync artist", summary.sync_artist),
    )
    for label, job in jobs:
        last = job.last_run
        last_text = (
            Text("never", style="dim")
            if last is None
            else Text(f"{last.status.value} {_when(last.started_at)}")
        )
        table.add_row(
            label,
            str(job.runs),
            str(job.success),
            Text(str(job.partial), style="yellow" if job.partial else ""),
            Text(str(job.errors), style="red" if job.errors else ""),
            Text(str(job.crashed), style="red" if job.crashed else ""),
            str(job.running),
            last_text,
        )
    return table


def _trending_table(report: HealthReport) -> Table | None:
    artists, shows = report.trending.artists, report.trending.shows
    if not artists and not shows:
        return None
    table = Table(title="Trending", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("Artist")
    table.add_column("Score", justify="right")
    table.add_column("Show")
    table.add_column("Score", justify="right")
    for rank in range(max(len(artists), len(shows))):
        artist = artists[rank] if rank < len(artists) else None
        show = shows[rank] if rank < len(shows) else None
        show_label = ""
        if show is not None:
            where = f" @ {show.venue_name}" if show.venue_name else ""
            show_label = f"{show.artist_name} {show.local_date.isoformat()}{where}"
        table.add_row(
            str(rank + 1),
            artist.name if artist else "",
            f"{artist.trending_score:.1f}" if artist else "",
            show_label,
            f"{show.trending_score:.1f}" if show else "",
        )
    return table


def _errors_renderable(report: HealthReport) -> RenderableType:
    if not report.recent_errors:
        return Text("No unresolved sync errors.", style="green")
    table = Table(title="Recent errors", title_justify="left")
    table.add_column("Last seen")
    table.add_column("Source")
    table.add_column("Key")
    table.add_column("Tries", justify="right")
    table.add_column("Error", style="red")
    for error in report.recent_errors:
        table.add_row(
            _when(error.last_seen_at), error.source, error.key, str(error.attempts), error.error
        )
    return table


def render_report(report: HealthReport) -> RenderableType:
    """Every section of the report, scores coloured green/yellow/red."""
    window = report.window
    discovery = report.sync_summary.discovery
    parts: list[RenderableType] = [
        Text(
            f"Sync health, last {window.hours} h ({_when(window.from_)} to {_when(window.to)} UTC)",
            style="bold",
        ),
        _health_table(report),
        _statistics_table(report),
        _runs_table(report),
        Text(f"Discovery: {discovery.found} artists found, {discovery.added} added"),
    ]
    trending = _trending_table(report)
    if trending is not None:
        parts.append(trending)
    parts.append(_errors_renderable(report))
    return Group(*parts)
