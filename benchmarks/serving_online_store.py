"""What the online store costs a served one-row request: the same bundle on two Seldon servers
(2 workers each), one reading the operational features from a fed Redis on loopback, one with no
store (the features scored as missing), measured with wrk in alternating rounds (each ratio the
median of its per-round ratios, the pair measured back to back).

    python benchmarks/serving_online_store.py        (make bench-serving runs it after serving.py)

Each round measures both servers at 8 connections (the throughput, and a median that is mostly
queueing: Little's law makes it about connections / throughput) and at 1 connection (a request
alone: its median is the request's own latency, so the difference is what the lookup adds).

Targets: the lookup adds <= 0.3 ms to the median one-row request, read at 1 connection;
throughput with it >= 0.8x without it, at 8. The 8-connection added median is printed too.
The bundle and rows are `benchmarks/serving.py`'s (May-June 2013 model, July rows); the store
holds every departure event of July 2013 and the day before it.
"""

from __future__ import annotations

import json
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from online_store import start_redis  # noqa: E402 - the store benchmark's Redis
from serving import (  # noqa: E402 - the sibling benchmark's helpers
    CONNECTIONS,
    MODEL_CLASS,
    ROUNDS,
    SECONDS,
    SELDON_PATH,
    bundle_and_rows,
    free_port,
    model_root,
    post,
    seldon_row,
    start_seldon,
    stop,
    wrk,
)

MAX_ADDED_MS = 0.3
MIN_RATIO = 0.8
LOADS = {"loaded": CONNECTIONS, "alone": 1}  # wrk connections


def _redis(workdir: Path) -> tuple[subprocess.Popen, int]:
    from operational.store import OnlineStore

    port = free_port()
    process = start_redis(str(workdir), port)
    store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0", timeout_seconds=1)
    from core.source import default_source, read_table
    from operational.offline import departure_events

    flights = read_table(default_source(), "flights")
    month = flights[(flights["month"] == 7) | ((flights["month"] == 6) & (flights["day"] == 30))]
    store.ingest(departure_events(month), complete_until=pd.Timestamp("2013-08-01"))
    return process, port


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-online-"))
    processes: list[subprocess.Popen] = []
    try:
        bundle, rows = bundle_and_rows(workdir)
        root = model_root(bundle, workdir)
        redis, port = _redis(workdir)
        processes.append(redis)
        servers = {}
        for name, env in (("store", {"ONLINE_STORE_URL": f"redis://127.0.0.1:{port}/0"}), ("none", {})):
            process, http = start_seldon(MODEL_CLASS, 2, root, workdir, name, env)
            processes.append(process)
            servers[name] = http
        bodies = [json.dumps({"jsonData": seldon_row(row)}) for row in rows[:200]]
        answer = json.loads(post(servers["store"], SELDON_PATH, bodies[0].encode())[1])
        assert answer["meta"]["tags"]["missing_features"] == [], answer  # the store answers
        for name in servers:  # warm-up
            wrk(servers[name], SELDON_PATH, bodies, workdir, 2)
        rounds = []
        for _ in range(ROUNDS):
            rounds.append(
                {
                    (name, load): wrk(servers[name], SELDON_PATH, bodies, workdir, SECONDS, connections)
                    for load, connections in LOADS.items()
                    for name in servers
                }
            )
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)

    def median(measure, name: str, load: str) -> float:
        return statistics.median([r[name, load][measure] for r in rounds])

    def added(load: str) -> float:
        return statistics.median([r["store", load]["p50_ms"] - r["none", load]["p50_ms"] for r in rounds])

    ratio = statistics.median(
        [r["store", "loaded"]["requests_per_s"] / r["none", "loaded"]["requests_per_s"] for r in rounds]
    )
    failed = sum(result["failed"] for r in rounds for result in r.values())
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"online store, one-row requests, 2 workers each, {ROUNDS} rounds of {SECONDS:.0f} s per measure")
    for load, connections in LOADS.items():
        print(f"  {connections} connection(s):")
        for name, label in (("store", "with the store"), ("none", "without a store")):
            rps, p50 = median("requests_per_s", name, load), median("p50_ms", name, load)
            print(f"    {label:16s} {rps:8.0f} requests/s   median {p50:.3f} ms")
        print(f"    lookup adds to the median request: {added(load):+.3f} ms")
    alone = added("alone")
    verdict_ms = "met" if alone <= MAX_ADDED_MS else "MISSED"
    verdict_ratio = "met" if ratio >= MIN_RATIO else "MISSED"
    print(f"  added median at 1 connection: {alone:+.3f} ms (target <= {MAX_ADDED_MS}: {verdict_ms})")
    print(f"  throughput with/without at {CONNECTIONS}: {ratio:.2f} (target >= {MIN_RATIO}: {verdict_ratio})")
    print(f"  failed requests: {failed}; load average {load_average}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
