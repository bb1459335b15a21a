#!/usr/bin/env bash
# A shell job for the demo: prints the time every 5 seconds.
while true; do
  echo "tick $(date -u +%H:%M:%S)"
  sleep 5
done
