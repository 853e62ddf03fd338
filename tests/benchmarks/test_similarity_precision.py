"""The similarity benchmark scores similar artists against the sandbox's scenes and genres.

Its figures depend only on the seeded world, not on the machine: a small world's are exact, and
the same on both databases.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from benchmarks.similarity_precision import _NO_GENRES, VARIANTS, _rows, _store, evaluate, main
from sandbox.catalog import Catalog
from tests.sandbox.conftest import TODAY


@cache
def _world() -> tuple[Catalog, dict[str, list[dict[str, Any]]]]:
    """200 artists: 14 scenes of 7-20 (120 would make one scene per genre)."""
    catalog = Catalog(seed=7, artists=200, today=TODAY)
    return catalog, _rows(catalog)


async def test_precision_at_10_against_scenes_and_genres_with_and_without_signals(
    engine: AsyncEngine,
) -> None:
    catalog, rows = _world()
    await _store(engine, rows)
    runs = {"all signals": (), "without genres": (_NO_GENRES,)}
    full, without = await evaluate(engine, catalog, runs)
    figures = [
        (f.label, f.rows, round(f.p10_scene, 3), round(f.p10_genre, 3), round(f.coverage_10, 3))
        for f in (full, without)
    ]
    assert figures == [
        ("all signals", 1994, 0.826, 0.892, 0.995),
        ("without genres", 1940, 0.677, 0.698, 0.97),
    ]
    # The baselines: the share of the other artists in one's scene (genre); a perfect list.
    assert (round(full.random_scene, 3), round(full.random_genre, 3)) == (0.072, 0.083)
    assert round(full.ceiling_scene, 3) == 0.968
    # Each run was rolled back: the stored world still has its genres and no similar artists.
    again = await evaluate(engine, catalog, {"all signals": ()})
    assert again[0].p10_scene == full.p10_scene


def test_every_ablation_takes_signals_out() -> None:
    first, *ablations = VARIANTS
    assert (first, VARIANTS[first]) == ("all signals", ())
    assert all(VARIANTS[label] for label in ablations)


async def test_the_command_prints_every_run(capsys: pytest.CaptureFixture[str]) -> None:
    await main(60, 7, None)
    out = capsys.readouterr().out
    assert "catalogue: 60 artists (seed 7)" in out
    assert all(f"{label}: " in out for label in VARIANTS)
