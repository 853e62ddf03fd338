"""The upsert benchmark runs every case, checks its counts and reports against the targets.

Only the shape and the counts are asserted here: the figures themselves depend on the machine
and are recorded in the README and docs/storage.md, not tested.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from benchmarks.upsert_shows import Timing, bench, foreign_key_checks, main, report
from tests.conftest import PG_SERVER_URL

CASES = [
    "upsert, all new",
    "upsert, unchanged",
    "upsert, 10% changed",
    "baseline, bare table",
    "baseline, shows",
    "floor, in-database",
]
FK_CASES = [
    "  of which fk_shows_artist_id_artists checks",
    "  of which fk_shows_venue_id_venues checks",
]


async def test_sqlite_run_has_every_case_with_checked_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    timings = await bench(f"sqlite+aiosqlite:///{tmp_path / 'bench.db'}", 40, 1, True)

    assert [t.case for t in timings] == CASES
    assert {t.rows for t in timings} == {40}
    assert all(t.seconds > 0 for t in timings)
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []  # file removed
    report("sqlite", timings)
    out = capsys.readouterr().out
    assert "target 300,000 rows/s for an all-new upsert: " in out
    assert "the database's own INSERT ... SELECT reaches " in out


@pytest.mark.postgres
async def test_postgresql_run_also_splits_out_the_foreign_key_checks(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    timings = await bench(PG_SERVER_URL, 40, 1, False)

    assert [t.case for t in timings] == CASES + FK_CASES
    assert {t.rows for t in timings} == {40}
    assert all(t.seconds > 0 for t in timings)
    report("postgresql", timings)
    out = capsys.readouterr().out
    assert "target 100,000 rows/s for an all-new upsert: " in out
    assert "  of which fk_shows_venue_id_venues checks" in out


def test_foreign_key_checks_reads_the_trigger_times_of_explain_analyze() -> None:
    plan = [
        {
            "Plan": {"Node Type": "ModifyTable"},
            "Triggers": [
                {
                    "Trigger Name": "RI_ConstraintTrigger_c_1",
                    "Constraint Name": "fk_a",
                    "Time": 1250.5,
                },
                {"Trigger Name": "audit", "Time": 99.0},
                {
                    "Trigger Name": "RI_ConstraintTrigger_c_2",
                    "Constraint Name": "fk_b",
                    "Time": 4.0,
                },
            ],
        }
    ]

    assert foreign_key_checks(plan, 100) == [
        Timing("  of which fk_a checks", 100, 1.2505),
        Timing("  of which fk_b checks", 100, 0.004),
    ]
    assert foreign_key_checks({"Plan": {}}, 100) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rows", "9"], "--rows must be at least 10"),
        (["--repeat", "0"], "--repeat at least 1"),
    ],
)
def test_invalid_arguments_stop_before_any_work(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(argv)

    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_an_existing_sqlite_file_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "mine.db"
    taken.write_bytes(b"precious")

    with pytest.raises(SystemExit):
        main(["--database-url", f"sqlite+aiosqlite:///{taken}"])

    assert "refusing to use an existing SQLite file" in capsys.readouterr().err
    assert taken.read_bytes() == b"precious"
