"""One policy declaration per source: the flows' docstrings and docs/operations.md show exactly
what ``tasks/policy.py`` derives from the default settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows import autonomous_sync, master_sync
from settings import Settings
from tasks.policy import render_policy_table, source_policies

ROOT = Path(__file__).resolve().parents[2]


def defaults() -> Settings:
    return Settings(_env_file=None)


@pytest.mark.parametrize(
    ("module", "sources", "searches"),
    [
        (master_sync, ("spotify", "ticketmaster", "setlistfm"), True),
        (autonomous_sync, ("spotify", "ticketmaster", "setlistfm"), False),
    ],
    ids=["master-sync", "autonomous-sync"],
)
def test_a_flow_docstring_shows_the_policy_of_its_sources(
    module: object, sources: tuple[str, ...], searches: bool
) -> None:
    assert render_policy_table(defaults(), sources, searches=searches) in str(module.__doc__)


def test_the_operations_guide_shows_the_policy_of_every_source() -> None:
    text = (ROOT / "docs" / "operations.md").read_text()
    start = text.index("-->", text.index("<!-- policy-table")) + len("-->\n")
    end = text.index("<!-- /policy-table -->")
    assert text[start:end].strip() == render_policy_table(defaults())


def test_the_policy_follows_the_settings() -> None:
    settings = Settings(
        _env_file=None,
        http_max_retries=2,
        cache_ttl_ticketmaster_minutes=0,
        cache_ttl_spotify_minutes=90,
        ticketmaster_requests_per_day=1000,
        setlistfm_requests_per_second=1,
        ticketmaster_research_after_days=1,
        setlist_history_pages_per_run=120,
        request_plan="fixed",
    )
    policies = source_policies(settings)
    assert policies["ticketmaster"].request_retries.startswith("2× on 429, 5xx, network")
    assert policies["ticketmaster"].cached == "`sweep-markets`: not cached (TTL 0)"
    assert policies["spotify"].cached == "`read-spotify-artists`, `read-playlists`: 90 min"
    assert policies["ticketmaster"].limits == "5/s, 1,000/day"
    assert policies["setlistfm"].limits == (
        "1/s, 1,440/day; history backfill: 120 pages a run; setlist watch: 25 artists a run"
    )
    assert policies["ticketmaster"].searches == (
        "no Ticketmaster id: once per 1 day; its Spotify link, else an unambiguous name"
    )


def test_the_policy_shows_the_daily_plan() -> None:
    planned = source_policies(Settings(_env_file=None, request_plan_quota_share=0.8))
    assert (
        planned["ticketmaster"].limits == "5/s, 5,000/day; daily plan: a share of 80 % of the day"
    )
    assert planned["setlistfm"].limits == (
        "2/s, 1,440/day; daily plan: a share of 80 % of the day: watch, then backfill"
    )
    assert planned["spotify"].limits == "180/min"
    assert planned["setlistfm"].stops == (
        "quota, key or plan share spent: API ends for the run, artists untouched"
    )
