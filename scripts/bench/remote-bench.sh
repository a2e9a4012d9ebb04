#!/usr/bin/env bash
# Remote sync benchmark: syncdesk-cli vs `rclone copy`, side by side in one run, uploading
# generated data to real S3 (moto) and WebDAV (rclone serve webdav) servers on loopback, each
# command through its own request-counting proxy. See scripts/bench/README.md.
#
#   scripts/bench/remote-bench.sh
#
# Environment:
#   BENCH_DIR      scratch parent directory (default /tmp/syncdesk-bench); needs ~2.5 GB free
#   BENCH_OUT      where the result table is saved (default <repo>/bench-out)
#   BENCH_TARGETS  targets, space separated (default "s3 webdav"); also: apache, nginx
#   BENCH_TOOLS    tools to run, space separated (default "syncdesk rclone")
#   SYNCDESK_CLI   use this syncdesk-cli binary instead of building the release one
#   FAULTPROXY     use this faultproxy binary instead of building the release one
#   SYNCDESK_TEST_SERVERS  servers.json of servers already running (default: the ones
#                  scripts/servers.sh start runs)
#   Dataset size, for quick trial runs (defaults are the published configuration):
#   BENCH_SMALL_FILES (10000)  BENCH_SMALL_DIRS (100)  BENCH_SMALL_BYTES (4096)
#   BENCH_LARGE_FILES (20)     BENCH_LARGE_MIB (1024, all files together)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR="${BENCH_DIR:-/tmp/syncdesk-bench}"
BENCH_OUT="${BENCH_OUT:-$SYNCDESK_ROOT/bench-out}"
read -r -a TARGETS <<<"${BENCH_TARGETS:-s3 webdav}"
read -r -a TOOLS <<<"${BENCH_TOOLS:-syncdesk rclone}"

SMALL_FILES="${BENCH_SMALL_FILES:-10000}"
SMALL_DIRS="${BENCH_SMALL_DIRS:-100}"
SMALL_BYTES="${BENCH_SMALL_BYTES:-4096}"
LARGE_FILES="${BENCH_LARGE_FILES:-20}"
LARGE_MIB="${BENCH_LARGE_MIB:-1024}"

MIB=$((1024 * 1024))
# rclone gets its remotes from RCLONE_CONFIG_* variables only, never from a user config.
export RCLONE_CONFIG=/dev/null
# Every tool talks plain HTTP to 127.0.0.1: no proxy, and none of the CA-bundle and AWS settings
# this machine may carry (rclone's S3 client fails outright with AWS_CA_BUNDLE set).
for var in SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE http_proxy https_proxy \
  HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy no_proxy NO_PROXY $(compgen -v AWS_ || true); do
  unset "$var"
done

WORK=""     # this run's scratch dir, under BENCH_DIR
LOG=""      # every tool's output goes here, so the terminal shows only progress and the table
CLI=""      # syncdesk-cli binary
PROXY=""    # faultproxy binary
PROXY_PID="" # the counting proxy running now, if any
SERVERS=""  # servers.json
RUN_ID=""   # names this run's paths on the servers
declare -A R=() # results: R[<dataset>.<target>.<metric>.<tool>] = value, or "failed"
declare -A DS=() # datasets: DS[<dataset>.files], DS[<dataset>.bytes], DS[<dataset>.label]

# --- helpers ------------------------------------------------------------------------------------

has_tool() { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }

stop_proxy() {
  if [[ -n "$PROXY_PID" ]]; then
    kill -TERM "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
  fi
}

cleanup() {
  stop_proxy
  if [[ -n "$RUN_ID" ]]; then
    remove_run_paths
  fi
  # Only ever this run's own directory, never BENCH_DIR itself (it may be shared or user-chosen).
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    log "removing scratch dir $WORK"
    rm -rf -- "$WORK"
  fi
}

# timed KEY.TOOL CMD...: runs CMD with GNU time; stores wall seconds in R[KEY.time.TOOL] and
# peak RSS (KiB) in R[KEY.rss.TOOL]. A failing command is recorded as "failed" and does not stop
# the benchmark.
timed() {
  local key="$1" tfile="$WORK/time.out" rc=0 line
  local step="${key%.*}" tool="${key##*.}"
  shift
  printf '\n$ %s\n' "$*" >>"$LOG"
  /usr/bin/time -f '%e %M' -o "$tfile" "$@" >>"$LOG" 2>&1 </dev/null || rc=$?
  if [[ $rc -ne 0 ]]; then
    warn "$key: '$*' exited with $rc (see $LOG)"
    tail -n 5 "$LOG" >&2
    R[$step.time.$tool]=failed
    R[$step.rss.$tool]=failed
    return 0
  fi
  # On success the last line is "<seconds> <KiB>".
  line="$(tail -n 1 "$tfile")"
  R[$step.time.$tool]="${line% *}"
  R[$step.rss.$tool]="${line#* }"
  log "  $key: ${line% *} s, peak RSS $((${line#* } / 1024)) MiB"
}

# Flush dirty pages from the previous step (untimed), so one step's buffered writes do not slow
# down the next one's measurement.
settle() { sync; }

# Prints a free TCP port on 127.0.0.1.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# json_get FIELD...: one field of servers.json: json_get s3 endpoint, json_get webdav rclone url.
json_get() {
  python3 - "$SERVERS" "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
if sys.argv[2] == "s3":
    print(doc["s3"][sys.argv[3]])
else:
    print(next(w for w in doc["webdav"] if w["name"] == sys.argv[3])[sys.argv[4]])
PY
}

# --- the counting proxy -------------------------------------------------------------------------

# start_proxy PORT UPSTREAM COUNTS: a fresh proxy on 127.0.0.1:PORT; at exit it writes its
# request counts to COUNTS. Waits until it listens (without sending it a request).
start_proxy() {
  local port="$1" upstream="$2" counts="$3" i
  rm -f "$counts"
  printf '\n$ %s --listen 127.0.0.1:%s --upstream %s --count-file %s\n' "$PROXY" "$port" \
    "$upstream" "$counts" >>"$LOG"
  "$PROXY" --listen "127.0.0.1:$port" --upstream "$upstream" --count-file "$counts" \
    </dev/null >>"$LOG" 2>&1 &
  PROXY_PID=$!
  for ((i = 0; i < 100; i++)); do
    if ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; then
      return 0
    fi
    kill -0 "$PROXY_PID" 2>/dev/null || die "faultproxy exited at start (see $LOG)"
    sleep 0.1
  done
  die "faultproxy did not listen on 127.0.0.1:$port within 10 s (see $LOG)"
}

# read_counts COUNTS: "<total> <per method>" from a proxy's count file
# ({"total": N, "forwarded": N, "by_method": {"GET": N, ...}}), e.g.
# "10013 GET 2, HEAD 1, PUT 10010"; nothing when the file is missing or unreadable.
read_counts() {
  [[ -s "$1" ]] || return 0
  python3 - "$1" <<'PY' || true
import json, sys
doc = json.load(open(sys.argv[1]))
methods = doc.get("by_method", {})
print(doc["total"], ", ".join(f"{m} {n}" for m, n in sorted(methods.items())) or "none")
PY
}

# stop_counting KEY.TOOL COUNTS: stops the proxy and stores its counts in R[KEY.req.TOOL] and
# R[KEY.methods.TOOL] (and R[KEY.*.TOOL] = failed when there are none).
stop_counting() {
  local key="$1" counts="$2" step="${1%.*}" tool="${1##*.}" got
  stop_proxy
  got="$(read_counts "$counts")"
  if [[ -z "$got" ]]; then
    warn "$key: no request counts from faultproxy in $counts"
    R[$step.req.$tool]=failed
    return 0
  fi
  R[$step.req.$tool]="${got%% *}"
  R[$step.methods.$tool]="${got#* }"
  log "  $key: ${got%% *} HTTP requests (${got#* })"
}

# --- targets: where each tool writes, and how to reach the server directly ----------------------

# target_server TARGET: the WebDAV server in servers.json a target stands for; empty for s3.
target_server() {
  case "$1" in
    s3) ;;
    webdav) echo rclone ;;
    *) echo "$1" ;;
  esac
}

# The server's address without its path: the proxy's upstream. S3 keys and WebDAV paths go
# through the proxy unchanged.
upstream_of() {
  local url
  if [[ "$1" == s3 ]]; then url="$(json_get s3 endpoint)"; else url="$(json_get webdav "$(target_server "$1")" url)"; fi
  sed -E 's#^(https?://[^/]+).*#\1#' <<<"$url"
}

# The WebDAV server's base path ("" or "dav"), without slashes.
dav_base_path() {
  json_get webdav "$(target_server "$1")" url | sed -E 's#^https?://[^/]+/?##; s#/+$##'
}

# rclone_remote NAME KEY=VALUE...: defines (or extends) the rclone remote NAME through
# RCLONE_CONFIG_<NAME>_<KEY> variables.
rclone_remote() {
  local name="${1^^}" kv
  shift
  for kv in "$@"; do
    export "RCLONE_CONFIG_${name}_${kv%%=*}=${kv#*=}"
  done
}

# Two rclone remotes per target: the measured one (bs3, bdav_<server>), whose address is set per
# command to that command's proxy, and a direct one (ds3, ddav_<server>) for what is not
# measured: creating the run's top directory, checking what each tool stored, deleting it.
setup_remotes() {
  local t server common
  for t in "${TARGETS[@]}"; do
    if [[ "$t" == s3 ]]; then
      common=(TYPE=s3 PROVIDER=Other FORCE_PATH_STYLE=true
        "ACCESS_KEY_ID=$(json_get s3 access_key_id)" "SECRET_ACCESS_KEY=$(json_get s3 secret)"
        "REGION=$(json_get s3 region)")
      rclone_remote bs3 "${common[@]}"
      rclone_remote ds3 "${common[@]}" "ENDPOINT=$(json_get s3 endpoint)"
    else
      server="$(target_server "$t")"
      common=(TYPE=webdav VENDOR=other "USER=$(json_get webdav "$server" user)"
        "PASS=$(rclone obscure "$(json_get webdav "$server" password)")")
      rclone_remote "bdav_$server" "${common[@]}"
      rclone_remote "ddav_$server" "${common[@]}" "URL=$(json_get webdav "$server" url)"
    fi
  done
}

# make_top_dirs: the run's top directory on each WebDAV server (S3 has no directories), so each
# tool only creates its own path below it.
make_top_dirs() {
  local t
  for t in "${TARGETS[@]}"; do
    [[ "$t" == s3 ]] && continue
    rclone mkdir "$(direct_path "$t" "")" >>"$LOG" 2>&1 ||
      die "cannot create $RUN_ID on the $t server (see $LOG)"
  done
}
# remove_run_paths: whatever is left of this run on the servers (normally only the empty top
# directories; more when a step failed half-way). Only this run's own paths.
remove_run_paths() {
  local t
  for t in "${TARGETS[@]}"; do
    rclone purge "$(direct_path "$t" "")" >>"${LOG:-/dev/null}" 2>&1 || true
  done
}

# direct_path TARGET PATH: PATH (relative to the run's top directory) on the direct remote.
direct_path() {
  if [[ "$1" == s3 ]]; then
    printf 'ds3:%s/%s/%s' "$(json_get s3 bucket)" "$RUN_ID" "$2"
  else
    printf 'ddav_%s:%s/%s' "$(target_server "$1")" "$RUN_ID" "$2"
  fi
}

# stored KEY.TOOL TARGET PATH: what the tool left on the server (bytes and objects), checked
# directly, untimed; then deletes it so the servers (moto keeps everything in memory) do not fill.
stored() {
  local key="$1" target="$2" path step="${1%.*}" tool="${1##*.}" size
  path="$(direct_path "$target" "$3")"
  if size="$(rclone size --json "$path" 2>>"$LOG")"; then
    R[$step.stored.$tool]="$(python3 -c 'import json, sys; d = json.load(sys.stdin); print(d["bytes"], d["count"])' <<<"$size")"
  else
    R[$step.stored.$tool]=failed
  fi
  rclone purge "$path" >>"$LOG" 2>&1 || warn "could not delete $path (see $LOG)"
}

# --- the two tools, one interface: <tool>_run KEY TARGET SRC NAME -------------------------------
# Each uploads SRC into a fresh path NAME under the run's top directory, through a fresh proxy.

syncdesk_run() {
  local key="$1" target="$2" src="$3" name="$4" port state remote secret server
  local counts="$WORK/counts.json"
  port="$(free_port)"
  state="$WORK/state-$name"
  if [[ "$target" == s3 ]]; then
    remote="s3://$(json_get s3 bucket)/$RUN_ID/$name?endpoint=http://127.0.0.1:$port&region=$(json_get s3 region)"
    secret="$(json_get s3 secret)"
    set -- --access-key-id "$(json_get s3 access_key_id)" --secret-stdin
  else
    server="$(target_server "$target")"
    local base
    base="$(dav_base_path "$target")"
    remote="webdav+http://127.0.0.1:$port/${base:+$base/}$RUN_ID/$name"
    secret="$(json_get webdav "$server" password)"
    set -- --user "$(json_get webdav "$server" user)" --password-stdin
  fi
  # One-off setup, untimed; through a proxy too, since the remote's address (the proxy's port)
  # is part of the folder's settings.
  start_proxy "$port" "$(upstream_of "$target")" "$counts"
  printf '\n$ %s --state-dir %s folder add bench %s --remote %s %s\n' "$CLI" "$state" "$src" \
    "$remote" "$*" >>"$LOG"
  if ! printf '%s\n' "$secret" | "$CLI" --state-dir "$state" folder add bench "$src" \
    --remote "$remote" "$@" >>"$LOG" 2>&1; then
    stop_proxy
    warn "$key: folder add failed (see $LOG)"
    R[${key%.*}.time.syncdesk]=failed
    rm -rf -- "$state" "$src/.syncdesk"
    return 0
  fi
  stop_counting "${key%.*}.add.syncdesk" "$counts"
  settle
  start_proxy "$port" "$(upstream_of "$target")" "$counts"
  timed "$key" "$CLI" --state-dir "$state" sync --folder bench --json
  stop_counting "$key" "$counts"
  # The folder's own state (.syncdesk/) goes with the state dir: the next run starts afresh.
  rm -rf -- "$state" "$src/.syncdesk"
}

rclone_run() {
  local key="$1" target="$2" src="$3" name="$4" port remote var
  local counts="$WORK/counts.json"
  port="$(free_port)"
  if [[ "$target" == s3 ]]; then
    var="RCLONE_CONFIG_BS3_ENDPOINT=http://127.0.0.1:$port"
    remote="bs3:$(json_get s3 bucket)/$RUN_ID/$name"
  else
    local base server
    server="$(target_server "$target")"
    base="$(dav_base_path "$target")"
    var="RCLONE_CONFIG_BDAV_${server^^}_URL=http://127.0.0.1:$port/${base:+$base/}"
    remote="bdav_$server:$RUN_ID/$name"
  fi
  start_proxy "$port" "$(upstream_of "$target")" "$counts"
  # rclone's defaults; syncdesk's folder state (if any) is left out.
  timed "$key" env "$var" rclone copy "$src" "$remote" --exclude '/.syncdesk/**'
  stop_counting "$key" "$counts"
}

# --- datasets -----------------------------------------------------------------------------------

# Random bytes: nothing compresses or deduplicates, for any tool.
gen_small() {
  local src="$1" d
  local per_dir=$((SMALL_FILES / SMALL_DIRS))
  log "generating dataset A: $((per_dir * SMALL_DIRS)) × $SMALL_BYTES B in $SMALL_DIRS dirs"
  mkdir -p "$src"
  for ((d = 0; d < SMALL_DIRS; d++)); do
    mkdir -p "$src/d$d"
    # One random stream per directory, cut into files: 100 processes instead of 10,000.
    head -c $((per_dir * SMALL_BYTES)) /dev/urandom |
      split -b "$SMALL_BYTES" -a 4 -d - "$src/d$d/f"
  done
  DS[a.files]=$((per_dir * SMALL_DIRS))
  DS[a.bytes]=$((per_dir * SMALL_DIRS * SMALL_BYTES))
}

gen_large() {
  local src="$1" i
  local each=$((LARGE_MIB * MIB / LARGE_FILES))
  log "generating dataset B: $LARGE_FILES × $(fmt_value bytes "$each") ($LARGE_MIB MiB)"
  mkdir -p "$src"
  for ((i = 0; i < LARGE_FILES; i++)); do
    head -c "$each" /dev/urandom >"$src/l$i.bin"
  done
  DS[b.files]="$LARGE_FILES"
  DS[b.bytes]=$((each * LARGE_FILES))
}

# bench DATASET TOOL...: uploads the dataset to every target with each tool, in the order given.
bench() {
  local ds="$1" src="$WORK/$1-src" target tool
  shift
  if [[ "$ds" == a ]]; then gen_small "$src"; else gen_large "$src"; fi
  settle
  for target in "${TARGETS[@]}"; do
    for tool in "$@"; do
      has_tool "$tool" || continue
      log "(${ds^^}) $target: $tool"
      "${tool}_run" "$ds.$target.$tool" "$target" "$src" "$ds-$target-$tool"
      settle
      stored "$ds.$target.$tool" "$target" "$ds-$target-$tool"
      settle
    done
  done
  rm -rf -- "$src"
}

# --- report -------------------------------------------------------------------------------------

# fmt_value KIND VALUE: human units. KIND: time (s), bytes, count, perfile, rate (MiB/s), stored
# ("<bytes> <objects>").
fmt_value() {
  local kind="$1" v="$2"
  if [[ -z "$v" ]]; then
    printf 'n/a'
    return
  fi
  if [[ "$v" == failed ]]; then
    printf 'failed'
    return
  fi
  case "$kind" in
    time) awk -v v="$v" 'BEGIN { printf "%.2f s", v }' ;;
    count) printf '%s' "$v" ;;
    perfile) awk -v v="$v" 'BEGIN { printf "%.3g", v }' ;;
    rate) awk -v v="$v" 'BEGIN { printf "%.1f MiB/s", v }' ;;
    stored) printf '%s in %s objects' "$(fmt_value bytes "${v% *}")" "${v#* }" ;;
    bytes) awk -v v="$v" 'BEGIN {
      if (v >= 1000 * 1048576) printf "%.2f GiB", v / 1073741824
      else if (v >= 1048576) printf "%.2f MiB", v / 1048576
      else if (v >= 1024) printf "%.1f KiB", v / 1024
      else printf "%d B", v }' ;;
  esac
}

# ratio A B: A/B as "0.78×", or "n/a" when either is missing, failed or B is zero.
ratio() {
  if [[ "$1" =~ ^-?[0-9.]+$ && "$2" =~ ^-?[0-9.]+$ ]]; then
    awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) printf "n/a"; else printf "%.3g×", a / b }'
  else
    printf 'n/a'
  fi
}

# verdict VALUE OP LIMIT: "pass" or "fail" (VALUE OP LIMIT, OP one of <= < >=); "n/a" without
# a number.
verdict() {
  [[ "$1" =~ ^[0-9.]+$ ]] || {
    printf 'n/a'
    return
  }
  awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
    ok = (op == "<=") ? v <= l : (op == "<") ? v < l : v >= l
    printf "%s", ok ? "pass" : "fail" }'
}

# derived: requests per file and throughput, from the measured values.
derive() {
  local key tool files bytes t q
  for key in "${!R[@]}"; do
    [[ "$key" == *.time.* ]] || continue
    tool="${key##*.}"
    local step="${key%.time.*}" ds="${key%%.*}"
    files="${DS[$ds.files]}" bytes="${DS[$ds.bytes]}"
    t="${R[$key]}" q="${R[$step.req.$tool]:-}"
    if [[ "$t" =~ ^[0-9.]+$ ]]; then
      R[$step.rate.$tool]="$(awk -v b="$bytes" -v t="$t" 'BEGIN { if (t > 0) printf "%.6g", b / 1048576 / t }')"
    else
      R[$step.rate.$tool]=failed
    fi
    if [[ "$q" =~ ^[0-9]+$ ]]; then
      R[$step.perfile.$tool]="$(awk -v q="$q" -v f="$files" 'BEGIN { printf "%.6g", q / f }')"
    else
      R[$step.perfile.$tool]="${q:+failed}"
    fi
  done
}

# row LABEL KEY KIND [TARGET VALUE OP LIMIT]: one table line; the last four give the target
# column and what is checked against it.
row() {
  local label="$1" key="$2" kind="$3" target="${4:-}" s c
  s="${R[$key.syncdesk]:-}" c="${R[$key.rclone]:-}"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" \
    "$(fmt_value "$kind" "$s")" "$(fmt_value "$kind" "$c")" \
    "$(if [[ "$kind" == stored ]]; then printf '—'; else ratio "$s" "$c"; fi)" "${target:-—}" \
    "$(if [[ -n "$target" ]]; then verdict "$5" "$6" "$7"; else printf '—'; fi)"
}

target_label() {
  case "$1" in
    s3) printf 'S3 (moto)' ;;
    webdav) printf 'WebDAV (rclone serve)' ;;
    *) printf 'WebDAV (%s)' "$1" ;;
  esac
}

# Ratio syncdesk ÷ rclone of one metric as a bare number (empty when not both are numbers).
raw_ratio() {
  local s="${R[$1.syncdesk]:-}" c="${R[$1.rclone]:-}"
  if [[ "$s" =~ ^[0-9.]+$ && "$c" =~ ^[0-9.]+$ ]]; then
    awk -v a="$s" -v b="$c" 'BEGIN { if (b > 0) printf "%.6g", a / b }'
  fi
}

report() {
  local t k tl
  cat <<EOF
## Remote sync benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo); Linux $(uname -r).
Load average (1, 5, 15 min): $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end.
Tools: ${CLI:+syncdesk-cli $("$CLI" --version 2>/dev/null | awk '{ print $NF }') (release build), }\
$(rclone version 2>/dev/null | awk 'NR == 1 { print "rclone " $2 }') (default settings); \
servers on 127.0.0.1: $(server_versions).

A: ${DS[a.files]:-?} files × $SMALL_BYTES B in $SMALL_DIRS dirs ($(fmt_value bytes "${DS[a.bytes]:-0}")); \
B: ${DS[b.files]:-?} files, $(fmt_value bytes "${DS[b.bytes]:-0}") in all; random bytes.
Each command is an initial upload of a fresh folder into a fresh path (\`syncdesk-cli sync\`,
\`rclone copy\`), through its own counting proxy. Ratios are syncdesk ÷ rclone.

| measurement | syncdesk | rclone | syncdesk ÷ rclone | target | result |
|---|---|---|---|---|---|
EOF
  for t in "${TARGETS[@]}"; do
    tl="$(target_label "$t")"
    k="a.$t"
    row "A → $tl: time" "$k.time" time "syncdesk ≤ 0.5× rclone" "$(raw_ratio "$k.time")" '<=' 0.5
    row "A → $tl: HTTP requests" "$k.req" count
    row "A → $tl: requests per file" "$k.perfile" perfile "syncdesk < 0.05" \
      "${R[$k.perfile.syncdesk]:-}" '<' 0.05
    row "A → $tl: stored on the server" "$k.stored" stored
  done
  for t in "${TARGETS[@]}"; do
    tl="$(target_label "$t")"
    k="b.$t"
    row "B → $tl: time" "$k.time" time
    row "B → $tl: throughput" "$k.rate" rate "syncdesk ≥ 0.8× rclone" "$(raw_ratio "$k.rate")" '>=' 0.8
    row "B → $tl: HTTP requests" "$k.req" count
    row "B → $tl: requests per file" "$k.perfile" perfile
    row "B → $tl: stored on the server" "$k.stored" stored
  done
  printf '\nRequests by method:\n\n'
  for k in a b; do
    for t in "${TARGETS[@]}"; do
      local tool
      for tool in "${TOOLS[@]}"; do
        printf -- '- %s → %s, %s: %s\n' "${k^^}" "$(target_label "$t")" "$tool" \
          "${R[$k.$t.methods.$tool]:-n/a}"
        if [[ "$tool" == syncdesk && -n "${R[$k.$t.add.req.syncdesk]:-}" ]]; then
          printf -- '- %s → %s, syncdesk folder add (untimed setup): %s requests (%s)\n' \
            "${k^^}" "$(target_label "$t")" "${R[$k.$t.add.req.syncdesk]}" \
            "${R[$k.$t.add.methods.syncdesk]:-}"
        fi
      done
    done
  done
}

# The servers behind the targets, with versions where they are cheap to get.
server_versions() {
  local t v="" moto
  for t in "${TARGETS[@]}"; do
    case "$t" in
      s3)
        moto="$("$(cargo_target_dir)/servers-venv/bin/python" -c \
          'import moto; print(moto.__version__)' 2>/dev/null)" || moto="?"
        v+="${v:+, }moto $moto"
        ;;
      webdav) v+="${v:+, }rclone serve webdav" ;;
      *) v+="${v:+, }$t WebDAV" ;;
    esac
  done
  printf '%s' "$v"
}

# --- main ---------------------------------------------------------------------------------------


prepare_proxy() {
  if [[ -n "${FAULTPROXY:-}" ]]; then
    PROXY="$FAULTPROXY"
  else
    log "building faultproxy (release)"
    (cd "$SYNCDESK_ROOT" && cargo build --release -p syncdesk-testkit --bin faultproxy) ||
      die "release build of faultproxy failed"
    PROXY="$(cargo_target_dir)/release/faultproxy"
  fi
  [[ -x "$PROXY" ]] || die "faultproxy not found at $PROXY"
}

prepare_servers() {
  if [[ -n "${SYNCDESK_TEST_SERVERS:-}" ]]; then
    SERVERS="$SYNCDESK_TEST_SERVERS"
    log "using the servers in $SERVERS"
  else
    "$SYNCDESK_ROOT/scripts/servers.sh" start >&2
    SERVERS="$(cargo_target_dir)/test-servers/servers.json"
  fi
  [[ -f "$SERVERS" ]] || die "no servers description at $SERVERS"
  local t
  for t in "${TARGETS[@]}"; do
    [[ "$t" == s3 ]] || json_get webdav "$(target_server "$t")" url >/dev/null 2>&1 ||
      die "no WebDAV server '$(target_server "$t")' in $SERVERS"
  done
}

check_space() {
  # Peak use: dataset B's source, plus its copy on a WebDAV server when that server keeps its
  # files on the same disk, plus a margin.
  local need=$((LARGE_MIB * MIB * 22 / 10 + 256 * MIB)) avail
  avail="$(df --output=avail -B1 "$BENCH_DIR" | tail -n 1)"
  log "disk: need about $(fmt_value bytes "$need") free at $BENCH_DIR, have $(fmt_value bytes "$avail")"
  [[ "$avail" -ge "$need" ]] || die "not enough free space at $BENCH_DIR (set BENCH_DIR elsewhere)"
}

main() {
  local t
  for t in "${TOOLS[@]}"; do
    [[ "$t" == syncdesk || "$t" == rclone ]] || die "unknown tool in BENCH_TOOLS: $t"
  done
  for t in "${TARGETS[@]}"; do
    [[ "$t" == s3 || "$t" == webdav || "$t" == apache || "$t" == nginx ]] ||
      die "unknown target in BENCH_TARGETS: $t"
  done

  if [[ "${SYNCDESK_IN_KEYRING_SESSION:-}" != 1 ]]; then
    "$SYNCDESK_ROOT/scripts/setup.sh" base bench servers
    # syncdesk keeps remote secrets in the OS keyring: run everything in a private keyring
    # session (a D-Bus session with an unlocked GNOME Keyring), never the user's.
    if has_tool syncdesk; then
      for t in dbus-run-session keyctl gnome-keyring-daemon; do
        command -v "$t" >/dev/null 2>&1 || die "$t not found; run scripts/setup.sh desktop"
      done
      exec "$SYNCDESK_ROOT/scripts/keyring-session.sh" "${BASH_SOURCE[0]}" "$@"
    fi
  fi
  ensure_cargo_on_path
  LOAD_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  prepare_proxy
  if has_tool syncdesk; then prepare_cli "run with BENCH_TOOLS=rclone to skip it"; fi
  prepare_servers

  mkdir -p "$BENCH_DIR" "$BENCH_OUT"
  check_space
  WORK="$(mktemp -d "$BENCH_DIR/remote.XXXXXX")"
  trap cleanup EXIT
  RUN_ID="remote-bench-$(date -u +%Y%m%d-%H%M%S)-${WORK##*.}"
  local out
  out="$BENCH_OUT/remote-bench-$(date -u +%Y%m%d-%H%M%S).md"
  # Outside WORK so it survives the cleanup, also when a step fails.
  LOG="${out%.md}.log"
  log "scratch dir $WORK; tool output in $LOG; load average $LOAD_START"
  : >"$LOG"
  # Private copies: a rebuild of target/ during the run must not swap a binary under us.
  cp "$PROXY" "$WORK/faultproxy"
  PROXY="$WORK/faultproxy"
  if [[ -n "$CLI" ]]; then
    cp "$CLI" "$WORK/syncdesk-cli"
    CLI="$WORK/syncdesk-cli"
  fi
  setup_remotes
  make_top_dirs

  # The tools take turns going first: syncdesk for A, rclone for B.
  bench a syncdesk rclone
  bench b rclone syncdesk

  derive
  report | tee "$out"
  log "table saved to $out"
}

main "$@"
