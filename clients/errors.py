"""Errors raised by the upstream clients. Every message and URL is redacted on construction."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Final
from urllib.parse import quote, quote_plus

__all__ = [
    "AuthError",
    "BadRequest",
    "EndpointUnavailable",
    "MalformedRecord",
    "NotFound",
    "QuotaExhausted",
    "RetriesExhausted",
    "UpstreamError",
    "clean_text",
    "record_key",
    "redact",
]

REDACTED = "***"
MAX_MESSAGE: Final = 2000
MAX_KEY: Final = 200
_SAFE_KEY = re.compile(r"^[0-9A-Za-z_.:\-]{1,64}$")
# The Ticketmaster key travels in the query string: hide any ``apikey=`` value, known or not.
_APIKEY_QUERY = re.compile(r"(?i)(\bapi[_-]?key=)[^&\s\"'#<>]+")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` without any of ``secrets`` (raw or URL-encoded) and without ``apikey=`` values."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms.update((secret, quote(secret, safe=""), quote_plus(secret, safe="")))
    for form in sorted(forms, key=len, reverse=True):
        text = text.replace(form, REDACTED)
    return _APIKEY_QUERY.sub(rf"\g<1>{REDACTED}", text)


def _escaped(char: str) -> str:
    if char == "\n" or unicodedata.category(char) not in ("Cc", "Cs"):
        return char
    return f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"


def clean_text(text: str, *, limit: int = MAX_MESSAGE) -> str:
    """``text`` safe to log and store: control characters (but line breaks) and lone surrogates
    escaped as ``\\x00``, at most ``limit`` characters. Upstream answers reach our messages."""
    text = "".join(_escaped(char) for char in text)
    if len(text) > limit:
        text = text[: limit - 1] + "\u2026"
    return text


def record_key(value: object, *, index: int) -> str | int:
    """The key a rejected record is recorded under: its id when the id is a plain one, its
    position when it has none, else a digest of the bad id (stable across runs, so a record
    refused every run stays one error row)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**18:
        return value
    if isinstance(value, str) and _SAFE_KEY.match(value):
        return value
    if value is None or value == "":
        return index
    shown = json.dumps(value, ensure_ascii=True, sort_keys=True, default=str)
    return "bad-id-" + hashlib.sha256(shown.encode("ascii")).hexdigest()[:16]


def _rebuild(cls: type[BaseException], message: str, state: dict[str, object]) -> BaseException:
    error = cls.__new__(cls)
    error.args = (message,)
    error.__dict__.update(state)
    return error


class _Picklable(Exception):
    """Keyword-only constructors break default exception pickling (Prefect persists failures)."""

    def __reduce__(self) -> tuple[object, tuple[object, ...]]:
        return (_rebuild, (type(self), str(self), dict(self.__dict__)))


class UpstreamError(_Picklable):
    """An upstream API answered with an error, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        api: str,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.api = api
        self.status = status
        self.code = clean_text(code, limit=64) if code is not None else None
        self.url = clean_text(redact(url, secrets)) if url is not None else None
        self.message = clean_text(redact(message, secrets))
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class AuthError(UpstreamError):
    """Credentials missing, refused or expired beyond renewal."""


class QuotaExhausted(UpstreamError):
    """The daily quota is spent; the client sends nothing more for the rest of its life."""


class EndpointUnavailable(UpstreamError):
    """An endpoint refused (403/404) because it is not available to this app or tier."""


class RetriesExhausted(UpstreamError):
    """Transient failures (429, 5xx, transport errors) outlasted every retry."""

    def __init__(
        self,
        message: str,
        *,
        api: str,
        attempts: int,
        status: int | None = None,
        code: str | None = None,
        url: str | None = None,
        secrets: Sequence[str] = (),
    ) -> None:
        super().__init__(message, api=api, status=status, code=code, url=url, secrets=secrets)
        self.attempts = attempts


class BadRequest(UpstreamError):
    """The API refused the request as invalid (400): a bug on our side, never retried."""


class NotFound(UpstreamError):
    """404: the resource does not exist (clients map it to ``None`` or an empty result)."""


class MalformedRecord(_Picklable):
    """One record of an answer failed validation; the rest of the answer is still used."""

    def __init__(
        self,
        *,
        api: str,
        kind: str,
        key: str | int,
        errors: Sequence[str],
        excerpt: str,
        secrets: Sequence[str] = (),
    ) -> None:
        self.api = api
        self.kind = kind
        self.key = clean_text(key, limit=MAX_KEY) if isinstance(key, str) else key
        self.errors = [clean_text(redact(error, secrets), limit=300) for error in errors]
        self.excerpt = clean_text(redact(excerpt, secrets))
        summary = "; ".join(self.errors) or "invalid"
        self.message = clean_text(
            redact(f"{api} {kind} {self.key!s}: malformed record: {summary}", secrets)
        )
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
