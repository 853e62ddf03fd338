"""Identity precision on a sandbox world with deliberate homonyms, scored against its truth.

``python -m benchmarks.identity_homonyms [--artists 500] [--seed 7] [--days 12]``

On a fresh SQLite file and the in-process sandbox (caps lifted, Prefect's ephemeral test
harness): discovery (``limit`` = all artists), a full master sync, the sandbox calendar moved
``--days`` forward (the homonym twins start touring within ten days), discovery and a full
master sync again. Then, from ``sandbox.truth.Truth`` (never from what the flows believe): the
rows whose ids belong to two real artists, the real artists held by two rows, which rows hold
each side of every homonym pair, the ids linked (of the rows that are one real artist: how many
of its real ids they hold; the recall of the links) and the legitimate article variants (an
artist Ticketmaster lists without its leading article, "Young Owls" for "The Young Owls": which
of its ids its row holds, which it could). Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FAST_ENV = {
    "RATE_LIMITER": "local",
    "SPOTIFY_REQUESTS_PER_MINUTE": "600000",
    "TICKETMASTER_REQUESTS_PER_SECOND": "10000",
    "TICKETMASTER_REQUESTS_PER_DAY": "1000000",
    "SETLISTFM_REQUESTS_PER_SECOND": "10000",
    "SETLISTFM_REQUESTS_PER_DAY": "1000000",
    "CACHE_TTL_SPOTIFY_MINUTES": "0",
    "CACHE_TTL_TICKETMASTER_MINUTES": "0",
    "HTTP_BACKOFF_BASE_SECONDS": "0",
}


async def _run(artists: int, seed: int, days: float, database_url: str) -> dict[str, Any]:
    import httpx
    from sqlalchemy import select

    from flows.autonomous_sync import autonomous_sync
    from flows.master_sync import master_sync
    from models.db import create_all, make_engine
    from models.tables import Artist
    from sandbox.app import create_app
    from sandbox.config import SandboxConfig
    from sandbox.truth import Truth
    from settings import get_settings
    from tasks.deps import use_http_factory

    table = Artist.__table__  # type: ignore[attr-defined]
    engine = make_engine(database_url)
    await create_all(engine)
    app = create_app(SandboxConfig(settings=get_settings(), artists=artists, seed=seed, caps=False))
    sandbox = app.state.sandbox
    truth = Truth(sandbox.catalog)
    started = time.perf_counter()
    with use_http_factory(lambda: httpx.AsyncClient(transport=httpx.ASGITransport(app=app))):
        await autonomous_sync(mode="discovery", limit=artists)
        await master_sync(mode="full", limit=artists)
        sandbox.advance(days=days)
        await autonomous_sync(mode="discovery", limit=artists)
        await master_sync(mode="full", limit=artists)
    wall = time.perf_counter() - started
    async with engine.connect() as conn:
        rows = (await conn.execute(select(table))).mappings().all()
    await engine.dispose()

    from models.identity import leading_article, normalize_name

    id_fields = ("spotify_id", "ticketmaster_id", "mbid")
    owners: defaultdict[int, set[int]] = defaultdict(set)
    mixed = []
    ids_held = dict.fromkeys(id_fields, 0)
    ids_true = dict.fromkeys(id_fields, 0)
    row_of: dict[int, dict[str, Any]] = {}
    for row in rows:
        real = {
            found.index
            for field in ("spotify_id", "ticketmaster_id", "mbid")
            if row[field] and (found := truth.artist_by(**{field: row[field]})) is not None
        }
        if len(real) > 1:
            mixed.append({"row": row["id"], "name": row["name"], "real_artists": sorted(real)})
        for index in real:
            owners[index].add(row["id"])
        if len(real) == 1:
            (index,) = real
            artist = truth.artist(index)
            row_of[index] = dict(row)
            for field in id_fields:
                if getattr(artist, field):
                    ids_true[field] += 1
                    ids_held[field] += int(row[field] == getattr(artist, field))
    variants = [
        a
        for a in truth.artists()
        if normalize_name(a.name) == normalize_name(a.ticketmaster_name)
        and leading_article(a.name) != leading_article(a.ticketmaster_name)
    ]
    return {
        "artists": artists,
        "rows": len(rows),
        "rows_mixing_two_artists": mixed,
        "artists_in_two_rows": {i: sorted(r) for i, r in owners.items() if len(r) > 1},
        "homonym_pairs": [
            {
                "kind": pair.kind,
                "name": pair.original.name,
                "original_rows": sorted(owners.get(pair.original.index, ())),
                "twin_rows": sorted(owners.get(pair.twin.index, ())),
            }
            for pair in truth.homonyms()
        ],
        "ids_linked": {
            field: {"held": ids_held[field], "of": ids_true[field]} for field in id_fields
        },
        "article_variants": [
            {
                "name": a.name,
                "ticketmaster_name": a.ticketmaster_name,
                "rows": sorted(owners.get(a.index, ())),
                "ids": [f for f in id_fields if getattr(a, f)],
                "held": [
                    f
                    for f in id_fields
                    if a.index in row_of and row_of[a.index][f] == getattr(a, f) and getattr(a, f)
                ],
            }
            for a in variants
        ],
        "flows_wall_seconds": round(wall, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--artists", type=int, default=500)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--days", type=float, default=12)
    args = parser.parse_args(argv)

    from prefect.testing.utilities import prefect_test_harness

    from sandbox.server import demo_settings_overrides
    from settings import get_settings

    with tempfile.TemporaryDirectory() as workdir:
        database_url = f"sqlite+aiosqlite:///{Path(workdir) / 'identity.db'}"
        os.environ.update({"DATABASE_URL": database_url, **FAST_ENV})
        overrides = demo_settings_overrides("http://sandbox.identity.test")
        os.environ.update({key.upper(): value for key, value in overrides.items()})
        get_settings.cache_clear()
        with prefect_test_harness(server_startup_timeout=180):
            result = asyncio.run(_run(args.artists, args.seed, args.days, database_url))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
