"""The one declaration of each job's parameters: modes, the ``limit`` bound, defaults.

The flows' signatures use these types; ``cli/deployments.py`` derives its job table (and so the
CLI's choices) from them, and a test keeps ``prefect.yaml`` equal to the deployments built on
them. Light on purpose (pydantic only), so the CLI can read it without importing Prefect.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Final, Literal, get_args

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic_core import PydanticCustomError

__all__ = [
    "MAX_ARTIST_REF",
    "MAX_LIMIT",
    "MIN_LIMIT",
    "ArtistRef",
    "AutonomousMode",
    "AutonomousSyncParams",
    "Limit",
    "MasterMode",
    "MasterSyncParams",
    "SeedParams",
    "SyncArtistParams",
    "modes_of",
]

MIN_LIMIT: Final = 1
MAX_LIMIT: Final = 10_000

#: How many artists (or new artists) a run takes at most: a whole number, never a boolean.
Limit = Annotated[int, Field(strict=True, ge=MIN_LIMIT, le=MAX_LIMIT)]

#: The most characters of an artist reference (an id or a name).
MAX_ARTIST_REF: Final = 200
# Control characters (C0, DEL, C1), lone surrogates, line and paragraph separators.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
_REF_KINDS = "our artist id, a Spotify id, a Ticketmaster attraction id or a name"


def _artist_ref(value: str) -> str:
    """At most ``MAX_ARTIST_REF`` characters, not blank, plain text; trimmed. Each fault has its
    own message (pydantic's would not say what a reference is)."""
    if len(value) > MAX_ARTIST_REF:
        raise PydanticCustomError(
            "string_too_long",
            "the artist reference must be at most {max_length} characters, got {length}",
            {"max_length": MAX_ARTIST_REF, "length": len(value)},
        )
    ref = value.strip()
    if not ref:
        raise PydanticCustomError(
            "string_too_short", "the artist reference must not be empty: give " + _REF_KINDS
        )
    for char in ref:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise PydanticCustomError(
                "control_character",
                "the artist reference must not contain control characters (found U+{code})",
                {"code": f"{ord(char):04X}"},
            )
    return ref


#: An artist as a person names it: our id, a Spotify id, a Ticketmaster attraction id or a name;
#: always a string (our id 42 is ``"42"``).
ArtistRef = Annotated[
    str,
    Field(strict=True, json_schema_extra={"minLength": 1, "maxLength": MAX_ARTIST_REF}),
    AfterValidator(_artist_ref),
]

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
    limit: Limit = 1000
    dry_run: bool = False


class MasterSyncParams(_Params):
    """``master-sync``: the comprehensive sync of existing artists."""

    mode: MasterMode = "daily"
    limit: Limit = 1000
    dry_run: bool = False


class SeedParams(_Params):
    """``seed-comprehensive``: a new installation's first fill."""

    limit: Limit = 100


class SyncArtistParams(_Params):
    """``sync-artist``: import or refresh one artist now, named by ``ref``."""

    ref: ArtistRef
    dry_run: bool = False
