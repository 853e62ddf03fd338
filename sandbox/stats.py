"""Request accounting: what the sandbox answered, per API, endpoint template and status."""

from __future__ import annotations

from collections import Counter
from typing import Any

__all__ = ["DROPPED", "SandboxStats"]

# The status recorded for a request whose connection was dropped before any status was sent.
DROPPED = 0


class SandboxStats:
    """Counters read by tests and benchmarks; ``reset()`` zeroes them all.

    ``requests[(api, endpoint, status)]``: answers per endpoint template (``/v1/artists/{id}``);
    ``over_cap[api]``: requests refused because a rate cap or quota was spent;
    ``refusals[(api, reason)]``: the same, per reason (``per_second``, ``per_day``, ``quota``...);
    ``faults[(api, kind)]``: injected faults.
    """

    def __init__(self) -> None:
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.over_cap: Counter[str] = Counter()
        self.refusals: Counter[tuple[str, str]] = Counter()
        self.faults: Counter[tuple[str, str]] = Counter()

    def record(self, api: str, endpoint: str, status: int) -> None:
        self.requests[(api, endpoint, status)] += 1

    def refused(self, api: str, reason: str) -> None:
        self.over_cap[api] += 1
        self.refusals[(api, reason)] += 1

    def faulted(self, api: str, kind: str) -> None:
        self.faults[(api, kind)] += 1

    def total(self, api: str | None = None) -> int:
        """Requests answered (or dropped), for one API or all."""
        return sum(n for (name, _, _), n in self.requests.items() if api is None or name == api)

    @property
    def totals(self) -> dict[str, int]:
        """Requests per API."""
        out: Counter[str] = Counter()
        for (api, _, _), n in self.requests.items():
            out[api] += n
        return dict(out)

    def count(self, api: str, endpoint: str | None = None, status: int | None = None) -> int:
        """Requests to ``api`` matching the endpoint template and/or status given."""
        return sum(
            n
            for (name, template, code), n in self.requests.items()
            if name == api
            and (endpoint is None or template == endpoint)
            and (status is None or code == status)
        )

    def reset(self) -> None:
        self.requests.clear()
        self.over_cap.clear()
        self.refusals.clear()
        self.faults.clear()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "totals": self.totals,
            "over_cap": dict(self.over_cap),
            "requests": [
                {"api": api, "endpoint": endpoint, "status": status, "count": n}
                for (api, endpoint, status), n in sorted(self.requests.items())
            ],
            "refusals": {
                f"{api}:{reason}": n for (api, reason), n in sorted(self.refusals.items())
            },
            "faults": {f"{api}:{kind}": n for (api, kind), n in sorted(self.faults.items())},
        }
