"""The examples of docs/api.md ("# The local HTTP API" → "## Examples"), run against a live
`syncdesk-cli serve`.

Each example is a fenced block ```http status=NNN holding a request line, optional headers, a
blank line and an optional body, followed by a ```json block with the expected answer. The
answer must have that status and the same JSON: the same keys at every level, lists of the same
length, and equal values, except where the doc writes "…" (any value). `<token>` and
`<read-only-token>` in a header stand for an admin and a read-only token. The examples run in
the doc's order against one fresh server; before each one the test waits until no sync runs.

The server: scripts/api-fuzz.sh starts one and passes it in SYNCDESK_API_URL, SYNCDESK_API_TOKEN
and SYNCDESK_API_READONLY_TOKEN. Without them this module starts its own (SYNCDESK_CLI or
target/debug/syncdesk-cli), which needs the OS keyring: run it under scripts/keyring-session.sh.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "api.md"
ANY = "…"
TIMEOUT = 10  # seconds per request: every answer is immediate, a hang fails
TOKEN_RE = re.compile(r"sdt_[0-9a-f]{64}")


# --- The examples ---------------------------------------------------------------------------


@dataclass
class Example:
    title: str
    status: int
    method: str
    target: str
    headers: list[tuple[str, str]]
    body: str
    expected: object
    line: int
    number: int = 0

    @property
    def id(self) -> str:
        slug = re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-")
        return f"{self.number:02d}-{slug}"


def _examples_section(text: str) -> tuple[list[str], int]:
    """The lines of "## Examples" under "# The local HTTP API", and the line number (0-based)
    of its first line."""
    lines = text.splitlines()
    in_api = False
    start = None
    for i, line in enumerate(lines):
        if line.startswith("# "):
            if start is not None:
                return lines[start:i], start
            in_api = line.strip() == "# The local HTTP API"
        elif line.startswith("## "):
            if start is not None:
                return lines[start:i], start
            if in_api and line.strip() == "## Examples":
                start = i + 1
    if start is None:
        raise AssertionError(f"{DOC}: no '## Examples' section under '# The local HTTP API'")
    return lines[start:], start


def parse_examples(text: str) -> list[Example]:
    section, offset = _examples_section(text)
    examples: list[Example] = []
    title = "example"
    pending: tuple[int, str, list[str]] | None = None  # (line, info, body) of an http block
    i = 0
    while i < len(section):
        line = section[i]
        if line.startswith("### "):
            title = line[4:].strip()
        fence = re.match(r"^```(\w+)(.*)$", line)
        if not fence:
            i += 1
            continue
        lang, info = fence.group(1), fence.group(2).strip()
        j = i + 1
        while j < len(section) and section[j].rstrip() != "```":
            j += 1
        if j == len(section):
            raise AssertionError(f"{DOC}:{offset + i + 1}: unclosed ``` block")
        body = section[i + 1 : j]
        if lang == "http":
            if pending is not None:
                raise AssertionError(f"{DOC}:{pending[0]}: ```http block without ```json answer")
            pending = (offset + i + 1, info, body)
        elif lang == "json" and pending is not None:
            examples.append(_example(title, *pending, "\n".join(body)))
            examples[-1].number = len(examples)
            pending = None
        i = j + 1
    if pending is not None:
        raise AssertionError(f"{DOC}:{pending[0]}: ```http block without ```json answer")
    return examples


def _example(title: str, line: int, info: str, http: list[str], answer: str) -> Example:
    where = f"{DOC}:{line}"
    m = re.search(r"\bstatus=(\d{3})\b", info)
    assert m, f"{where}: the ```http fence needs status=NNN"
    assert http, f"{where}: empty ```http block"
    request = http[0].split()
    assert len(request) == 2, f"{where}: the request line is 'METHOD /path', not {http[0]!r}"
    headers = []
    k = 1
    while k < len(http) and http[k].strip():
        name, sep, value = http[k].partition(":")
        assert sep, f"{where}: not a header: {http[k]!r}"
        headers.append((name.strip(), value.strip()))
        k += 1
    body = "\n".join(http[k + 1 :]).strip()
    try:
        expected = json.loads(answer)
    except json.JSONDecodeError as e:
        raise AssertionError(f"{where}: the ```json answer is not JSON: {e}") from e
    return Example(title, int(m.group(1)), request[0], request[1], headers, body, expected, line)


def _show(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def mismatches(expected: object, actual: object, path: str = "$") -> list[str]:
    """Where `actual` differs from `expected` ("…" in `expected` matches anything)."""
    if expected == ANY:
        return []
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {_show(actual)}"]
        out = []
        for key in expected.keys() - actual.keys():
            out.append(f"{path}.{key}: missing")
        for key in actual.keys() - expected.keys():
            out.append(f"{path}.{key}: not in the doc (value {_show(actual[key])})")
        for key in expected.keys() & actual.keys():
            out += mismatches(expected[key], actual[key], f"{path}.{key}")
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {_show(actual)}"]
        if len(expected) != len(actual):
            return [f"{path}: expected {len(expected)} items, got {len(actual)}: {_show(actual)}"]
        out = []
        for n, (e, a) in enumerate(zip(expected, actual)):
            out += mismatches(e, a, f"{path}[{n}]")
        return out
    # JSON has one number type: 0 and 0.0 are the same value; a bool is not a number.
    if isinstance(expected, bool) or isinstance(actual, bool):
        same = type(expected) is type(actual) and expected == actual
    elif isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        same = expected == actual
    else:
        same = type(expected) is type(actual) and expected == actual
    return [] if same else [f"{path}: expected {_show(expected)}, got {_show(actual)}"]


EXAMPLES = parse_examples(DOC.read_text(encoding="utf-8"))


# --- The server -----------------------------------------------------------------------------


@dataclass
class Server:
    url: str
    token: str
    readonly_token: str

    def post(self, path: str, body: object) -> requests.Response:
        return requests.post(
            self.url + path,
            json=body,
            headers={"Authorization": f"Token {self.token}"},
            timeout=TIMEOUT,
        )

    def get(self, path: str) -> requests.Response:
        return requests.get(
            self.url + path, headers={"Authorization": f"Token {self.token}"}, timeout=TIMEOUT
        )

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Until no folder syncs and no job is pending or running (polling: the events are on
        the WebSocket, which this test does not follow)."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.post("/api/sync/getSyncInfo", {}).json()
            busy = info.get("code") != 0 or info["data"]["syncing"]
            if not busy:
                for status in ("pending", "running"):
                    page = self.get(f"/api/sync/jobs?status={status}&page_size=1").json()
                    busy = busy or page["meta"]["total"] > 0
            if not busy:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"a sync still runs after {timeout}s: {info}")
            time.sleep(0.1)


def _cli() -> Path:
    cli = Path(os.environ.get("SYNCDESK_CLI", ROOT / "target" / "debug" / "syncdesk-cli"))
    if not cli.exists():
        pytest.exit(f"{cli} not found: cargo build -p syncdesk-cli", returncode=2)
    return cli


def _free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cli: Path, state: Path, *args: str) -> str:
    done = subprocess.run(
        [str(cli), "--state-dir", str(state), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"syncdesk-cli {' '.join(args)}: {done.stderr}{done.stdout}"
    return done.stdout


def _token(cli: Path, state: Path, role: str, name: str) -> str:
    out = _run(cli, state, "--json", "token", "create", "--role", role, "--name", name)
    m = TOKEN_RE.search(out)
    assert m, f"token create printed no token: {out}"
    return m.group(0)


@pytest.fixture(scope="module")
def server():
    url = os.environ.get("SYNCDESK_API_URL")
    if url:
        token = os.environ.get("SYNCDESK_API_TOKEN", "")
        readonly = os.environ.get("SYNCDESK_API_READONLY_TOKEN", "")
        assert token and readonly, "SYNCDESK_API_URL needs SYNCDESK_API_TOKEN and SYNCDESK_API_READONLY_TOKEN"
        yield Server(url.rstrip("/"), token, readonly)
        return

    # A server of our own, set up as scripts/api-fuzz.sh does.
    if os.environ.get("SYNCDESK_IN_KEYRING_SESSION") != "1":
        pytest.exit("tokens live in the OS keyring: run under scripts/keyring-session.sh", returncode=2)
    cli = _cli()
    tmp = Path(tempfile.mkdtemp(prefix="syncdesk-api-examples-"))
    state, folder, remote = tmp / "state", tmp / "docs", tmp / "remote"
    folder.mkdir()
    (folder / "notes.txt").write_text("hello\n")
    _run(cli, state, "folder", "add", "docs", str(folder), "--remote", str(remote))
    _run(cli, state, "pause")  # no boot, scheduled or watched sync: the job ids are the examples'
    token = _token(cli, state, "admin", "examples")
    readonly = _token(cli, state, "read-only", "examples-ro")
    port = _free_port()
    log = open(tmp / "serve.log", "wb")
    proc = subprocess.Popen(
        [str(cli), "--state-dir", str(state), "serve", "--listen", f"127.0.0.1:{port}"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    srv = Server(f"http://127.0.0.1:{port}", token, readonly)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert proc.poll() is None, f"serve exited with {proc.returncode}: {(tmp / 'serve.log').read_text()}"
            try:
                if srv.post("/api/sync/getSyncInfo", {}).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "serve did not answer within 30 s"
            time.sleep(0.1)
        yield srv
        assert proc.poll() is None, f"serve died during the examples: {(tmp / 'serve.log').read_text()}"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)


# --- The tests ------------------------------------------------------------------------------


def test_the_doc_has_examples():
    assert len(EXAMPLES) >= 8, [e.id for e in EXAMPLES]


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example(server: Server, example: Example):
    server.wait_idle()
    headers = {}
    for name, value in example.headers:
        value = value.replace("<read-only-token>", server.readonly_token)
        headers[name] = value.replace("<token>", server.token)
    answer = requests.request(
        example.method,
        server.url + example.target,
        headers=headers,
        data=example.body.encode() if example.body else None,
        timeout=TIMEOUT,
    )
    shown = f"{example.method} {example.target} -> {answer.status_code} {answer.text[:2000]}"
    assert answer.status_code == example.status, f"{DOC}:{example.line}: {shown}"
    try:
        actual = answer.json()
    except ValueError:
        pytest.fail(f"{DOC}:{example.line}: the answer is not JSON: {shown}")
    problems = mismatches(example.expected, actual)
    assert not problems, f"{DOC}:{example.line}: {shown}\n" + "\n".join(problems)


def test_mismatches_follow_the_rules():
    """The comparison itself: placeholders, keys, lengths, number and bool types."""
    assert mismatches({"a": ANY, "b": [1, {"c": 0}]}, {"a": {"x": 1}, "b": [1, {"c": 0.0}]}) == []
    assert mismatches({"a": 1}, {"a": 1, "b": 2}) == ["$.b: not in the doc (value 2)"]
    assert mismatches({"a": 1, "b": 2}, {"a": 1}) == ["$.b: missing"]
    assert mismatches([ANY], []) == ["$: expected 1 items, got 0: []"]
    assert mismatches({"a": True}, {"a": 1}) == ["$.a: expected true, got 1"]
    assert mismatches({"a": 1}, {"a": "1"}) == ['$.a: expected 1, got "1"']
    assert mismatches({"a": None}, {"a": ANY}) == ['$.a: expected null, got "…"']
