#!/usr/bin/env bash
# Runs a command inside its own D-Bus session with a fresh, unlocked GNOME Keyring (the
# Secret Service) and its own kernel session keyring, so tests use the real OS keyring
# without touching the user's.
#
#   scripts/keyring-session.sh <command> [args...]
set -euo pipefail

if [[ "${SYNCDESK_IN_KEYRING_SESSION:-}" == 1 ]]; then
  exec "$@"
fi

exec dbus-run-session -- keyctl session - bash -c '
  set -euo pipefail
  XDG_DATA_HOME=$(mktemp -d)
  XDG_RUNTIME_DIR=$(mktemp -d)
  chmod 700 "$XDG_RUNTIME_DIR"
  export XDG_DATA_HOME XDG_RUNTIME_DIR SYNCDESK_IN_KEYRING_SESSION=1
  trap "rm -rf \"$XDG_DATA_HOME\" \"$XDG_RUNTIME_DIR\"" EXIT
  # The daemon prints its environment; the control socket lives in XDG_RUNTIME_DIR.
  printf "session" | gnome-keyring-daemon --components=secrets --daemonize --unlock >/dev/null
  "$@"
' keyring-session "$@"
