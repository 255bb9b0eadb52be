"""Soak benchmark (not a test): a fixed request rate for minutes, with a hot swap every minute.

    make bench-soak          (or: PYTHONPATH=. .venv/bin/python benchmarks/soak.py [--minutes 10] [--rate 20])

Builds two bundles with the core functions (version 1 trained on May-June 2013, version 2 on
September-October), starts the Seldon server (2 workers, request log and metrics on, as
`make serve` runs it) and sends one-row requests at a fixed rate (open loop: each request has a
scheduled time, and its latency counts from that time, so queueing is not hidden). Every
`--swap-every` seconds the pointer flips between the two versions, which every worker follows
without a restart. Reported per minute: requests, errors (anything but a 200: must be 0), p50 and
p99 latency, versions that answered; then each worker's RSS after warm-up and at the end.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from serving import free_port, rss_mb, serving_env, stop, wait_http, worker_pids  # noqa: E402

SERVING_PY = REPO / ".venv-serving" / "bin" / "python"
PREDICT = "/api/v1.0/predictions"
WORKERS = 2
RSS_GOAL = 0.05


def build(workdir: Path) -> tuple[Path, list[bytes]]:
    from contract.bundle import Metadata
    from core.bundle import build_reference, build_schema, write_bundle
    from core.model import Hyperparameters, fit, predict_scores
    from seldon.pointer import version_dir, write_pointer
    from usecases.flights.features import build_features
    from usecases.flights.schemas import FEATURES
    from usecases.flights.source import load_window

    root = workdir / "model-root"
    rows_file = workdir / "rows.json"
    if rows_file.exists():  # built by an earlier run with --bundles
        write_pointer(root, "1")
        return root, [json.dumps({"jsonData": row}).encode() for row in json.loads(rows_file.read_text())]
    hp = Hyperparameters()
    for version, start, end in (("1", (2013, 5, 1), (2013, 7, 1)), ("2", (2013, 9, 1), (2013, 11, 1))):
        train = build_features(load_window("", datetime(*start), datetime(*end)))
        model = fit(train, hp)
        write_bundle(
            version_dir(root, version),
            model,
            build_schema(train, hp.threshold),
            build_reference(train, predict_scores(model, train), train.late.mean()),
            Metadata(version=version, run_id=f"soak-{version}"),
        )
    write_pointer(root, "1")
    later = build_features(load_window("", datetime(2013, 7, 1), datetime(2013, 7, 15)))
    rows = json.loads(later[FEATURES].sample(2000, random_state=0).to_json(orient="records"))
    rows_file.write_text(json.dumps(rows))
    return root, [json.dumps({"jsonData": row}).encode() for row in rows]


def start_server(root: Path, workdir: Path):
    import subprocess

    http_port, metrics_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            str(SERVING_PY),
            "-m",
            "seldon.serve",
            "seldon.model.BundleModel",
            "--workers",
            str(WORKERS),
            "--grpc-workers",
            "0",
            "--http-port",
            str(http_port),
            "--metrics-port",
            str(metrics_port),
        ],
        cwd=REPO,
        stdout=open(workdir / "seldon.log", "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env=serving_env(
            MODEL_ROOT=str(root),
            SERVING_BIND_HOST="127.0.0.1",
            REQUEST_LOG_DIR=str(workdir / "request-log"),
            MODEL_POLL_SECONDS="1",
        ),
    )
    wait_http(http_port, "/health/status")
    return process, http_port


def run(port: int, bodies: list[bytes], rate: float, seconds: float, clients: int) -> list[tuple]:
    """Open-loop load: request i is due at start + i / rate; returns (due, latency, status, version)."""
    results: list[tuple] = []
    lock = threading.Lock()
    counter = iter(range(10**9))
    start = time.monotonic() + 0.5
    total = int(rate * seconds)

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        while True:
            with lock:
                i = next(counter)
            if i >= total:
                return
            due = start + i / rate
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            status, version = "?", ""
            try:
                conn.request("POST", PREDICT, bodies[i % len(bodies)], {"Content-Type": "application/json"})
                response = conn.getresponse()
                payload = response.read()
                status = response.status
                if status == 200:
                    version = json.loads(payload)["meta"]["tags"]["model_version"]
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            with lock:
                results.append((due - start, time.monotonic() - due, status, version))

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def swapper(root: Path, every: float, stop_event: threading.Event, swaps: list, pids: list[int]) -> None:
    """Flip the pointer every `every` seconds; note each worker's RSS just before each flip."""
    from seldon.pointer import write_pointer

    version = "1"
    while not stop_event.wait(every):
        rss = {pid: rss_mb(pid) for pid in pids if os.path.exists(f"/proc/{pid}")}
        version = "2" if version == "1" else "1"
        write_pointer(root, version, source="soak")
        swaps.append((time.monotonic(), version, rss))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=20, help="requests per second")
    parser.add_argument("--swap-every", type=float, default=60, help="seconds between hot swaps")
    parser.add_argument("--clients", type=int, default=8, help="connections available to the schedule")
    parser.add_argument("--bundles", type=Path, help="keep the built bundles here and reuse them next time")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        workdir = Path(tmp)
        built = time.monotonic()
        root, bodies = build(args.bundles or workdir)
        print(f"bundles ready in {time.monotonic() - built:.0f} s", flush=True)
        process, port = start_server(root, workdir)
        try:
            run(port, bodies, rate=args.rate, seconds=10, clients=args.clients)  # warm-up
            pids = worker_pids(workdir / "request-log")
            rss_start = {pid: rss_mb(pid) for pid in pids}
            stop_event, swaps = threading.Event(), []
            swapping = threading.Thread(target=swapper, args=(root, args.swap_every, stop_event, swaps, pids))
            swapping.start()
            results = run(port, bodies, rate=args.rate, seconds=args.minutes * 60, clients=args.clients)
            stop_event.set()
            swapping.join()
            rss_end = {pid: rss_mb(pid) for pid in pids if os.path.exists(f"/proc/{pid}")}
            respawned = sorted(set(worker_pids(workdir / "request-log")) - set(pids))
        finally:
            stop(process)
    growth = report(args, results, swaps, rss_start, rss_end, respawned)
    errors = sum(1 for r in results if r[2] != 200)
    return 0 if errors == 0 and growth < RSS_GOAL else 1


def report(args, results, swaps, rss_start, rss_end, respawned) -> float:
    """Print the tables; the RSS growth judged against the goal: from the second swap (both
    bundles have been loaded once: what a swap costs the first time is not growth) to the end."""
    print(
        f"\nsoak: {args.minutes:g} min at {args.rate:g} req/s (one-row requests, {WORKERS} workers), "
        f"hot swap every {args.swap_every:g} s ({len(swaps)} swaps)"
    )
    print(
        f"{'minute':>6} {'requests':>8} {'errors':>6} {'p50 ms':>7} {'p99 ms':>7}  {'RSS MB':>13}  versions"
    )
    for minute in range(int(max(r[0] for r in results) // 60) + 1):
        rows = [r for r in results if minute * 60 <= r[0] < (minute + 1) * 60]
        latencies = sorted(r[1] * 1000 for r in rows)
        errors = sum(1 for r in rows if r[2] != 200)
        versions = "/".join(sorted({r[3] for r in rows if r[3]}))
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        rss = swaps[minute][2] if minute < len(swaps) else rss_end
        shown = "/".join(f"{v:.0f}" for v in rss.values())
        print(f"{minute + 1:>6} {len(rows):>8} {errors:>6} {p50:>7.1f} {p99:>7.1f}  {shown:>13}  {versions}")
    all_lat = sorted(r[1] * 1000 for r in results)
    errors = [r for r in results if r[2] != 200]
    print(
        f"total: {len(results)} requests, {len(errors)} errors {sorted({str(r[2]) for r in errors})}, "
        f"p99 {all_lat[int(0.99 * len(all_lat))]:.1f} ms, max {all_lat[-1]:.1f} ms"
    )
    steady = swaps[1][2] if len(swaps) > 1 else rss_start
    growths = []
    for pid, start in rss_start.items():
        end = rss_end.get(pid)
        if end is None:
            print(f"worker {pid}: gone before the end")
            continue
        growths.append(end / steady[pid] - 1)
        print(
            f"worker {pid}: RSS {start:.1f} MB after warm-up, {steady[pid]:.1f} MB at the second swap "
            f"(both bundles loaded once), {end:.1f} MB at the end: {100 * growths[-1]:+.1f} % "
            f"(goal < {100 * RSS_GOAL:.0f} %)"
        )
    if respawned:
        print(f"workers respawned during the soak: {respawned}")
    return max(growths, default=float("inf"))


if __name__ == "__main__":
    raise SystemExit(main())
