#!/usr/bin/env bash
# Velos benchmark: daemon memory, `velos list` latency and crash-restart time,
# printed as a table. Goals (README): daemon ≤ 8 MiB idle, ≤ 12 MiB with 100
# processes; list ≤ 3 ms (1 process) and ≤ 6 ms (100); restart after a crash
# that follows a stable run ≤ 7 ms. Numbers vary on a shared machine: run it
# a few times; it is not a test and asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/velos}
[ -x "$BIN" ] && [ -x "$(dirname "$BIN")/velosd" ] || go build -trimpath -ldflags "-s -w" -o "$(dirname "$BIN")/" ./cmd/velos ./cmd/velosd
export VELOS_HOME=$(mktemp -d /tmp/velos-bench.XXXX)
trap '"$BIN" kill >/dev/null 2>&1 || true; rm -rf "$VELOS_HOME"' EXIT
RUNS=${RUNS:-50}

now_ns() { date +%s%N; }
# VmRSS, and in brackets RssAnon: the private part; the rest is clean pages of
# the binary, shared with the page cache.
rss_kib() { awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} END {print r, a}' "/proc/$(cat "$VELOS_HOME/daemon.pid")/status"; }
mib() { set -- $1; awk -v r="$1" -v a="$2" 'BEGIN { printf "%.1f MiB (private %.1f)", r/1024, a/1024 }'; }

# median wall time of `velos list` over $RUNS runs, in ms
list_ms() {
  local ts=()
  for _ in $(seq "$RUNS"); do
    local a b
    a=$(now_ns); "$BIN" list >/dev/null; b=$(now_ns)
    ts+=($(( (b - a) / 1000 )))
  done
  printf '%s\n' "${ts[@]}" | sort -n | awk '{v[NR]=$1} END {printf "%.2f ms", v[int((NR+1)/2)]/1000}'
}

start_n() { # start processes up to $1 in all
  local have
  have=$("$BIN" list | wc -l)
  for i in $(seq "$have" $(( $1 - 1 ))); do
    "$BIN" start sleep --name "s$i" -- 100000 >/dev/null
  done
}

"$BIN" list >/dev/null # starts the daemon
sleep 2
idle=$(rss_kib)
start_n 1; sleep 1; list1=$(list_ms)
start_n 10; sleep 1; rss10=$(rss_kib); list10=$(list_ms)
start_n 100; sleep 1; rss100=$(rss_kib); list100=$(list_ms)

# crash → restart: SIGKILL a process that has been up for > 5 s (a stable run,
# so no backoff applies) and read the new run's start time from describe.
"$BIN" start sleep --name crashy -- 100000 >/dev/null
sleep 6
pid=$("$BIN" describe crashy --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["processes"][0]["pid"])')
t0=$(now_ns); kill -9 "$pid"
sleep 0.5
started=$("$BIN" describe crashy --json | python3 -c '
import json,sys,datetime
p=json.load(sys.stdin)["processes"][0]
s=p["started_at"]; base,frac=s.rstrip("Z").split(".") if "." in s else (s.rstrip("Z"),"0")
t=datetime.datetime.fromisoformat(base).replace(tzinfo=datetime.timezone.utc).timestamp()
print(int(t)*10**9+int(frac.ljust(9,"0")[:9]))')
restart=$(awk -v a="$t0" -v b="$started" 'BEGIN { printf "%.2f ms", (b-a)/1e6 }')

printf '\n| measure | velos | goal | PM2 (same machine kind) |\n| --- | --- | --- | --- |\n'
printf '| daemon RSS, idle | %s | ≤ 8 MiB | 54 MiB |\n' "$(mib "$idle")"
printf '| daemon RSS, 10 processes | %s | | |\n' "$(mib "$rss10")"
printf '| daemon RSS, 100 processes | %s | ≤ 12 MiB | 63 MiB |\n' "$(mib "$rss100")"
printf '| `velos list`, 1 process (median of %d) | %s | ≤ 3 ms | 179 ms |\n' "$RUNS" "$list1"
printf '| `velos list`, 10 processes | %s | | |\n' "$list10"
printf '| `velos list`, 100 processes | %s | ≤ 6 ms | |\n' "$list100"
printf '| crash (SIGKILL) → restarted | %s | ≤ 7 ms | 6.9 ms |\n' "$restart"
