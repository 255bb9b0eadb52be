"""What the online store costs a served one-row request: the same bundle on Seldon servers reading
the operational features from a fed Redis on loopback, and on servers with no store (the features
scored as missing), measured with wrk in alternating rounds (each ratio the median of its
per-round ratios, the servers measured back to back).

    python benchmarks/serving_online_store.py        (make bench-serving runs it after serving.py)

Each round measures every server at 8 connections (the throughput, and a median that is mostly
queueing: Little's law makes it about connections / throughput) and the 2-worker pair at 1
connection (a request alone: its median is the request's own latency, so the difference is what
the lookup adds).

Both kinds run at 2 and at 3 workers on the same 2 cores. A sync worker waits for the store's
reply with its core idle unless another process has work, so a server with a store may want a
worker more than it has cores; the benchmark prints each ratio at the same worker count and each
kind at its best count (its higher throughput of the round), and the cores' idle share.

Targets: the lookup adds <= 0.3 ms to the median one-row request, read at 1 connection;
throughput with it >= 0.8x without it, at 8, read with each kind at its best worker count; the
store's ingestion of the month's events (timed while feeding it) >= 20,000 events/s. The store's
layout and lookup are derived from flights' declarations (`usecases/flights/operational.py`).
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
import time
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
MIN_EVENTS_PER_SECOND = 20_000


def _redis(workdir: Path) -> tuple[subprocess.Popen, int, float]:
    """A fed store: its process, port and the ingestion's events per second."""
    from operational.store import OnlineStore

    port = free_port()
    process = start_redis(str(workdir), port)
    store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0", timeout_seconds=1)
    from usecases.flights import USE_CASE
    from usecases.flights.operational import departure_events
    from usecases.flights.source import default_source, read_table

    assert USE_CASE.online is not None
    flights = read_table(default_source(), "flights")
    month = flights[(flights["month"] == 7) | ((flights["month"] == 6) & (flights["day"] == 30))]
    events = departure_events(month)
    began = time.perf_counter()
    store.ingest(USE_CASE.online.layout(), events, complete_until=pd.Timestamp("2013-08-01"))
    return process, port, len(events) / (time.perf_counter() - began)


WORKERS = (2, 3)
KINDS = {"store": "with the store", "none": "without a store"}


def _idle_share(measure) -> tuple[dict, float]:
    """`measure()`'s result and the share of the machine's CPU time that was idle meanwhile."""

    def sample() -> tuple[int, int]:
        ticks = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return sum(ticks), ticks[3] + ticks[4]  # idle + iowait

    (total, idle), result = sample(), measure()
    after_total, after_idle = sample()
    return result, (after_idle - idle) / max(after_total - total, 1)


def _round(servers: dict, bodies: list[str], workdir: Path) -> dict:
    """One round: every server at 8 connections, the 2-worker pair at 1."""
    measures = {}
    for (kind, workers), http in servers.items():
        result, idle = _idle_share(
            lambda http=http: wrk(http, SELDON_PATH, bodies, workdir, SECONDS, CONNECTIONS)
        )
        measures[kind, workers, "loaded"] = dict(result, idle=idle)
    for kind in KINDS:
        measures[kind, WORKERS[0], "alone"] = wrk(
            servers[kind, WORKERS[0]], SELDON_PATH, bodies, workdir, SECONDS, 1
        )
    return measures


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="bench-online-"))
    processes: list[subprocess.Popen] = []
    try:
        bundle, rows = bundle_and_rows(workdir)
        root = model_root(bundle, workdir)
        redis, port, ingested = _redis(workdir)
        processes.append(redis)
        servers = {}
        for workers in WORKERS:
            for kind, env in (("store", {"ONLINE_STORE_URL": f"redis://127.0.0.1:{port}/0"}), ("none", {})):
                process, http = start_seldon(MODEL_CLASS, workers, root, workdir, f"{kind}-{workers}", env)
                processes.append(process)
                servers[kind, workers] = http
        bodies = [json.dumps({"jsonData": seldon_row(row)}) for row in rows[:200]]
        answer = json.loads(post(servers["store", WORKERS[0]], SELDON_PATH, bodies[0].encode())[1])
        assert answer["meta"]["tags"]["missing_features"] == [], answer  # the store answers
        for http in servers.values():  # warm-up
            wrk(http, SELDON_PATH, bodies, workdir, 2)
        rounds = [_round(servers, bodies, workdir) for _ in range(ROUNDS)]
    finally:
        for process in processes:
            stop(process)
        shutil.rmtree(workdir, ignore_errors=True)
    return report(rounds, ingested)


def report(rounds: list[dict], ingested: float) -> int:
    def median(measure: str, *key) -> float:
        return statistics.median([r[key][measure] for r in rounds])

    def best(kind: str, r: dict) -> float:
        return max(r[kind, workers, "loaded"]["requests_per_s"] for workers in WORKERS)

    def ratio(of_store, of_none) -> float:
        return statistics.median([of_store(r) / of_none(r) for r in rounds])

    two = WORKERS[0]
    added = statistics.median(
        [r["store", two, "alone"]["p50_ms"] - r["none", two, "alone"]["p50_ms"] for r in rounds]
    )
    at_best = ratio(lambda r: best("store", r), lambda r: best("none", r))
    failed = sum(result["failed"] for r in rounds for result in r.values())
    load_average = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print(f"online store, one-row requests, {ROUNDS} rounds of {SECONDS:.0f} s per measure, 2 cores")
    print(f"  {CONNECTIONS} connections:")
    for workers in WORKERS:
        for kind, label in KINDS.items():
            rps, p50 = (
                median("requests_per_s", kind, workers, "loaded"),
                median("p50_ms", kind, workers, "loaded"),
            )
            idle = median("idle", kind, workers, "loaded")
            print(
                f"    {label:16s} {workers} workers {rps:8.0f} requests/s   "
                f"median {p50:.3f} ms   cores idle {idle:.0%}"
            )
        same = ratio(
            lambda r, w=workers: r["store", w, "loaded"]["requests_per_s"],
            lambda r, w=workers: r["none", w, "loaded"]["requests_per_s"],
        )
        print(f"    throughput with/without, both at {workers} workers: {same:.2f}")
    for kind, label in KINDS.items():
        counts = [
            max(WORKERS, key=lambda w, r=r, k=kind: r[k, w, "loaded"]["requests_per_s"]) for r in rounds
        ]
        print(f"    {label} was best at " + ", ".join(f"{w} workers" for w in counts) + " (by round)")
    print("  1 connection, 2 workers:")
    for kind, label in KINDS.items():
        rps, p50 = median("requests_per_s", kind, two, "alone"), median("p50_ms", kind, two, "alone")
        print(f"    {label:16s} {rps:8.0f} requests/s   median {p50:.3f} ms")
    verdict_ms = "met" if added <= MAX_ADDED_MS else "MISSED"
    verdict_ratio = "met" if at_best >= MIN_RATIO else "MISSED"
    print(f"  added median at 1 connection: {added:+.3f} ms (target <= {MAX_ADDED_MS}: {verdict_ms})")
    print(
        f"  throughput with/without at {CONNECTIONS}, each at its best worker count: {at_best:.2f} "
        f"(target >= {MIN_RATIO}: {verdict_ratio})"
    )
    verdict_ingest = "met" if ingested >= MIN_EVENTS_PER_SECOND else "MISSED"
    print(
        f"  ingestion of July 2013's departure events: {ingested:,.0f} events/s "
        f"(target >= {MIN_EVENTS_PER_SECOND:,}: {verdict_ingest})"
    )
    print(f"  failed requests: {failed}; load average {load_average}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
