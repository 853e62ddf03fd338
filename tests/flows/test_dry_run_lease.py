"""A dry run with the default leased rate limits: the lease store is the run's own database, and
a dry run holds that database's write transaction open for the whole run."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from flows.autonomous_sync import autonomous_sync
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld, ledger

pytestmark = pytest.mark.prefect


async def test_a_dry_run_with_leased_limits_completes_and_writes_only_its_ledger_row(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    world.configure(RATE_LIMITER="lease")
    use_sandbox()
    would = await autonomous_sync(mode="full", limit=5, dry_run=True)
    assert would["artists_added"] == 5
    assert [(r["dry_run"], r["status"]) for r in await ledger(world.engine)] == [(True, "success")]
