"""The simulation's Prefect clients build their SSL context from one certificate: the server is
plain http on 127.0.0.1, and parsing a CA bundle for each client (two per flow run) cost
60-300 ms each."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from prefect.client.orchestration import PrefectClient, SyncPrefectClient
from prefect.settings import temporary_settings

from cli.simulate import one_certificate_bundle, prefect_client_tls


def test_the_bundle_holds_exactly_one_certificate(tmp_path: Path) -> None:
    bundle = one_certificate_bundle(tmp_path)
    text = bundle.read_text(encoding="ascii")
    assert text.count("-----BEGIN CERTIFICATE-----") == 1
    assert text.endswith("-----END CERTIFICATE-----\n")
    stats = ssl.create_default_context(cafile=str(bundle)).cert_store_stats()
    assert stats == {"crl": 0, "x509_ca": 1, "x509": 1}


def test_each_prefect_client_loads_that_one_certificate_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[tuple[tuple[Any, ...], dict[str, Any], dict[str, int]]] = []
    real = ssl.create_default_context

    def spy(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        context = real(*args, **kwargs)
        built.append((args, kwargs, context.cert_store_stats()))
        return context

    monkeypatch.setattr(ssl, "create_default_context", spy)
    bundle = str(tmp_path / "one-certificate.pem")
    with temporary_settings(prefect_client_tls(tmp_path)):
        PrefectClient("http://127.0.0.1:9/api")
        SyncPrefectClient("http://127.0.0.1:9/api")
    one = {"crl": 0, "x509_ca": 1, "x509": 1}
    assert built == [((), {"cafile": bundle}, one), ((), {"cafile": bundle}, one)]
