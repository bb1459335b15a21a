"""A background worker for the demo: takes a job every two seconds; now and then one fails."""
import random
import signal
import sys
import time

signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
job = 0
while True:
    job += 1
    if random.random() < 0.1:
        print(f"ERROR job {job} failed: connection refused (db:5432)", file=sys.stderr, flush=True)
    else:
        print(f"INFO job {job} done in {random.randint(5, 90)}ms", flush=True)
    time.sleep(2)
