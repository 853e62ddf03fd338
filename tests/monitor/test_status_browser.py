"""The status page in a real headless Chromium, 360 px wide: sign in through the form, read the
page as a person sees it, save screenshots to ``test-artifacts/`` (gitignored).

Chromium comes from Debian's packages (``apt-get install chromium``; ``.ci/run`` installs it when
absent). Without it this test skips, loudly; with ``REQUIRE_BROWSER=1`` (as in CI) it fails.
"""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import pytest
import uvicorn
from pydantic import SecretStr

from models.db import create_all, make_engine
from monitor.api import create_app
from monitor.status_page import SESSION_COOKIE
from settings import Settings
from tests.monitor.cdp import Browser, find_chromium
from tests.monitor.status_world import HOSTILE_NAME, NOW, build_status_world

SECRET = "s3cret-Value-0123456789-abcdefghijklmnop"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WIDTH = 360


@pytest.fixture
def chromium() -> str:
    path = find_chromium()
    if path is None:
        reason = "chromium is not installed (apt-get install -y chromium; .ci/run does it)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(f"SKIPPING THE BROWSER TEST: {reason}")
    return path


async def test_a_person_signs_in_and_reads_the_status_page_at_360_px(
    chromium: str, tmp_path: Path
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'status.db'}")
    await create_all(engine)
    await build_status_world(engine)
    settings = Settings(_env_file=None, cron_secret=SecretStr(SECRET), sync_stale_after_hours=24)
    app = create_app(settings, engine=engine, clock=lambda: NOW)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if serving.done():
                serving.result()
            await asyncio.sleep(0)
        async with Browser.launch(chromium, tmp_path / "profile") as page:
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=WIDTH,
                height=740,
                deviceScaleFactor=1,
                mobile=True,
            )
            await page.navigate(f"{base}/status")
            login_text = await page.evaluate("document.body.innerText")
            assert "Sign in with the monitor's secret" in login_text
            await page.screenshot(ARTIFACTS / "status-login-360.png")

            await page.evaluate(
                f"document.getElementById('secret').value = {SECRET!r};"
                "document.querySelector('form.login').requestSubmit()"
            )
            await page.wait_for("Page.loadEventFired")
            assert await page.evaluate("location.pathname") == "/status"
            text = await page.evaluate("document.body.innerText")
            # The cookie is HttpOnly (scripts never see it) and SameSite=Strict.
            assert await page.evaluate("document.cookie") == ""
            cookies = (await page.send("Network.getCookies", urls=[f"{base}/status"]))["cookies"]
            [session] = [c for c in cookies if c["name"] == SESSION_COOKIE]
            assert (session["httpOnly"], session["sameSite"], session["path"]) == (
                True,
                "Strict",
                "/status",
            )
            assert SECRET not in session["value"]
            # Usable at 360 px: nothing wider than the screen, every section there.
            assert await page.evaluate("document.documentElement.scrollWidth") <= WIDTH
            await page.screenshot(ARTIFACTS / "status-360.png")
    finally:
        server.should_exit = True
        await serving
        sock.close()
        await engine.dispose()

    for expected in (
        "MySetlist sync status",
        "Overall\n58%",
        "Last runs",
        "Autonomous sync last: partial at 2026-03-10 11:00",
        "Quota used today (2026-03-10 UTC)",
        "ticketmaster\t4600 / 5000",
        "Trending artists",
        "Northern Lights\t91.5",
        f"{HOSTILE_NAME}\t40.2",
        "Northern Lights 2026-03-20 @ The Fillmore\t70.0",
        "HTTP 500 for K1",
        "Sign out",
    ):
        assert expected in text, expected
