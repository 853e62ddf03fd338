"""The health report after every run: a Markdown artifact in the Prefect UI (one key, so the UI
keeps its history) and the ``mysetlist.health.scored`` event the low-health automation watches.

``publish_health`` is a Prefect state hook; ``cli/jobs.py`` attaches it to the deployed flows
(the flows themselves do not import the operations layer)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any, Final

from monitor.health import HealthReport, compute_health

__all__ = ["HEALTH_ARTIFACT_KEY", "health_markdown", "publish_health"]

HEALTH_ARTIFACT_KEY: Final = "mysetlist-health"
WINDOW_HOURS: Final = 24

logger = logging.getLogger("mysetlist.monitor")


def health_markdown(report: HealthReport) -> str:
    """The report as Markdown: scores, statistics, runs per job, latest errors."""
    score = report.health_score
    lines = [
        f"# MySetlist sync health — last {report.window.hours} h",
        "",
        "| score | value |",
        "| --- | ---: |",
        f"| overall | {score.overall} |",
        f"| sync coverage | {score.sync_coverage} |",
        f"| sync freshness | {score.sync_freshness} |",
        f"| trending coverage | {score.trending_coverage} |",
        f"| error rate (success %) | {score.error_rate} |",
        "",
        "| job | runs | success | partial | failed | crashed | last run |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    jobs = report.sync_summary
    for job, summary in (
        ("autonomous-sync", jobs.autonomous_sync),
        ("master-sync", jobs.master_sync),
        ("calculate-trending", jobs.trending_calc),
        ("seed-comprehensive", jobs.seed),
        ("sync-artist", jobs.sync_artist),
    ):
        last = summary.last_run
        last_text = f"{last.status.value} at {last.started_at.isoformat()}" if last else "—"
        lines.append(
            f"| {job} | {summary.runs} | {summary.success} | {summary.partial} | "
            f"{summary.errors} | {summary.crashed} | {last_text} |"
        )
    stats = report.statistics
    lines += [
        "",
        f"Artists {stats.artists.total}, shows {stats.shows.total}, "
        f"venues {stats.venues.total}, setlists {stats.setlists.total}.",
    ]
    if report.recent_errors:
        lines += ["", "## Latest errors", ""]
        lines += [f"- {e.source} {e.entity} {e.key}: {e.error}" for e in report.recent_errors]
    return "\n".join(lines)


async def publish_health(flow: Any, flow_run: Any, state: Any) -> None:
    """Prefect hook: compute the health report, publish it as the ``mysetlist-health`` artifact
    and emit its scores for the automations. Never fails the run it follows."""
    del flow, flow_run, state
    from prefect.artifacts import create_markdown_artifact

    from models.db import run_engine
    from models.types import utcnow
    from settings import get_settings
    from tasks.prefect_runs import emit_health_scored

    settings = get_settings()
    async with run_engine(settings.database_url) as engine:
        try:
            report = await compute_health(
                engine,
                hours=WINDOW_HOURS,
                now=utcnow(),
                stale_after_hours=settings.sync_stale_after_hours,
                run_stale_after=timedelta(minutes=settings.run_heartbeat_stale_minutes),
                settings=settings,
            )
            await create_markdown_artifact(  # type: ignore[misc]
                markdown=health_markdown(report),
                key=HEALTH_ARTIFACT_KEY,
                description="MySetlist sync health after this run",
            )
            emit_health_scored(
                scores=report.health_score.model_dump(),
                threshold=settings.alert_health_below,
                window_hours=WINDOW_HOURS,
            )
        except Exception as exc:
            logger.warning("health report not published: %s", type(exc).__name__)
