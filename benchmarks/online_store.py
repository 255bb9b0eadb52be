"""Benchmark of the online store on Debian's redis-server (loopback), in the layout derived from
flights' declarations: ingestion of the busiest day of 2013 (every flight's departure event), and
one flight's lookup, one round trip each; the looked-up features are checked against the offline
ones for every flight of the day.

    python benchmarks/online_store.py [--repeats 5]

Target: ingestion >= 20,000 events/s.

It also measures the client's CPU a lookup on its two possible paths, side by side in alternating
rounds: redis-py's EVALSHA over the client's pool and the store's own connection (what it calls),
each back to back and with 4 MB read between two lookups, as a served request's tree walk reads
its trees (the serving benchmark's bundle is 4 MB).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from operational.definitions import minutes
from operational.store import Layout, OnlineStore
from usecases.flights import USE_CASE
from usecases.flights.operational import OPERATIONAL_FEATURES, departure_events, operational_features
from usecases.flights.source import default_source, read_table

REPO = Path(__file__).resolve().parents[1]
TARGET_EVENTS_PER_SECOND = 20_000
BETWEEN_BYTES = 4 * 2**20  # read between two lookups: a served request's trees


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(directory: str, port: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(REPO / "scripts" / "redis_server.sh"), str(port), directory],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0", timeout_seconds=1)
    for _ in range(200):
        try:
            store.client.ping()
            return process
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


class _CpuPerCall:
    """CPU seconds (user + system) of this process and of redis-server between two points: what a
    lookup costs the two cores, queueing aside."""

    def __init__(self, redis_pid: int):
        self.redis_pid = redis_pid
        self.began = (time.process_time(), self._redis())

    def _redis(self) -> float:
        fields = Path(f"/proc/{self.redis_pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def per_call(self, calls: int) -> tuple[float, float]:
        """(client ms, redis-server ms) per call."""
        client, server = self.began
        return (time.process_time() - client) / calls * 1e3, (self._redis() - server) / calls * 1e3


def client_paths(
    store: OnlineStore, layout: Layout, queries: list, rounds: int = 3
) -> dict[tuple[str, str], float]:
    """Client CPU (ms) of one lookup by (path, between), the median of alternating rounds."""
    trees = np.ones(BETWEEN_BYTES // 8)

    def pooled(query: tuple) -> list:
        keys, args = layout.lookup_input([query])
        return layout.decode(store.client.evalsha(layout.lookup_sha, len(keys), *keys, *args))

    paths = {
        "the client's Script and pool": pooled,
        "the store's connection": lambda q: store.lookup(layout, [q]),
    }
    betweens = {"back to back": lambda: None, "4 MB read between": trees.sum}
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(rounds):
        for path, lookup in paths.items():
            for between, read in betweens.items():
                began = time.process_time()
                for query in queries:
                    lookup(query)
                    read()
                results.setdefault((path, between), []).append((time.process_time() - began) / len(queries))
    read_alone = time.process_time()
    for _ in queries:
        trees.sum()
    read_cost = (time.process_time() - read_alone) / len(queries)
    return {
        key: (statistics.median(times) - (read_cost if key[1] != "back to back" else 0.0)) * 1e3
        for key, times in results.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    flights = read_table(default_source(), "flights")
    events = departure_events(flights)
    day = events["sched_dep"].dt.normalize()
    busiest = day.value_counts().idxmax()
    the_day = events.loc[day == busiest]
    context = events.loc[(day == busiest) | (day == busiest - pd.Timedelta(days=1))]

    with tempfile.TemporaryDirectory() as directory:
        port = _free_port()
        process = start_redis(directory, port)
        try:
            store = OnlineStore.from_url(f"redis://127.0.0.1:{port}/0")
            assert USE_CASE.online is not None
            layout = USE_CASE.online.layout()
            rates = []
            for _ in range(args.repeats):
                store.client.flushdb()
                began = time.perf_counter()
                store.ingest(layout, the_day)
                rates.append(len(the_day) / (time.perf_counter() - began))
            store.client.flushdb()
            store.ingest(layout, context, complete_until=busiest + pd.Timedelta(days=1))
            queries = [
                (o, t if isinstance(t, str) else None, int(m))
                for o, t, m in zip(
                    the_day["origin"], the_day["tailnum"], minutes(the_day["sched_dep"]), strict=True
                )
            ]
            latencies = []
            looked_up = []
            cpu = _CpuPerCall(process.pid)
            for query in queries:
                began = time.perf_counter()
                looked_up.append(store.lookup(layout, [query])[0])
                latencies.append(time.perf_counter() - began)
            lookup_cpu = cpu.per_call(len(queries))
            cpu = _CpuPerCall(process.pid)
            for _ in queries:
                store.client.ping()
            ping_cpu = cpu.per_call(len(queries))
            store.client.script_load(layout.lookup_script)  # the pooled path does not load it
            paths = client_paths(store, layout, queries)
        finally:
            process.terminate()
            process.wait(timeout=10)

    online = pd.DataFrame([x.values for x in looked_up], index=the_day.index, dtype=np.float64)
    offline = operational_features(context, the_day)
    same = bool((online[OPERATIONAL_FEATURES].fillna(-1e9) == offline.fillna(-1e9)).all().all())
    rate = statistics.median(rates)
    ms = np.array(latencies) * 1e3
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    verdict = "met" if rate >= TARGET_EVENTS_PER_SECOND else "MISSED"
    print(f"busiest day {busiest:%Y-%m-%d}: {len(the_day)} departure events, load average {load}")
    print(
        f"ingestion, median of {args.repeats}: {rate:,.0f} events/s "
        f"({len(the_day) / rate * 1e3:.0f} ms for the day), target >= {TARGET_EVENTS_PER_SECOND:,}: {verdict}"
    )
    print(
        f"lookup, one flight, one round trip: median {np.median(ms):.3f} ms, "
        f"p99 {np.percentile(ms, 99):.3f} ms"
    )
    print(
        f"CPU per lookup: client {lookup_cpu[0]:.3f} ms + redis-server {lookup_cpu[1]:.3f} ms "
        f"(one PING, the floor of a round trip: {ping_cpu[0]:.3f} + {ping_cpu[1]:.3f} ms)"
    )
    print("client CPU a lookup, by path (median of 3 alternating rounds; the 4 MB read's own CPU taken off):")
    for between in ("back to back", "4 MB read between"):
        script, own = paths["the client's Script and pool", between], paths["the store's connection", between]
        print(
            f"  {between:18s} Script and pool {script:.3f} ms, "
            f"store's connection {own:.3f} ms ({own / script:.2f}x)"
        )
    print(f"online features equal the offline ones for all {len(the_day)} flights: {same}")


if __name__ == "__main__":
    main()
