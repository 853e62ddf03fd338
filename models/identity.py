"""Pure rules that decide when two records are the same artist, venue or song."""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = [
    "leading_article",
    "normalize_name",
    "normalize_title",
    "slug_candidates",
    "slugify",
    "spelled_alike",
]

_ARTICLE = re.compile(r"^(the|a|an)\s+")
_NON_WORD = re.compile(r"[^\w]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
_FEAT = re.compile(r"\s*[\(\[]\s*(feat|ft|with)\.?\s.*?[\)\]]", re.IGNORECASE)


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.casefold().replace("&", " and ").replace("+", " and ")


@functools.lru_cache(maxsize=65536)  # venue matching and setlist syncs ask for the same names
def normalize_name(name: str) -> str:
    """The matching form of an artist or venue name.

    Case, accents, punctuation, ``&``/``and`` and a leading article do not matter:
    ``"The Beatles"``, ``"beatles"`` and ``"BEATLES!"`` are one name; ``"Beyoncé"`` is
    ``"beyonce"``.
    """
    folded = _SPACES.sub(" ", _NON_WORD.sub(" ", _fold(name))).strip()
    without_article = _ARTICLE.sub("", folded)
    return without_article or folded


def leading_article(name: str) -> str | None:
    """The leading article ``normalize_name`` drops (``"the"``, ``"a"``, ``"an"``), or ``None``."""
    folded = _SPACES.sub(" ", _NON_WORD.sub(" ", _fold(name))).strip()
    found = _ARTICLE.match(folded)
    return found.group(1) if found is not None and _ARTICLE.sub("", folded) else None


def spelled_alike(first: str, second: str) -> bool:
    """One name, leading article included: ``normalize_name`` equal and the same leading article.
    ``"The Young Owls"`` and ``"THE YOUNG OWLS!"`` are spelled alike; ``"Young Owls"`` is not
    (``tasks/matching.py``: a leading article may be another artist)."""
    return normalize_name(first) == normalize_name(second) and leading_article(
        first
    ) == leading_article(second)


@functools.lru_cache(maxsize=65536)  # a setlist sync normalises the same titles many times over
def normalize_title(title: str) -> str:
    """The matching form of a song title: case, accents and punctuation do not matter, nor does a
    ``(feat. X)`` suffix; articles do (``"The Summer Hands"`` is not ``"Summer Hands"``)."""
    folded = _SPACES.sub(" ", _NON_WORD.sub(" ", _fold(_FEAT.sub("", title)))).strip()
    return folded or _fold(title).strip()


def slugify(name: str) -> str:
    """A URL slug: lowercase ASCII words joined by dashes.

    ``"Beyoncé & Jay-Z"`` → ``beyonce-and-jay-z``.
    """
    folded = _fold(name)
    ascii_only = folded.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")
    return slug or "artist"


def slug_candidates(name: str, *, discriminator: str | None = None) -> list[str]:
    """Slugs to try in order when the plain slug is taken: the plain one, then one made unique by
    the discriminator (a source id), so a collision never fails an import."""
    base = slugify(name)
    candidates = [base]
    if discriminator:
        candidates.append(f"{base}-{slugify(discriminator)[:12]}")
    return candidates
