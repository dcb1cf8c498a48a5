"""Recovery time: SIGKILL a running checkpointed job and measure the time from the kill
to the first result the restarted process emits (process start, restore of the newest
checkpoint, replay, first timer firing). Uses the crash test's job
(tests/crash/crash_job.cc) and prints one JSON line per configuration.

    recovery_benchmark.py --job build/tests/sabot_crash_job [--repeats 3]
"""

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time


def complete_checkpoints(work):
    root = os.path.join(work, "checkpoints")
    if not os.path.isdir(root):
        return 0
    return sum(1 for name in os.listdir(root)
               if os.path.exists(os.path.join(root, name, "_MANIFEST")))


def measure(args, backend, accounts):
    work = tempfile.mkdtemp(prefix="sabot-recovery-")
    command = [args.job, "--work", work, "--backend", backend, "--rows", "100000000",
               "--rate", str(args.rate), "--checkpoint-ms", "1000",
               "--accounts", str(accounts)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while complete_checkpoints(work) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        killed_ms = time.time() * 1000
        process.send_signal(signal.SIGKILL)
        process.wait()
        restarted = subprocess.Popen(command + ["--report-first-output", "1"],
                                     stdout=subprocess.PIPE, text=True)
        line = restarted.stdout.readline()
        restarted.send_signal(signal.SIGKILL)
        restarted.wait()
        first_output_ms = json.loads(line)["first_output_unix_ms"]
        checkpoint_bytes = sum(
            os.path.getsize(os.path.join(d, f))
            for d, _, files in os.walk(os.path.join(work, "checkpoints")) for f in files)
        return first_output_ms - killed_ms, checkpoint_bytes
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--job", required=True)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200_000)
    args = parser.parse_args()
    for backend in ("memory", "rocksdb"):
        for accounts in (200, 1_000_000):
            results = [measure(args, backend, accounts) for _ in range(args.repeats)]
            times = [r[0] for r in results]
            print(json.dumps({
                "backend": backend, "accounts": accounts,
                "checkpoint_mb": round(max(r[1] for r in results) / 2**20, 1),
                "kill_to_first_output_ms_median": round(statistics.median(times), 1),
                "kill_to_first_output_ms_max": round(max(times), 1),
            }), flush=True)


if __name__ == "__main__":
    main()
