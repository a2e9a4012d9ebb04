#!/usr/bin/env bash
# Desktop benchmarks: how the app's job history, watcher and idle background sync behave at
# size. Release build; prints a markdown table and saves it in bench-out/. Not a test: neither
# scripts/test.sh nor CI runs it. See scripts/bench/README.md.
#
#   scripts/bench/desktop-bench.sh
#
# Environment (defaults are the published configuration):
#   BENCH_OUT          where the table is saved (default <repo>/bench-out)
#   BENCH_JOBS (100000)  BENCH_JOB_RUNS (50)       (a) jobs in the state DB, runs per filter
#   BENCH_FILES (10000)  BENCH_WATCH_RUNS (10)     (b), (c) files in the watched folder; edits
#   BENCH_IDLE_SECS (60)                           (c) idle time measured
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_OUT="${BENCH_OUT:-$SYNCDESK_ROOT/bench-out}"
JOBS="${BENCH_JOBS:-100000}"
JOB_RUNS="${BENCH_JOB_RUNS:-50}"
FILES="${BENCH_FILES:-10000}"
WATCH_RUNS="${BENCH_WATCH_RUNS:-10}"
IDLE_SECS="${BENCH_IDLE_SECS:-60}"

ensure_cargo_on_path
log "building the release benchmarks"
(cd "$SYNCDESK_ROOT" && cargo build --release -p syncdesk-engine \
  --example desktop_bench --example idle_watch)
examples="$(cargo_target_dir)/release/examples"

rows=()
log "(a) $JOBS jobs, list_jobs x $JOB_RUNS per filter"
mapfile -t -O "${#rows[@]}" rows < <("$examples/desktop_bench" jobs "$JOBS" "$JOB_RUNS")
log "(b) watch latency, $FILES files, $WATCH_RUNS edits"
mapfile -t -O "${#rows[@]}" rows < <("$examples/desktop_bench" watch "$FILES" "$WATCH_RUNS")

log "(c) idle CPU, $FILES watched files, ${IDLE_SECS} s"
idle="$("$examples/idle_watch" "$FILES" "$IDLE_SECS")"
printf '%s\n' "$idle" >&2
# "CPU while idle: <ms> ms over <s> s (<pct>% of one core); jobs run: <n>"
pct="$(sed -n 's/^CPU while idle: .*(\([0-9.]*\)% of one core).*/\1/p' <<<"$idle")"
[[ -n "$pct" ]] || die "cannot read idle_watch's output"
verdict="$(awk -v p="$pct" 'BEGIN { print (p < 1 ? "met" : "MISSED") }')"
rows+=("| (c) idle CPU, $FILES watched files, ${IDLE_SECS} s | ${pct}% of one core | — | < 1% | $verdict |")

table="$(
  printf '| benchmark | median | p99 | target | result |\n|---|---|---|---|---|\n'
  printf '%s\n' "${rows[@]}"
)"
mkdir -p "$BENCH_OUT"
out="$BENCH_OUT/desktop-bench.md"
{
  printf '# Desktop benchmarks (%s, %s cores)\n\n' "$(date -u +%Y-%m-%dT%H:%MZ)" "$(nproc)"
  printf '%s\n' "$table"
} >"$out"
printf '%s\n' "$table"
log "saved to $out"
