#!/usr/bin/env bash
# The table of issue 11: a CLI call and an idle daemon, velos beside PM2 (from
# npm) in one run, with a Go hello-world as the floor. Records, asserts
# nothing. Flags: -runs N, -bin DIR, -before REF (also measure an older
# velos), -pm2 PATH|off. Example: bash bench/startup.sh -before 3379d39
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/startup "$@"
