"""Exactly-once test: Kafka -> Sabot (keyed state) -> Kafka with transactions, the job
killed with SIGKILL at random moments and restarted from its newest checkpoint.

The input (ids 0..rows-1, random accounts and amounts) is produced with kcat, keyed by
account. The job (kafka_eos_job.cc) emits, per input row, the account's running count
and total. After the final uninterrupted run, a read_committed consumer (kcat) must see
every input id exactly once with the count and total computed here from the input;
after every kill, what is committed so far must hold no duplicate and no wrong row.

    run_kafka_eos_test.py --job build/tests/sabot_kafka_eos_job --bootstrap-file F
    run_kafka_eos_test.py ... --kills 100 --rows 1000000 --rate 50000    # long mode
"""

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools",
                     "kafka")


def create_topic(bootstrap, topic, partitions):
    subprocess.run([os.path.join(TOOLS, "topic.sh"), bootstrap, topic, str(partitions)],
                   check=True)


def produce(bootstrap, topic, rows):
    lines = "".join(
        f"{account}\t" + json.dumps({"id": i, "account": account, "amount": amount}) + "\n"
        for i, account, amount in rows)
    # Idempotent: a retried request can neither reorder nor duplicate input records.
    subprocess.run(["kcat", "-b", bootstrap, "-P", "-X", "enable.idempotence=true",
                    "-t", topic, "-K", "\t"],
                   input=lines.encode(), check=True)


def committed(bootstrap, topic):
    out = subprocess.run(
        ["kcat", "-b", bootstrap, "-C", "-t", topic, "-e", "-q", "-X",
         "isolation.level=read_committed", "-f", "%s\n"],
        check=True, stdout=subprocess.PIPE).stdout.decode()
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def reference(rows):
    expected = {}
    counts, totals = {}, {}
    for i, account, amount in rows:
        counts[account] = counts.get(account, 0) + 1
        totals[account] = totals.get(account, 0) + amount
        expected[i] = (account, counts[account], totals[account])
    return expected


def check(records, expected, complete):
    seen = set()
    for record in records:
        i = record["id"]
        if i in seen:
            return f"id {i} committed twice"
        seen.add(i)
        want = expected.get(i)
        got = (record["account"], record["seq"], record["total"])
        if want != got:
            return f"id {i}: committed {got}, expected {want}"
    if complete and len(seen) != len(expected):
        missing = sorted(set(expected) - seen)[:5]
        return f"{len(expected) - len(seen)} ids missing, e.g. {missing}"
    return None


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--job", required=True, help="path of sabot_kafka_eos_job")
    parser.add_argument("--bootstrap", help="host:port of the broker")
    parser.add_argument("--bootstrap-file", help="file holding host:port (ctest fixture)")
    parser.add_argument("--kills", type=int, default=12)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=15_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--checkpoint-ms", type=int, default=200)
    parser.add_argument("--min-life", type=float, default=0.3)
    parser.add_argument("--max-life", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    bootstrap = args.bootstrap
    if args.bootstrap_file:
        with open(args.bootstrap_file, encoding="utf-8") as f:
            bootstrap = f.read().strip()
    if not bootstrap:
        sys.exit("give --bootstrap or --bootstrap-file")
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    print(f"seed {seed}", flush=True)
    rng = random.Random(seed)

    tag = f"{os.getpid()}-{seed}"
    input_topic, output_topic = f"eos-in-{tag}", f"eos-out-{tag}"
    create_topic(bootstrap, input_topic, args.partitions)
    create_topic(bootstrap, output_topic, args.partitions)
    rows = [(i, rng.randrange(args.accounts), rng.randint(1, 1000)) for i in range(args.rows)]
    produce(bootstrap, input_topic, rows)
    expected = reference(rows)

    work = tempfile.mkdtemp(prefix="sabot-kafka-eos-")
    command = [args.job, "--bootstrap", bootstrap, "--input", input_topic, "--output",
               output_topic, "--work", work, "--checkpoint-ms", str(args.checkpoint_ms),
               "--rate", str(args.rate), "--prefix", f"eos-test-{tag}"]
    failure = None
    kills = 0
    attempts = 0
    try:
        while kills < args.kills and attempts < args.kills * 3:
            attempts += 1
            job = subprocess.Popen(command, stdout=subprocess.DEVNULL)
            time.sleep(rng.uniform(args.min_life, args.max_life))
            if job.poll() is not None:
                if job.returncode != 0:
                    failure = f"the job failed with exit code {job.returncode}"
                break
            job.send_signal(signal.SIGKILL)
            job.wait()
            kills += 1
            failure = check(committed(bootstrap, output_topic), expected, complete=False)
            if failure:
                failure = f"after kill {kills}: {failure}"
                break
        if not failure:
            final = subprocess.run(command, stdout=subprocess.PIPE, timeout=600)
            if final.returncode != 0:
                failure = f"the final run failed with exit code {final.returncode}"
            else:
                failure = check(committed(bootstrap, output_topic), expected, complete=True)
        if not failure and kills < min(args.kills, 10):
            failure = (f"only {kills} kills landed while the job ran; "
                       "raise --rows or lower --rate")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if failure:
        print(f"FAILED (seed {seed}, {kills} kills): {failure}", file=sys.stderr)
        sys.exit(1)
    print(json.dumps({"kills": kills, "rows": args.rows, "seed": seed,
                      "result": "every row exactly once"}))


if __name__ == "__main__":
    main()
