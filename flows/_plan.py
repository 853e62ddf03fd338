"""The daily request plan: each scheduled run's share of what is left of today's quotas.

The quotas are this system's physical limit (Ticketmaster 5,000 requests a day, setlist.fm
1,440). With ``REQUEST_PLAN=planned`` (the default) a run of a planned job does not spend a
fixed ``limit``; at its start it is granted a share of what is left of the UTC day under the
plan's ceiling (``REQUEST_PLAN_QUOTA_SHARE`` of each quota, 90 % by default):

    share = left x weight of this run / (its weight + the weights of the day's runs still to come)

where the runs still to come are the deployments' cron schedules (``cli/deployments.py``) from
now to midnight, each with the weight of its job and mode (``WEIGHTS``: the daily master sync,
which imports new artists' setlist.fm identities and history, weighs 12 on setlist.fm; a sync
run, which mostly watches for the setlists of last night's shows, 1). What a run does not spend
goes back at its end, so the later runs of the day have more, and the last run of the day gets
everything left: the history backfill runs on what is left of the day.

The grants are counted in our database (``models/request_budget.py``), so every worker and
every restart sees the same day, and two workers planning at once never grant the same requests
twice. A run never sends more than it was granted: ``BudgetedLimiter`` wraps the run's rate
limiter and refuses the request past the grant with ``PlanBudgetSpent`` (a ``QuotaExhausted``:
that API's work ends for the run, its remaining artists untouched, taken by a later run), before
any token is taken. Each phase sizes its work from what is left of the grant
(``RequestPlan.left``); the job's ``limit`` is only a ceiling.

Jobs outside the plan (an on-demand ``sync-artist``, the seed) are not limited by it; what they
spend is added to the day's count at their end, so the planned runs that follow see it.

``REQUEST_PLAN=fixed``: no grants, each job spends its ``limit`` as before the plan (kept as the
benchmark's baseline). Spotify has no daily quota (180 requests a minute): it is not planned.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from clients.errors import QuotaExhausted
from clients.ratelimit import RateLimiter
from models import request_budget
from settings import Settings

__all__ = [
    "PLANNED_APIS",
    "WEIGHTS",
    "BudgetedLimiter",
    "PlanBudgetSpent",
    "RequestPlan",
    "make_plan",
    "runs_left_today",
    "settle_plan",
]

#: The APIs with a daily quota, planned per day.
PLANNED_APIS: Final = ("ticketmaster", "setlistfm")

#: A scheduled run's weight in the day's share of each planned API, by (job, mode).
WEIGHTS: Final[dict[tuple[str, str], dict[str, int]]] = {
    ("autonomous-sync", "discovery"): {"ticketmaster": 1},
    ("autonomous-sync", "sync"): {"ticketmaster": 1, "setlistfm": 1},
    ("autonomous-sync", "full"): {"ticketmaster": 2, "setlistfm": 1},
    ("master-sync", "hourly"): {"ticketmaster": 1, "setlistfm": 1},
    ("master-sync", "daily"): {"ticketmaster": 3, "setlistfm": 12},
    ("master-sync", "full"): {"ticketmaster": 3, "setlistfm": 12},
}


class PlanBudgetSpent(QuotaExhausted):
    """This run's share of today's request plan is spent: its work on that API ends here (the
    next run has its own share); nothing was sent past it."""


def _quota(settings: Settings, api: str) -> int:
    return {
        "ticketmaster": settings.ticketmaster_requests_per_day,
        "setlistfm": settings.setlistfm_requests_per_day,
    }[api]


def _midnight_after(now: datetime) -> datetime:
    return datetime.combine(now.astimezone(UTC).date() + timedelta(days=1), time(0), tzinfo=UTC)


def runs_left_today(now: datetime, api: str) -> list[tuple[datetime, int]]:
    """The scheduled runs after ``now`` and before the next UTC midnight that spend ``api``,
    each with its weight (the deployments' crons, ``cli/deployments.py``)."""
    from cronsim import CronSim

    from cli.deployments import DEPLOYMENTS

    end = _midnight_after(now)
    runs: list[tuple[datetime, int]] = []
    for deployment in DEPLOYMENTS:
        mode = deployment.parameters.get("mode")
        weight = WEIGHTS.get((deployment.job, str(mode)), {}).get(api, 0)
        if not weight:
            continue
        for cron in deployment.crons:
            for at in CronSim(cron, now.astimezone(UTC)):
                at = at.astimezone(UTC)
                if at >= end:
                    break
                if at > now:
                    runs.append((at, weight))
    return sorted(runs)


@dataclass(frozen=True, slots=True)
class ApiPlan:
    """One API's part of a run's plan: the day's ceiling, what was left of it when the run was
    planned, the run's weight against the day's runs still to come, and its grant."""

    api: str
    quota: int
    ceiling: int
    left: int
    weight: int
    weight_to_come: int
    runs_to_come: int
    granted: int

    def line(self) -> str:
        return (
            f"{self.api}: granted {self.granted:,} of {self.left:,} left today "
            f"(plan ceiling {self.ceiling:,} of the {self.quota:,} quota; weight {self.weight} "
            f"against {self.weight_to_come} for the {self.runs_to_come} runs still to come today)"
        )


@dataclass
class RequestPlan:
    """A run's request plan: ``mode`` ``planned`` (grants per API) or ``fixed`` (none); the
    limiter spending it (set when the run's limiter is built)."""

    mode: str
    day: date
    apis: dict[str, ApiPlan] = field(default_factory=dict)
    limiter: BudgetedLimiter | None = None

    @property
    def planned(self) -> bool:
        return self.mode == "planned"

    def grants(self) -> dict[str, int]:
        return {api: plan.granted for api, plan in self.apis.items()}

    def spent(self, api: str) -> int:
        return self.limiter.spent[api] if self.limiter is not None else 0

    def left(self, api: str) -> int | None:
        """Requests of ``api`` this run may still send under its grant; None: no grant (fixed
        plan, or an API the plan does not cover)."""
        plan = self.apis.get(api)
        if plan is None:
            return None
        return max(0, plan.granted - self.spent(api))

    def cap(self, api: str, ceiling: int, *, per_item: float = 1.0) -> int:
        """How many items (artists, pages) a phase takes: ``ceiling``, or fewer when this run's
        grant of ``api`` left covers fewer at ``per_item`` requests each."""
        left = self.left(api)
        if left is None:
            return ceiling
        return max(0, min(ceiling, math.floor(left / per_item)))

    def lines(self) -> list[str]:
        if not self.planned:
            return ["Request plan: fixed (each phase takes its limit)."]
        if not self.apis:
            return ["Request plan: planned; this run spends no planned API."]
        spent = ", ".join(f"{api} {self.spent(api):,}" for api in sorted(self.apis))
        lines = [
            *(f"Request plan: {plan.line()}." for _, plan in sorted(self.apis.items())),
            f"Request plan: spent {spent}.",
        ]
        for api, plan in sorted(self.apis.items()):
            refused = self.limiter.refused[api] if self.limiter is not None else 0
            if plan.left == 0:
                lines.append(
                    f"Request plan: {api}: today's plan is spent; this run's {api} work is"
                    " skipped and waits for tomorrow's."
                )
            elif refused:
                lines.append(
                    f"Request plan: {api}: the grant was spent before the work was done; what"
                    " was not reached (see the counts) is left for the next run."
                )
        return lines


async def make_plan(
    engine: AsyncEngine,
    settings: Settings,
    *,
    job: str,
    mode: str | None,
    apis: Sequence[str],
    now: datetime,
) -> RequestPlan:
    """Grant this run its share of each planned API it uses (``planned``), from the day's
    shared counters; no grants for ``fixed`` or a job outside the plan."""
    day = now.astimezone(UTC).date()
    if settings.request_plan != "planned":
        return RequestPlan("fixed", day)
    weights = WEIGHTS.get((job, str(mode)), {})
    planned = [api for api in apis if api in PLANNED_APIS and weights.get(api)]
    if not planned:
        return RequestPlan("planned", day)
    ceilings = {
        api: math.floor(_quota(settings, api) * settings.request_plan_quota_share)
        for api in planned
    }
    to_come = {api: runs_left_today(now, api) for api in planned}

    def share(api: str) -> Callable[[int], int]:
        weight = weights[api]
        later = sum(w for _, w in to_come[api])
        return lambda left: math.floor(left * weight / (weight + later))

    granted = await request_budget.grant(
        engine, day=day, ceilings=ceilings, share={api: share(api) for api in planned}
    )
    plans = {
        api: ApiPlan(
            api=api,
            quota=_quota(settings, api),
            ceiling=ceilings[api],
            left=granted[api][1],
            weight=weights[api],
            weight_to_come=sum(w for _, w in to_come[api]),
            runs_to_come=len(to_come[api]),
            granted=granted[api][0],
        )
        for api in planned
    }
    return RequestPlan("planned", day, plans)


async def settle_plan(engine: AsyncEngine, plan: RequestPlan, spent: Mapping[str, int]) -> None:
    """Give back what the run was granted and did not spend; add what it spent on a planned
    API without a grant (a job outside the plan, a fixed plan), so later plans see it."""
    unspent: Counter[str] = Counter()
    for api in PLANNED_APIS:
        grant = plan.apis[api].granted if api in plan.apis else 0
        unspent[api] = grant - spent.get(api, 0)
    await request_budget.settle(engine, day=plan.day, unspent=unspent)


class BudgetedLimiter:
    """The run's rate limiter, with this run's grants: a request past an API's grant is refused
    (``PlanBudgetSpent``) before any token is taken. ``spent`` counts the requests let through
    per API (every attempt: a retry spends the quota too), ``refused`` the requests refused."""

    def __init__(self, inner: RateLimiter, budgets: Mapping[str, int]) -> None:
        self.inner = inner
        self.budgets = dict(budgets)
        self.spent: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    async def acquire(self, api: str) -> None:
        budget = self.budgets.get(api)
        if budget is not None and self.spent[api] >= budget:
            self.refused[api] += 1
            raise PlanBudgetSpent(
                f"{api}: this run's share of today's request plan ({budget} requests) is spent;"
                " the next run has its own",
                api=api,
                code="plan_budget",
            )
        self.spent[api] += 1  # counted before the wait: concurrent requests see it
        try:
            await self.inner.acquire(api)
        except BaseException:
            self.spent[api] -= 1
            raise
