"""A tiny headless-Chromium driver for tests, on the standard library only.

It speaks the Chrome DevTools Protocol over `--remote-debugging-pipe` (file descriptors
3 and 4, NUL-terminated JSON messages), so no port is opened, no `websockets` or
Playwright dependency is needed, and nothing leaves the machine. Shared by every test
that needs a real browser:

    with Browser() as browser:
        page = browser.open(path)          # PageLoad: console errors, network requests
        png = browser.screenshot()
        pdf = browser.print_pdf()

Chromium's own background traffic is switched off by flags; `PageLoad.requests` lists
every request the *page* made, which for a self-contained report must be only the
report file itself.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser",
                       "/usr/bin/google-chrome")


def chromium_path() -> str | None:
    """The Chromium executable, or None (tests then skip)."""
    override = os.environ.get("EOLNEEDS_CHROMIUM")
    if override and Path(override).exists():
        return override
    for candidate in CHROMIUM_CANDIDATES:
        if Path(candidate).exists():
            return candidate
    return shutil.which("chromium")


def require_chromium() -> None:
    """Skip a browser test where Chromium cannot run (no browser, or Windows: DevTools
    over a pipe needs POSIX); in CI, which installs it (.ci/run), fail instead."""
    import sys

    import pytest

    if chromium_path() is None or sys.platform == "win32":
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed: .ci/run must install the chromium package")
        pytest.skip("needs Chromium and a POSIX system (DevTools over a pipe)")


class BrowserError(RuntimeError):
    pass


@dataclass
class PageLoad:
    url: str
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)  # every URL the page requested
    log_errors: list[str] = field(default_factory=list)

    @property
    def external_requests(self) -> list[str]:
        """Requests other than the page itself and inline data: URLs."""
        return [u for u in self.requests if u != self.url and not u.startswith("data:")]


class Browser:
    """Headless Chromium with one page, driven over the DevTools pipe."""

    def __init__(self, width: int = 1280, height: int = 900, timeout: float = 60.0) -> None:
        self.width, self.height, self.timeout = width, height, timeout
        self._next_id = 0
        self._buffer = b""
        self._events: list[dict[str, Any]] = []
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: tempfile.TemporaryDirectory[str] | None = None
        self.session: str | None = None

    # --- lifecycle -------------------------------------------------------------------
    def __enter__(self) -> Browser:
        exe = chromium_path()
        if exe is None:
            raise BrowserError("Chromium not found")
        try:
            import fcntl  # POSIX only: the pipe transport needs fds 3 and 4
        except ImportError as exc:  # pragma: no cover - Windows
            raise BrowserError("the DevTools pipe needs a POSIX system") from exc
        self._profile = tempfile.TemporaryDirectory(prefix="eolneeds-chromium-")
        # fd 3: commands to the browser; fd 4: its replies (the pipe protocol's layout).
        cmd_read, self._cmd_write = os.pipe()
        self._reply_read, reply_write = os.pipe()

        def child_fds() -> None:  # runs in the child before exec
            # Move both ends out of the way first, in case either already is 3 or 4;
            # dup2 makes the copies inheritable, and close_fds=False keeps them open
            # (every other descriptor Python opened is non-inheritable by default).
            high_read = fcntl.fcntl(cmd_read, fcntl.F_DUPFD, 10)
            high_write = fcntl.fcntl(reply_write, fcntl.F_DUPFD, 10)
            os.dup2(high_read, 3)
            os.dup2(high_write, 4)

        self._proc = subprocess.Popen(
            [
                exe, "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync", "--disable-extensions",
                "--disable-default-apps", "--no-default-browser-check",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                f"--user-data-dir={self._profile.name}", "--remote-debugging-pipe",
                f"--window-size={self.width},{self.height}", "about:blank",
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds,  # noqa: PLW1509
        )
        os.close(cmd_read)
        os.close(reply_write)
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        self.session = self.call("Target.attachToTarget",
                                 {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": self.width, "height": self.height, "deviceScaleFactor": 1,
                   "mobile": False}, session=True)
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if self._proc is not None and self._proc.poll() is None:
                try:
                    self.call("Browser.close", timeout=10)
                except (BrowserError, OSError):
                    pass
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait(timeout=10)
        finally:
            for fd in (self._cmd_write, self._reply_read):
                try:
                    os.close(fd)
                except OSError:
                    pass
            if self._profile is not None:
                self._profile.cleanup()

    # --- protocol --------------------------------------------------------------------
    def call(self, method: str, params: dict[str, Any] | None = None, *,
             session: bool = False, timeout: float | None = None) -> dict[str, Any]:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method,
                                   "params": params or {}}
        if session:
            message["sessionId"] = self.session
        os.write(self._cmd_write, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            reply = self._read(deadline)
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def _read(self, deadline: float) -> dict[str, Any]:
        import select

        while b"\0" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrowserError("timed out waiting for Chromium")
            ready, _, _ = select.select([self._reply_read], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(self._reply_read, 1 << 20)
            if not chunk:
                raise BrowserError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        raw, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(raw)

    def _wait_event(self, method: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        for i, event in enumerate(self._events):
            if event.get("method") == method:
                return self._events.pop(i)
        while True:
            event = self._read(deadline)
            if event.get("method") == method:
                return event
            self._events.append(event)

    # --- page actions ------------------------------------------------------------------
    def open(self, path: Path) -> PageLoad:
        """Load a local file, wait for the load event, and report what happened."""
        url = Path(path).resolve().as_uri()
        self._events.clear()
        self.call("Page.navigate", {"url": url}, session=True)
        self._wait_event("Page.loadEventFired")
        # A round trip after load flushes events queued during it.
        self.call("Runtime.evaluate", {"expression": "document.readyState"}, session=True)
        page = PageLoad(url=url)
        for event in self._events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params.get("type") in ("error",
                                                                             "assert"):
                page.console_errors.append(json.dumps(params.get("args", []))[:300])
            elif method == "Runtime.exceptionThrown":
                page.exceptions.append(json.dumps(params.get("exceptionDetails", {}))[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                page.log_errors.append(params["entry"].get("text", "")[:300])
            elif method == "Network.requestWillBeSent":
                page.requests.append(params.get("request", {}).get("url", ""))
        return page

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate",
                           {"expression": expression, "returnByValue": True}, session=True)
        return result.get("result", {}).get("value")

    def screenshot(self, *, full_page: bool = False, max_height: int = 16000,
                   top: float | None = None, height: int | None = None) -> bytes:
        """PNG of the viewport; or of the whole page (full_page, up to max_height px);
        or of the band from `top` (CSS px from the top of the page) `height` px tall."""
        params: dict[str, Any] = {"format": "png"}
        if full_page or top is not None:
            page_height = int(self.evaluate("document.documentElement.scrollHeight"))
            start = int(top or 0)
            band = height if height is not None else min(page_height, max_height)
            band = max(1, min(band, page_height - start))
            params.update(captureBeyondViewport=True,
                          clip={"x": 0, "y": start, "width": self.width, "height": band,
                                "scale": 1})
        data = self.call("Page.captureScreenshot", params, session=True)["data"]
        return base64.b64decode(data)

    def element_top(self, element_id: str) -> float:
        """The page offset (CSS px) of an element, for screenshots of one section."""
        return float(self.evaluate(
            f"document.getElementById({json.dumps(element_id)}).getBoundingClientRect().top"
            " + window.scrollY"))

    def emulate_media(self, media: str) -> None:
        """'print' lays the page out with the print stylesheet (for screenshots)."""
        self.call("Emulation.setEmulatedMedia", {"media": media}, session=True)

    def print_pdf(self) -> bytes:
        data = self.call("Page.printToPDF",
                         {"printBackground": True, "preferCSSPageSize": True},
                         session=True)["data"]
        return base64.b64decode(data)
