"""The flows as deployed and as ``mysetlist`` runs them: each job's flow with the operations
hooks added — after every run (completed, failed or crashed) the health report is published as
the ``mysetlist-health`` artifact and its scores as the event the low-health automation
watches (``monitor/publish.py``). The flows themselves stay free of the operations layer;
``prefect.yaml`` and ``cli/deployments.py`` point here."""

from __future__ import annotations

from typing import Any

from prefect import Flow

from flows.autonomous_sync import autonomous_sync as _autonomous_sync
from flows.calculate_trending import calculate_trending as _calculate_trending
from flows.master_sync import master_sync as _master_sync
from flows.seed import seed_comprehensive as _seed_comprehensive
from flows.sync_artist import sync_artist as _sync_artist
from monitor.publish import publish_health

__all__ = [
    "autonomous_sync",
    "calculate_trending",
    "master_sync",
    "seed_comprehensive",
    "sync_artist",
]


def deployed(flow: Flow[Any, Any]) -> Flow[Any, Any]:
    """``flow`` with ``publish_health`` after its own hooks, whatever the run's end."""
    return flow.with_options(
        on_completion=[*flow.on_completion_hooks, publish_health],
        on_failure=[*flow.on_failure_hooks, publish_health],
        on_crashed=[*flow.on_crashed_hooks, publish_health],
    )


autonomous_sync = deployed(_autonomous_sync)
master_sync = deployed(_master_sync)
calculate_trending = deployed(_calculate_trending)
seed_comprehensive = deployed(_seed_comprehensive)
sync_artist = deployed(_sync_artist)
