#!/usr/bin/env bash
# Install what building and testing Syncdesk need on Debian 12 (or a derivative).
#
#   scripts/setup.sh [GROUP...]     GROUP: base (default), desktop, bench, servers, all
#
# Idempotent: packages already installed are detected with dpkg-query and apt is not touched at
# all, so re-running it (every run.sh/test.sh does) costs well under a second.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- package groups ---------------------------------------------------------------------------
# To add a group: add a PKGS_<name> array, add <name> to GROUP_NAMES, and optionally a
# post_<name> function for anything apt cannot install. `all` expands to every group.
GROUP_NAMES=(base desktop bench servers)
# shellcheck disable=SC2034 # the PKGS_* arrays are read indirectly, via "PKGS_${group}[@]"
{
# Compiler, linker and TLS roots for cargo; curl for rustup.
PKGS_base=(build-essential pkg-config curl ca-certificates openssl)
# The Tauri desktop app (WebKitGTK, tray, dialogs) and its headless tests: Xvfb, the WebKit
# WebDriver, a session bus and the Secret Service keyring; Python with venv for the end-to-end
# tests (scripts/e2e.sh); Chromium and its WebDriver for the web UI's tests (scripts/web-test.sh).
PKGS_desktop=(libssl-dev libwebkit2gtk-4.1-dev libgtk-3-dev libayatana-appindicator3-dev
  librsvg2-dev libsoup-3.0-dev libxdo-dev file xvfb xauth webkit2gtk-driver dbus dbus-x11
  gnome-keyring libsecret-1-0 libsecret-tools libdbus-1-dev keyutils imagemagick
  python3 python3-venv chromium chromium-driver)
# scripts/bench: the tools we compare against, GNU time for peak RSS, and wrk to load the
# local HTTP API (api-bench.sh).
PKGS_bench=(rclone restic time wrk)
# The loopback S3/WebDAV servers of the backend tests (scripts/servers.sh): rclone's WebDAV
# server, Apache with mod_dav_fs (apache2-utils for htpasswd), nginx with the dav-ext module,
# and Python with venv for moto (the S3 server, from PyPI, see post_servers).
PKGS_servers=(rclone apache2 apache2-utils nginx libnginx-mod-http-dav-ext python3 python3-venv
  curl)
}

usage() {
  cat <<USAGE
usage: scripts/setup.sh [GROUP...]
groups: ${GROUP_NAMES[*]} all   (default: base)
USAGE
}

# --- apt ----------------------------------------------------------------------------------------

# Runs a command as root: directly when we are root, else through sudo. Without a terminal (CI)
# sudo must not wait for a password nobody can type, hence -n.
as_root() {
  if [[ $EUID -eq 0 ]]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    if [[ -t 0 ]]; then sudo "$@"; else sudo -n "$@"; fi
  else
    die "need root to run: $* (install sudo or run as root)"
  fi
}

is_installed() {
  [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == installed ]]
}

apt_get() {
  # Wait for a concurrent apt/dpkg (another setup run, unattended-upgrades) instead of failing.
  as_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y -o DPkg::Lock::Timeout=300 "$@"
}

install_packages() {
  local missing=() pkg
  for pkg in "$@"; do
    is_installed "$pkg" || missing+=("$pkg")
  done
  if [[ ${#missing[@]} -eq 0 ]]; then
    log "system packages already installed: $*"
    return 0
  fi
  command -v apt-get >/dev/null 2>&1 ||
    die "apt-get not found; install these packages by hand: ${missing[*]}"

  log "installing: ${missing[*]}"
  block_service_starts
  # The image ships without package lists (and cleans apt's cache), so update first.
  apt_get update
  if ! apt_get install --no-install-recommends "${missing[@]}"; then
    # Seen here: the first install fails with "cannot access archive …deb" after the cache was
    # cleaned under apt's feet; the same command again works. Retry once, with fresh lists.
    warn "apt-get install failed; refreshing package lists and retrying once"
    apt_get update
    apt_get install --no-install-recommends "${missing[@]}"
  fi
  unblock_service_starts
}

# Packages such as apache2 and nginx start their system service on install. Nothing here uses
# those services (scripts/servers.sh runs its own instances on free loopback ports), so while
# apt runs a policy-rc.d that denies every start is put in place, unless one already exists.
POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
block_service_starts() {
  [[ -e $POLICY_RC ]] && return 0
  printf '#!/bin/sh\n# scripts/setup.sh: no service starts while it installs packages\nexit 101\n' |
    as_root tee "$POLICY_RC" >/dev/null
  as_root chmod 755 "$POLICY_RC"
  POLICY_RC_OURS=1
  trap unblock_service_starts EXIT
}
unblock_service_starts() {
  if [[ $POLICY_RC_OURS -eq 1 ]]; then
    as_root rm -f "$POLICY_RC"
    POLICY_RC_OURS=0
  fi
}

# --- things apt does not provide ----------------------------------------------------------------

# Rust comes from rustup (Debian's rustc is too old for edition 2024). Only when cargo is missing.
post_base() {
  local cargo_home="${CARGO_HOME:-$HOME/.cargo}"
  if ! command -v cargo >/dev/null 2>&1 && [[ -x "$cargo_home/bin/cargo" ]]; then
    PATH="$cargo_home/bin:$PATH"
  fi

  if ! command -v cargo >/dev/null 2>&1; then
    log "cargo not found; installing Rust with rustup"
    local installer
    installer="$(mktemp)"
    # shellcheck disable=SC2064 # expand now: the variable is local
    trap "rm -f '$installer'" EXIT
    if ! curl --proto '=https' --tlsv1.2 -fsSL --retry 2 https://sh.rustup.rs -o "$installer"; then
      die "cannot download rustup from https://sh.rustup.rs (no network access to it?).
Install Rust 1.89 or newer by another route (https://rustup.rs), make sure 'cargo' is on PATH,
then run this script again."
    fi
    sh "$installer" -y --no-modify-path --profile minimal --component rustfmt,clippy ||
      die "rustup failed; see its output above"
    PATH="$cargo_home/bin:$PATH"
    log "Rust installed in $cargo_home/bin; add it to PATH: . \"$cargo_home/env\""
  fi

  # test.sh needs rustfmt and clippy; a minimal toolchain may lack them.
  local comp missing=()
  for comp in fmt clippy; do
    cargo "$comp" --version >/dev/null 2>&1 || missing+=("$comp")
  done
  if [[ ${#missing[@]} -gt 0 ]]; then
    command -v rustup >/dev/null 2>&1 ||
      die "cargo ${missing[*]} missing and rustup not found; install rustfmt/clippy for your toolchain"
    log "adding rustup components: rustfmt clippy"
    rustup component add rustfmt clippy
  fi

  if ! cargo nextest --version >/dev/null 2>&1; then
    log "note: cargo-nextest not installed; scripts/test.sh falls back to cargo test" \
      "(optional: cargo install cargo-nextest --locked)"
  fi
}

# The UI builds with Vite 8, which needs Node.js 20.19 or newer (Debian 12's own nodejs is 18).
post_desktop() {
  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 ||
    die "Node.js 20.19+ with npm is needed for the UI; install it (e.g. from NodeSource) and rerun"
  local version
  version="$(node -p 'process.versions.node')"
  node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' ||
    die "Node.js $version is too old for the UI; 20.19 or newer is needed"
}

post_bench() {
  [[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) missing after installing 'time'"
}

# moto (the S3 server) comes from PyPI, into a venv under the cargo target dir, remade when it is
# missing or was made for another requirement or Python.
MOTO_REQUIREMENT='moto[server]>=5,<6'
post_servers() {
  local target venv python stamp
  ensure_cargo_on_path
  target="$(cargo_target_dir)" || die "cargo metadata failed"
  venv="$target/servers-venv"
  # Debian's python3 (with python3-venv from this group) when there is one.
  python="$(command -v /usr/bin/python3 || command -v python3)" ||
    die "python3 not found after installing it"
  stamp="$python $MOTO_REQUIREMENT"
  if [[ -x "$venv/bin/moto_server" && -f "$venv/.servers-stamp" &&
    "$(cat "$venv/.servers-stamp")" == "$stamp" ]]; then
    log "moto already installed in $venv"
    return 0
  fi
  log "installing $MOTO_REQUIREMENT into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv" || die "cannot create a venv with $python (install python3-venv)"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    "$MOTO_REQUIREMENT" || die "pip could not install $MOTO_REQUIREMENT into $venv"
  [[ -x "$venv/bin/moto_server" ]] || die "moto_server missing from $venv after pip install"
  printf '%s' "$stamp" >"$venv/.servers-stamp"
  # Apache's and nginx's own binaries are all scripts/servers.sh uses.
  [[ -x /usr/sbin/apache2 && -x /usr/sbin/nginx ]] || die "apache2 or nginx binary missing"
  [[ -f /usr/lib/nginx/modules/ngx_http_dav_ext_module.so ]] ||
    die "nginx dav-ext module missing (libnginx-mod-http-dav-ext)"
}

# --- main ---------------------------------------------------------------------------------------

main() {
  local groups=() g
  [[ $# -eq 0 ]] && set -- base
  for g in "$@"; do
    case "$g" in
      -h | --help)
        usage
        return 0
        ;;
      all) groups+=("${GROUP_NAMES[@]}") ;;
      *)
        if [[ " ${GROUP_NAMES[*]} " == *" $g "* ]]; then
          groups+=("$g")
        else
          usage >&2
          die "unknown group: $g"
        fi
        ;;
    esac
  done

  # One apt transaction for all requested groups: one update, one install.
  local pkgs=() arr
  for g in "${groups[@]}"; do
    arr="PKGS_${g}[@]"
    pkgs+=("${!arr}")
  done
  install_packages "${pkgs[@]}"

  for g in "${groups[@]}"; do
    if declare -F "post_$g" >/dev/null; then
      "post_$g"
    fi
  done
}

main "$@"
