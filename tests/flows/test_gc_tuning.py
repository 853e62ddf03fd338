"""A process's first flow run tunes its garbage collector (``tasks.heap``), once."""

from __future__ import annotations

import gc
from collections.abc import Callable

import pytest

import tasks.heap as heap
from flows.autonomous_sync import autonomous_sync
from sandbox.core import Sandbox
from tests.flows.conftest import SyncWorld

pytestmark = [pytest.mark.prefect, pytest.mark.usefixtures("untuned_gc")]


async def test_the_first_run_freezes_the_heap_and_sets_the_young_threshold_once(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    use_sandbox(artists=10)
    world.configure(GC_YOUNG_THRESHOLD="12345")
    _, middle, old = gc.get_threshold()

    await autonomous_sync(mode="discovery", limit=3)

    done = heap.tuned()
    assert done is not None
    assert done.thresholds == (12345, middle, old) == gc.get_threshold()
    assert done.frozen > 0
    later = [object()]  # created after the freeze: a second run does not freeze it
    world.configure(GC_YOUNG_THRESHOLD="700")
    await autonomous_sync(mode="discovery", limit=3)
    assert heap.tuned() is done
    assert gc.get_threshold() == (12345, middle, old)
    assert any(o is later for o in gc.get_objects())


async def test_turned_off_the_run_leaves_the_collector_alone(
    world: SyncWorld, use_sandbox: Callable[..., Sandbox]
) -> None:
    use_sandbox(artists=10)
    world.configure(GC_FREEZE_AT_START="false", GC_YOUNG_THRESHOLD="0")
    thresholds = gc.get_threshold()

    await autonomous_sync(mode="discovery", limit=3)

    assert heap.tuned() == heap.GcTuning(frozen=0, thresholds=thresholds)
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == thresholds
