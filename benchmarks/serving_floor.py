"""In-process side of benchmarks/serving.py, run in the serving environment.

    python benchmarks/serving_floor.py BUNDLE ROWS.json

Reads one JSON command per stdin line and answers one JSON line, so the benchmark can alternate
rounds of floor and server measurements while the machine's load drifts:
  {"mode": "one-row", "seconds": 5}   2 warm processes call the predict path on one-row bodies
  {"mode": "batch", "repeats": 5}      the predict path on one body of all the rows
  {"mode": "metrics", "repeats": 2000} per-request cost of our metric buffer and Seldon's store
The "predict path" is what the server runs per request minus HTTP: `scoring.predictor.Predictor`
itself (validate -> encode -> score -> threshold), the object the Seldon model class wraps.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time

import numpy as np

from contract.bundle import load_bundle
from scoring.predictor import Predictor

PROCESSES = 2


def _path(bundle_dir: str):
    bundle = load_bundle(bundle_dir)
    predictor = Predictor(bundle, max_rows=100_000)
    predictor.warm_up()
    return bundle, predictor.predict


def _one_row_worker(bundle_dir: str, rows: list, commands, results) -> None:
    _bundle, predict = _path(bundle_dir)
    bodies = [{"jsonData": row} for row in rows]
    for body in bodies[:50]:
        predict(body)
    results.put("ready")
    while (seconds := commands.get()) is not None:
        count, end = 0, time.perf_counter() + seconds
        while time.perf_counter() < end:
            predict(bodies[count % len(bodies)])
            count += 1
        results.put(count / seconds)


def metrics_cost(bundle, repeats: int) -> dict:
    from seldon_core.metrics import SeldonMetrics

    from seldon.metrics import ServingMetrics

    buffer = ServingMetrics()
    buffer.model_loaded(bundle.metadata, None)
    scores, labels = np.array([0.3]), np.array([False])
    drained: list[dict] = []
    started = time.perf_counter()
    for _ in range(repeats):
        buffer.predicted(scores, labels, {})
        buffer.request("ok", 0.004)
        drained = buffer.drain("predict")
    ours = (time.perf_counter() - started) / repeats

    def timed(store, payload) -> float:
        begin = time.perf_counter()
        for _ in range(repeats):
            store.update([dict(m, tags=dict(m.get("tags", {}))) for m in payload], "predict")
        return (time.perf_counter() - begin) / repeats

    bare = timed(SeldonMetrics(), [])
    store = SeldonMetrics()
    timed(store, drained)  # the store holds our series, as in a running worker
    return {
        "buffer_us": ours * 1e6,
        "seldon_update_no_custom_metrics_us": bare * 1e6,
        "seldon_update_ours_us": timed(store, drained) * 1e6,
        "metrics_per_request": len(drained),
    }


def main() -> None:
    bundle_dir, rows_file = sys.argv[1:3]
    rows = json.loads(open(rows_file).read())
    bundle, predict = _path(bundle_dir)
    batch_body = {"jsonData": rows}
    commands = [mp.Queue() for _ in range(PROCESSES)]
    results: mp.Queue = mp.Queue()
    workers = [
        mp.Process(target=_one_row_worker, args=(bundle_dir, rows[:200], queue, results))
        for queue in commands
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        results.get()
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        if command["mode"] == "one-row":
            for queue in commands:
                queue.put(command["seconds"])
            rates = [results.get() for _ in workers]
            answer = {"requests_per_s": sum(rates), "per_process": rates}
        elif command["mode"] == "batch":
            predict(batch_body)
            started = time.perf_counter()
            for _ in range(command["repeats"]):
                predict(batch_body)
            answer = {"rows_per_s": len(rows) * command["repeats"] / (time.perf_counter() - started)}
        else:
            answer = metrics_cost(bundle, command["repeats"])
        print(json.dumps(answer), flush=True)
    for queue in commands:
        queue.put(None)
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
