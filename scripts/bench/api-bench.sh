#!/usr/bin/env bash
# Local HTTP API benchmark: how fast `syncdesk-cli serve` answers under load (wrk, 64
# connections), and how much that load slows a sync running at the same time. Release build;
# prints a markdown table and saves it in bench-out/. Not a test: neither scripts/test.sh nor CI
# runs it. See scripts/bench/README.md ("API benchmark").
#
#   scripts/bench/api-bench.sh
#
# Environment (defaults are the published configuration):
#   BENCH_DIR (/tmp/syncdesk-bench)   parent of the scratch directory
#   BENCH_OUT (<repo>/bench-out)      where the table and the log are saved
#   SYNCDESK_CLI                      use this syncdesk-cli instead of building the release one
#   BENCH_JOBS (100000)               finished jobs stored in the state database
#   BENCH_FILES (10000) BENCH_DIRS (100) BENCH_FILE_BYTES (4096)   the synced folder
#   BENCH_ROUNDS (3)                  rounds of: unloaded, loaded by each wrk target in turn
#   BENCH_CONNECTIONS (64) BENCH_THREADS (2)                        wrk -c, -t
#   BENCH_IDLE_SECS (10)              wrk alone (no sync running), per target
#   BENCH_PACED_RPS (1000)            the paced getSyncInfo load: about this many requests/s
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR="${BENCH_DIR:-/tmp/syncdesk-bench}"
BENCH_OUT="${BENCH_OUT:-$SYNCDESK_ROOT/bench-out}"
JOBS="${BENCH_JOBS:-100000}"
FILES="${BENCH_FILES:-10000}"
DIRS="${BENCH_DIRS:-100}"
FILE_BYTES="${BENCH_FILE_BYTES:-4096}"
ROUNDS="${BENCH_ROUNDS:-3}"
CONNECTIONS="${BENCH_CONNECTIONS:-64}"
THREADS="${BENCH_THREADS:-2}"
IDLE_SECS="${BENCH_IDLE_SECS:-10}"
PACED_RPS="${BENCH_PACED_RPS:-1000}"
# Targets: p99 latency under load, and how much slower the sync may get.
P99_TARGET_MS=20
SLOWDOWN_TARGET_PCT=10

# The wrk targets: what the Lua script sends. Each connection sends its next request as soon
# as the answer came (as fast as the server goes), except the paced one, which waits between
# requests so that the 64 connections together send about PACED_RPS a second: a moderate load,
# to tell how much of a sync's slowdown is just the CPU the answers take.
TARGET_NAMES=(getSyncInfo jobs-first-page jobs-failed-page-2 getSyncInfo-paced)
declare -A TARGET_METHOD=([getSyncInfo]=POST [jobs-first-page]=GET [jobs-failed-page-2]=GET
  [getSyncInfo-paced]=POST)
declare -A TARGET_PATH=(
  [getSyncInfo]=/api/sync/getSyncInfo
  [jobs-first-page]=/api/sync/jobs
  [jobs-failed-page-2]='/api/sync/jobs?status=failed&page=2'
  [getSyncInfo-paced]=/api/sync/getSyncInfo
)
declare -A TARGET_LABEL=(
  [getSyncInfo]='POST /api/sync/getSyncInfo'
  [jobs-first-page]='GET /api/sync/jobs'
  [jobs-failed-page-2]='GET /api/sync/jobs?status=failed&page=2'
  [getSyncInfo-paced]="POST /api/sync/getSyncInfo paced to ~$PACED_RPS req/s"
)

WORK=""
SERVER_PID=""
LOAD_AT_START=""
LOG=""

cleanup() {
  if [[ -n "$SERVER_PID" ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [[ -n "$WORK" && -d "$WORK" ]]; then rm -rf "$WORK"; fi
}

say() { printf '%s\n' "$*" | tee -a "$LOG" >&2; }


cli() { "$CLI" --state-dir "$WORK/state" "$@"; }

# write_files GENERATION: (re)writes every file of the folder with new random bytes (same names
# and sizes), so the next sync has real work: scan, hash, pack and upload all of them.
write_files() {
  python3 - "$WORK/folder" "$FILES" "$DIRS" "$FILE_BYTES" <<'PY'
import os, sys
root, files, dirs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for i in range(files):
    d = os.path.join(root, f"d{i % dirs:03d}")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, f"f{i:06d}.bin"), "wb") as f:
        f.write(os.urandom(size))
PY
  sync
}

# seed_jobs N: N finished jobs straight into the state database (schema:
# crates/engine/src/store/schema.rs), distributed like desktop-bench's (desktop_bench.rs `jobs`):
# four folders; scheduled, watch and manual syncs in turn; one in 50 failed, one in 100 needing
# confirmation, the rest succeeded.
seed_jobs() {
  python3 - "$WORK/state/state.db" "$1" <<'PY'
import json, sqlite3, sys
from datetime import datetime, timedelta, timezone
db_path, n = sys.argv[1], int(sys.argv[2])
folders = ["docs", "photos", "work", "music"]
triggers = ["schedule", "watch", "manual"]
meta = json.dumps({"app": "syncdesk", "mode": ""})
start = datetime.now(timezone.utc) - timedelta(minutes=n + 60)
def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"
def rows():
    for i in range(n):
        status, error = "succeeded", None
        if i % 100 in (0, 50):
            status, error = "failed", "remote unreachable"
        elif i % 100 == 7:
            status, error = "needs_confirmation", "would delete 12 files"
        stats = json.dumps({"files_scanned": 10000, "files_uploaded": i % 7, "files_downloaded": 0,
                            "files_deleted": 0, "conflicts": 0, "bytes_uploaded": (i % 7) * 4096,
                            "bytes_downloaded": 0, "retries": 0, "duration_ms": 120})
        t = start + timedelta(minutes=i)
        yield (folders[i % 4], "sync", triggers[i % 3], status, iso(t),
               iso(t + timedelta(milliseconds=120)), error, meta, stats, iso(t), iso(t), 1)
db = sqlite3.connect(db_path)
with db:
    db.executemany(
        "INSERT INTO jobs (folder, job_type, trigger_type, status, started_at, ended_at,"
        " error_message, metadata, stats, created_at, updated_at, owner_pid)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
print(db.execute("SELECT count(*) FROM jobs").fetchone()[0])
db.close()
PY
}

start_server() {
  # Started directly (not through a function), so $! is the server itself.
  "$CLI" --state-dir "$WORK/state" serve --json --no-background --listen 127.0.0.1:0 \
    >"$WORK/serve.json" 2>>"$LOG" &
  SERVER_PID=$!
  local i doc=""
  for ((i = 0; i < 300; i++)); do
    if doc="$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["url"], d["createdToken"]["secret"])' \
      "$WORK/serve.json" 2>/dev/null)"; then
      break
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "serve exited before it listened (see $LOG)"
    sleep 0.1
  done
  [[ -n "$doc" ]] || die "serve printed no start-up document with a token within 30 s"
  read -r URL TOKEN <<<"$doc"
  URL="${URL%/}"
  export SYNCDESK_BENCH_TOKEN="$TOKEN"
}

api() { # api METHOD PATH [BODY]
  local args=(-sS --fail-with-body --noproxy '*' -X "$1" -H "Authorization: Token $TOKEN")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}" "$URL$2"
}

# run_sync: starts a sync of the folder through the API, waits for its end, prints its
# stats.duration_ms (the engine's own measure, so polling does not count).
run_sync() {
  local answer id job status
  answer="$(api POST /api/sync/performSync '{"app":"bench","folder":"bench"}')"
  id="$(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert d["code"] == 0, d; print(d["data"]["jobIds"][0])' "$answer")" ||
    die "performSync refused: $answer"
  while :; do
    job="$(api GET "/api/sync/jobs/$id")"
    status="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["status"])' "$job")"
    case "$status" in
      pending | running) sleep 0.2 ;;
      succeeded) break ;;
      *) die "sync job $id ended $status: $job" ;;
    esac
  done
  python3 -c 'import json,sys; j=json.loads(sys.argv[1]); s=j["stats"]; assert s["files_uploaded"] == int(sys.argv[2]), s; print(s["duration_ms"])' \
    "$job" "$FILES" || die "sync job $id did not upload every file: $job"
}

write_lua() {
  local name="$1" lua="$WORK/$1.lua"
  {
    printf 'wrk.method = "%s"\n' "${TARGET_METHOD[$name]}"
    printf 'wrk.path = "%s"\n' "${TARGET_PATH[$name]}"
    # The token comes from the environment: it is never written to disk.
    printf 'wrk.headers["Authorization"] = "Token " .. os.getenv("SYNCDESK_BENCH_TOKEN")\n'
    if [[ "${TARGET_METHOD[$name]}" == POST ]]; then
      printf 'wrk.body = "{}"\n'
      printf 'wrk.headers["Content-Type"] = "application/json"\n'
    fi
    if [[ "$name" == *-paced ]]; then
      # Milliseconds each connection waits before its next request.
      printf 'function delay() return %d end\n' "$((CONNECTIONS * 1000 / PACED_RPS))"
    fi
  } >"$lua"
  printf '%s\n' "$lua"
}

# cpu_sampler PID OUTFILE: samples each thread of PID every 0.2 s (threads come and go: a
# sync's workers end with it) until SIGTERM or 10 minutes, then writes to OUTFILE, per thread
# name, largest first: "name CPU-seconds %-of-one-core seconds-waiting-for-a-CPU threads" (the
# scheduler's run-queue delay, /proc/.../schedstat; how many threads of that name were seen),
# and the whole process's CPU as "TOTAL".
# Started in the background.
cpu_sampler() {
  exec python3 - "$1" "$2" <<'PY'
import os, signal, sys, time
pid, out = sys.argv[1], sys.argv[2]
hz = os.sysconf("SC_CLK_TCK")
stop = False
def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)
def ticks(path):
    s = open(path).read()
    name, rest = s[s.index("(") + 1:s.rindex(")")], s[s.rindex(")") + 2:].split()
    return name.replace(" ", "_"), int(rest[11]) + int(rest[12])
def sample():
    seen = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            name, t = ticks(f"/proc/{pid}/task/{tid}/stat")
            wait_ns = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[1])
            seen[tid] = (name, t / hz, wait_ns / 1e9)
        except (OSError, ValueError, IndexError):
            pass
    return seen
t0, total0 = time.monotonic(), ticks(f"/proc/{pid}/stat")[1]
first, last = sample(), {}
deadline = t0 + 600
while not stop and time.monotonic() < deadline:
    last.update(sample())
    time.sleep(0.2)
wall = time.monotonic() - t0
total = (ticks(f"/proc/{pid}/stat")[1] - total0) / hz
cpu, wait, threads = {}, {}, {}
for tid, (name, c, w) in last.items():
    _, c0, w0 = first.get(tid, (name, 0.0, 0.0))
    cpu[name] = cpu.get(name, 0.0) + c - c0
    wait[name] = wait.get(name, 0.0) + w - w0
    threads[name] = threads.get(name, 0) + 1
# Threads that lived less than a sampling period, or ended before their last sample, are not
# seen: the whole process's figure counts them, so the difference is shown as such.
cpu["(short-lived_threads)"] = total - sum(cpu.values())
with open(out, "w") as f:
    f.write(f"TOTAL {total:.2f} {100 * total / wall:.0f} - -\n")
    for name, c in sorted(cpu.items(), key=lambda kv: -kv[1]):
        if c > 0.005:
            w = f"{wait[name]:.2f}" if name in wait else "-"
            f.write(f"{name} {c:.2f} {100 * c / wall:.0f} {w} {threads.get(name, '-')}\n")
PY
}

# wrk_run NAME SECONDS OUTFILE: wrk against a target; its output in OUTFILE, and its own CPU
# time (GNU time) in OUTFILE.time.
wrk_run() {
  local lua
  lua="$(write_lua "$1")"
  /usr/bin/time -f '%U %S' -o "$3.time" \
    wrk -t"$THREADS" -c"$CONNECTIONS" -d"${2}s" --timeout 10s --latency -s "$lua" "$URL" >"$3" 2>&1
}

# wrk_figures FILE: "p50_ms p99_ms req_per_s non2xx errors" from wrk's output.
wrk_figures() {
  awk '
    function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; if (v ~ /m$/) return v * 60000; return v }
    $1 == "50%" { p50 = ms($2) } $1 == "99%" { p99 = ms($2) }
    /^Requests\/sec:/ { rps = $2 }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { err = $0; sub(/.*Socket errors: /, "", err); gsub(/ /, "", err) }
    END { printf "%.3f %.3f %.0f %d %s\n", p50, p99, rps, bad + 0, (err == "" ? "none" : err) }' "$1"
}

# median_of "A B C ...": the median of space-separated numbers.
median_of() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

# --- the measurements ----------------------------------------------------------------------------

declare -a UNLOADED=() UNLOADED_SCPU=() UNLOADED_SWAIT=()
declare -A LOADED=() LOADED_P50=() LOADED_P99=() LOADED_RPS=() LOADED_COVER=() LOADED_SHARE=()
declare -A LOADED_SCPU=() LOADED_SWAIT=() IDLE_FIG=() CPU_NOTE=() EXPECT_S=()
UNLOADED_FIRST_S=0

# sync_threads FILE: "CPU-seconds run-queue-wait-seconds" of the sync's threads (sync-<folder>).
sync_threads() { awk '$1 ~ /^sync-/ { c += $2; w += $4 } END { printf "%.2f %.2f\n", c, w }' "$1"; }

measure_unloaded() {
  local ms sampler_pid c w n=${#UNLOADED[@]}
  write_files
  cpu_sampler "$SERVER_PID" "$WORK/cpu-unloaded-$n" &
  sampler_pid=$!
  ms="$(run_sync)"
  kill -TERM "$sampler_pid"
  wait "$sampler_pid" || true
  UNLOADED+=("$ms")
  read -r c w <<<"$(sync_threads "$WORK/cpu-unloaded-$n")"
  UNLOADED_SCPU+=("$c")
  UNLOADED_SWAIT+=("$w")
  say "  unloaded sync: $ms ms; server CPU (s) and wait for a CPU (s): $(awk '{ printf "%s%s %s/%s", (NR > 1 ? ", " : ""), $1, $2, $4 }' "$WORK/cpu-unloaded-$n")"
}

# measure_loaded NAME ROUND: wrk starts, the sync starts one second later; wrk lasts about as
# long as the slowest loaded sync so far plus a margin (twice the unloaded one at first), so its
# figures are mostly those of the time the sync ran.
measure_loaded() {
  local name="$1" round="$2" secs out ms fig cover p50 p99 rps bad errs c w
  write_files
  secs="$(awk -v e="${EXPECT_S[$name]:-$((2 * UNLOADED_FIRST_S))}" 'BEGIN { s = int(1 + e * 1.15 + 1.999); print (s < 3 ? 3 : s) }')"
  out="$WORK/wrk-$name-$round.txt"
  cpu_sampler "$SERVER_PID" "$WORK/cpu-$name-$round" &
  local sampler_pid=$!
  wrk_run "$name" "$secs" "$out" &
  local wrk_pid=$!
  sleep 1
  ms="$(run_sync)"
  wait "$wrk_pid" || die "wrk failed: $(cat "$out")"
  kill -TERM "$sampler_pid"
  wait "$sampler_pid" || true
  fig="$(wrk_figures "$out")"
  read -r p50 p99 rps bad errs <<<"$fig"
  [[ "$bad" -eq 0 ]] || die "wrk got $bad non-2xx answers from $name (see $out): $(cat "$out")"
  # Did the load cover the sync? The sync started at 1 s into wrk's run.
  cover="$(awk -v ms="$ms" -v s="$secs" 'BEGIN { print (1000 + ms <= s * 1000) ? "yes" : "no" }')"
  if [[ "$cover" == no ]]; then
    warn "$name: the sync ($ms ms) outlasted wrk (${secs}s): its end ran without load"
  fi
  # The next run of this load lasts long enough for its slowest sync so far.
  EXPECT_S[$name]="$(awk -v e="${EXPECT_S[$name]:-0}" -v ms="$ms" 'BEGIN { s = ms / 1000; print (s > e ? s : e) }')"
  read -r c w <<<"$(sync_threads "$WORK/cpu-$name-$round")"
  LOADED_SCPU[$name]+="$c "
  LOADED_SWAIT[$name]+="$w "
  LOADED[$name]+="$ms "
  LOADED_P50[$name]+="$p50 "
  LOADED_P99[$name]+="$p99 "
  LOADED_RPS[$name]+="$rps "
  LOADED_COVER[$name]+="$cover "
  LOADED_SHARE[$name]+="$(awk -v ms="$ms" -v s="$secs" 'BEGIN { printf "%.0f", 100 * ms / (s * 1000) }') "
  say "  loaded by $name: sync $ms ms; wrk ${secs}s: p50 ${p50} ms, p99 ${p99} ms, ${rps} req/s, socket errors: $errs, wrk CPU (user sys s): $(cat "$out.time")"
  {
    printf '    server threads (name, CPU s, %% of one core, s waiting for a CPU, threads; TOTAL: the whole process):\n'
    head -n 9 "$WORK/cpu-$name-$round" | sed 's/^/      /'
  } | tee -a "$LOG" >&2
  CPU_NOTE[$name]="$(head -n 6 "$WORK/cpu-$name-$round" |
    awk '{ printf "%s%s %s%% (%s s", (NR > 1 ? ", " : ""), $1, $3, $2; if ($4 != "-") printf ", %s s waiting for a CPU, %s threads", $4, $5; printf ")" }'); wrk itself: $(awk '{ printf "%.1f", $1 + $2 }' "$out.time") CPU s; ${secs} s"
}

measure_idle() {
  local name="$1" out fig p50 p99 rps bad errs
  out="$WORK/wrk-$name-idle.txt"
  wrk_run "$name" "$IDLE_SECS" "$out" || die "wrk failed: $(cat "$out")"
  fig="$(wrk_figures "$out")"
  read -r p50 p99 rps bad errs <<<"$fig"
  [[ "$bad" -eq 0 ]] || die "wrk got $bad non-2xx answers from $name: $(cat "$out")"
  IDLE_FIG[$name]="$p50 $p99 $rps"
  say "  $name alone (no sync): p50 ${p50} ms, p99 ${p99} ms, ${rps} req/s, socket errors: $errs"
}

report() {
  local name u_med l_med ratio p50 p99 rps verdict_p99 verdict_slow covered
  u_med="$(median_of "${UNLOADED[*]}")"
  printf '# API benchmark (%s, %s cores, %s jobs stored, %s files × %s B)\n\n' \
    "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)" "$JOBS" "$FILES" "$FILE_BYTES"
  # Only the load average from before: the benchmark's own runnable threads count in it later.
  printf 'wrk -t%s -c%s --latency; medians over %s rounds (sync: %s unloaded runs, %s per load); load average before the run: %s\n\n' \
    "$THREADS" "$CONNECTIONS" "$ROUNDS" "${#UNLOADED[@]}" "$ROUNDS" "$LOAD_AT_START"
  printf '| load | sync median (runs) | vs unloaded | sync threads: CPU / waiting for a CPU | p50 | p99 | req/s | sync share of wrk run | p99 < %s ms | sync slows < %s%% |\n' \
    "$P99_TARGET_MS" "$SLOWDOWN_TARGET_PCT"
  printf '|---|---|---|---|---|---|---|---|---|---|\n'
  printf '| none | %.0f ms (%s) | 1.00× | %.1f s / %.1f s | — | — | — | — | — | — |\n' "$u_med" "${UNLOADED[*]}" \
    "$(median_of "${UNLOADED_SCPU[*]}")" "$(median_of "${UNLOADED_SWAIT[*]}")"
  for name in "${TARGET_NAMES[@]}"; do
    l_med="$(median_of "${LOADED[$name]}")"
    p50="$(median_of "${LOADED_P50[$name]}")"
    p99="$(median_of "${LOADED_P99[$name]}")"
    rps="$(median_of "${LOADED_RPS[$name]}")"
    ratio="$(awk -v l="$l_med" -v u="$u_med" 'BEGIN { printf "%.2f", l / u }')"
    verdict_p99="$(awk -v p="$p99" -v t="$P99_TARGET_MS" 'BEGIN { print (p < t ? "met" : "MISSED") }')"
    verdict_slow="$(awk -v r="$ratio" -v t="$SLOWDOWN_TARGET_PCT" 'BEGIN { print (r < 1 + t / 100 ? "met" : "MISSED") }')"
    covered=""
    [[ "${LOADED_COVER[$name]}" == *no* ]] && covered=" ‡"
    printf '| %s, during the sync | %.0f ms (%s)%s | %s× | %.1f s / %.1f s | %.2f ms | %.2f ms | %.0f | %s%% | %s | %s |\n' \
      "${TARGET_LABEL[$name]}" "$l_med" "${LOADED[$name]% }" "$covered" "$ratio" \
      "$(median_of "${LOADED_SCPU[$name]}")" "$(median_of "${LOADED_SWAIT[$name]}")" "$p50" "$p99" "$rps" \
      "$(median_of "${LOADED_SHARE[$name]}")" "$verdict_p99" "$verdict_slow"
  done
  for name in "${TARGET_NAMES[@]}"; do
    read -r p50 p99 rps <<<"${IDLE_FIG[$name]}"
    verdict_p99="$(awk -v p="$p99" -v t="$P99_TARGET_MS" 'BEGIN { print (p < t ? "met" : "MISSED") }')"
    printf '| %s, alone (%s s, no sync) | — | — | — | %.2f ms | %.2f ms | %.0f | 0%% | %s | — |\n' \
      "${TARGET_LABEL[$name]}" "$IDLE_SECS" "$p50" "$p99" "$rps" "$verdict_p99"
  done
  printf '\nUnder load, p50, p99 and req/s are the medians of the runs'"'"' wrk figures. A wrk run starts 1 s before the sync and'
  printf ' lasts until shortly after it ends; "sync share" is the part of the run the sync took (the rest is load alone).'
  printf ' ‡: in at least one run the sync outlasted wrk (its end ran unloaded).'
  printf ' "Sync threads": CPU time of the sync'"'"'s threads (sync-<folder>) and their time runnable but waiting for a CPU'
  printf ' (/proc/.../schedstat), medians; the rest of a sync'"'"'s time they were blocked (locks, I/O).\n\n'
  printf 'Server threads during the last loaded run of each target, by name (%% of one core over the run, CPU s, s waiting for a CPU; TOTAL is the whole process):\n\n'
  for name in "${TARGET_NAMES[@]}"; do
    printf -- '- %s: %s\n' "${TARGET_LABEL[$name]}" "${CPU_NOTE[$name]}"
  done
}

main() {
  if [[ "${SYNCDESK_IN_KEYRING_SESSION:-}" != 1 ]]; then
    # wrk and GNU time (bench); dbus, gnome-keyring and keyutils for the keyring session, where
    # serve keeps its API token (desktop).
    "$SYNCDESK_ROOT/scripts/setup.sh" base desktop bench
    exec "$SYNCDESK_ROOT/scripts/keyring-session.sh" "${BASH_SOURCE[0]}" "$@"
  fi
  ensure_cargo_on_path
  command -v wrk >/dev/null 2>&1 || die "wrk not found; run scripts/setup.sh bench"
  prepare_cli

  mkdir -p "$BENCH_DIR" "$BENCH_OUT"
  WORK="$(mktemp -d "$BENCH_DIR/api.XXXXXX")"
  trap cleanup EXIT
  local out
  out="$BENCH_OUT/api-bench-$(date -u +%Y%m%d-%H%M%S).md"
  LOG="${out%.md}.log"
  # A private copy: a rebuild of target/ during the run must not swap the binary under us.
  cp "$CLI" "$WORK/syncdesk-cli"
  CLI="$WORK/syncdesk-cli"
  export SYNCDESK_LOG=warn
  LOAD_AT_START="$(cut -d' ' -f1-3 /proc/loadavg)"
  say "api-bench: scratch dir $WORK; log $LOG; load average $LOAD_AT_START"

  say "setup: $FILES files of $FILE_BYTES B, folder on a local remote, $JOBS jobs"
  mkdir -p "$WORK/folder"
  write_files
  cli folder add bench "$WORK/folder" --remote "$WORK/remote" >/dev/null
  say "  jobs stored: $(seed_jobs "$JOBS")"
  start_server
  say "  serving $URL (pid $SERVER_PID)"
  # The first upload of the folder, and the first answers: warm-up, not measured.
  say "  warm-up sync: $(run_sync) ms"
  local name
  api POST /api/sync/getSyncInfo '{}' >/dev/null || die "getSyncInfo does not answer"
  api GET /api/sync/jobs >/dev/null || die "GET /api/sync/jobs does not answer"

  local round
  for ((round = 1; round <= ROUNDS; round++)); do
    say "round $round of $ROUNDS"
    for name in "${TARGET_NAMES[@]}"; do
      measure_unloaded
      if [[ "$UNLOADED_FIRST_S" == 0 ]]; then
        UNLOADED_FIRST_S=$(((UNLOADED[0] + 999) / 1000))
      fi
      measure_loaded "$name" "$round"
    done
  done
  measure_unloaded
  say "wrk alone, $IDLE_SECS s per target (no sync)"
  for name in "${TARGET_NAMES[@]}"; do
    measure_idle "$name"
  done

  report | tee "$out"
  log "table saved to $out; log in $LOG"
}

main "$@"
