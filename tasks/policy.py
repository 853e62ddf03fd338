"""One table of policy per upstream source: how a read is retried, what is cached and for how
long, which rate limits it takes, and what stops it.

The values come from the settings (the single place that reads the environment), so the table a
flow's docstring and ``docs/operations.md`` show is what the code does; tests keep both equal to
``render_policy_table(Settings())``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from settings import Settings

__all__ = ["SOURCES", "SourcePolicy", "render_policy_table", "source_policies"]

SOURCES = ("spotify", "ticketmaster", "setlistfm")


@dataclass(frozen=True, slots=True)
class SourcePolicy:
    """What happens to the reads of one upstream source."""

    source: str
    #: How one request is retried by the client's transport (the only retry of a request).
    request_retries: str
    #: What Prefect caches of this source, and for how long (a re-run within it reads nothing).
    cached: str
    #: The rate limits every request takes, leased from the shared store.
    limits: str
    #: What ends this source's work for the run, and what a failed artist gets.
    stops: str
    #: When master-sync searches this source by name for an artist it lacks the id of, and what
    #: it takes (the homonym rules, ``tasks/matching.py``).
    searches: str = ""


def _minutes(value: float) -> str:
    if value <= 0:
        return "not cached (TTL 0)"
    return f"{value:g} min" if value < 120 else f"{value / 60:g} h"


def _days(value: float) -> str:
    return f"{value:g} day" if value == 1 else f"{value:g} days"


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:g}"


def source_policies(settings: Settings) -> dict[str, SourcePolicy]:
    """The policy of each source under ``settings``."""
    retries = (
        f"{settings.http_max_retries}× on 429, 5xx, network, back-off "
        f"{settings.http_backoff_base_seconds:g} s; `Retry-After` ≤"
        f" {settings.http_retry_after_cap_seconds:g} s"
    )
    stop = "quota spent or key refused: ends it for the run, artists untouched"
    if settings.request_plan == "planned":
        stop = "quota, key or plan share spent: API ends for the run, artists untouched"
    return {
        "spotify": SourcePolicy(
            source="spotify",
            request_retries=retries + "; 401: re-auth",
            cached=(
                "`read-spotify-artists`, `read-playlists`: "
                + _minutes(settings.cache_ttl_spotify_minutes)
            ),
            limits=f"{_number(settings.spotify_requests_per_minute)}/min",
            stops=stop + "; 403: degrades",
            searches=(
                f"no Spotify id: once per {_days(settings.spotify_research_after_days)}; "
                "an unambiguous exact-name hit only"
            ),
        ),
        "ticketmaster": SourcePolicy(
            source="ticketmaster",
            request_retries=retries,
            cached="`sweep-markets`: " + _minutes(settings.cache_ttl_ticketmaster_minutes),
            limits=(
                f"{_number(settings.ticketmaster_requests_per_second)}/s, "
                f"{_number(settings.ticketmaster_requests_per_day)}/day" + _plan(settings)
            ),
            stops=stop,
            searches=(
                "no Ticketmaster id: once per "
                f"{_days(settings.ticketmaster_research_after_days)}; its Spotify link, else an "
                "unambiguous name"
            ),
        ),
        "setlistfm": SourcePolicy(
            source="setlistfm",
            request_retries=retries,
            cached="nothing (read incrementally from each artist's cursor)",
            limits=(
                f"{_number(settings.setlistfm_requests_per_second)}/s, "
                f"{_number(settings.setlistfm_requests_per_day)}/day"
                + (
                    _plan(settings) + ": watch, then backfill"
                    if settings.request_plan == "planned"
                    else f"; history backfill: {_number(settings.setlist_history_pages_per_run)}"
                    f" pages a run; setlist watch: {_number(settings.setlist_watch_per_run)}"
                    " artists a run"
                )
            ),
            stops=stop,
            searches=(
                f"no MusicBrainz id: once per {_days(settings.setlist_research_after_days)}; "
                "its Ticketmaster id, else an unambiguous name"
            ),
        ),
    }


def _plan(settings: Settings) -> str:
    """The daily plan's part of a planned API's limits (nothing with the fixed plan)."""
    if settings.request_plan != "planned":
        return ""
    share = f"{settings.request_plan_quota_share * 100:g} %"
    return f"; daily plan: a share of {share} of the day"


_ROWS = (
    ("request retries", "request_retries"),
    ("cached by Prefect", "cached"),
    ("rate limits", "limits"),
    ("stops", "stops"),
    ("name search", "searches"),
)
_TITLES = {"spotify": "Spotify", "ticketmaster": "Ticketmaster", "setlistfm": "setlist.fm"}


def render_policy_table(
    settings: Settings, sources: Sequence[str] = SOURCES, *, searches: bool = True
) -> str:
    """The policy as Markdown: one table per source, then the rules common to all.
    ``searches=False`` leaves out the name searches (a flow that makes none)."""
    policies = source_policies(settings)
    rows = [row for row in _ROWS if searches or row[1] != "searches"]
    lines: list[str] = []
    for source in sources:
        policy = policies[source]
        lines += [f"{_TITLES[source]}:", "", "| | |", "|---|---|"]
        lines += [f"| {label} | {getattr(policy, name)} |" for label, name in rows]
        lines.append("")
    lines += [
        "No Prefect task retries a read: the client retried each request already. A failed",
        "artist keeps its data and its old sync time, gets an error row and a retry time",
        f"(back-off from {settings.sync_retry_base_minutes:g} min, doubling, at most 2 days); "
        "a later run takes it again.",
    ]
    return "\n".join(lines)
