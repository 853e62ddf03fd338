"""The ``deploy`` marker: tests that start a throwaway Prefect server (``pytest -m deploy``)."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: starts a throwaway Prefect server and runs `prefect deploy --all`"
    )
