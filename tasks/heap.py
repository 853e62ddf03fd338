"""The garbage collector of a process that runs flows: its start-up heap frozen, its young
generation larger.

CPython's cyclic collector runs a full collection (every tracked object) whenever the objects
that survived into the oldest generation grew by a quarter. A worker's heap is mostly what it
built at start-up and keeps until it exits: the modules, classes and functions of Prefect,
SQLAlchemy, pydantic and ours (about 180,000 objects once the flows are imported), and whatever
else it holds for good. A full collection walks all of them to free nothing: ~0.1 s each on
this machine, and a 200-artist sync runs several (its reads and stores allocate hundreds of
thousands of objects); with the benchmarks' in-process sandbox (~0.75 M objects) 0.4 s each.
And a young collection runs every 700 allocations: ~1,500 of them per 200-artist sync, each
promoting the rows then in flight, which fills the older generations sooner.

``tune_gc()`` runs once per process, at the start of its first flow run
(``flows._runs.tracked_run``), when everything the process keeps for good is built:

* ``GC_FREEZE_AT_START`` (default on): one full collection (no garbage gets frozen), then
  ``gc.freeze()``, which moves every object still alive into the permanent generation that
  collections skip. Objects created later are collected as before; frozen ones are still freed
  by reference counting. The price: a frozen object that later becomes garbage *inside a
  reference cycle* is never reclaimed; freezing once per process bounds that to what was alive
  at that moment.
* ``GC_YOUNG_THRESHOLD`` (default 10,000; 0 keeps Python's 700): allocations between young
  collections. Most rows of a batch die young, by reference counting, before a collection sees
  them; the young generation holds at most that many more container objects (well under a MiB).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass

__all__ = ["GcTuning", "tune_gc", "tuned"]


@dataclass(frozen=True)
class GcTuning:
    """What ``tune_gc`` did: the objects it froze, the thresholds it left."""

    frozen: int
    thresholds: tuple[int, int, int]


_tuned: GcTuning | None = None


def tune_gc(*, freeze: bool = True, young_threshold: int = 0) -> GcTuning | None:
    """Once per process (idempotent): with ``freeze``, collect, then freeze what is alive; with
    a positive ``young_threshold``, collect the young generation every that many allocations.
    Returns what it did, or ``None`` when it had already run."""
    global _tuned
    if _tuned is not None:
        return None
    if young_threshold < 0:
        raise ValueError(f"young_threshold must be 0 or more, got {young_threshold}")
    if freeze:
        gc.collect()
        gc.freeze()
    if young_threshold:
        _, middle, old = gc.get_threshold()
        gc.set_threshold(young_threshold, middle, old)
    _tuned = GcTuning(frozen=gc.get_freeze_count() if freeze else 0, thresholds=gc.get_threshold())
    return _tuned


def tuned() -> GcTuning | None:
    """What ``tune_gc`` did in this process, or ``None`` before it ran."""
    return _tuned
