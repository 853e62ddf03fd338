"""CLI test fixtures: a Prefect server without our set-up state (variables, test work pool)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from prefect.client.orchestration import get_client

from cli.setup import TIMEZONE_VARIABLE, WORK_POOL_VARIABLE

TEST_POOL = "mysetlist-cli-test-pool"


async def _forget_setup_state() -> None:
    async with get_client() as client:
        for variable in (WORK_POOL_VARIABLE, TIMEZONE_VARIABLE):
            if await client.read_variable_by_name(variable) is not None:
                await client.delete_variable_by_name(variable)
        if TEST_POOL in {pool.name for pool in await client.read_work_pools()}:
            await client.delete_work_pool(TEST_POOL)


@pytest.fixture
async def fresh_prefect(prefect_harness: str) -> AsyncIterator[str]:
    """No setup variables and no ``TEST_POOL`` during the test (both removed after); yields the
    test pool name."""
    await _forget_setup_state()
    yield TEST_POOL
    await _forget_setup_state()
