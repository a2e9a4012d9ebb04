#!/usr/bin/env bash
# Run Syncdesk: installs what the build needs, builds the desktop app (release) and starts it.
# It needs no configuration: on first start the app creates ~/Syncdesk, synced with a
# repository in its data directory (the default local remote).
#
#   scripts/run.sh            the desktop app
#   scripts/run.sh --cli      no display at hand: the same first run, with syncdesk-cli
#
# The app and the CLI share one state (the XDG state directory, or SYNCDESK_STATE_DIR).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

build_ui() {
  log "building the UI"
  (cd "$SYNCDESK_ROOT/ui" && npm ci --no-audit --no-fund --loglevel=error && npm run build)
}

run_app() {
  scripts/setup.sh base desktop
  ensure_cargo_on_path
  build_ui
  log "building the desktop app (release; the first build takes several minutes)"
  cargo build --release -p syncdesk
  local app
  app="$(dirname "$(cli_release_bin)")/syncdesk"
  if [[ -z "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
    die "no display: run this from a desktop session (or under xvfb-run), or use scripts/run.sh --cli"
  fi
  log "starting $app (closing the window keeps it in the tray; quit from the tray menu)"
  exec "$app"
}

# The headless first run: the sample folder, a sync, and what to do next.
run_cli() {
  scripts/setup.sh base
  ensure_cargo_on_path
  log "building syncdesk-cli (release)"
  cargo build --release -p syncdesk-cli
  local cli folder remote rc=0
  cli="$(cli_release_bin)"
  folder="$HOME/Syncdesk"
  remote="${XDG_DATA_HOME:-$HOME/.local/share}/app.syncdesk.desktop/remote"
  if [[ "$("$cli" --json folder list | tr -d '[:space:]')" == "[]" ]]; then
    log "first run: $folder, synced with the local repository $remote"
    mkdir -p "$folder"
    [[ -e "$folder/Welcome.txt" ]] ||
      printf 'Welcome to Syncdesk!\n\nFiles in this folder are kept in sync with its repository.\n' \
        >"$folder/Welcome.txt"
    "$cli" folder add Syncdesk "$folder" --remote "$remote"
  fi
  "$cli" sync || rc=$?
  "$cli" info
  "$cli" jobs list --page-size 5
  printf '\nNext: %s --help  (sync, jobs, snapshots, restore, check, …)\n' "$cli"
  return "$rc"
}

main() {
  cd "$SYNCDESK_ROOT"
  case "${1:-}" in
    "") run_app ;;
    --cli) run_cli ;;
    *) die "usage: scripts/run.sh [--cli]" ;;
  esac
}

main "$@"
