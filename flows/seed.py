"""``seed-comprehensive``: a new installation's first fill, from the configured APIs only (never
random data): discovery with a larger limit, a show sync of what it found, a full master sync,
then a daily trending calculation."""

from __future__ import annotations

from flows._runs import RunOutcome, job_flow, tracked_run
from flows.autonomous_sync import autonomous_sync
from flows.calculate_trending import calculate_trending
from flows.master_sync import master_sync
from flows.params import Limit, SeedParams
from models.artists import count_artists
from models.ledger import JOB_SEED

__all__ = ["SeedParams", "seed_comprehensive"]


@job_flow("seed-comprehensive", timeout_hours=12)
async def seed_comprehensive(limit: Limit = 100) -> RunOutcome:
    """Fill the database up to ``limit`` artists, sync their shows and setlists, score them.

    Rerun after a crash, it resumes: discovery adds only what is missing to reach ``limit``
    artists in total. The seed's status is the worst of its steps' (each has its own row)."""
    params = SeedParams(limit=limit)
    async with tracked_run(job=JOB_SEED, mode=None, parameters=params) as run:
        async with run.engine.connect() as conn:
            have = await count_artists(conn)
        missing = max(0, limit - have)
        discovered: dict[str, int] = {}
        if missing:
            state = await autonomous_sync(mode="discovery", limit=missing, return_state=True)
            discovered = await run.took_step("discovery", state)
        else:
            run.summary_lines.append(f"Discovery skipped: {have} artists already stored.")
        synced = await run.took_step(
            "sync", await autonomous_sync(mode="sync", limit=limit, return_state=True)
        )
        mastered = await run.took_step(
            "master sync", await master_sync(mode="full", limit=limit, return_state=True)
        )
        trending = await run.took_step(
            "trending", await calculate_trending(mode="daily", return_state=True)
        )
        # Named apart from artists_found/added: the discovery run has its own ledger row with
        # those, and the health report sums them over the ledger.
        run.count("discovered_artists_found", discovered.get("artists_found", 0))
        run.count("discovered_artists_added", discovered.get("artists_added", 0))
        run.count("artists_synced", synced.get("artists_synced", 0))
        run.count("artists_master_synced", mastered.get("artists_synced", 0))
        # The sync's setlist watch may store some (an artist with a show today) before the
        # master sync does.
        run.count("setlists_added", synced.get("setlists_added", 0))
        run.count("setlists_added", mastered.get("setlists_added", 0))
        for key in ("artists_scored", "shows_scored"):
            run.count(key, int(trending.get(key, 0)))
        run.summary_lines.append(
            "Seed: discovery → artist sync → full master sync → daily trending, each with its own "
            "ledger row."
        )
        return run.outcome()
