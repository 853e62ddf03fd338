"""``calculate-trending``: trending scores of artists and shows (0-100), in the database.

Modes: ``hourly`` and ``daily`` rewrite the inputs of the artists and shows that changed since
the previous run (new events, catalogue edits: no rescan of all the activity; scores are
computed when read, ``models/trending/scores.py``); ``daily`` also keeps the day's top scores in
the history, then, as a step of its own, forecasts each artist's score on the next 7 days
(``models/trending/forecast.py``). ``full`` rebuilds every input from the raw events (repairs,
checks) and gives the same scores. Deployed
hourly at :30 and daily at 07:00. ``daily`` and ``full`` then compute geographic trending and
similar artists (``models/insights.py``). ``dry_run`` computes and ranks, then rolls back;
it skips the forecast (which reads the committed state) and reports it as skipped.
"""

from __future__ import annotations

from datetime import datetime

from prefect import flow, get_run_logger
from pydantic import AwareDatetime, BaseModel, ConfigDict

from flows._runs import RunTracker, tracked_run
from models.ledger import JOB_CALCULATE_TRENDING
from models.trending import RankedEntity, TrendingMode, TrendingResult
from models.types import utcnow
from tasks.insights import recalculate_insights_task
from tasks.trending import recalculate_forecast_task, recalculate_trending_task

__all__ = ["CalculateTrendingParams", "calculate_trending"]


class CalculateTrendingParams(BaseModel):
    """The flow's parameters; ``as_of`` replaces the clock (replays, tests)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: TrendingMode = "daily"
    dry_run: bool = False
    as_of: AwareDatetime | None = None


@flow(name="calculate-trending", validate_parameters=True)
async def calculate_trending(
    mode: TrendingMode = "daily",
    dry_run: bool = False,
    as_of: datetime | None = None,
) -> dict[str, int]:
    """Recalculate trending scores (``hourly``, ``daily`` or ``full``)."""
    params = CalculateTrendingParams(mode=mode, dry_run=dry_run, as_of=as_of)
    async with tracked_run(
        job=JOB_CALCULATE_TRENDING, mode=params.mode, parameters=params, dry_run=params.dry_run
    ) as run:
        now = params.as_of or utcnow()
        result = await recalculate_trending_task(
            run.engine,
            mode=params.mode,
            now=now,
            settings=run.settings,
            dry_run=params.dry_run,
        )
        _report(run, result)
        if params.mode != "hourly":
            if params.dry_run:
                # The forecast reads the committed scores' inputs, which a dry run rolled
                # back: it would forecast from the previous run's state. Skipped, and said so.
                run.summary_lines.append(
                    "Forecast: skipped (dry run: it reads the committed state, and this run's "
                    "was rolled back)."
                )
            else:
                # The forecast: a step of its own, in its own transaction.
                forecast_rows = await recalculate_forecast_task(
                    run.engine, now=now, settings=run.settings
                )
                run.count("forecast_rows", forecast_rows)
                run.summary_lines.append(
                    f"Forecast: {forecast_rows} rows (each artist's next 7 days)."
                )
            # Geographic trending and similar artists, from the scores just written.
            insights = await recalculate_insights_task(
                run.engine, now=now, settings=run.settings, dry_run=params.dry_run
            )
            for key, value in insights.counts().items():
                run.count(key, value)
            run.summary_lines.append(
                f"Insights: {insights.similar_rows} similar-artist rows; geographic rows "
                + ", ".join(f"{k} {v}" for k, v in insights.geo_rows.items())
                + "."
            )
        return dict(run.counts)


def _report(run: RunTracker, result: TrendingResult) -> None:
    for key, value in result.counts().items():
        run.count(key, value)
    since = result.since.isoformat() if result.since else "the previous run"
    source = (
        "activity recomputed from every event"
        if result.full
        else f"stored activity plus the events since {since}"
    )
    lines = [
        f"Trending ({result.mode}) as of {result.now.isoformat()}: {source}.",
        f"Rewritten: {result.artists_scored} artists and {result.shows_scored} shows "
        f"({result.artists_added} artists and {result.shows_added} shows scored for the first "
        f"time); {result.history_rows} history rows.",
    ]
    if result.dry_run:
        lines.append("Dry run: computed and ranked, then rolled back; nothing was written.")
    lines += _ranking("Top artists", result.top_artists)
    lines += _ranking("Top shows", result.top_shows)
    run.summary_lines.extend(lines)
    run.changes.extend(
        {"kind": kind, "rank": rank, "id": entity.id, "name": entity.name, "score": entity.score}
        for kind, ranked in (("artist", result.top_artists), ("show", result.top_shows))
        for rank, entity in enumerate(ranked, start=1)
    )
    get_run_logger().info("%s", " ".join(lines[:2]))


def _ranking(title: str, ranked: tuple[RankedEntity, ...]) -> list[str]:
    if not ranked:
        return ["", f"{title}: none scored."]
    return ["", f"{title}:", ""] + [
        f"{rank}. {entity.name} (#{entity.id}) — {entity.score:.2f}"
        for rank, entity in enumerate(ranked, start=1)
    ]
