#!/usr/bin/env bash
# Browser tests of the web UI served by `syncdesk-cli serve`: a real server on a free loopback
# port, driven in headless Chromium through chromedriver by pytest + selenium (tests/web/).
#
#   scripts/web-test.sh [PYTEST ARGS...]      e.g. scripts/web-test.sh -k sign_in
#
# Installs what is missing (system packages via setup.sh: chromium and chromium-driver come with
# the desktop group; a Python venv in target/web-venv with the pinned tests/e2e/requirements.txt),
# builds ui/dist when it is missing or older than the UI's sources, builds syncdesk-cli, then
# runs pytest under scripts/keyring-session.sh (the API's tokens live in the OS keyring).
# Screenshots and the servers' and chromedriver's logs go to target/web-artifacts/.
# Exit status: pytest's.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Only when ui/dist is missing or older than the UI's sources.
build_ui_if_needed() {
  local ui="$SYNCDESK_ROOT/ui"
  if [[ ! -d "$ui/node_modules" ]]; then
    (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [[ ! -f "$ui/dist/index.html" ]] ||
    [[ -n "$(find "$ui/src" "$ui/index.html" "$ui/vite.config.ts" "$ui/package-lock.json" \
      -newer "$ui/dist/index.html" -print -quit)" ]]; then
    log "web-test: building the UI"
    (cd "$ui" && npm run build)
  fi
}

main() {
  cd "$SYNCDESK_ROOT"
  # chromium and chromium-driver, python3-venv, dbus, gnome-keyring and keyutils.
  "$SYNCDESK_ROOT/scripts/setup.sh" base desktop
  ensure_cargo_on_path
  command -v chromedriver >/dev/null 2>&1 ||
    die "chromedriver not found; run scripts/setup.sh desktop (package chromium-driver)"

  local target venv
  target="$(cargo_target_dir)" || die "cargo metadata failed"
  # The desktop end-to-end tests' pins, in a venv of its own (both may run at once).
  venv="$target/web-venv"
  ensure_venv "$venv" "$SYNCDESK_ROOT/tests/e2e/requirements.txt"
  build_ui_if_needed
  build_binaries

  export SYNCDESK_WEB_TARGET="$target"
  export SYNCDESK_WEB_ARTIFACTS="$target/web-artifacts"
  export SYNCDESK_WEB_UI_DIR="$SYNCDESK_ROOT/ui/dist"
  export PYTHONDONTWRITEBYTECODE=1
  # Selenium must use the chromedriver it is given, never look for (or fetch) another one.
  export SE_OFFLINE=true
  rm -rf "$SYNCDESK_WEB_ARTIFACTS" "$target/web-tmp"
  mkdir -p "$SYNCDESK_WEB_ARTIFACTS"

  log "web-test: running tests/web (artifacts in $SYNCDESK_WEB_ARTIFACTS)"
  local rc=0
  # A session bus of our own with an unlocked keyring, ended with the tests.
  "$SYNCDESK_ROOT/scripts/keyring-session.sh" \
    "$venv/bin/python" -m pytest "$SYNCDESK_ROOT/tests/web" \
    --basetemp "$target/web-tmp" -rfEsxX "$@" || rc=$?
  return "$rc"
}

main "$@"
