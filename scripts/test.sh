#!/usr/bin/env bash
# Run every check CI runs: formatting, clippy, unit/integration tests, doc tests, and the
# desktop app's end-to-end tests.
#
#   scripts/test.sh
#
# Debug profile on purpose: it compiles far faster than release and the tests do not need speed.
# Every step runs even when an earlier one failed, so one run shows everything that is wrong;
# the exit status is non-zero if any step failed.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

STEP_NAMES=()
STEP_RESULTS=()
STEP_SECONDS=()

# run_step NAME CMD...: runs CMD, records its outcome and duration, never aborts the script.
run_step() {
  local name="$1" start rc=0
  shift
  log "$name: $*"
  start=$SECONDS
  "$@" || rc=$?
  STEP_NAMES+=("$name")
  STEP_SECONDS+=("$((SECONDS - start))")
  if [[ $rc -eq 0 ]]; then
    STEP_RESULTS+=(ok)
  else
    STEP_RESULTS+=("FAILED (exit $rc)")
  fi
}

# Tests run inside their own D-Bus session with a real, unlocked GNOME Keyring (credentials
# live only in the OS keyring), against the loopback S3/WebDAV servers started in main.
run_tests() {
  if cargo nextest --version >/dev/null 2>&1; then
    # nextest runs each test in its own process and reports slow/flaky tests clearly.
    # --no-tests=warn: a workspace that has no tests yet is not a failure.
    "$SYNCDESK_ROOT/scripts/keyring-session.sh" \
      cargo nextest run --workspace --no-fail-fast --no-tests=warn
  else
    log "cargo-nextest not installed; using cargo test"
    "$SYNCDESK_ROOT/scripts/keyring-session.sh" \
      cargo test --workspace --no-fail-fast --lib --bins --tests --examples
  fi
}

# The multi-device, convergence and crash tests once more per network backend (they ran on the
# local one above). Fewer cases and rounds: each sync is a few dozen HTTP requests.
BACKEND_TESTS='binary_id(syncdesk-engine::convergence) or binary_id(syncdesk-cli::faults) or
  (binary_id(syncdesk-engine::sync) and test(/^(files_dirs|concurrent_edits|identical_concurrent|modification_beats|a_deletion_reaches|mass_deletion|force_pull|force_push|hostile_names|history_lists)/))'

backend_tests() {
  local backend rc=0
  for backend in s3 rclone apache nginx; do
    log "backend tests on $backend"
    SYNCDESK_TEST_BACKEND=$backend PROPTEST_CASES=8 SYNCDESK_FAULT_ROUNDS=6 \
      "$SYNCDESK_ROOT/scripts/keyring-session.sh" \
      cargo nextest run --workspace --no-fail-fast -E "$BACKEND_TESTS" || rc=1
  done
  return $rc
}

# The web UI: type check, component tests, and the build the desktop app embeds (ui/dist must
# exist before the app compiles).
ui_checks() {
  (
    cd "$SYNCDESK_ROOT/ui"
    npm ci --no-audit --no-fund --loglevel=error
    npm run check
    npm test
    npm run build
  )
}

# The UI's TypeScript types are generated from the engine's Rust types when the tests run
# (ts-rs); a difference from what is committed means someone forgot to commit them.
check_types() {
  local dir=ui/src/lib/types
  if ! git -C "$SYNCDESK_ROOT" diff --quiet -- "$dir" ||
    [[ -n "$(git -C "$SYNCDESK_ROOT" status --porcelain -- "$dir")" ]]; then
    git -C "$SYNCDESK_ROOT" status --short -- "$dir" >&2
    warn "generated types in $dir differ from the committed ones: run the tests and commit them"
    return 1
  fi
}

print_summary() {
  local i failed=0
  printf '\n%-12s %-20s %s\n' STEP RESULT TIME >&2
  for i in "${!STEP_NAMES[@]}"; do
    printf '%-12s %-20s %ss\n' "${STEP_NAMES[$i]}" "${STEP_RESULTS[$i]}" "${STEP_SECONDS[$i]}" >&2
    [[ ${STEP_RESULTS[$i]} == ok ]] || failed=$((failed + 1))
  done
  if [[ $failed -eq 0 ]]; then
    printf '\nAll %d steps passed in %ss.\n' "${#STEP_NAMES[@]}" "$SECONDS" >&2
  else
    printf '\n%d of %d steps FAILED (%ss). Scroll up for the first error of each.\n' \
      "$failed" "${#STEP_NAMES[@]}" "$SECONDS" >&2
  fi
  return "$failed"
}

main() {
  cd "$SYNCDESK_ROOT"
  "$SYNCDESK_ROOT/scripts/setup.sh" base desktop servers
  ensure_cargo_on_path
  "$SYNCDESK_ROOT/scripts/servers.sh" start
  eval "$("$SYNCDESK_ROOT/scripts/servers.sh" env)"
  trap '"$SYNCDESK_ROOT/scripts/servers.sh" stop || true' EXIT

  # CI logs are files: no colour escapes in them.
  local fmt_args=(--check)
  if [[ -n "${CI:-}" ]]; then
    export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
    fmt_args+=(--color never)
  fi

  run_step fmt cargo fmt --all -- "${fmt_args[@]}"
  run_step ui ui_checks
  run_step clippy cargo clippy --workspace --all-targets -- -D warnings
  run_step tests run_tests  # nextest, or cargo test without it
  run_step backends backend_tests
  # nextest does not run doc tests, so they get their own step (cargo test runs them here too,
  # not in run_tests, to keep one code path).
  run_step doctests cargo test --workspace --doc
  run_step types check_types
  # The local HTTP API on a live `syncdesk-cli serve`: docs/api.md's examples and schemathesis
  # against docs/openapi.yaml; then the web UI it serves, in Chromium.
  run_step api-docs "$SYNCDESK_ROOT/scripts/api-fuzz.sh"
  run_step web "$SYNCDESK_ROOT/scripts/web-test.sh"
  # The desktop app end to end, under Xvfb (tests/e2e/). scripts/e2e.sh builds what it runs
  # (`cargo build -p syncdesk -p syncdesk-cli`: the steps above build test binaries, not the
  # app), and installs its venv and tauri-driver when missing.
  run_step e2e "$SYNCDESK_ROOT/scripts/e2e.sh"

  print_summary
}

main "$@"
