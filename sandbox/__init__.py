"""An offline stand-in for Spotify, Ticketmaster and setlist.fm: same paths, JSON and quirks.

``create_app(SandboxConfig(...))`` gives the ASGI app (``app.state.sandbox`` holds the state);
``start_in_thread`` / ``run_server`` serve it over loopback HTTP.
"""

from __future__ import annotations

from sandbox.app import create_app
from sandbox.caps import API_CAPS, ApiCaps, scaled_caps
from sandbox.catalog import Catalog
from sandbox.config import ALL_FAULT_KINDS, DEMO_CREDENTIALS, FaultKind, SandboxConfig
from sandbox.core import Sandbox
from sandbox.hostile import ALL_HOSTILE_KINDS, HostileKind, Hostility
from sandbox.server import (
    SandboxServer,
    demo_settings_overrides,
    run_server,
    sandbox_settings_overrides,
    start_in_thread,
)
from sandbox.stats import SandboxStats
from sandbox.truth import Change, TrueSetlist, Truth

__all__ = [
    "ALL_FAULT_KINDS",
    "ALL_HOSTILE_KINDS",
    "API_CAPS",
    "DEMO_CREDENTIALS",
    "ApiCaps",
    "Catalog",
    "Change",
    "FaultKind",
    "HostileKind",
    "Hostility",
    "Sandbox",
    "SandboxConfig",
    "SandboxServer",
    "SandboxStats",
    "TrueSetlist",
    "Truth",
    "create_app",
    "demo_settings_overrides",
    "run_server",
    "sandbox_settings_overrides",
    "scaled_caps",
    "start_in_thread",
]
