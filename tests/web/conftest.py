"""Browser tests of the web UI that `syncdesk-cli serve` serves: a real server on a free loopback
port and a temporary state directory, driven in headless Chromium by pytest + selenium. Run
them with scripts/web-test.sh (a private session bus and keyring: the API's tokens live in the
OS keyring).

The page objects are the desktop end-to-end tests' (tests/e2e/ui.py): the web UI shows the same
views, so a user finds the same tabs, cards, buttons and tables by the same names.

Every server gets a sandbox: HOME and the XDG directories point into a temporary directory, and
the state directory is a fresh one, so nothing touches the real user. Chromium gets a profile of
its own per test (chromedriver's temporary one), so local storage starts empty.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
# The desktop e2e tests' page objects (ui.App, record_progress, ...): the same UI.
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from ui import App  # noqa: E402

TARGET = Path(os.environ.get("SYNCDESK_WEB_TARGET", ROOT / "target"))
CLI_BIN = Path(os.environ.get("SYNCDESK_WEB_CLI", TARGET / "debug" / "syncdesk-cli")).resolve()
UI_DIR = Path(os.environ.get("SYNCDESK_WEB_UI_DIR", ROOT / "ui" / "dist")).resolve()
ARTIFACTS = Path(os.environ.get("SYNCDESK_WEB_ARTIFACTS", TARGET / "web-artifacts")).resolve()
CHROMIUM = os.environ.get("SYNCDESK_WEB_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("SYNCDESK_WEB_CHROMEDRIVER") or shutil.which("chromedriver") or \
    "/usr/bin/chromedriver"

# Variables of the caller that would point the CLI at real state.
_SCRUB = ("SYNCDESK_", "XDG_")

CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Everything the tests load is on loopback: never through a proxy from the environment.
    "--no-proxy-server",
    "--window-size=1280,900",
    "--lang=en-US",
)


@dataclass
class Sandbox:
    """A private HOME/XDG and state directory for one server."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.state_dir = self.root / "syncdesk-state"
        dirs = {name: self.root / f"xdg-{name}" for name in ("data", "state", "config", "cache")}
        for d in (self.home, self.state_dir, *dirs.values()):
            d.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
        env.update(
            HOME=str(self.home),
            XDG_DATA_HOME=str(dirs["data"]),
            XDG_STATE_HOME=str(dirs["state"]),
            XDG_CONFIG_HOME=str(dirs["config"]),
            XDG_CACHE_HOME=str(dirs["cache"]),
            LANG="C.UTF-8",
            LANGUAGE="en",
        )
        # The keyring session's runtime directory (gnome-keyring's control socket) stays.
        if os.environ.get("XDG_RUNTIME_DIR"):
            env["XDG_RUNTIME_DIR"] = os.environ["XDG_RUNTIME_DIR"]
        self.env = env

    def cli(self, *args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess:
        cmd = [str(CLI_BIN), "--state-dir", str(self.state_dir), *args]
        res = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}")
        return res


def make_files(directory: Path, count: int) -> None:
    """`count` small text files in 20 subdirectories, each different."""
    for i in range(count):
        sub = directory / f"dir{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"note{i:05d}.txt").write_text(f"note {i}\n" * 40)


class Server:
    """`syncdesk-cli serve --json --no-background` on a free port; its start-up document."""

    def __init__(self, sandbox: Sandbox, name: str) -> None:
        self.sandbox = sandbox
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.log_path = ARTIFACTS / f"{name}.serve.log"
        self._out_path = sandbox.root / "serve.json"
        self._out = open(self._out_path, "wb")
        self._log = open(self.log_path, "wb")
        # Its own session (process group): teardown ends it by this id.
        self.proc = subprocess.Popen(
            [str(CLI_BIN), "--state-dir", str(sandbox.state_dir), "serve", "--json", "--verbose",
             "--no-background", "--listen", "127.0.0.1:0", "--ui-dir", str(UI_DIR)],
            env=sandbox.env, stdout=self._out, stderr=self._log, stdin=subprocess.DEVNULL,
            start_new_session=True)
        try:
            self.info = self._read_start_document()
        except BaseException:
            self.close()
            raise
        self.url: str = self.info["url"]
        created = self.info.get("createdToken")
        assert created and created["secret"].startswith("sdt_"), \
            f"a fresh state dir must get a token on its first start: {self.info}"
        self.token: str = created["secret"]

    def _read_start_document(self, timeout: float = 30.0) -> dict:
        """serve prints one JSON document once it listens. It goes to a file (nothing else
        reads serve's stdout), which is read until it parses: there is no event to wait on."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self._out_path.read_text()
            if text.strip():
                try:
                    return json.loads(text)
                except json.JSONDecodeError:
                    pass  # not all written yet
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"serve exited with {self.proc.returncode} before it listened; "
                    f"stdout: {self._out_path.read_text()!r}; log: {self.log_path}")
            time.sleep(0.05)
        raise RuntimeError(f"serve printed no start-up document within {timeout}s")

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """One request to the API with the admin token (for checks next to what the UI shows)."""
        import urllib.request

        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.url.rstrip("/") + path, data=data, method=method)
        req.add_header("Authorization", f"Token {self.token}")
        if data is not None:
            req.add_header("Content-Type", "application/json")
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(req, timeout=30) as res:
            return json.load(res)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self._out.close()
        self._log.close()


def _check_setup() -> None:
    if not CLI_BIN.exists():
        pytest.exit(f"{CLI_BIN} not found: build it first (scripts/web-test.sh does)", returncode=2)
    if not (UI_DIR / "index.html").exists():
        pytest.exit(f"{UI_DIR}/index.html not found: build the UI (scripts/web-test.sh does)",
                    returncode=2)
    for b in (CHROMIUM, CHROMEDRIVER):
        if not Path(b).exists():
            pytest.exit(f"{b} not found: run scripts/setup.sh desktop (chromium, chromium-driver)",
                        returncode=2)
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        pytest.exit("no session bus (the API's tokens live in the OS keyring): run the tests "
                    "through scripts/web-test.sh", returncode=2)


def pytest_sessionstart(session: pytest.Session) -> None:
    _check_setup()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _test_name(request: pytest.FixtureRequest) -> str:
    return request.node.name.replace("/", "_").replace("[", "-").rstrip("]")


@pytest.fixture
def serve(tmp_path: Path, request: pytest.FixtureRequest):
    """serve(files=N) starts a server whose state has one folder, `docs`, of N small files on a
    local remote, never synced (no background syncs: --no-background); it is stopped after the
    test."""
    started: list[Server] = []

    def _serve(files: int = 20) -> Server:
        sb = Sandbox(tmp_path / "sandbox")
        make_files(sb.root / "docs", files)
        sb.cli("folder", "add", "docs", str(sb.root / "docs"), "--remote", str(sb.root / "remote"))
        server = Server(sb, _test_name(request))
        started.append(server)
        return server

    yield _serve
    for server in started:
        server.close()


class Browser(App):
    """The page objects of tests/e2e/ui.py over a Chromium session, plus what only a browser
    has: the address bar, local storage and the DevTools log of WebSocket frames."""

    def __init__(self, driver, name: str) -> None:
        super().__init__(driver, None, name, ARTIFACTS)
        #: WebSocket URLs by DevTools request id, and the ids of those connected, so far.
        self.sockets: dict[str, str] = {}
        self.open_sockets: set[str] = set()

    def open(self, url: str) -> None:
        self.d.get(url)

    def url(self) -> str:
        return self.d.current_url

    def stored_token(self) -> str | None:
        return self.js("return window.localStorage.getItem('syncdesk.token');")

    def websocket_frames(self) -> list[dict]:
        """Frames the page received over WebSockets since the last call (DevTools' log is
        drained), parsed, in order: [{"url": <the socket's URL>, "data": <the JSON frame>}]."""
        frames = []
        for entry in self.d.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            method, params = message["method"], message.get("params", {})
            if method == "Network.webSocketCreated":
                self.sockets[params["requestId"]] = params["url"]
            elif method == "Network.webSocketHandshakeResponseReceived":
                if params["response"]["status"] == 101:
                    self.open_sockets.add(params["requestId"])
            elif method == "Network.webSocketClosed":
                self.open_sockets.discard(params["requestId"])
            elif method == "Network.webSocketFrameReceived":
                payload = params["response"]["payloadData"]
                try:
                    data = json.loads(payload)
                except json.JSONDecodeError:
                    continue
                frames.append({"url": self.sockets.get(params["requestId"], ""), "data": data})
        return frames

    def events_socket_open(self) -> bool:
        """Whether the page's event stream (/ws) is connected (after draining the log: call
        it only while no frames matter, or keep what websocket_frames returned)."""
        self.websocket_frames()
        return any("/ws" in self.sockets.get(r, "") for r in self.open_sockets)


@pytest.fixture
def browser(tmp_path: Path, request: pytest.FixtureRequest):
    """A fresh headless Chromium (new profile, empty local storage) for the test."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in CHROMIUM_ARGS:
        options.add_argument(arg)
    # The DevTools network log, to see the WebSocket frames the page receives.
    options.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = _test_name(request)
    home = tmp_path / "chromium-home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_CACHE_HOME=str(home / ".cache"), LANG="C.UTF-8", LANGUAGE="en",
               # No accessibility bus to look for.
               NO_AT_BRIDGE="1")
    service = Service(executable_path=CHROMEDRIVER, env=env,
                      log_output=str(ARTIFACTS / f"{name}.chromedriver.log"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    b = Browser(driver, name)
    try:
        yield b
    finally:
        node = request.node
        failed = any(getattr(getattr(node, f"rep_{w}", None), "failed", False)
                     for w in ("setup", "call"))
        if failed:
            try:
                b.screenshot(f"FAILED-{node.name}")
                text = driver.execute_script("return document.body.innerText;")
                (ARTIFACTS / f"{name}--FAILED-{node.name}.txt").write_text(text)
            except Exception:
                pass
        driver.quit()
