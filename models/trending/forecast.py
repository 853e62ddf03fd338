"""The trending forecast: each artist's expected score on each of the next ``FORECAST_DAYS`` days.

The formula itself, evaluated at future instants (``now + h`` days, the time of day of the run
that forecasts) on what is known now:

- **scheduled shows**: the upcoming-shows sum of the shows stored now, as the formula computes it
  on that future day (each show's proximity grows as it nears; a show dated before that day
  leaves the sum);
- **activity decay**: the stored decayed sums (views, net follows, votes, attendance) aged from
  their ``as_of`` to the future instant with the formula's own half-life; no new events assumed;
- **growth trend**: the weekly Spotify follower growth stored by the run, held constant, and the
  Spotify popularity as it is now.

One ``INSERT ... SELECT`` per horizon, set-based, in the daily run's transaction (after the
scores). ``artist_forecasts`` keeps the forecasts made on the last ``FORECAST_KEEP_DAYS`` days,
so that a forecast can be checked against the scores that followed it. Backtest:
``benchmarks/forecast_backtest.py`` and ``docs/trending.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Integer, Table, delete, func, insert, literal, or_, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from models.tables import ArtistForecast
from models.trending.formula import Clock
from models.trending.queries import ARTISTS
from models.trending.scores import ARTIST_STATE, artist_scores
from settings import Settings

__all__ = [
    "FORECAST",
    "FORECAST_DAYS",
    "FORECAST_KEEP_DAYS",
    "ArtistForecastView",
    "ForecastDay",
    "read_forecast",
    "recalculate_forecast",
    "write_forecast",
]

FORECAST: Table = ArtistForecast.__table__  # type: ignore[attr-defined]
#: Days ahead forecast by each daily run (1 = tomorrow).
FORECAST_DAYS = 7
#: Days of forecasts kept (today's included): a forecast stays until its last day has a score.
FORECAST_KEEP_DAYS = FORECAST_DAYS + 1


def oldest_forecast_day(today: date) -> date:
    """The first ``made_on`` day ``artist_forecasts`` still keeps on ``today``."""
    return today - timedelta(days=FORECAST_KEEP_DAYS - 1)


def _at(clock: Clock, horizon: int) -> Clock:
    return Clock(
        now=clock.now + timedelta(days=horizon),
        now_epoch=clock.now_epoch + horizon * 86_400,
        today=clock.today + timedelta(days=horizon),
        today_day=clock.today_day + horizon,
        activity_half_life_s=clock.activity_half_life_s,
        show_half_life_days=clock.show_half_life_days,
    )


async def write_forecast(conn: AsyncConnection, clock: Clock) -> int:
    """Replace today's forecasts with one row per artist and horizon; drop expired ones.

    Returns the rows written. Each horizon's scores are the read-time score expression
    (``models.trending.scores.artist_scores``) evaluated at that future instant on the state as
    it is: activity decayed, shows ahead nearing (a passed show leaves the sum), growth held
    while its snapshot is at most 7 days old, popularity held."""
    f = FORECAST
    await conn.execute(
        delete(f).where(
            or_(f.c.made_on == clock.today, f.c.made_on < oldest_forecast_day(clock.today))
        )
    )
    written = 0
    for horizon in range(1, FORECAST_DAYS + 1):
        at = _at(clock, horizon)
        scores = artist_scores(at)
        rows = select(
            scores.c.id,
            literal(clock.today, Date).label("made_on"),
            literal(horizon, Integer).label("horizon"),
            literal(at.today, Date).label("day"),
            scores.c.score,
        )
        result = await conn.execute(
            insert(f).from_select(["artist_id", "made_on", "horizon", "day", "score"], rows)
        )
        written += int(result.rowcount)
    return written


async def recalculate_forecast(
    engine: AsyncEngine, *, now: datetime, settings: Settings, dry_run: bool = False
) -> int:
    """The daily forecast as a step of its own (after ``recalculate_trending``), in its own
    transaction; returns the rows written (rolled back when ``dry_run``)."""
    clock = Clock.at(now, settings)
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            if conn.dialect.name == "postgresql":
                await conn.execute(text("SET LOCAL jit = off"))
            written = await write_forecast(conn, clock)
        except BaseException:
            await transaction.rollback()
            raise
        if dry_run:
            await transaction.rollback()
        else:
            await transaction.commit()
    return written


@dataclass(frozen=True)
class ForecastDay:
    day: date
    horizon: int
    score: float


@dataclass(frozen=True)
class ArtistForecastView:
    """An artist's latest forecast: ``made_on`` None (and no days) until a daily run made one;
    ``score`` is the current trending score (None before the first run)."""

    artist_id: int
    name: str
    score: float | None
    made_on: date | None
    days: tuple[ForecastDay, ...]


async def read_forecast(
    engine: AsyncEngine, artist_id: int, *, now: datetime, settings: Settings
) -> ArtistForecastView | None:
    """The latest forecast of ``artist_id`` and its current score at ``now``; None when there
    is no such artist."""
    f = FORECAST
    clock = Clock.at(now, settings)
    current = artist_scores(clock, ARTIST_STATE.c.artist_id == artist_id)
    async with engine.connect() as conn:
        artist = (
            await conn.execute(
                select(ARTISTS.c.id, ARTISTS.c.name, current.c.score)
                .select_from(ARTISTS.outerjoin(current, current.c.id == ARTISTS.c.id))
                .where(ARTISTS.c.id == artist_id)
            )
        ).first()
        if artist is None:
            return None
        latest = select(func.max(f.c.made_on)).where(f.c.artist_id == artist_id).scalar_subquery()
        rows = (
            await conn.execute(
                select(f.c.made_on, f.c.day, f.c.horizon, f.c.score)
                .where(f.c.artist_id == artist_id, f.c.made_on == latest)
                .order_by(f.c.horizon)
            )
        ).all()
    return ArtistForecastView(
        artist_id=int(artist.id),
        name=str(artist.name),
        score=None if artist.score is None else float(artist.score),
        made_on=rows[0].made_on if rows else None,
        days=tuple(ForecastDay(r.day, int(r.horizon), float(r.score)) for r in rows),
    )
