"""A headless Chromium driven over the Chrome DevTools Protocol (``websockets``, no driver):
just what the status page's browser test needs.

``find_chromium`` looks for Debian's ``chromium`` (``.ci/run`` installs it when absent);
``Browser.launch`` starts it on a throwaway profile with a DevTools port the OS picks, and
``Page`` sends commands and waits for events of one tab.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import websockets

__all__ = ["Browser", "Page", "find_chromium"]

_STARTUP_SECONDS = 30.0
_EVENT_SECONDS = 20.0


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Page:
    """One tab: ``send`` a command and get its result; ``wait_for`` an event."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection
        self._ids = itertools.count(1)
        self._events: list[dict[str, Any]] = []

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        command_id = next(self._ids)
        await self._connection.send(
            json.dumps({"id": command_id, "method": method, "params": params})
        )
        while True:
            message = json.loads(await self._connection.recv())
            if message.get("id") == command_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            if "method" in message:
                self._events.append(message)

    async def wait_for(self, event: str) -> dict[str, Any]:
        async with asyncio.timeout(_EVENT_SECONDS):
            while True:
                for index, message in enumerate(self._events):
                    if message["method"] == event:
                        del self._events[: index + 1]
                        return dict(message.get("params", {}))
                self._events.clear()
                message = json.loads(await self._connection.recv())
                if "method" in message:
                    self._events.append(message)

    async def navigate(self, url: str) -> None:
        self._events.clear()
        await self.send("Page.navigate", url=url)
        await self.wait_for("Page.loadEventFired")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def screenshot(self, path: Path) -> None:
        shot = await self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        _write(path, base64.b64decode(shot["data"]))


class Browser:
    @staticmethod
    @contextlib.asynccontextmanager
    async def launch(executable: str, profile: Path) -> AsyncIterator[Page]:
        """Headless Chromium on ``profile``; yields its first tab. Killed on exit."""
        process = await asyncio.create_subprocess_exec(
            executable,
            "--headless=new",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            port = await _devtools_port(profile / "DevToolsActivePort", process)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                targets = (await http.get("/json/list")).json()
            [tab] = [t for t in targets if t["type"] == "page"]
            async with websockets.connect(tab["webSocketDebuggerUrl"], max_size=None) as ws:
                page = Page(ws)
                await page.send("Page.enable")
                yield page
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()


async def _devtools_port(path: Path, process: asyncio.subprocess.Process) -> int:
    """The port Chromium writes to its profile once DevTools listens."""
    async with asyncio.timeout(_STARTUP_SECONDS):
        while True:
            if process.returncode is not None:
                raise RuntimeError(f"chromium exited with {process.returncode} at start")
            port = _read_port(path)
            if port is not None:
                return port
            await asyncio.sleep(0.02)


def _read_port(path: Path) -> int | None:
    if not path.exists():
        return None
    first = path.read_text().splitlines()[:1]
    return int(first[0]) if first and first[0].isdigit() else None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
