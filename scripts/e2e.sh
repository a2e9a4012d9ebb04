#!/usr/bin/env bash
# End-to-end tests of the desktop app: the real binary under Xvfb, driven through tauri-driver
# and WebKitWebDriver by pytest + selenium (tests/e2e/).
#
#   scripts/e2e.sh [PYTEST ARGS...]      e.g. scripts/e2e.sh -k conflict
#
# Installs what is missing (system packages via setup.sh, a Python venv in target/e2e-venv
# with tests/e2e/requirements.txt, tauri-driver via cargo install), builds the UI and the app
# when needed, then runs pytest under Xvfb, a private session bus and a session keyring.
# Screenshots, tauri-driver logs and the measured figures go to target/e2e-artifacts/.
# Exit status: pytest's.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TAURI_DRIVER_VERSION=2.1.0

ensure_tauri_driver() {
  local cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
  if command -v tauri-driver >/dev/null 2>&1; then
    TAURI_DRIVER="$(command -v tauri-driver)"
  elif [[ -x "$cargo_bin/tauri-driver" ]]; then
    TAURI_DRIVER="$cargo_bin/tauri-driver"
  else
    log "e2e: installing tauri-driver $TAURI_DRIVER_VERSION (cargo install, about a minute)"
    cargo install tauri-driver --locked --version "$TAURI_DRIVER_VERSION"
    TAURI_DRIVER="$cargo_bin/tauri-driver"
  fi
  export TAURI_DRIVER
  command -v WebKitWebDriver >/dev/null 2>&1 ||
    die "WebKitWebDriver not found; run scripts/setup.sh desktop (package webkit2gtk-driver)"
}

# ui/dist is embedded into the app at compile time, so it is built first; only when missing or
# older than the UI's sources.
build_ui_if_needed() {
  local ui="$SYNCDESK_ROOT/ui"
  if [[ ! -d "$ui/node_modules" ]]; then
    (cd "$ui" && npm ci --no-audit --no-fund --loglevel=error)
  fi
  if [[ ! -f "$ui/dist/index.html" ]] ||
    [[ -n "$(find "$ui/src" "$ui/index.html" "$ui/vite.config.ts" "$ui/package-lock.json" \
      -newer "$ui/dist/index.html" -print -quit)" ]]; then
    log "e2e: building the UI"
    (cd "$ui" && npm run build)
  fi
}

main() {
  cd "$SYNCDESK_ROOT"
  "$SYNCDESK_ROOT/scripts/setup.sh" base desktop
  ensure_cargo_on_path

  local target venv
  target="$(cargo_target_dir)" || die "cargo metadata failed"
  venv="$target/e2e-venv"
  ensure_venv "$venv" "$SYNCDESK_ROOT/tests/e2e/requirements.txt"
  ensure_tauri_driver
  build_ui_if_needed
  build_binaries

  export SYNCDESK_E2E_TARGET="$target"
  export SYNCDESK_E2E_ARTIFACTS="$target/e2e-artifacts"
  export PYTHONDONTWRITEBYTECODE=1
  rm -rf "$SYNCDESK_E2E_ARTIFACTS" "$target/e2e-tmp"
  mkdir -p "$SYNCDESK_E2E_ARTIFACTS"

  log "e2e: running tests/e2e (artifacts in $SYNCDESK_E2E_ARTIFACTS)"
  local rc=0
  # A display, a session bus of our own (ended with the tests) and a session keyring.
  xvfb-run -a -s "-screen 0 1280x800x24 -nolisten tcp" \
    dbus-run-session -- \
    keyctl session - \
    "$venv/bin/python" -m pytest "$SYNCDESK_ROOT/tests/e2e" \
    --basetemp "$target/e2e-tmp" -rfEsxX "$@" || rc=$?
  return "$rc"
}

main "$@"
