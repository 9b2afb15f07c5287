#!/usr/bin/env bash
# Local moto (EC2 emulator) for s3ep's tests and demo.
#
#   scripts/moto.sh install        create .venv and install moto[server]==5.2.5 (idempotent)
#   scripts/moto.sh start [PORT]   start moto_server on 127.0.0.1:PORT (default 5000) in the background
#   scripts/moto.sh stop           stop the server started by `start`
#
# Everything lives in the repo-local venv .venv (pid file: .venv/moto.pid).
set -euo pipefail

MOTO_VERSION="5.2.5"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PIDFILE="$VENV/moto.pid"
LOGFILE="$VENV/moto.log"

log() { echo "moto.sh: $*" >&2; }

installed() {
  [[ -x "$VENV/bin/moto_server" ]] || return 1
  local v
  v="$("$VENV/bin/python" -m pip show moto 2>/dev/null | sed -n 's/^Version: //p')" || return 1
  [[ "$v" == "$MOTO_VERSION" ]]
}

cmd_install() {
  if installed; then
    return 0
  fi
  if [[ ! -x "$VENV/bin/python" ]]; then
    log "creating venv $VENV"
    python3 -m venv "$VENV"
  fi
  log "installing moto[server]==$MOTO_VERSION into $VENV"
  "$VENV/bin/python" -m pip install --disable-pip-version-check -q "moto[server]==$MOTO_VERSION"
  installed || { log "moto $MOTO_VERSION is not installed after pip install"; exit 1; }
}

running_pid() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid
  pid="$(cat "$PIDFILE")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

cmd_start() {
  local port="${1:-5000}"
  cmd_install
  if pid="$(running_pid)"; then
    log "already running (pid $pid); run 'scripts/moto.sh stop' first"
    exit 1
  fi
  log "starting moto_server on 127.0.0.1:$port (log: $LOGFILE)"
  nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$port" >"$LOGFILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PIDFILE"
  # Wait (up to 20 s) until it answers HTTP.
  local i
  for i in $(seq 1 100); do
    if ! kill -0 "$pid" 2>/dev/null; then
      log "moto_server exited early; log follows"; cat "$LOGFILE" >&2; rm -f "$PIDFILE"; exit 1
    fi
    if "$VENV/bin/python" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen("http://127.0.0.1:%s/moto-api/" % sys.argv[1], timeout=1)
except urllib.error.HTTPError:
    pass  # any HTTP answer will do
PY
    then
      break
    fi
    sleep 0.2
  done
  if [[ "$i" == 100 ]]; then
    log "moto_server did not answer on 127.0.0.1:$port within 20 s"; cmd_stop; exit 1
  fi
  # Warm up: the first EC2 call takes ~1.5 s.
  "$VENV/bin/python" - "$port" <<'PY'
import sys, boto3
boto3.client("ec2", region_name="us-east-1", endpoint_url="http://127.0.0.1:%s" % sys.argv[1],
             aws_access_key_id="testing", aws_secret_access_key="testing").describe_vpcs()
PY
  log "moto_server ready on http://127.0.0.1:$port (pid $pid)"
}

cmd_stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "stopped (pid $pid)"
  fi
  rm -f "$PIDFILE"
}

case "${1:-}" in
  install) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 install | start [PORT] | stop" >&2; exit 2 ;;
esac
