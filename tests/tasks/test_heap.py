"""``tasks.heap.tune_gc``: the start-up heap frozen, the young threshold raised, once per
process."""

from __future__ import annotations

import gc
import weakref

import pytest

import tasks.heap as heap


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def _tracked(obj: object) -> bool:
    """Whether ``obj`` is in one of the collector's three generations (not frozen)."""
    return any(o is obj for o in gc.get_objects())


@pytest.mark.usefixtures("untuned_gc")
def test_it_collects_the_garbage_then_freezes_what_is_alive_once() -> None:
    kept = _Node()
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    _, middle, old = gc.get_threshold()

    done = heap.tune_gc(freeze=True, young_threshold=10_000)

    assert gone() is None  # collected before the freeze, not frozen for good
    assert not _tracked(kept)  # alive: frozen, out of every collection
    assert done is not None
    # What was alive, frozen; since then, frozen objects freed by reference counting only.
    assert done.frozen >= gc.get_freeze_count() > 0
    assert done.thresholds == (10_000, middle, old)
    assert gc.get_threshold() == (10_000, middle, old)
    assert heap.tuned() == done
    # Once per process: a second call changes nothing.
    frozen = gc.get_freeze_count()
    later = _Node()
    assert heap.tune_gc(freeze=True, young_threshold=20_000) is None
    assert gc.get_freeze_count() == frozen
    assert _tracked(later)
    assert gc.get_threshold() == (10_000, middle, old)


@pytest.mark.usefixtures("untuned_gc")
def test_turned_off_it_leaves_the_collector_as_it_was() -> None:
    gc.unfreeze()
    thresholds = gc.get_threshold()
    kept = _Node()

    done = heap.tune_gc(freeze=False, young_threshold=0)

    assert done == heap.GcTuning(frozen=0, thresholds=thresholds)
    assert gc.get_freeze_count() == 0
    assert _tracked(kept)
    assert gc.get_threshold() == thresholds


@pytest.mark.usefixtures("untuned_gc")
def test_a_negative_threshold_is_refused() -> None:
    with pytest.raises(ValueError, match="young_threshold must be 0 or more, got -1"):
        heap.tune_gc(young_threshold=-1)
    assert heap.tuned() is None
