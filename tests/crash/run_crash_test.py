"""Crash test: kill the stateful job with SIGKILL at random moments, restart it each
time, and compare its committed output with an uninterrupted run.

The job (crash_job.cc) restores its newest complete checkpoint on every start and
writes through the exactly-once file sink, so the committed output after the final,
uninterrupted restart must equal the reference run's output row for row as a multiset:
nothing lost, nothing duplicated. After every kill the committed output must also be
contained in the reference (a crash never exposes rows that should not exist).

    run_crash_test.py --job build/tests/sabot_crash_job --backend memory --kills 20
    run_crash_test.py --job ... --backend rocksdb --kills 200 --rows 3000000   # long
"""

import argparse
import collections
import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time


def committed_rows(work):
    rows = collections.Counter()
    for output in ("windows", "counts"):
        for path in glob.glob(os.path.join(work, "out", output, "part-*.jsonl")):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if line.strip():
                        rows[(output, line.strip())] += 1
    return rows


def job_command(args, work):
    return [
        args.job, "--work", work, "--backend", args.backend, "--rows", str(args.rows),
        "--rate", str(args.rate), "--checkpoint-ms", str(args.checkpoint_ms),
    ]


def run_to_completion(args, work):
    done = subprocess.run(job_command(args, work), capture_output=True, text=True,
                          timeout=600)
    if done.returncode != 0:
        sys.exit(f"job failed in {work} (exit {done.returncode}):\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def describe(counter, limit=5):
    return [f"{output}: {line} x{n}" for (output, line), n in
            list(counter.items())[:limit]]


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--job", required=True, help="path of sabot_crash_job")
    parser.add_argument("--backend", choices=["memory", "rocksdb"], default="memory")
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--rows", type=int, default=450_000)
    parser.add_argument("--rate", type=float, default=30_000)
    parser.add_argument("--checkpoint-ms", type=int, default=200)
    parser.add_argument("--min-life", type=float, default=0.15,
                        help="shortest time (s) before a kill")
    parser.add_argument("--max-life", type=float, default=0.9)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    rng = random.Random(seed)

    root = tempfile.mkdtemp(prefix=f"sabot-crash-{args.backend}-")
    try:
        started = time.monotonic()
        reference_work = os.path.join(root, "reference")
        run_to_completion(args, reference_work)
        reference = committed_rows(reference_work)
        reference_seconds = time.monotonic() - started
        if not reference:
            sys.exit("the reference run committed no rows")

        work = os.path.join(root, "crashed")
        kills = 0
        while kills < args.kills:
            process = subprocess.Popen(job_command(args, work),
                                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                       text=True)
            life = rng.uniform(args.min_life, args.max_life)
            try:
                process.wait(timeout=life)
            except subprocess.TimeoutExpired:
                process.send_signal(signal.SIGKILL)
                process.wait()
                kills += 1
                partial = committed_rows(work)
                if partial - reference:
                    sys.exit(f"after kill {kills}, committed rows not in the reference "
                             f"(seed {seed}): {describe(partial - reference)}")
                continue
            stderr = process.stderr.read()
            if process.returncode != 0:
                sys.exit(f"job failed after {kills} kills (seed {seed}):\n{stderr}")
            sys.exit(f"the job completed after only {kills} of {args.kills} kills: give it "
                     f"more rows (--rows) or a lower rate (--rate)")
        final = run_to_completion(args, work)
        recovered = committed_rows(work)
        missing = reference - recovered
        extra = recovered - reference
        summary = {
            "backend": args.backend,
            "kills": kills,
            "seed": seed,
            "rows_in": args.rows,
            "output_rows": sum(reference.values()),
            "missing": sum(missing.values()),
            "duplicated_or_wrong": sum(extra.values()),
            "final_run_restored_checkpoint": final["restored_checkpoint"],
            "reference_seconds": round(reference_seconds, 1),
            "total_seconds": round(time.monotonic() - started, 1),
        }
        print(json.dumps(summary))
        if missing or extra:
            sys.exit(f"output differs from the uninterrupted run: missing "
                     f"{describe(missing)}, extra {describe(extra)}")
    finally:
        if args.keep:
            print(f"work directory kept: {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
