#!/usr/bin/env bash
# The loopback S3 and WebDAV servers the backend tests run against.
#
#   scripts/servers.sh start    start them (a no-op that re-checks their health when running)
#   scripts/servers.sh stop     stop them
#   scripts/servers.sh status   show them and whether each answers; non-zero when one does not
#   scripts/servers.sh check    a real round trip on each: PUT (nested path), PROPFIND, GET, DELETE
#   scripts/servers.sh env      print `export SYNCDESK_TEST_SERVERS=<servers.json>`
#
# Servers, each on 127.0.0.1 with a free port, state under <target>/test-servers/:
#   s3      moto (in memory; the bucket `syncdesk-test` is made after every start)
#   rclone  rclone serve webdav, at /
#   apache  Apache httpd with mod_dav_fs, at /dav/
#   nginx   nginx with the dav-ext module, at /dav/
# All WebDAV servers use basic auth. servers.json describes them (endpoints, credentials); the
# Rust crate syncdesk-testkit reads it. Install what they need first: scripts/setup.sh servers.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# --- configuration ------------------------------------------------------------------------------

S3_BUCKET=syncdesk-test
S3_REGION=us-east-1
S3_ACCESS_KEY=test-key
S3_SECRET=test-secret
DAV_USER=syncdesk
DAV_PASSWORD=syncdesk-test-pass
# How long one server may take to answer after it was started (moto needs a few seconds).
READY_TIMEOUT_SECS=60
SERVER_NAMES=(s3 rclone apache nginx)

# Every client here talks plain HTTP to 127.0.0.1: no proxy, and none of the CA-bundle and AWS
# settings this machine may carry in its environment (they break some S3 clients outright).
for var in AWS_CA_BUNDLE SSL_CERT_FILE SSL_CERT_DIR CURL_CA_BUNDLE REQUESTS_CA_BUNDLE \
  AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION \
  AWS_REGION AWS_ENDPOINT_URL http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy; do
  unset "$var"
done

usage() {
  sed -n '2,16s/^# \{0,1\}//p' "${BASH_SOURCE[0]}"
}

# --- paths --------------------------------------------------------------------------------------

init_paths() {
  local target
  ensure_cargo_on_path
  target="$(cargo_target_dir)" || die "cargo metadata failed"
  [[ -n $target ]] || die "cannot find cargo's target directory"
  STATE="$target/test-servers"
  JSON="$STATE/servers.json"
  PIDS="$STATE/pids"
  VENV="$target/servers-venv"
  mkdir -p "$STATE"
}

# Serialises start/stop/check between concurrent callers (several test runs may call start).
take_lock() {
  exec 9>"$STATE/.lock"
  flock -w 300 9 || die "another scripts/servers.sh holds $STATE/.lock for 5 minutes"
}

# --- small helpers ------------------------------------------------------------------------------

# curl for the loopback servers: no proxy, bounded time, never reads ~/.curlrc.
lcurl() {
  curl -q --noproxy '*' --silent --show-error --connect-timeout 5 --max-time 30 "$@"
}

# HTTP status code of a request; 000 when nothing answered.
http_code() {
  lcurl --output /dev/null --write-out '%{http_code}' "$@" 2>/dev/null || true
}

s3_curl() {
  lcurl --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET" "$@"
}

dav_curl() {
  lcurl --user "$DAV_USER:$DAV_PASSWORD" "$@"
}

# Prints N distinct free TCP ports on 127.0.0.1 (all bound at once, so they differ).
free_ports() {
  python3 - "$1" <<'PY'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
}

# The expected command name of each server, checked before a PID is signalled, so that a PID the
# system reused for something else is never touched.
server_cmd_pattern() {
  case "$1" in
    s3) echo moto_server ;;
    rclone) echo rclone ;;
    apache) echo apache2 ;;
    nginx) echo nginx ;;
    *) die "unknown server $1" ;;
  esac
}

pid_is_server() {
  local name="$1" pid="$2" cmdline
  [[ $pid =~ ^[0-9]+$ ]] || return 1
  [[ -r /proc/$pid/cmdline ]] || return 1
  cmdline="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmdline == *"$(server_cmd_pattern "$name")"* ]]
}

# pid_of NAME: the PID recorded for a server (empty when none).
pid_of() {
  [[ -f $PIDS ]] || return 0
  awk -v n="$1" '$1 == n { print $2 }' "$PIDS"
}

# Reads one field of servers.json, e.g. json_get s3 endpoint or json_get webdav apache url.
json_get() {
  python3 - "$JSON" "$@" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
if sys.argv[2] == "s3":
    print(doc["s3"][sys.argv[3]])
else:
    print(next(w for w in doc["webdav"] if w["name"] == sys.argv[3])[sys.argv[4]])
PY
}

url_of() {
  if [[ $1 == s3 ]]; then json_get s3 endpoint; else json_get webdav "$1" url; fi
}

# --- health -------------------------------------------------------------------------------------

# healthy NAME URL: the server answers an authenticated request as it should.
healthy() {
  local name="$1" url="$2"
  case "$name" in
    s3) [[ "$(http_code --head "$url/$S3_BUCKET" --aws-sigv4 "aws:amz:$S3_REGION:s3" \
      --user "$S3_ACCESS_KEY:$S3_SECRET")" == 200 ]] ;;
    *) [[ "$(http_code --request PROPFIND --header 'Depth: 0' \
      --user "$DAV_USER:$DAV_PASSWORD" "$url")" == 207 ]] ;;
  esac
}

# answers NAME URL: anything at all answers HTTP there (used while waiting for a start).
answers() {
  local url="$2"
  [[ "$(http_code --max-time 2 "$url")" != 000 ]]
}

# wait_ready NAME PID URL LOG: polls until the server answers; dies with its log when it exits
# or does not answer within READY_TIMEOUT_SECS.
wait_ready() {
  local name="$1" pid="$2" url="$3" logfile="$4" deadline=$((SECONDS + READY_TIMEOUT_SECS))
  while ! answers "$name" "$url"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      fail_with_log "$name exited during start-up" "$logfile"
    fi
    if ((SECONDS >= deadline)); then
      fail_with_log "$name did not answer at $url within ${READY_TIMEOUT_SECS}s" "$logfile"
    fi
    sleep 0.1
  done
}

fail_with_log() {
  local msg="$1" logfile
  shift
  printf 'error: %s\n' "$msg" >&2
  for logfile in "$@"; do
    if [[ -s $logfile ]]; then
      printf -- '--- %s (last 40 lines) ---\n' "$logfile" >&2
      tail -n 40 "$logfile" >&2
    fi
  done
  stop_all >/dev/null 2>&1 || true
  exit 1
}

# --- starting each server -----------------------------------------------------------------------

# launch NAME LOG CMD...: starts CMD in its own session (so it outlives this script and its
# process group can be signalled as one), records its PID. Sets LAUNCHED_PID.
launch() {
  local name="$1" logfile="$2"
  shift 2
  (
    # Only standard input/output/error go to the server: no other inherited descriptor (the
    # lock of take_lock, a caller's pipe that someone waits on to reach end of file) stays
    # open for as long as it runs.
    for fd_path in /proc/self/fd/*; do
      fd="${fd_path##*/}"
      if [[ $fd =~ ^[0-9]+$ ]] && ((fd > 2)); then
        exec {fd}>&- 2>/dev/null || true
      fi
    done
    # Not a process group leader (no job control here), so setsid runs in place: $! is the
    # server's PID, and the server leads its own session and process group.
    exec setsid "$@"
  ) </dev/null >>"$logfile" 2>&1 &
  LAUNCHED_PID=$!
  printf '%s %s\n' "$name" "$LAUNCHED_PID" >>"$PIDS"
}

# Apache and nginx workers drop to www-data when started as root; their files must be theirs.
RUN_AS_ROOT=0
[[ $EUID -eq 0 ]] && RUN_AS_ROOT=1
give_to_web_user() {
  if [[ $RUN_AS_ROOT -eq 1 ]]; then
    chown -R www-data:www-data "$@"
  fi
}

start_s3() {
  local port="$1" dir="$STATE/s3"
  [[ -x $VENV/bin/moto_server ]] || die "moto is not installed in $VENV: run scripts/setup.sh servers"
  mkdir -p "$dir"
  S3_URL="http://127.0.0.1:$port"
  launch s3 "$dir/moto.log" "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port"
  S3_PID=$LAUNCHED_PID
}

start_rclone() {
  local port="$1" dir="$STATE/rclone"
  command -v rclone >/dev/null 2>&1 || die "rclone not found: run scripts/setup.sh servers"
  mkdir -p "$dir/data"
  : >"$dir/rclone.conf"
  RCLONE_URL="http://127.0.0.1:$port/"
  launch rclone "$dir/rclone.log" rclone serve webdav "$dir/data" --config "$dir/rclone.conf" \
    --addr "127.0.0.1:$port" --user "$DAV_USER" --pass "$DAV_PASSWORD" --etag-hash MD5
  RCLONE_PID=$LAUNCHED_PID
}

make_htpasswd() {
  # apr1 (MD5) hashes: understood by both Apache and nginx.
  htpasswd -b -c -m "$1" "$DAV_USER" "$DAV_PASSWORD" 2>/dev/null ||
    die "htpasswd failed (install apache2-utils: scripts/setup.sh servers)"
  chmod 644 "$1"
}

start_apache() {
  local port="$1" dir="$STATE/apache" mods=/usr/lib/apache2/modules user_lines=""
  [[ -x /usr/sbin/apache2 ]] || die "apache2 not found: run scripts/setup.sh servers"
  mkdir -p "$dir/www/dav" "$dir/run" "$dir/davlock"
  make_htpasswd "$dir/htpasswd"
  if [[ $RUN_AS_ROOT -eq 1 ]]; then
    user_lines=$'User www-data\nGroup www-data'
    give_to_web_user "$dir/www" "$dir/davlock"
  fi
  cat >"$dir/httpd.conf" <<CONF
# Written by scripts/servers.sh: a self-contained Apache serving WebDAV from $dir/www/dav.
ServerRoot "$dir"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$dir/run/apache2.pid"
DefaultRuntimeDir "$dir/run"
Mutex file:$dir/run default
ErrorLog "$dir/error.log"
LogLevel warn
$user_lines

LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule authn_file_module $mods/mod_authn_file.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule auth_basic_module $mods/mod_auth_basic.so
LoadModule dav_module $mods/mod_dav.so
LoadModule dav_fs_module $mods/mod_dav_fs.so

LogFormat "%h %u %t \"%r\" %>s %b %D" timed
CustomLog "$dir/access.log" timed

StartServers 1
ServerLimit 4
ThreadsPerChild 25
MaxRequestWorkers 100
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 15
Timeout 300
# Large uploads (benchmarks): no body size limit (Apache 2.4.54+ defaults to 1 GiB).
LimitRequestBody 0

DavLockDB "$dir/davlock/DavLock"
DavDepthInfinity On

DocumentRoot "$dir/www"
<Directory />
  Require all denied
  AllowOverride None
  Options None
</Directory>
<Directory "$dir/www/dav">
  Dav On
  AuthType Basic
  AuthName "syncdesk-test"
  AuthBasicProvider file
  AuthUserFile "$dir/htpasswd"
  Require valid-user
</Directory>
CONF
  /usr/sbin/apache2 -t -f "$dir/httpd.conf" >"$dir/configtest.log" 2>&1 ||
    fail_with_log "apache rejected its configuration" "$dir/configtest.log"
  APACHE_URL="http://127.0.0.1:$port/dav/"
  # -DFOREGROUND: the recorded PID is Apache's parent process, which stops its children.
  launch apache "$dir/stderr.log" /usr/sbin/apache2 -f "$dir/httpd.conf" -DFOREGROUND
  APACHE_PID=$LAUNCHED_PID
}

start_nginx() {
  local port="$1" dir="$STATE/nginx" user_line="" module
  module=/usr/lib/nginx/modules/ngx_http_dav_ext_module.so
  [[ -x /usr/sbin/nginx ]] || die "nginx not found: run scripts/setup.sh servers"
  [[ -f $module ]] || die "nginx dav-ext module missing: run scripts/setup.sh servers"
  mkdir -p "$dir/www/dav" "$dir/tmp"
  make_htpasswd "$dir/htpasswd"
  if [[ $RUN_AS_ROOT -eq 1 ]]; then
    user_line="user www-data www-data;"
    give_to_web_user "$dir/www" "$dir/tmp"
  fi
  cat >"$dir/nginx.conf" <<CONF
# Written by scripts/servers.sh: a self-contained nginx serving WebDAV from $dir/www/dav.
load_module $module;
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events { worker_connections 1024; }

http {
  default_type application/octet-stream;
  access_log $dir/access.log;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  keepalive_requests 100000;

  server {
    listen 127.0.0.1:$port;
    server_name 127.0.0.1;
    root $dir/www;
    # No body size limit: benchmarks upload large files (client_max_body_size 0 = unlimited).
    client_max_body_size 0;

    location /dav/ {
      auth_basic "syncdesk-test";
      auth_basic_user_file $dir/htpasswd;
      dav_methods PUT DELETE MKCOL COPY MOVE;
      dav_ext_methods PROPFIND OPTIONS;
      create_full_put_path on;
      dav_access user:rw group:rw all:r;
    }
  }
}
CONF
  /usr/sbin/nginx -t -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/configtest.log" 2>&1 ||
    fail_with_log "nginx rejected its configuration" "$dir/configtest.log"
  NGINX_URL="http://127.0.0.1:$port/dav/"
  launch nginx "$dir/stderr.log" /usr/sbin/nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf"
  NGINX_PID=$LAUNCHED_PID
}

create_bucket() {
  local url="$1" code
  code="$(http_code --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET" \
    --request PUT "$url/$S3_BUCKET")"
  [[ $code == 200 ]] || fail_with_log "creating bucket $S3_BUCKET on moto: HTTP $code" \
    "$STATE/s3/moto.log"
}

write_json() {
  python3 - "$JSON.tmp" <<PY
import json, sys
doc = {
    "version": 1,
    "s3": {
        "endpoint": "$S3_URL",
        "region": "$S3_REGION",
        "bucket": "$S3_BUCKET",
        "access_key_id": "$S3_ACCESS_KEY",
        "secret": "$S3_SECRET",
        "pid": $S3_PID,
        "log": "$STATE/s3/moto.log",
    },
    "webdav": [
        {"name": "rclone", "url": "$RCLONE_URL", "user": "$DAV_USER",
         "password": "$DAV_PASSWORD", "pid": $RCLONE_PID,
         "data_dir": "$STATE/rclone/data", "log": "$STATE/rclone/rclone.log"},
        {"name": "apache", "url": "$APACHE_URL", "user": "$DAV_USER",
         "password": "$DAV_PASSWORD", "pid": $APACHE_PID,
         "data_dir": "$STATE/apache/www/dav", "log": "$STATE/apache/error.log"},
        {"name": "nginx", "url": "$NGINX_URL", "user": "$DAV_USER",
         "password": "$DAV_PASSWORD", "pid": $NGINX_PID,
         "data_dir": "$STATE/nginx/www/dav", "log": "$STATE/nginx/error.log"},
    ],
}
with open(sys.argv[1], "w") as f:
    json.dump(doc, f, indent=2)
    f.write("\n")
PY
  mv "$JSON.tmp" "$JSON"
}

# --- commands -----------------------------------------------------------------------------------

# all_running: every server has a live recorded PID and answers as it should.
all_running() {
  local name pid
  [[ -f $PIDS && -f $JSON ]] || return 1
  for name in "${SERVER_NAMES[@]}"; do
    pid="$(pid_of "$name")"
    pid_is_server "$name" "$pid" || return 1
  done
  return 0
}

cmd_start() {
  take_lock
  if all_running; then
    local url
    url="$(url_of s3)"
    # moto keeps everything in memory: a bucket lost some other way is simply made again.
    healthy s3 "$url" || create_bucket "$url"
    if check_health quiet; then
      log "test servers already running ($JSON)"
      return 0
    fi
    warn "test servers are running but not all answer; restarting them"
  fi
  stop_all
  rm -rf "$STATE/s3" "$STATE/rclone" "$STATE/apache" "$STATE/nginx"
  rm -f "$JSON" "$PIDS"
  : >"$PIDS"

  local ports
  read -r -a ports <<<"$(free_ports 4)"
  start_s3 "${ports[0]}"
  start_rclone "${ports[1]}"
  start_apache "${ports[2]}"
  start_nginx "${ports[3]}"

  wait_ready s3 "$S3_PID" "$S3_URL" "$STATE/s3/moto.log"
  wait_ready rclone "$RCLONE_PID" "$RCLONE_URL" "$STATE/rclone/rclone.log"
  wait_ready apache "$APACHE_PID" "$APACHE_URL" "$STATE/apache/stderr.log" "$STATE/apache/error.log"
  wait_ready nginx "$NGINX_PID" "$NGINX_URL" "$STATE/nginx/stderr.log" "$STATE/nginx/error.log"
  create_bucket "$S3_URL"
  write_json

  check_health loud || fail_with_log "a test server does not answer as it should" \
    "$STATE/apache/error.log" "$STATE/nginx/error.log"
  round_trips || fail_with_log "a test server failed its round trip"
  log "test servers running; $JSON"
  print_table
}

stop_all() {
  local name pid deadline
  [[ -f $PIDS ]] || return 0
  for name in "${SERVER_NAMES[@]}"; do
    pid="$(pid_of "$name")"
    if pid_is_server "$name" "$pid"; then
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  for name in "${SERVER_NAMES[@]}"; do
    pid="$(pid_of "$name")"
    [[ $pid =~ ^[0-9]+$ ]] || continue
    # Each server leads its own process group (setsid): wait for the whole group to go.
    deadline=$((SECONDS + 15))
    while kill -0 -- "-$pid" 2>/dev/null && ((SECONDS < deadline)); do
      sleep 0.1
    done
    if kill -0 -- "-$pid" 2>/dev/null; then
      warn "$name (process group $pid) ignored SIGTERM; killing it"
      kill -KILL -- "-$pid" 2>/dev/null || true
    fi
  done
  rm -f "$PIDS" "$JSON"
}

cmd_stop() {
  take_lock
  if [[ ! -f $PIDS ]]; then
    log "test servers are not running"
    return 0
  fi
  stop_all
  log "test servers stopped"
}

# check_health quiet|loud: every server answers as it should.
check_health() {
  local name url ok=0
  for name in "${SERVER_NAMES[@]}"; do
    url="$(url_of "$name")" || return 1
    if ! healthy "$name" "$url"; then
      [[ $1 == loud ]] && warn "$name at $url does not answer as it should"
      ok=1
    fi
  done
  return "$ok"
}

print_table() {
  local name url pid state
  printf '%-7s %-8s %-8s %s\n' SERVER PID STATE URL
  for name in "${SERVER_NAMES[@]}"; do
    url="$(url_of "$name" 2>/dev/null || echo '?')"
    pid="$(pid_of "$name")"
    if ! pid_is_server "$name" "$pid"; then
      state=dead
    elif healthy "$name" "$url"; then
      state=ok
    else
      state=failing
    fi
    printf '%-7s %-8s %-8s %s\n' "$name" "${pid:--}" "$state" "$url"
  done
  printf 'credentials: S3 %s / %s (region %s, bucket %s); WebDAV %s / %s\n' \
    "$S3_ACCESS_KEY" "$S3_SECRET" "$S3_REGION" "$S3_BUCKET" "$DAV_USER" "$DAV_PASSWORD"
}

cmd_status() {
  if ! [[ -f $PIDS && -f $JSON ]]; then
    log "test servers are not running (start them with scripts/servers.sh start)"
    return 1
  fi
  print_table
  all_running && check_health quiet
}

cmd_env() {
  [[ -f $JSON ]] || warn "$JSON does not exist yet: run scripts/servers.sh start"
  printf 'export SYNCDESK_TEST_SERVERS=%q\n' "$JSON"
}

# --- round trips --------------------------------------------------------------------------------

# expect WHAT WANT GOT: fails the round trip when GOT is not one of WANT (space separated).
expect() {
  if [[ " $2 " != *" $3 "* ]]; then
    warn "$1: HTTP $3 (expected $2)"
    return 1
  fi
}

# dav_round_trip NAME URL: MKCOL, PUT into a nested path, PROPFIND Depth 1 listing it, GET it
# back, DELETE the tree.
dav_round_trip() {
  local name="$1" url="$2" top body got code listing
  top="${url%/}/servers-check-$$-$RANDOM"
  body="round trip on $name at $(date -u +%FT%TZ)"
  # Apache and rclone want the collections to exist before a PUT into them; nginx makes them
  # itself (create_full_put_path), which the PUT below checks.
  if [[ $name != nginx ]]; then
    expect "$name MKCOL" "201" "$(http_code --user "$DAV_USER:$DAV_PASSWORD" -X MKCOL "$top/")" || return 1
    expect "$name MKCOL" "201" "$(http_code --user "$DAV_USER:$DAV_PASSWORD" -X MKCOL "$top/a/")" || return 1
  fi
  code="$(printf '%s' "$body" | http_code --user "$DAV_USER:$DAV_PASSWORD" -X PUT \
    -H 'Content-Type: text/plain' --data-binary @- "$top/a/file.txt")"
  expect "$name PUT" "200 201 204" "$code" || return 1
  listing="$(dav_curl -X PROPFIND -H 'Depth: 1' "$top/a/")" || return 1
  if [[ $listing != *"file.txt"* ]]; then
    warn "$name PROPFIND Depth 1 of $top/a/ does not list file.txt: $listing"
    return 1
  fi
  got="$(dav_curl --fail "$top/a/file.txt")" || return 1
  if [[ $got != "$body" ]]; then
    warn "$name GET returned '$got', not '$body'"
    return 1
  fi
  expect "$name DELETE" "200 204" "$(http_code --user "$DAV_USER:$DAV_PASSWORD" -X DELETE "$top/")" || return 1
  expect "$name GET after DELETE" "404" \
    "$(http_code --user "$DAV_USER:$DAV_PASSWORD" "$top/a/file.txt")" || return 1
}

s3_round_trip() {
  local url="$1" key body got
  key="$url/$S3_BUCKET/servers-check-$$-$RANDOM/a/file.txt"
  body="round trip on moto at $(date -u +%FT%TZ)"
  # An explicit Content-Type: with curl's default (a form) moto would store an empty object.
  printf '%s' "$body" | s3_curl --fail -X PUT -H 'Content-Type: text/plain' --data-binary @- \
    "$key" >/dev/null || return 1
  got="$(s3_curl --fail "$key")" || return 1
  if [[ $got != "$body" ]]; then
    warn "s3 GET returned '$got', not '$body'"
    return 1
  fi
  s3_curl --fail -X DELETE "$key" >/dev/null || return 1
  expect "s3 GET after DELETE" 404 "$(http_code --aws-sigv4 "aws:amz:$S3_REGION:s3" \
    --user "$S3_ACCESS_KEY:$S3_SECRET" "$key")"
}

round_trips() {
  local name url failed=0
  s3_round_trip "$(url_of s3)" || failed=1
  for name in "${SERVER_NAMES[@]:1}"; do
    url="$(url_of "$name")"
    dav_round_trip "$name" "$url" || failed=1
  done
  return "$failed"
}

cmd_check() {
  take_lock
  all_running || die "test servers are not running (start them with scripts/servers.sh start)"
  round_trips || die "round trip failed (see above)"
  log "round trips passed: S3 on moto, WebDAV on rclone, apache and nginx"
}

# --- main ---------------------------------------------------------------------------------------

main() {
  [[ $# -eq 1 ]] || {
    usage >&2
    exit 2
  }
  case "$1" in
    -h | --help) usage ;;
    start | stop | status | env | check)
      init_paths
      "cmd_$1"
      ;;
    *)
      usage >&2
      die "unknown command: $1"
      ;;
  esac
}

main "$@"
