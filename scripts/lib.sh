#!/usr/bin/env bash
# Shared helpers for the developer scripts. Source it; do not run it.
# shellcheck shell=bash

# Repository root, whatever the caller's working directory.
SYNCDESK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export SYNCDESK_ROOT

log() { printf '==> %s\n' "$*" >&2; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# rustup installs into ~/.cargo/bin, which a fresh shell (or a CI runner) may not have on PATH
# yet; put it there so every script finds cargo right after setup.sh installed it.
ensure_cargo_on_path() {
  if ! command -v cargo >/dev/null 2>&1 && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
    export PATH
  fi
  command -v cargo >/dev/null 2>&1 || die "cargo not found; run scripts/setup.sh first"
}

# Where cargo puts build output. Asks cargo itself so CARGO_TARGET_DIR, .cargo/config.toml and
# relative paths are all honoured the same way the build honours them.
cargo_target_dir() {
  local meta
  meta="$(cd "$SYNCDESK_ROOT" && cargo metadata --no-deps --format-version 1)" || return 1
  sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p' <<<"$meta"
}

# Path of the release build of the CLI (after `cargo build --release -p syncdesk-cli`).
cli_release_bin() {
  local dir
  dir="$(cargo_target_dir)" || die "cargo metadata failed"
  printf '%s/release/syncdesk-cli\n' "$dir"
}

# prepare_cli [HINT]: sets CLI to $SYNCDESK_CLI, or builds the release syncdesk-cli and uses it.
# HINT is added to the error when the build fails (how to run a benchmark without it).
prepare_cli() {
  if [[ -n "${SYNCDESK_CLI:-}" ]]; then
    CLI="$SYNCDESK_CLI"
  else
    log "building syncdesk-cli (release; a few minutes the first time)"
    (cd "$SYNCDESK_ROOT" && cargo build --release -p syncdesk-cli) ||
      die "release build of syncdesk-cli failed${1:+ ($1)}"
    CLI="$(cli_release_bin)"
  fi
  [[ -x "$CLI" ]] || die "syncdesk-cli not found at $CLI"
}

# ensure_venv VENV REQUIREMENTS: a Python venv with exactly these pinned packages; (re)made when
# missing, reinstalled when the requirements (or the Python) change. Debian's python3, with
# python3-venv from `scripts/setup.sh desktop`, when there is one.
ensure_venv() {
  local venv="$1" req="$2" python stamp
  python="$(command -v /usr/bin/python3 || command -v python3)" ||
    die "python3 not found; run scripts/setup.sh desktop"
  stamp="$python $(sha256sum "$req" | cut -d' ' -f1)"
  if [[ -x "$venv/bin/python" && -f "$venv/.stamp" && "$(cat "$venv/.stamp")" == "$stamp" ]]; then
    return 0
  fi
  log "creating the Python venv $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "cannot create a venv with $python (install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
  printf '%s' "$stamp" >"$venv/.stamp"
}

# Builds the binaries the script-driven tests run (syncdesk, syncdesk-cli). It selects the same
# targets as the test step (bins and tests), so cargo resolves the same features and reuses what
# that step built instead of compiling the workspace a second time with another feature set.
build_binaries() {
  cargo build --workspace --bins --tests
}
