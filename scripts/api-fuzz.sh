#!/usr/bin/env bash
# Checks the local HTTP API against its documents, on a live `syncdesk-cli serve`:
#   1. the examples of docs/api.md ("## Examples"), with pytest (tests/api/test_doc_examples.py);
#   2. docs/openapi.yaml, with schemathesis: no 5xx, every status code and response body as
#      documented, auth enforced, no request slower than the timeout;
#   3. the server is still alive at the end and logged no panic.
#
#   scripts/api-fuzz.sh [SCHEMATHESIS ARGS...]     e.g. scripts/api-fuzz.sh --seed 42
#
# Runs inside scripts/keyring-session.sh (tokens live in the OS keyring). Installs a Python venv
# in target/fuzz-venv from tests/api/requirements-fuzz.txt, builds syncdesk-cli (set
# SYNCDESK_CLI=path to use another binary instead), starts it on a free loopback port with a
# fresh state directory (one folder `docs` on a local remote, background syncs paused, the
# gateway and its drop box writing into `docs`, an admin and a read-only token), and stops it
# at the end.
#
# Knobs: SYNCDESK_FUZZ_EXAMPLES (test cases per operation and phase; default 800, about two
# minutes of fuzzing on 2 cores), SYNCDESK_FUZZ_SEED (schemathesis' seed; random by default,
# printed at the end), SYNCDESK_FUZZ_WORKERS (default 2). Reports (JUnit, and a pytest file
# reproducing each failure), schemathesis' cache and the server's logs go to target/api-fuzz/.
# Exit status: non-zero if any check failed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Tokens are kept in the OS keyring: run in a private session bus with a fresh keyring.
if [[ "${SYNCDESK_IN_KEYRING_SESSION:-}" != 1 ]]; then
  # dbus, gnome-keyring, keyutils (the session) and python3-venv come with these groups.
  "$SYNCDESK_ROOT/scripts/setup.sh" base desktop
  exec "$SYNCDESK_ROOT/scripts/keyring-session.sh" "$SYNCDESK_ROOT/scripts/api-fuzz.sh" "$@"
fi

EXAMPLES_PER_OPERATION="${SYNCDESK_FUZZ_EXAMPLES:-800}"
WORKERS="${SYNCDESK_FUZZ_WORKERS:-2}"
# Every answer of this API is immediate (syncs run in the background); the server's own limit
# is 30 s (408). A request still unanswered after this many seconds is a hang, and fails.
REQUEST_TIMEOUT=10
# What schemathesis checks on every answer: no 5xx, status codes, content types and bodies as
# documented, 401 without the token (ignored_auth), and that a job POST /api/sync/jobs
# created can be read back (ensure_resource_availability, in the stateful phase).
CHECKS=not_a_server_error,status_code_conformance,content_type_conformance
CHECKS+=,response_schema_conformance,ignored_auth,ensure_resource_availability
# The whole schemathesis run: a bound, so a run that stalls ends (and fails) by itself.
RUN_TIMEOUT=600

# Operations the fuzzer must not call: they write wherever a request says (a new folder or
# remote at any path, a probe object in any directory, a restore into any directory), and the
# server runs as this user (root on CI); testRemote and the others also take s3:// and webdav://
# remotes, so the server would reach out to whatever host a generated URL names. They stay in
# docs/openapi.yaml, but are not fuzzed.
UNSAFE_OPERATIONS=(addFolder setFolderRepository testRemote restoreSnapshot restoreTrash)

free_port() {
  "$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cli() { "$CLI" --state-dir "$STATE" "$@"; }

# create_token ROLE NAME: prints the new token (sdt_ + 64 hex digits).
create_token() {
  local out token
  out="$(cli --json token create --role "$1" --name "$2")" || die "token create --role $1 failed: $out"
  token="$(grep -o 'sdt_[0-9a-f]\{64\}' <<<"$out" | head -n1)" || true
  [[ -n "$token" ]] || die "token create printed no token: $out"
  printf '%s\n' "$token"
}

SERVER_PID=
stop_server() {
  [[ -n "$SERVER_PID" ]] || return 0
  if kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    local _
    for _ in $(seq 1 100); do
      kill -0 "$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$SERVER_PID" 2>/dev/null; then
      warn "serve did not stop within 10 s of SIGTERM; killing it"
      kill -KILL "$SERVER_PID" 2>/dev/null || true
    fi
  fi
  wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=
}

cleanup() {
  stop_server
  [[ -n "${WORK:-}" ]] && rm -rf "$WORK"
}

# wait_until_answering: polls until the server answers an authorized getSyncInfo with 200.
wait_until_answering() {
  local _ code
  for _ in $(seq 1 300); do
    kill -0 "$SERVER_PID" 2>/dev/null || {
      cat "$SERVER_LOG" >&2
      die "serve exited before answering"
    }
    code="$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 -X POST \
      -H "Authorization: Token $TOKEN" -H 'Content-Type: application/json' --data '{}' \
      "$URL/api/sync/getSyncInfo" || true)"
    [[ "$code" == 200 ]] && return 0
    sleep 0.1
  done
  cat "$SERVER_LOG" >&2
  die "serve did not answer within 30 s (last status: ${code:-none})"
}

main() {
  cd "$SYNCDESK_ROOT"
  local target
  if [[ -n "${SYNCDESK_CLI:-}" ]]; then
    CLI="$SYNCDESK_CLI"
    target="$SYNCDESK_ROOT/target"
  else
    ensure_cargo_on_path
    target="$(cargo_target_dir)" || die "cargo metadata failed"
    log "api-fuzz: building syncdesk-cli"
    build_binaries
    CLI="$target/debug/syncdesk-cli"
  fi
  [[ -x "$CLI" ]] || die "$CLI not found"
  command -v curl >/dev/null 2>&1 || die "curl not found; run scripts/setup.sh"

  VENV="$target/fuzz-venv"
  ensure_venv "$VENV" "$SYNCDESK_ROOT/tests/api/requirements-fuzz.txt"
  local out="$target/api-fuzz"
  rm -rf "$out"
  mkdir -p "$out"

  WORK="$(mktemp -d)"
  trap cleanup EXIT
  STATE="$WORK/state"
  mkdir -p "$WORK/docs"
  printf 'hello\n' >"$WORK/docs/notes.txt"
  cli folder add docs "$WORK/docs" --remote "$WORK/remote" >/dev/null
  # No boot, scheduled or watched sync: the doc examples' job ids are then theirs.
  cli pause >/dev/null
  # The gateway writes into `docs`, and its drop box is open: every generated path and body
  # then meets the real confinement and limit checks instead of a "not enabled" refusal.
  cli gateway settings --folder docs --sync-by-3rd on --sync-by-3rd-public on >/dev/null
  TOKEN="$(create_token admin fuzz)"
  local readonly_token
  readonly_token="$(create_token read-only fuzz-read-only)"

  local port
  port="$(free_port)"
  URL="http://127.0.0.1:$port"
  SERVER_LOG="$out/serve.log"
  log "api-fuzz: starting syncdesk-cli serve on $URL (log: $SERVER_LOG)"
  "$CLI" --state-dir "$STATE" serve --listen "127.0.0.1:$port" >"$SERVER_LOG" 2>&1 &
  SERVER_PID=$!
  wait_until_answering

  local failed=()

  # 1. The doc's examples first: they expect a fresh state.
  log "api-fuzz: the examples of docs/api.md"
  SYNCDESK_API_URL="$URL" SYNCDESK_API_TOKEN="$TOKEN" SYNCDESK_API_READONLY_TOKEN="$readonly_token" \
    PYTHONDONTWRITEBYTECODE=1 \
    "$VENV/bin/python" -m pytest -p no:cacheprovider -rfE \
    --junitxml "$out/doc-examples.xml" "$SYNCDESK_ROOT/tests/api/test_doc_examples.py" ||
    failed+=("doc examples")

  # 2. schemathesis against docs/openapi.yaml.
  # shellcheck disable=SC2054 # commas inside values, not separators
  local args=(
    run "$SYNCDESK_ROOT/docs/openapi.yaml"
    --url "$URL"
    --header "Authorization: Token $TOKEN"
    --checks "$CHECKS"
    --phases examples,coverage,fuzzing,stateful
    --max-examples "$EXAMPLES_PER_OPERATION"
    --workers "$WORKERS"
    --request-timeout "$REQUEST_TIMEOUT"
    --generation-database none
    --exclude-path /ws
    --report junit,pytest
    --report-dir "$out"
  )
  local op
  for op in "${UNSAFE_OPERATIONS[@]}"; do
    args+=(--exclude-operation-id "$op")
  done
  if [[ -n "${SYNCDESK_FUZZ_SEED:-}" ]]; then
    args+=(--seed "$SYNCDESK_FUZZ_SEED")
  fi
  if [[ -n "${CI:-}" ]]; then
    args+=(--no-color)
  fi
  log "api-fuzz: schemathesis ($EXAMPLES_PER_OPERATION cases per operation, ${WORKERS} workers)"
  # From the report directory: schemathesis keeps its cache (.schemathesis/) in the current one.
  (cd "$out" && timeout --signal=INT --kill-after=30 "$RUN_TIMEOUT" \
    "$VENV/bin/schemathesis" "${args[@]}" "$@") || failed+=("schemathesis")

  # What the run did to the engine, for the log: the jobs it started, by status.
  cli --json jobs list --page-size 200 2>/dev/null | "$VENV/bin/python" -c '
import collections, json, sys
page = json.load(sys.stdin)
statuses = collections.Counter(job["status"] for job in page["items"])
print("==> api-fuzz: %d jobs recorded (latest 200 by status: %s)" % (page["meta"]["total"], dict(statuses)))
' >&2 || warn "cannot list the jobs of the run"

  # 3. The server survived all of it.
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
    failed+=("the server died during the run")
  fi
  stop_server
  cp -r "$STATE/logs" "$out/state-logs" 2>/dev/null || true
  if grep -n 'panicked' "$SERVER_LOG" "$out"/state-logs/* 2>/dev/null; then
    failed+=("the server panicked (lines above)")
  fi

  if [[ ${#failed[@]} -gt 0 ]]; then
    printf 'api-fuzz FAILED: %s\n' "$(IFS=';'; echo "${failed[*]}")" >&2
    printf 'reports and the server log: %s\n' "$out" >&2
    return 1
  fi
  log "api-fuzz: all passed (reports in $out)"
}

main "$@"
