#!/usr/bin/env bash
# Gateway benchmark (seed 003), release build, on loopback. Not a test: neither scripts/test.sh
# nor CI runs it. See scripts/bench/README.md ("Gateway benchmark").
#
#   scripts/bench/gateway-bench.sh
#
# (a) Egress: a folder of BENCH_FILES files is mirrored to another instance's gateway (limits
#     raised on both sides); files per second, against a sync of the same folder to a local
#     directory remote in the same run.
# (b) Ingress: BENCH_UPLOADS concurrent multipart uploads of BENCH_UPLOAD_MIB MiB each (curl);
#     the server's peak RSS before and after, and that every file arrived intact.
#
# Environment:
#   BENCH_DIR (/tmp/syncdesk-bench)   parent of the scratch directory
#   BENCH_OUT (<repo>/bench-out)      where the table and the log are saved
#   SYNCDESK_CLI                      use this syncdesk-cli instead of building the release one
#   BENCH_FILES (5000) BENCH_FILE_BYTES (4096)
#   BENCH_UPLOADS (100) BENCH_UPLOAD_MIB (100)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR="${BENCH_DIR:-/tmp/syncdesk-bench}"
BENCH_OUT="${BENCH_OUT:-$SYNCDESK_ROOT/bench-out}"
FILES="${BENCH_FILES:-5000}"
FILE_BYTES="${BENCH_FILE_BYTES:-4096}"
UPLOADS="${BENCH_UPLOADS:-100}"
UPLOAD_MIB="${BENCH_UPLOAD_MIB:-100}"
RAISED='10000000/10m'

WORK=""
SERVER_PID=""
LOG=""

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$WORK" && -d "$WORK" ]]; then rm -rf "$WORK"; fi
}

say() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }


write_files() {
  python3 - "$1" "$FILES" "$FILE_BYTES" <<'PY'
import os, sys
root, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(files):
    d = os.path.join(root, f"d{i % 100:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
}

# Starts the receiving instance: a folder, a gateway token for it, `serve` on a free port.
# Sets SERVER_PID, ADDR and TOKEN.
start_gateway() {
  local state="$WORK/b-state"
  "$CLI" --state-dir "$state" folder add inbox "$WORK/b-folder" --remote "$WORK/b-remote" >/dev/null
  "$CLI" --state-dir "$state" gateway settings --folder inbox --account-limits "$RAISED" \
    --max-file-size $(((UPLOAD_MIB + 1) << 20)) >/dev/null
  TOKEN="$("$CLI" --state-dir "$state" gateway token create --folder inbox --account bench 2>/dev/null)"
  "$CLI" --state-dir "$state" --json serve --listen 127.0.0.1:0 --no-background \
    >"$WORK/serve.json" 2>>"$LOG" &
  SERVER_PID=$!
  local i
  for i in $(seq 1 100); do
    ADDR="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["listen"])' \
      "$WORK/serve.json" 2>/dev/null || true)"
    [[ -n "$ADDR" ]] && return 0
    kill -0 "$SERVER_PID" 2>/dev/null || die "serve exited; see $LOG"
    # Polls a file the server writes once: waiting for readiness, not timing anything.
    sleep 0.1
  done
  die "serve did not print its address"
}

calc() { awk "BEGIN { print $1 }"; }
peak_rss_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
rss_mib() { awk '/VmRSS/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }

egress() {
  local a_state="$WORK/a-state" folder="$WORK/a-folder" t0 t1 local_s gw_s
  write_files "$folder"
  sync
  # The peer: the same files to a local directory remote, from a fresh state.
  "$CLI" --state-dir "$WORK/l-state" folder add docs "$folder" --remote "$WORK/l-remote" >/dev/null
  t0=$(date +%s.%N)
  "$CLI" --state-dir "$WORK/l-state" sync --folder docs >/dev/null
  t1=$(date +%s.%N)
  local_s=$(calc "$t1 - $t0")

  printf '%s\n' "$TOKEN" | "$CLI" --state-dir "$a_state" folder add docs "$folder" \
    --remote "gateway+http://$ADDR?limits=$RAISED&concurrency=${BENCH_CONCURRENCY:-8}" \
    --token-stdin >/dev/null
  t0=$(date +%s.%N)
  "$CLI" --state-dir "$a_state" --json sync --folder docs >"$WORK/egress.json"
  t1=$(date +%s.%N)
  gw_s=$(calc "$t1 - $t0")
  local got
  got=$(find "$WORK/b-folder" -name '*.bin' -type f | wc -l)
  [[ "$got" -eq "$FILES" ]] || die "the gateway holds $got of $FILES files"
  diff -r -x .syncdesk "$folder" "$WORK/b-folder" >/dev/null || die "the gateway's copy differs"
  EGRESS_ROW=$(printf '| egress: %d files × %d B to the gateway | %.2f s | %.0f files/s | %.2f× the local-remote sync (%.2f s) |' \
    "$FILES" "$FILE_BYTES" "$gw_s" "$(calc "$FILES / $gw_s")" \
    "$(calc "$gw_s / $local_s")" "$local_s")
}

ingress() {
  local src="$WORK/upload.bin" before i pids=() fails=0
  head -c "$((UPLOAD_MIB << 20))" /dev/urandom >"$src"
  local want
  want=$(sha256sum "$src" | cut -d' ' -f1)
  before=$(rss_mib "$SERVER_PID")
  # Resets the peak (VmHWM) to the current RSS, so the peak below is the uploads' alone.
  echo 5 >"/proc/$SERVER_PID/clear_refs"
  for i in $(seq 1 "$UPLOADS"); do
    curl -sS -o /dev/null -w '%{http_code}\n' -F "fb_token=$TOKEN" -F "path=up/u$i.bin" \
      -F "push_to_cloud=false" -F "file=@$src;type=application/octet-stream" \
      "http://$ADDR/service/gateway/sync" >"$WORK/up-$i.code" 2>>"$LOG" &
    pids+=($!)
  done
  for i in "${pids[@]}"; do wait "$i" || fails=$((fails + 1)); done
  local ok
  ok=$(grep -l '^200$' "$WORK"/up-*.code | wc -l)
  for i in $(seq 1 "$UPLOADS"); do
    [[ "$(sha256sum "$WORK/b-folder/up/u$i.bin" | cut -d' ' -f1)" == "$want" ]] ||
      die "upload $i arrived damaged"
  done
  INGRESS_ROW=$(printf '| ingress: %d concurrent uploads × %d MiB | %d of %d answered 200 | peak RSS %s MiB | RSS %s MiB before |' \
    "$UPLOADS" "$UPLOAD_MIB" "$ok" "$UPLOADS" "$(peak_rss_mib "$SERVER_PID")" "$before")
}

main() {
  if [[ "${SYNCDESK_IN_KEYRING_SESSION:-}" != 1 ]]; then
    # curl (base); dbus, gnome-keyring for the keyring session the tokens live in.
    "$SYNCDESK_ROOT/scripts/setup.sh" base desktop
    exec "$SYNCDESK_ROOT/scripts/keyring-session.sh" "${BASH_SOURCE[0]}" "$@"
  fi
  ensure_cargo_on_path
  mkdir -p "$BENCH_DIR" "$BENCH_OUT"
  WORK="$(mktemp -d "$BENCH_DIR/gateway.XXXXXX")"
  LOG="$BENCH_OUT/gateway-bench.log"
  : >"$LOG"
  trap cleanup EXIT
  prepare_cli
  start_gateway
  egress
  ingress
  {
    echo "| what | result | rate / memory | against |"
    echo "|---|---|---|---|"
    echo "$EGRESS_ROW"
    echo "$INGRESS_ROW"
  } | tee "$BENCH_OUT/gateway-bench.md"
}

main "$@"
