"""End-to-end tests of the desktop app: the real binary, driven through tauri-driver and
WebKitWebDriver. Run them with scripts/e2e.sh (Xvfb, a session bus and a session keyring).

Every app gets a sandbox of its own: HOME, the XDG directories and SYNCDESK_STATE_DIR all point
into a temporary directory, so nothing touches the real user. tauri-driver hands its own
environment to the app, so the sandbox is the environment tauri-driver is started with.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection

from ui import FIGURES, App

ROOT = Path(__file__).resolve().parents[2]
TARGET = Path(os.environ.get("SYNCDESK_E2E_TARGET", ROOT / "target"))
APP_BIN = Path(os.environ.get("SYNCDESK_E2E_APP", TARGET / "debug" / "syncdesk")).resolve()
CLI_BIN = Path(os.environ.get("SYNCDESK_E2E_CLI", TARGET / "debug" / "syncdesk-cli")).resolve()
ARTIFACTS = Path(os.environ.get("SYNCDESK_E2E_ARTIFACTS", TARGET / "e2e-artifacts")).resolve()

# Variables of the caller that would point the app or the CLI at real state.
_SCRUB = ("SYNCDESK_", "XDG_")


def _tauri_driver() -> str:
    found = os.environ.get("TAURI_DRIVER") or shutil.which("tauri-driver")
    if not found:
        cargo_home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
        candidate = cargo_home / "bin" / "tauri-driver"
        if candidate.exists():
            found = str(candidate)
    if not found:
        pytest.exit("tauri-driver not found: run scripts/e2e.sh (it installs it)", returncode=2)
    return found


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_listening(port: int, proc: subprocess.Popen, timeout: float = 20.0) -> None:
    """Blocks until something accepts connections on the port (polling a socket: there is no
    event to wait on), or fails when the process died or the time is up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"tauri-driver exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"tauri-driver did not listen on port {port} within {timeout}s")


@dataclass
class Sandbox:
    """A private HOME/XDG/state for one app (and for CLI devices next to it)."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.home = self.root / "home"
        self.data = self.root / "xdg-data"
        self.state = self.root / "xdg-state"
        self.config = self.root / "xdg-config"
        self.cache = self.root / "xdg-cache"
        self.runtime = self.root / "xdg-runtime"
        self.state_dir = self.root / "syncdesk-state"
        for d in (self.home, self.data, self.state, self.config, self.cache, self.state_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.runtime.mkdir(mode=0o700, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUB)}
        env.update(
            HOME=str(self.home),
            XDG_DATA_HOME=str(self.data),
            XDG_STATE_HOME=str(self.state),
            XDG_CONFIG_HOME=str(self.config),
            XDG_CACHE_HOME=str(self.cache),
            XDG_RUNTIME_DIR=str(self.runtime),
            SYNCDESK_STATE_DIR=str(self.state_dir),
            # English UI whatever the machine's locale; no accessibility bus to look for.
            LANG="C.UTF-8",
            LANGUAGE="en",
            NO_AT_BRIDGE="1",
        )
        self.env = env

    @property
    def sample_folder(self) -> Path:
        return self.home / "Syncdesk"

    @property
    def default_remote(self) -> Path:
        return self.data / "app.syncdesk.desktop" / "remote"

    def cli(self, *args: str, state_dir: Path | None = None, check: bool = True,
            timeout: float = 120) -> subprocess.CompletedProcess:
        """Runs syncdesk-cli as another device (its own state dir) or on the app's state."""
        cmd = [str(CLI_BIN), "--state-dir", str(state_dir or self.state_dir), *args]
        res = subprocess.run(cmd, env=self.env, capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise AssertionError(
                f"{' '.join(cmd)} exited {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}")
        return res


class _WryOptions(ArgOptions):
    """The capabilities tauri-driver wants: browserName wry plus the app to start."""

    def __init__(self, application: Path) -> None:
        super().__init__()
        self._application = str(application)

    @property
    def default_capabilities(self) -> dict:
        return {}

    def to_capabilities(self) -> dict:
        return {"browserName": "wry", "tauri:options": {"application": self._application}}


def _app_pids(state_dir: Path) -> list[int]:
    """The app processes started for this sandbox (the app binary, with our state dir)."""
    want = f"SYNCDESK_STATE_DIR={state_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if Path(os.readlink(entry / "exe")) != APP_BIN:
                continue
            if want in (entry / "environ").read_bytes().split(b"\0"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


class Launched:
    """One running app: tauri-driver, the WebDriver session, and how to end both."""

    def __init__(self, sandbox: Sandbox, name: str) -> None:
        self.sandbox = sandbox
        self.name = name
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        port, native = _free_port(), _free_port()
        self.log_path = ARTIFACTS / f"{name}.tauri-driver.log"
        self._log = open(self.log_path, "wb")
        # Its own session (process group): teardown can end it and WebKitWebDriver by this id.
        self.proc = subprocess.Popen(
            [_tauri_driver(), "--port", str(port), "--native-port", str(native)],
            env=sandbox.env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.driver = None
        try:
            # tauri-driver listens at once but answers a new session only once the native
            # WebKitWebDriver it started listens too.
            _wait_listening(port, self.proc)
            _wait_listening(native, self.proc)
            connection = RemoteConnection(
                client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}", timeout=300))
            self.driver = webdriver.Remote(connection, options=_WryOptions(APP_BIN))
        except BaseException:
            self.close()
            raise
        self.app = App(self.driver, sandbox, name, ARTIFACTS)

    def close(self) -> None:
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # the session may already be gone; the processes still must go
                pass
            self.driver = None
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        # WebKitWebDriver ends the app when the session is deleted; make sure, by pid, so the
        # next app (single-instance) never meets a leftover one.
        deadline = time.monotonic() + 10
        while (pids := _app_pids(self.sandbox.state_dir)) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in _app_pids(self.sandbox.state_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self._log.close()


def _check_binaries() -> None:
    for b in (APP_BIN, CLI_BIN):
        if not b.exists():
            pytest.exit(f"{b} not found: build it first (scripts/e2e.sh does)", returncode=2)


def pytest_sessionstart(session: pytest.Session) -> None:
    _check_binaries()
    if not os.environ.get("DISPLAY"):
        pytest.exit("no DISPLAY: run the tests through scripts/e2e.sh (Xvfb)", returncode=2)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def _shoot_on_failure(node, launched: Launched) -> None:
    """A screenshot of the app as it was when a test failed (an artifact, for the reader)."""
    node = getattr(node, "node", node)
    failed = any(getattr(getattr(node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
    if failed and launched.driver is not None:
        try:
            launched.app.screenshot(f"FAILED-{node.name}")
            text = launched.driver.execute_script("return document.body.innerText;")
            (ARTIFACTS / f"{launched.name}--FAILED-{node.name}.txt").write_text(text)
        except Exception:
            pass


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    return Sandbox(tmp_path / "sandbox")


@pytest.fixture
def launch(request: pytest.FixtureRequest):
    """launch(sandbox) starts the app in that sandbox; it is ended after the test."""
    started: list[Launched] = []

    def _launch(sb: Sandbox) -> App:
        name = request.node.name.replace("/", "_").replace("[", "-").rstrip("]")
        if started:
            name += f"-{len(started) + 1}"
        launched = Launched(sb, name)
        started.append(launched)
        return launched.app

    yield _launch
    for launched in reversed(started):
        _shoot_on_failure(request, launched)
        launched.close()


@pytest.fixture
def app(sandbox: Sandbox, launch) -> App:
    """The app on a fresh sandbox, its first run (sample folder, boot sync) already done."""
    a = launch(sandbox)
    a.wait_first_run()
    return a


@pytest.fixture(scope="class")
def class_app(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    """One app shared by the tests of a class that build on each other (in file order)."""
    sb = Sandbox(tmp_path_factory.mktemp(request.cls.__name__) / "sandbox")
    launched = Launched(sb, request.cls.__name__)
    try:
        launched.app.wait_first_run()
        yield launched.app
    finally:
        for item in request.session.items:
            if item.cls is request.cls:
                _shoot_on_failure(item, launched)
        launched.close()


@pytest.fixture(scope="session")
def figures() -> dict[str, str]:
    """Measured figures (not asserted): shown after the run and saved as an artifact."""
    return FIGURES


def pytest_terminal_summary(terminalreporter) -> None:
    if not FIGURES:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    text = "".join(f"{k}: {v}\n" for k, v in FIGURES.items())
    (ARTIFACTS / "figures.txt").write_text(text)
    terminalreporter.section("measured figures")
    terminalreporter.write(text)
