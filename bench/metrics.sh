#!/usr/bin/env bash
# Velos metrics benchmark, recorded not asserted: the daemon's CPU while it
# samples 100 processes every second (goal ≤ 1% of one core), and what the
# Prometheus endpoint costs in daemon RSS (before/after `velos metrics serve`
# and a few scrapes). Prints a table. Numbers vary on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/velos}
N=${N:-100}            # processes
SECONDS_CPU=${SECONDS_CPU:-20}
[ -x "$BIN" ] && [ -x "$(dirname "$BIN")/velosd" ] || go build -trimpath -ldflags "-s -w" -o "$(dirname "$BIN")/" ./cmd/velos ./cmd/velosd
export VELOS_HOME=$(mktemp -d /tmp/velos-mbench.XXXX)
trap '"$BIN" kill >/dev/null 2>&1 || true; rm -rf "$VELOS_HOME"' EXIT

pid() { cat "$VELOS_HOME/daemon.pid"; }
# utime+stime of the daemon itself (not its children), in clock ticks
ticks() { awk '{ print $14 + $15 }' "/proc/$(pid)/stat"; }
rss() { awk '/^VmRSS/ {r=$2} /^RssAnon/ {a=$2} END { printf "%.1f MiB (private %.1f)", r/1024, a/1024 }' "/proc/$(pid)/status"; }
hz=$(getconf CLK_TCK)

# cpu_pct SECONDS: the daemon's CPU over that many seconds, in % of one core.
cpu_pct() {
  local t0 t1 a b
  t0=$(ticks); a=$(date +%s%N)
  sleep "$1"
  t1=$(ticks); b=$(date +%s%N)
  awk -v d=$((t1 - t0)) -v hz="$hz" -v ns=$((b - a)) 'BEGIN { printf "%.2f%%", 100 * d / hz / (ns / 1e9) }'
}

# The sampler at 1 s for the whole run: the interval `velos monit` uses.
VELOS_SAMPLE_INTERVAL=1s "$BIN" list >/dev/null
idle=$(cpu_pct 5)
for i in $(seq "$N"); do "$BIN" start sleep --name "s$i" -- 3600 >/dev/null; done
sleep 2 # let the first passes see every process
busy=$(cpu_pct "$SECONDS_CPU")

before=$(rss)
url=$("$BIN" metrics serve --port 0 --json | sed -n 's/.*"url": *"\([^"]*\)".*/\1/p')
served=$(rss)
bytes=0
for _ in $(seq 10); do bytes=$(curl -fsS "$url" | wc -c); done
after=$(rss)
pass=$(curl -fsS "$url" | awk '/^velos_daemon_sample_duration_seconds / { printf "%.1f ms", $2 * 1000 }')

printf '%-56s %s\n' "measure" "value"
printf '%-56s %s\n' "daemon CPU, 0 processes, sampling at 1 s" "$idle"
printf '%-56s %s\n' "daemon CPU, $N processes, sampling at 1 s (goal ≤1%)" "$busy"
printf '%-56s %s\n' "one sampling pass over $N processes" "$pass"
printf '%-56s %s\n' "daemon RSS before metrics serve" "$before"
printf '%-56s %s\n' "daemon RSS serving /metrics" "$served"
printf '%-56s %s\n' "daemon RSS after 10 scrapes" "$after"
printf '%-56s %s\n' "/metrics size with $N processes" "$bytes bytes"
