#!/usr/bin/env bash
# Velos and PM2 side by side, in one run on one machine (ratios survive a
# noisy machine better than absolute numbers). PM2 comes from the npm
# registry into a temp folder; without npm the PM2 column says so.
# Records, asserts nothing. Run: bash bench/pm2.sh (RUNS=N for list timing).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/velos}
RUNS=${RUNS:-30}
LINES=${LINES:-1000000}
[ -x "$BIN" ] && [ -x "$(dirname "$BIN")/velosd" ] || go build -trimpath -ldflags "-s -w" -o "$(dirname "$BIN")/" ./cmd/velos ./cmd/velosd
BIN=$(realpath "$BIN")
work=$(mktemp -d /tmp/velos-vs-pm2.XXXX)
export VELOS_HOME=$work/velos PM2_HOME=$work/pm2
mkdir -p "$VELOS_HOME" "$PM2_HOME"
PM2=""
if command -v npm >/dev/null && npm install --prefix "$work/npm" pm2@7 --no-audit --no-fund >/dev/null 2>&1; then
  PM2=$work/npm/node_modules/.bin/pm2
fi
cleanup() {
  "$BIN" kill >/dev/null 2>&1 || true
  [ -n "$PM2" ] && "$PM2" kill >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

now_ns() { date +%s%N; }
rss() { awk '/^VmRSS/ { printf "%.1f MiB", $2/1024 }' "/proc/$1/status"; }
vpid() { cat "$VELOS_HOME/daemon.pid"; }
ppid_() { tr -dc 0-9 < "$PM2_HOME/pm2.pid"; }
median_ms() { # median wall time of "$@" over $RUNS runs
  local ts=()
  for _ in $(seq "$RUNS"); do
    local a b; a=$(now_ns); "$@" >/dev/null 2>&1; b=$(now_ns); ts+=($(( (b - a) / 1000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.1f ms", v[int((NR+1)/2)]/1000}'
}
start_n() { # $1: velos|pm2, $2: how many in all
  local have=$3
  for i in $(seq "$have" $(( $2 - 1 ))); do
    if [ "$1" = velos ]; then "$BIN" start sleep --name "s$i" -- 100000 >/dev/null
    else "$PM2" start sleep --name "s$i" --interpreter none -- 100000 >/dev/null 2>&1; fi
  done
}
row() { printf '| %s | %s | %s |\n' "$1" "$2" "$3"; }
na="(pm2 not installed)"

# --- memory and list latency -------------------------------------------------
"$BIN" list >/dev/null; [ -n "$PM2" ] && "$PM2" ping >/dev/null 2>&1
sleep 2
v_idle=$(rss "$(vpid)"); p_idle=$na; [ -n "$PM2" ] && p_idle=$(rss "$(ppid_)")
start_n velos 1 0; [ -n "$PM2" ] && start_n pm2 1 0
v_l1=$(median_ms "$BIN" list); p_l1=$na; [ -n "$PM2" ] && p_l1=$(median_ms "$PM2" list)
start_n velos 10 1; [ -n "$PM2" ] && start_n pm2 10 1
sleep 2
v_10=$(rss "$(vpid)"); p_10=$na; [ -n "$PM2" ] && p_10=$(rss "$(ppid_)")
start_n velos 100 10; [ -n "$PM2" ] && start_n pm2 100 10
sleep 3
v_100=$(rss "$(vpid)"); p_100=$na; [ -n "$PM2" ] && p_100=$(rss "$(ppid_)")
v_l100=$(median_ms "$BIN" list); p_l100=$na; [ -n "$PM2" ] && p_l100=$(median_ms "$PM2" list)
"$BIN" delete all >/dev/null; [ -n "$PM2" ] && "$PM2" delete all >/dev/null 2>&1

# --- crash → restart ---------------------------------------------------------
# SIGKILL a process that has been up 6 s (a stable run: no backoff in either)
# and read the new run's start from each tool's own record.
"$BIN" start sleep --name crashy -- 100000 >/dev/null
[ -n "$PM2" ] && "$PM2" start sleep --name crashy --interpreter none -- 100000 >/dev/null 2>&1
sleep 6
vp=$("$BIN" describe crashy --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["processes"][0]["pid"])')
t0=$(now_ns); kill -9 "$vp"; sleep 1
v_restart=$("$BIN" describe crashy --json | python3 -c '
import json,sys,datetime
s=json.load(sys.stdin)["processes"][0]["started_at"].rstrip("Z"); base,_,frac=s.partition(".")
t=datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc).timestamp()
print("%.2f ms" % ((int(t)*10**9+int(frac.ljust(9,"0")[:9]) - '"$t0"')/1e6))')
p_restart=$na
if [ -n "$PM2" ]; then
  pp=$("$PM2" jlist 2>/dev/null | python3 -c 'import json,sys; print([p for p in json.load(sys.stdin) if p["name"]=="crashy"][0]["pid"])')
  t0=$(now_ns); kill -9 "$pp"; sleep 1
  p_restart=$("$PM2" jlist 2>/dev/null | python3 -c '
import json,sys
p=[p for p in json.load(sys.stdin) if p["name"]=="crashy"][0]
print("%.0f ms (ms clock)" % (p["pm2_env"]["pm_uptime"] - '"$t0"'/1e6))')
fi
"$BIN" delete all >/dev/null; [ -n "$PM2" ] && "$PM2" delete all >/dev/null 2>&1

# --- logging 1M lines ----------------------------------------------------------
# Wall time from the start command until every line is in the log file;
# the producer writing to /dev/null is the floor.
# lines_in GLOB: lines in every file the glob matches (velos rotates at 10 MiB).
lines_in() { cat $1 2>/dev/null | wc -l; }
wait_lines() { # start-ns glob → ms until the files hold $LINES lines (polled every 10 ms)
  local a=$1 f=$2
  while [ "$(lines_in "$f")" -lt "$LINES" ]; do sleep 0.01; done
  echo $(( ($(now_ns) - a) / 1000000 ))
}
a=$(now_ns); seq 1 "$LINES" >/dev/null; null_ms=$(( ($(now_ns) - a) / 1000000 ))
a=$(now_ns); "$BIN" start seq --name flood --autorestart never -- 1 "$LINES" >/dev/null
v_log=$(wait_lines "$a" "$VELOS_HOME/logs/flood-out*.log")
p_log=$na
if [ -n "$PM2" ]; then
  a=$(now_ns); "$PM2" start seq --name flood --interpreter none --no-autorestart -- 1 "$LINES" >/dev/null 2>&1
  p_log="$(wait_lines "$a" "$PM2_HOME/logs/flood-out*.log") ms"
fi

printf '\n| measure (same machine, same run) | velos | PM2 %s |\n| --- | --- | --- |\n' "$( [ -n "$PM2" ] && "$PM2" -v 2>/dev/null | tail -1)"
row "daemon RSS, idle" "$v_idle" "$p_idle"
row "daemon RSS, 10 processes" "$v_10" "$p_10"
row "daemon RSS, 100 processes" "$v_100" "$p_100"
row "list, 1 process (median of $RUNS)" "$v_l1" "$p_l1"
row "list, 100 processes" "$v_l100" "$p_l100"
row "SIGKILL → restarted (stable run)" "$v_restart" "$p_restart"
row "$LINES lines logged (producer alone: $null_ms ms)" "$v_log ms" "$p_log"
