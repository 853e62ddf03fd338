"""Secrets from Prefect Secret blocks, for the secret settings the environment leaves unset.

With ``SECRET_BLOCK_PREFIX=mysetlist``, a secret missing from the arguments, the environment,
``.env`` and the secrets directory is read from the Secret block ``mysetlist-<setting>`` (the
setting's name in lowercase with dashes, e.g. ``mysetlist-ticketmaster-api-key``). Without the
prefix Prefect is never asked. Values are never printed: only where each one came from, which
``secret_origins`` reports (``mysetlist check env`` shows it).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any, Final

from pydantic.fields import FieldInfo
from pydantic_settings import PydanticBaseSettingsSource

__all__ = [
    "ORIGIN_MISSING",
    "PREFIX_PATTERN",
    "SECRET_SETTINGS",
    "PrefectSecretBlocks",
    "SecretBlockError",
    "block_name",
    "read_secret_blocks",
    "take_origins",
]

#: (environment variable, field) of every secret setting.
SECRET_SETTINGS: Final[tuple[tuple[str, str], ...]] = (
    ("SPOTIFY_CLIENT_ID", "spotify_client_id"),
    ("SPOTIFY_CLIENT_SECRET", "spotify_client_secret"),
    ("TICKETMASTER_API_KEY", "ticketmaster_api_key"),
    ("SETLISTFM_API_KEY", "setlistfm_api_key"),
    ("CRON_SECRET", "cron_secret"),
    ("ALERT_WEBHOOK_URL", "alert_webhook_url"),
)
ORIGIN_MISSING: Final = "missing"
#: What a prefix may be (a Prefect block name: lowercase letters, digits, dashes).
PREFIX_PATTERN: Final = r"^[a-z0-9][a-z0-9-]*$"

# pydantic-settings source (by class name) -> how ``check env`` names it; first match wins.
_ORIGINS: Final[tuple[tuple[str, str], ...]] = (
    ("InitSettingsSource", "given"),
    ("EnvSettingsSource", "environment"),
    ("DotEnvSettingsSource", ".env"),
    ("SecretsSettingsSource", "secrets directory"),
)

# Set by the source while a Settings is built, taken by that Settings right after.
_pending: ContextVar[dict[str, str] | None] = ContextVar("mysetlist_secret_origins", default=None)


class SecretBlockError(RuntimeError):
    """The Prefect server could not be asked for the Secret blocks (never carries a value)."""


def block_name(prefix: str, field: str) -> str:
    """The Secret block holding setting ``field``: ``<prefix>-<field with dashes>``."""
    return f"{prefix}-{field.replace('_', '-')}"


def read_secret_blocks(names: list[str]) -> dict[str, str]:
    """The value of each Secret block of ``names`` that exists (absent ones are left out).

    Synchronous: settings are built before any event loop is needed (and inside one too).
    """
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    found: dict[str, str] = {}
    try:
        with get_client(sync_client=True) as client:
            for name in names:
                try:
                    document = client.read_block_document_by_name(
                        name, block_type_slug="secret", include_secrets=True
                    )
                except ObjectNotFound:
                    continue
                value = (document.data or {}).get("value")
                if isinstance(value, str) and value.strip():
                    found[name] = value
    except Exception as exc:
        raise SecretBlockError(
            f"could not read the Prefect Secret blocks {', '.join(names)} "
            f"({type(exc).__name__}); is the Prefect server reachable? "
            "Unset SECRET_BLOCK_PREFIX to use the environment only"
        ) from None
    return found


def _given(value: object) -> bool:
    if value is None:
        return False
    if hasattr(value, "get_secret_value"):
        value = value.get_secret_value()
    return not (isinstance(value, str) and not value.strip())


def _origin(field: str, sources: Mapping[str, Mapping[str, Any]]) -> str:
    for source, origin in _ORIGINS:
        if _given(sources.get(source, {}).get(field)):
            return origin
    return ORIGIN_MISSING


class PrefectSecretBlocks(PydanticBaseSettingsSource):
    """The last settings source: Secret blocks for secrets no earlier source gave."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # unused: __call__ reads all fields at once

    def __call__(self) -> dict[str, Any]:
        sources = self.settings_sources_data
        origins = {env: _origin(field, sources) for env, field in SECRET_SETTINGS}
        prefix = self.current_state.get("secret_block_prefix")
        if not isinstance(prefix, str) or not re.fullmatch(PREFIX_PATTERN, prefix):
            prefix = None  # the field's own validation names the bad value
        wanted = {
            block_name(str(prefix), field): (env, field)
            for env, field in SECRET_SETTINGS
            if prefix and origins[env] == ORIGIN_MISSING
        }
        values: dict[str, Any] = {}
        if wanted:
            for name, value in read_secret_blocks(list(wanted)).items():
                env, field = wanted[name]
                values[field] = value
                origins[env] = f"prefect block {name}"
        _pending.set(origins)
        return values


def take_origins() -> dict[str, str]:
    """The origins the source recorded for the Settings being built (empty when none was)."""
    origins = _pending.get()
    _pending.set(None)
    return dict(origins or {})
