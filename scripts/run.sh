#!/usr/bin/env bash
# Run Syncdesk. Until the desktop app exists this is a short demo of the command-line client:
# it needs no configuration and syncs ~/Syncdesk with a repository in a local directory.
#
#   scripts/run.sh
#
# Safe to run again: an existing folder setup is used as it is, nothing is overwritten.
# Uses Syncdesk's default state directory (or SYNCDESK_STATE_DIR when set), like the CLI does.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FOLDER_NAME=Syncdesk
FOLDER_PATH="$HOME/Syncdesk"
REMOTE_DIR="${XDG_DATA_HOME:-$HOME/.local/share}/syncdesk/remote"

CLI=""

cli() { "$CLI" "$@"; }

# True when no folder is configured yet (the JSON list is `[]`).
no_folders() {
  local list
  list="$(cli --json folder list)" || die "cannot read the folder list"
  [[ "$(tr -d '[:space:]' <<<"$list")" == "[]" ]]
}

first_run_setup() {
  log "first run: creating $FOLDER_PATH, synced with the local remote $REMOTE_DIR"
  mkdir -p "$FOLDER_PATH" "$REMOTE_DIR"
  # Never overwrite: the file may have been edited since a previous run.
  if [[ ! -e "$FOLDER_PATH/Welcome to Syncdesk.txt" ]]; then
    cat >"$FOLDER_PATH/Welcome to Syncdesk.txt" <<WELCOME
Welcome to Syncdesk.

Files in this folder are kept in sync with a repository at
  $REMOTE_DIR
Every sync also records a snapshot there, so earlier versions can be restored.

Edit, add or delete files here, then run:  syncdesk-cli sync
WELCOME
  fi
  cli folder add "$FOLDER_NAME" "$FOLDER_PATH" --remote "$REMOTE_DIR"
}

next_steps() {
  local bin_dir
  bin_dir="$(dirname "$CLI")"
  printf '\nSyncdesk is set up. To continue (the CLI is %s):\n\n' "$CLI"
  # shellcheck disable=SC2016 # $PATH is meant literally: the user pastes this line
  printf '  export PATH="%s:$PATH"\n' "$bin_dir"
  local cmd
  while IFS='|' read -r cmd comment; do
    printf '  %-58s # %s\n' "$cmd" "$comment"
  done <<STEPS
syncdesk-cli sync|sync every folder (after you change files)
syncdesk-cli folder list|the synced folders
syncdesk-cli jobs show <id>|one job's record and log
syncdesk-cli snapshots --folder $FOLDER_NAME|history kept in the repository
syncdesk-cli restore --folder $FOLDER_NAME --snapshot <id> <path> --to <dir>|get an old version back
syncdesk-cli folder add <name> <path> --remote <dir>|sync another folder
syncdesk-cli --help|everything else
STEPS
  printf '\nState lives in %s;\n--state-dir or SYNCDESK_STATE_DIR selects another one.\n' \
    "${SYNCDESK_STATE_DIR:-the XDG state directory (~/.local/state/syncdesk)}"
}

main() {
  cd "$SYNCDESK_ROOT"
  scripts/setup.sh base
  ensure_cargo_on_path

  log "building syncdesk-cli (release)"
  cargo build --release -p syncdesk-cli
  CLI="$(cli_release_bin)"

  if no_folders; then
    first_run_setup
  fi

  # A sync that needs confirmation (4) or is already running (5) is not a broken demo: show the
  # state anyway and say what happened, but still end with the sync's status.
  local rc=0
  log "syncdesk-cli sync"
  cli sync || rc=$?
  case $rc in
    0) ;;
    4) warn "the sync needs confirmation; review it, then run: $CLI sync --yes" ;;
    5) warn "a sync is already running; try again when it has finished" ;;
    *) warn "sync exited with status $rc" ;;
  esac

  log "syncdesk-cli info"
  cli info
  log "syncdesk-cli jobs list"
  cli jobs list --page-size 5

  next_steps
  return "$rc"
}

main "$@"
