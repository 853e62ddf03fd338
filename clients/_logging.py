"""Secrets out of third-party logs: httpx and httpcore log every request line, URL included.

The Ticketmaster key travels in the query string, so ``httpx`` writes it at INFO
(``HTTP Request: GET https://…/events.json?apikey=<key> …``) and ``httpcore`` traces requests
at DEBUG. Every ``Transport`` installs ``RedactingFilter`` on those loggers and registers its
secrets with it: each record is rewritten with the secrets and any ``apikey=`` value masked,
at every level, before any handler sees it. A filter on a logger does not see its children's
records, so it is installed on each ``httpcore.*`` logger as well.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from typing import Final

from clients.errors import redact

__all__ = ["HTTP_LOGGERS", "RedactingFilter", "install_http_log_redaction"]

HTTP_LOGGERS: Final = (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
    "hpack",
    "hpack.hpack",
)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with every registered secret (and ``apikey=``) masked."""

    def __init__(self) -> None:
        super().__init__("mysetlist-redaction")
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secrets: Iterable[str]) -> None:
        with self._lock:
            self._secrets.update(secret for secret in secrets if secret)

    @property
    def secrets(self) -> frozenset[str]:
        return frozenset(self._secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken record: leave it to the handler's own error path
            return True
        shown = redact(message, self._secrets)
        if shown != message:
            record.msg = shown
            record.args = None
        return True


_FILTER = RedactingFilter()
_installed: set[str] = set()


def install_http_log_redaction(secrets: Iterable[str] = ()) -> RedactingFilter:
    """Register ``secrets`` and make sure every HTTP library logger carries the filter."""
    _FILTER.add(secrets)
    names = set(HTTP_LOGGERS) | {
        name
        for name in list(logging.root.manager.loggerDict)
        if name.startswith(("httpx.", "httpcore.", "hpack."))
    }
    for name in names - _installed:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        _installed.add(name)
    return _FILTER
