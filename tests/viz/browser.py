"""Drive a real headless Chromium from tests, with the standard library only.

Chromium speaks the Chrome DevTools Protocol (CDP) over a pair of pipes when started with
``--remote-debugging-pipe`` (it reads commands on fd 3 and writes replies on fd 4, each
message a JSON text ended by a NUL byte). No websocket, no driver binary, no browser download:
only the Debian ``chromium`` package is needed.

    with Chromium() as browser:
        page = browser.new_page()
        page.goto("file:///tmp/report.html")
        assert page.evaluate("document.title") == "..."
        page.hover(".ent[data-e='0']")
        png = page.screenshot()

A page records what a test asserts on: console errors, uncaught exceptions, browser log
errors, every network request and every failed one.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import shutil
import struct
import subprocess
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

__all__ = ["CHROMIUM_FLAGS", "BrowserError", "Chromium", "Page", "decode_png", "find_chromium", "recompress_png"]

#: flags that work in containers without a GPU, a sandbox or a network
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--mute-audio",
    "--hide-scrollbars",
]


class BrowserError(RuntimeError):
    """Chromium could not be started, or a CDP command failed or timed out."""


def find_chromium() -> str | None:
    """The Chromium executable (``$CHROMIUM``, then ``chromium`` / ``chromium-browser`` on PATH)."""
    explicit = os.environ.get("CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _move_high(fd: int) -> int:
    """Duplicate ``fd`` to a number of at least 10 and close the original."""
    high = fcntl.fcntl(fd, fcntl.F_DUPFD, 10)
    os.close(fd)
    return high


class Chromium:
    """A headless Chromium process controlled over the DevTools pipe (a context manager)."""

    def __init__(self, executable: str | None = None, width: int = 1280, height: int = 900, timeout: float = 30.0) -> None:
        self.executable = executable or find_chromium()
        if not self.executable:
            raise BrowserError("Chromium not found: install the Debian package `chromium` (apt-get install chromium)")
        self.width, self.height, self.timeout = width, height, timeout
        self._next_id = 0
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self._closed = False
        self.process: subprocess.Popen | None = None

    # ---- process ------------------------------------------------------------------------------
    def __enter__(self) -> Chromium:
        try:
            self.start()
        except BaseException:
            self.close()  # no leftover process or profile folder when the start fails
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="defnlp-chromium-")
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()
        # move the child's ends above 3 and 4 so that the redirections below cannot clobber them
        to_browser_r, from_browser_w = (_move_high(fd) for fd in (to_browser_r, from_browser_w))
        args = CHROMIUM_FLAGS + [
            f"--user-data-dir={self.profile}",
            f"--window-size={self.width},{self.height}",
            "--remote-debugging-pipe",
            "about:blank",
        ]
        # bash (dash refuses fd numbers above 9) puts our pipe ends on fds 3 and 4, where Chromium reads them
        script = f'exec "$0" "$@" 3<&{to_browser_r} 4>&{from_browser_w} {to_browser_r}<&- {from_browser_w}>&-'
        self.process = subprocess.Popen(
            [shutil.which("bash") or "/bin/bash", "-c", script, self.executable, *args],
            pass_fds=(to_browser_r, from_browser_w),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._reader = threading.Thread(target=self._read_loop, name="cdp-reader", daemon=True)
        self._reader.start()
        self._stderr_tail: list[bytes] = []
        threading.Thread(target=self._drain_stderr, name="chromium-stderr", daemon=True).start()
        self.version = self.send("Browser.getVersion")["product"]

    def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr_tail = (self._stderr_tail + [line])[-20:]

    def close(self) -> None:
        if self.process is None:
            if getattr(self, "profile", None):
                shutil.rmtree(self.profile, ignore_errors=True)
            return
        try:
            if self.process.poll() is None and not self._closed:
                try:
                    self.send("Browser.close", timeout=5)
                except BrowserError:
                    pass
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        finally:
            for fd in (self._to_browser, self._from_browser):
                try:
                    os.close(fd)
                except OSError:
                    pass
            shutil.rmtree(self.profile, ignore_errors=True)
            self.process = None

    # ---- protocol -----------------------------------------------------------------------------
    def _read_loop(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = os.read(self._from_browser, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                break
            buffer += chunk
            while b"\0" in buffer:
                raw, buffer = buffer.split(b"\0", 1)
                message = json.loads(raw)
                with self._cond:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._events.append(message)
                    self._cond.notify_all()
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None, timeout: float | None = None) -> dict[str, Any]:
        """Send a CDP command and wait for its result."""
        with self._cond:
            self._next_id += 1
            call_id = self._next_id
        message: dict[str, Any] = {"id": call_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        try:
            os.write(self._to_browser, json.dumps(message).encode("utf-8") + b"\0")
        except OSError as err:
            raise BrowserError(f"Chromium is gone ({err}); stderr: {self._stderr()}") from err
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while call_id not in self._replies:
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError(f"no reply to {method} ({'browser closed' if self._closed else 'timeout'}); stderr: {self._stderr()}")
                self._cond.wait(left)
            reply = self._replies.pop(call_id)
        if "error" in reply:
            raise BrowserError(f"{method} failed: {reply['error'].get('message')}")
        return reply.get("result", {})

    def _stderr(self) -> str:
        return b"".join(self._stderr_tail).decode("utf-8", errors="replace")[-2000:]

    def events(self, session: str | None = None, start: int = 0) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self._events[start:] if session is None or e.get("sessionId") == session]

    def wait_event(self, method: str, session: str, start: int, timeout: float | None = None) -> dict[str, Any]:
        """Wait for an event named ``method`` received after event number ``start``."""
        deadline = time.monotonic() + (timeout or self.timeout)
        with self._cond:
            while True:
                for event in self._events[start:]:
                    if event.get("method") == method and event.get("sessionId") == session:
                        return event
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise BrowserError(f"no {method} event ({'browser closed' if self._closed else 'timeout'})")
                self._cond.wait(left)

    # ---- pages ----------------------------------------------------------------------------------
    def new_page(self) -> Page:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        page = Page(self, target, session)
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        return page


@dataclass
class Page:
    """One browser tab; everything the page logged is read from the recorded CDP events."""

    browser: Chromium
    target: str
    session: str
    _mark: int = field(default=0)

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.browser.send(method, params, session=self.session)

    def goto(self, url: str, timeout: float | None = None) -> None:
        """Navigate and wait for the load event."""
        self._mark = len(self.browser.events())
        result = self.send("Page.navigate", {"url": url})
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        self.browser.wait_event("Page.loadEventFired", self.session, self._mark, timeout)

    def _events(self, method: str) -> list[dict[str, Any]]:
        return [e["params"] for e in self.browser.events(self.session, self._mark) if e.get("method") == method]

    @property
    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and browser log errors since the last ``goto``."""
        errors = [
            " ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", []))
            for p in self._events("Runtime.consoleAPICalled")
            if p.get("type") in ("error", "assert")
        ]
        errors += [p["exceptionDetails"].get("exception", {}).get("description") or p["exceptionDetails"].get("text", "")
                   for p in self._events("Runtime.exceptionThrown")]
        errors += [f"{p['entry'].get('source')}: {p['entry'].get('text')} {p['entry'].get('url', '')}"
                   for p in self._events("Log.entryAdded") if p["entry"].get("level") == "error"]
        return errors

    @property
    def requests(self) -> list[str]:
        """URLs of every request the page made since the last ``goto`` (the page itself included)."""
        return [p["request"]["url"] for p in self._events("Network.requestWillBeSent")]

    @property
    def failed_requests(self) -> list[str]:
        return [f"{p.get('errorText')} ({p.get('requestId')})" for p in self._events("Network.loadingFailed")]

    def evaluate(self, expression: str) -> Any:
        """Evaluate a JavaScript expression in the page and return its (JSON) value."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True})
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise BrowserError(f"JavaScript error: {details.get('exception', {}).get('description') or details.get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """Poll ``expression`` until it is truthy; return its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for {expression}")
            time.sleep(0.05)

    def hover(self, selector: str, scroll: bool = True) -> None:
        """Move the mouse onto the centre of the first element matching ``selector``.

        The element is scrolled to the middle of the viewport first, unless ``scroll`` is false.
        """
        box = self.evaluate(
            "(() => { const el = document.querySelector(%s); if (!el) return null;"
            " if (%s) el.scrollIntoView({block: 'center'}); const r = el.getClientRects()[0];"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()" % (json.dumps(selector), json.dumps(scroll))
        )
        if box is None:
            raise BrowserError(f"nothing matches {selector!r}")
        self.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": box["x"], "y": box["y"]})

    def click(self, selector: str) -> None:
        self.hover(selector)
        box = self.evaluate(
            "(() => { const r = document.querySelector(%s).getClientRects()[0];"
            " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()" % json.dumps(selector)
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", {"type": kind, "x": box["x"], "y": box["y"], "button": "left", "clickCount": 1})

    def screenshot(self, full_page: bool = False) -> bytes:
        """A PNG screenshot of the viewport (or of the whole page)."""
        params: dict[str, Any] = {"format": "png"}
        if full_page:
            params["captureBeyondViewport"] = True
            size = self.evaluate("({w: document.documentElement.scrollWidth, h: document.documentElement.scrollHeight})")
            params["clip"] = {"x": 0, "y": 0, "width": size["w"], "height": min(size["h"], 16000), "scale": 1}
        return base64.b64decode(self.send("Page.captureScreenshot", params)["data"])


# ---- PNG decoding (to check that a screenshot is not blank) ---------------------------------------
def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG into (width, height, rows of raw pixels)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG (depth {depth}, colour type {colour}, interlace {interlace})")
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up = previous[x]
            upper_left = previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 255
            elif kind == 2:
                line[x] = (line[x] + up) & 255
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 255
            elif kind == 4:
                p = left + up - upper_left
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upper_left)
                predictor = left if pa <= pb and pa <= pc else (up if pb <= pc else upper_left)
                line[x] = (line[x] + predictor) & 255
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def recompress_png(data: bytes) -> bytes:
    """The same picture, smaller: rows unfiltered, zlib level 9, RGB when every pixel is opaque.

    Chromium favours speed when it encodes a screenshot; text on flat backgrounds compresses
    about a quarter better this way (for the screenshots the docs show).
    """
    width, height, rows = decode_png(data)
    bpp = len(rows[0]) // width if rows else 3
    if bpp == 4 and all(row[3::4] == b"\xff" * width for row in rows):
        rows = [bytes(b for k, b in enumerate(row) if k % 4 != 3) for row in rows]
        bpp = 3
    body = zlib.compress(b"".join(b"\x00" + row for row in rows), 9)

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2 if bpp == 3 else 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
