"""Errors raised by the upstream clients. Every message and URL is redacted on construction."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
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
    "redact",
]

REDACTED = "***"
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
        self.code = code
        self.url = redact(url, secrets) if url is not None else None
        self.message = redact(message, secrets)
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
        self.key = key
        self.errors = [redact(error, secrets) for error in errors]
        self.excerpt = redact(excerpt, secrets)
        summary = "; ".join(self.errors) or "invalid"
        self.message = redact(f"{api} {kind} {key!s}: malformed record: {summary}", secrets)
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message
