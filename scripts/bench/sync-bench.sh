#!/usr/bin/env bash
# Sync benchmark: syncdesk-cli vs `restic backup` vs `rclone sync`, side by side in one run, on
# generated data, all writing to local targets on the same disk. See scripts/bench/README.md.
#
#   scripts/bench/sync-bench.sh
#
# Environment:
#   BENCH_DIR      scratch parent directory (default /tmp/syncdesk-bench); needs ~2.5 GB free
#   BENCH_OUT      where the result table is saved (default <repo>/bench-out)
#   BENCH_TOOLS    tools to run, space separated (default "syncdesk restic rclone")
#   SYNCDESK_CLI   use this syncdesk-cli binary instead of building the release one
#   Dataset size, for quick trial runs (defaults are the published configuration):
#   BENCH_SMALL_FILES (10000)  BENCH_SMALL_DIRS (100)  BENCH_SMALL_BYTES (4096)
#   BENCH_LARGE_FILES (20)     BENCH_LARGE_MIB (50)    BENCH_HUGE_MIB (1024)  BENCH_PATCH_MIB (1)
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

BENCH_DIR="${BENCH_DIR:-/tmp/syncdesk-bench}"
BENCH_OUT="${BENCH_OUT:-$SYNCDESK_ROOT/bench-out}"
read -r -a TOOLS <<<"${BENCH_TOOLS:-syncdesk restic rclone}"

SMALL_FILES="${BENCH_SMALL_FILES:-10000}"
SMALL_DIRS="${BENCH_SMALL_DIRS:-100}"
SMALL_BYTES="${BENCH_SMALL_BYTES:-4096}"
LARGE_FILES="${BENCH_LARGE_FILES:-20}"
LARGE_MIB="${BENCH_LARGE_MIB:-50}"
HUGE_MIB="${BENCH_HUGE_MIB:-1024}"
PATCH_MIB="${BENCH_PATCH_MIB:-1}"

MIB=$((1024 * 1024))
# The password protects nothing here: the repo is deleted at the end. restic insists on one.
export RESTIC_PASSWORD=syncdesk-bench
# rclone needs no remotes for local paths; keep it away from any user config.
export RCLONE_CONFIG=/dev/null

WORK=""     # this run's scratch dir, under BENCH_DIR
LOG=""      # every tool's output goes here, so the terminal shows only progress and the table
CLI=""      # syncdesk-cli binary
declare -A R=() # results: R[<step>.<metric>.<tool>] = number, or "failed"

# --- helpers ------------------------------------------------------------------------------------

has_tool() { [[ " ${TOOLS[*]} " == *" $1 "* ]]; }

cleanup() {
  # Only ever this run's own directory, never BENCH_DIR itself (it may be shared or user-chosen).
  if [[ -n "$WORK" && -d "$WORK" ]]; then
    log "removing scratch dir $WORK"
    rm -rf -- "$WORK"
  fi
}

# timed STEP.TOOL CMD...: runs CMD with GNU time; stores wall seconds in R[STEP.time.TOOL] and
# peak RSS (KiB) in R[STEP.rss.TOOL]. A failing command is recorded as "failed" and does not stop
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

# Flush dirty pages from the previous step (untimed), so one tool's buffered writes do not slow
# down the next tool's measurement.
settle() { sync; }

# listing DIR OUT: one line per regular file: path, inode, size, mtime. Used to count what a
# resync wrote, which the size difference alone cannot show (rclone rewrites a file in place of
# one of the same size).
listing() {
  find "$1" -type f -printf '%P\t%i\t%s\t%T@\n' | LC_ALL=C sort >"$2"
}

# written_bytes BEFORE AFTER: total size of files that are new or changed (inode, size or mtime).
written_bytes() {
  awk -F '\t' 'NR == FNR { seen[$1] = $2 " " $3 " " $4; next }
    !($1 in seen) || seen[$1] != $2 " " $3 " " $4 { sum += $3 }
    END { printf "%d\n", sum }' "$1" "$2"
}

dir_bytes() { du -sb "$1" | cut -f1; }

# --- the three tools, one interface: <tool>_init SRC DST STATE; <tool>_sync KEY SRC DST STATE ---

syncdesk_init() {
  "$CLI" --state-dir "$3" folder add bench "$1" --remote "$2" >>"$LOG" 2>&1
}
syncdesk_sync() {
  timed "$1" "$CLI" --state-dir "$4" sync --folder bench
}

restic_init() {
  mkdir -p "$3"
  RESTIC_CACHE_DIR="$3" restic --repo "$2" init >>"$LOG" 2>&1
}
restic_sync() {
  # syncdesk keeps its folder marker in the source (.syncdesk/); leave it out for the others.
  RESTIC_CACHE_DIR="$4" timed "$1" restic --repo "$3" backup --quiet --exclude .syncdesk "$2"
}

rclone_init() { mkdir -p "$2"; }
rclone_sync() {
  timed "$1" rclone sync "$2/" "$3/" --quiet --exclude '/.syncdesk/**'
}

# --- datasets -----------------------------------------------------------------------------------

# Random bytes: nothing compresses or deduplicates, for any tool.
gen_dataset_a() {
  local src="$1" d i
  log "generating dataset (a): $SMALL_FILES × $SMALL_BYTES B in $SMALL_DIRS dirs + $LARGE_FILES × $LARGE_MIB MiB"
  mkdir -p "$src"
  local per_dir=$((SMALL_FILES / SMALL_DIRS))
  for ((d = 0; d < SMALL_DIRS; d++)); do
    mkdir -p "$src/small/d$d"
    # One random stream per directory, cut into files: 100 processes instead of 10,000.
    head -c $((per_dir * SMALL_BYTES)) /dev/urandom |
      split -b "$SMALL_BYTES" -a 4 -d - "$src/small/d$d/f"
  done
  mkdir -p "$src/large"
  for ((i = 0; i < LARGE_FILES; i++)); do
    head -c $((LARGE_MIB * MIB)) /dev/urandom >"$src/large/l$i.bin"
  done
}

gen_dataset_b() {
  local src="$1"
  log "generating dataset (b): one $HUGE_MIB MiB file"
  mkdir -p "$src"
  head -c $((HUGE_MIB * MIB)) /dev/urandom >"$src/huge.bin"
  head -c $((PATCH_MIB * MIB)) /dev/urandom >"$WORK/patch.bin"
  # Keep the original middle so each tool starts (b) from the same content.
  dd if="$src/huge.bin" of="$WORK/orig.bin" bs=1M skip=$((HUGE_MIB / 2)) \
    count="$PATCH_MIB" status=none
}

# Overwrite PATCH_MIB MiB in the middle of the file, in place (same size, new mtime).
patch_middle() {
  dd if="$1" of="$2" bs=1M seek=$((HUGE_MIB / 2)) conv=notrunc,fsync status=none
}

# --- the runs -----------------------------------------------------------------------------------

bench_a() {
  local src="$WORK/a-src" tool dst state
  gen_dataset_a "$src"
  settle
  for tool in "${TOOLS[@]}"; do
    log "(a) $tool"
    dst="$WORK/a-target-$tool" state="$WORK/a-state-$tool"
    "${tool}_init" "$src" "$dst" "$state"
    settle
    "${tool}_sync" "a.initial.$tool" "$src" "$dst" "$state"
    settle
    "${tool}_sync" "a.resync.$tool" "$src" "$dst" "$state"
    R[a.size.$tool]="$(dir_bytes "$dst")"
    # Free the space before the next tool: one target at a time keeps the disk need low.
    rm -rf -- "$dst" "$state"
  done
  rm -rf -- "$src"
}

bench_b() {
  local src="$WORK/b-src" tool dst state before after
  gen_dataset_b "$src"
  settle
  for tool in "${TOOLS[@]}"; do
    log "(b) $tool"
    dst="$WORK/b-target-$tool" state="$WORK/b-state-$tool"
    "${tool}_init" "$src" "$dst" "$state"
    settle
    "${tool}_sync" "b.initial.$tool" "$src" "$dst" "$state"
    settle
    listing "$dst" "$WORK/before.lst"
    before="$(dir_bytes "$dst")"
    patch_middle "$WORK/patch.bin" "$src/huge.bin"
    settle
    "${tool}_sync" "b.resync.$tool" "$src" "$dst" "$state"
    settle
    listing "$dst" "$WORK/after.lst"
    after="$(dir_bytes "$dst")"
    R[b.written.$tool]="$(written_bytes "$WORK/before.lst" "$WORK/after.lst")"
    R[b.growth.$tool]=$((after - before))
    # Put the original bytes back so the next tool starts from the same file.
    patch_middle "$WORK/orig.bin" "$src/huge.bin"
    rm -rf -- "$dst" "$state"
  done
  rm -rf -- "$src"
}

# --- report -------------------------------------------------------------------------------------

# fmt_value KIND VALUE: human units. KIND: time (s), rss (KiB), bytes.
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
    rss) awk -v v="$v" 'BEGIN { printf "%.0f MiB", v / 1024 }' ;;
    bytes) awk -v v="$v" 'BEGIN {
      if (v < 0) { s = "-"; v = -v } else s = ""
      if (v >= 1073741824) printf "%s%.2f GiB", s, v / 1073741824
      else if (v >= 1048576) printf "%s%.2f MiB", s, v / 1048576
      else if (v >= 1024) printf "%s%.1f KiB", s, v / 1024
      else printf "%s%d B", s, v }' ;;
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

row() {
  local label="$1" key="$2" kind="$3" s r c
  s="${R[$key.syncdesk]:-}" r="${R[$key.restic]:-}" c="${R[$key.rclone]:-}"
  printf '| %s | %s | %s | %s | %s | %s |\n' "$label" \
    "$(fmt_value "$kind" "$s")" "$(fmt_value "$kind" "$r")" "$(fmt_value "$kind" "$c")" \
    "$(ratio "$s" "$r")" "$(ratio "$s" "$c")"
}

# line LABEL KEY KIND: "initial: syncdesk 3.1 s, restic 4.0 s (0.78×), rclone 2.5 s (1.24×)"
line() {
  local label="$1" key="$2" kind="$3" s r c
  s="${R[$key.syncdesk]:-}" r="${R[$key.restic]:-}" c="${R[$key.rclone]:-}"
  printf -- '- %s: syncdesk %s, restic %s (%s), rclone %s (%s)\n' "$label" \
    "$(fmt_value "$kind" "$s")" "$(fmt_value "$kind" "$r")" "$(ratio "$s" "$r")" \
    "$(fmt_value "$kind" "$c")" "$(ratio "$s" "$c")"
}

report() {
  local small_total=$((SMALL_FILES * SMALL_BYTES))
  cat <<EOF
## Sync benchmark — $(date -u '+%Y-%m-%d %H:%M UTC')

Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), \
$(awk '/MemTotal/ { printf "%.0f GiB RAM", $2 / 1048576 }' /proc/meminfo), \
$(df -T "$BENCH_DIR" | awk 'NR == 2 { print $2 }') at $BENCH_DIR; Linux $(uname -r).
Tools: ${CLI:+syncdesk-cli $("$CLI" --version 2>/dev/null | awk '{ print $NF }') (release build), }\
$(restic version 2>/dev/null | awk '{ print "restic " $2 }'), \
$(rclone version 2>/dev/null | awk 'NR == 1 { print "rclone " $2 }').

(a) $SMALL_FILES files × $SMALL_BYTES B in $SMALL_DIRS dirs ($(fmt_value bytes "$small_total")) \
+ $LARGE_FILES files × $LARGE_MIB MiB, random bytes.
(b) one $HUGE_MIB MiB random file synced, then $PATCH_MIB MiB in its middle overwritten, resynced.
Ratios are syncdesk ÷ other tool: below 1× means syncdesk took less time, memory or bytes.

| measurement | syncdesk | restic | rclone | syncdesk vs restic | syncdesk vs rclone |
|---|---|---|---|---|---|
EOF
  row "(a) initial sync, time" a.initial.time time
  row "(a) initial sync, peak RSS" a.initial.rss rss
  row "(a) no-change resync, time" a.resync.time time
  row "(a) no-change resync, peak RSS" a.resync.rss rss
  row "(a) target size after" a.size bytes
  row "(b) initial sync of 1 file, time" b.initial.time time
  row "(b) initial sync of 1 file, peak RSS" b.initial.rss rss
  row "(b) resync after edit, time" b.resync.time time
  row "(b) resync after edit, peak RSS" b.resync.rss rss
  row "(b) resync: bytes written to target" b.written bytes
  row "(b) resync: target growth (du -sb)" b.growth bytes
  printf '\n'
  line "initial" a.initial.time time
  line "no-change resync" a.resync.time time
  line "$PATCH_MIB MiB edit in a $HUGE_MIB MiB file, bytes written" b.written bytes
}

# --- main ---------------------------------------------------------------------------------------


check_space() {
  # Peak use: one dataset's source plus one tool's target (targets are deleted between tools),
  # plus the repos' overhead and a margin.
  local a_bytes=$((SMALL_FILES * (SMALL_BYTES > 4096 ? SMALL_BYTES : 4096) + LARGE_FILES * LARGE_MIB * MIB))
  local b_bytes=$((HUGE_MIB * MIB + 2 * PATCH_MIB * MIB))
  local need=$(((a_bytes > b_bytes ? a_bytes : b_bytes) * 22 / 10 + 256 * MIB))
  local avail
  avail="$(df --output=avail -B1 "$BENCH_DIR" | tail -n 1)"
  log "disk: need about $(fmt_value bytes "$need") free at $BENCH_DIR, have $(fmt_value bytes "$avail")"
  [[ "$avail" -ge "$need" ]] || die "not enough free space at $BENCH_DIR (set BENCH_DIR elsewhere)"
}

main() {
  local t
  for t in "${TOOLS[@]}"; do
    [[ "$t" == syncdesk || "$t" == restic || "$t" == rclone ]] || die "unknown tool in BENCH_TOOLS: $t"
  done

  "$SYNCDESK_ROOT/scripts/setup.sh" base bench
  ensure_cargo_on_path
  if has_tool syncdesk; then prepare_cli "run with BENCH_TOOLS='restic rclone' to skip it"; fi

  mkdir -p "$BENCH_DIR" "$BENCH_OUT"
  check_space
  WORK="$(mktemp -d "$BENCH_DIR/run.XXXXXX")"
  trap cleanup EXIT
  local out
  out="$BENCH_OUT/sync-bench-$(date -u +%Y%m%d-%H%M%S).md"
  # Outside WORK so it survives the cleanup, also when a step fails.
  LOG="${out%.md}.log"
  log "scratch dir $WORK; tool output in $LOG"
  if [[ -n "$CLI" ]]; then
    # A private copy: a rebuild of target/ during the run must not swap the binary under us.
    cp "$CLI" "$WORK/syncdesk-cli"
    CLI="$WORK/syncdesk-cli"
  fi

  bench_a
  bench_b

  report | tee "$out"
  log "table saved to $out"
}

main "$@"
