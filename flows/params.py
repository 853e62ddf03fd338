"""The one declaration of each job's parameters: modes, the ``limit`` bound, defaults.

The flows' signatures use these types; ``cli/deployments.py`` derives its job table (and so the
CLI's choices) from them, and a test keeps ``prefect.yaml`` equal to the deployments built on
them. Light on purpose (pydantic only), so the CLI can read it without importing Prefect.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_LIMIT",
    "MIN_LIMIT",
    "AutonomousMode",
    "AutonomousSyncParams",
    "Limit",
    "MasterMode",
    "MasterSyncParams",
    "SeedParams",
    "modes_of",
]

MIN_LIMIT: Final = 1
MAX_LIMIT: Final = 10_000

#: How many artists (or new artists) a run takes at most: a whole number, never a boolean.
Limit = Annotated[int, Field(strict=True, ge=MIN_LIMIT, le=MAX_LIMIT)]

AutonomousMode = Literal["discovery", "sync", "full"]
MasterMode = Literal["hourly", "daily", "full"]


def modes_of(mode_type: object) -> tuple[str, ...]:
    """The choices of a ``Literal`` mode type, in declaration order."""
    return tuple(str(choice) for choice in get_args(mode_type))


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class AutonomousSyncParams(_Params):
    """``autonomous-sync``: discover artists and/or sync the shows of the artists most in need."""

    mode: AutonomousMode = "sync"
    limit: Limit = 25
    dry_run: bool = False


class MasterSyncParams(_Params):
    """``master-sync``: the comprehensive sync of existing artists."""

    mode: MasterMode = "daily"
    limit: Limit = 50
    dry_run: bool = False


class SeedParams(_Params):
    """``seed-comprehensive``: a new installation's first fill."""

    limit: Limit = 100
