"""In-process measurements for benchmarks/serving.py, run in the serving environment.

  python benchmarks/serving_floor.py one-row  BUNDLE ROWS.json SECONDS PROCESSES
  python benchmarks/serving_floor.py batch    BUNDLE ROWS.json REPEATS
  python benchmarks/serving_floor.py metrics  BUNDLE ROWS.json REPEATS

Prints one JSON object. The "predict path" is what the server runs per request minus HTTP:
schema validation, the DataFrame, predict_proba, the threshold.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sys
import time

import numpy as np
import pandas as pd

from seldon.bundle import load_bundle
from seldon.validation import RequestSchema


def _path(bundle_dir: str):
    bundle = load_bundle(bundle_dir)
    schema = RequestSchema(bundle.schema, max_rows=100_000)
    threshold = bundle.schema["output"]["threshold"]

    def predict(body: dict) -> np.ndarray:
        checked = schema.check(body)
        scores = bundle.model.predict_proba(pd.DataFrame(checked.columns))[:, 1]
        return scores >= threshold

    return bundle, predict


def _one_row_worker(bundle_dir, rows, seconds, start, out) -> None:
    _bundle, predict = _path(bundle_dir)
    bodies = [{"jsonData": row} for row in rows]
    for body in bodies[:50]:
        predict(body)
    start.wait()
    count, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        predict(bodies[count % len(bodies)])
        count += 1
    out.put(count / seconds)


def one_row(bundle_dir: str, rows: list, seconds: float, processes: int) -> dict:
    start, out = mp.Event(), mp.Queue()
    workers = [
        mp.Process(target=_one_row_worker, args=(bundle_dir, rows, seconds, start, out))
        for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    time.sleep(5)  # every process loaded and warmed before the clock starts
    start.set()
    rates = [out.get() for _ in workers]
    for worker in workers:
        worker.join()
    return {"requests_per_s": sum(rates), "per_process": rates}


def batch(bundle_dir: str, rows: list, repeats: int) -> dict:
    bundle, predict = _path(bundle_dir)
    body = {"jsonData": rows}
    predict(body)
    started = time.perf_counter()
    for _ in range(repeats):
        predict(body)
    path_rate = len(rows) * repeats / (time.perf_counter() - started)
    frame = pd.DataFrame(RequestSchema(bundle.schema, 100_000).check(body).columns)
    started = time.perf_counter()
    for _ in range(repeats):
        bundle.model.predict_proba(frame)
    model_rate = len(rows) * repeats / (time.perf_counter() - started)
    return {"rows_per_s_path": path_rate, "rows_per_s_predict_proba": model_rate}


def metrics(bundle_dir: str, rows: list, repeats: int) -> dict:
    """Per-request cost of our metric buffer, and of handing its output to Seldon's store."""
    from seldon_core.metrics import SeldonMetrics

    from seldon.metrics import ServingMetrics

    bundle, _ = _path(bundle_dir)
    buffer = ServingMetrics()
    buffer.model_loaded(bundle.metadata, None)
    scores, labels = np.array([0.3]), np.array([False])
    started = time.perf_counter()
    drained = []
    for _ in range(repeats):
        buffer.predicted(scores, labels, {})
        buffer.request("ok", 0.004)
        drained = buffer.drain("predict")
    ours = (time.perf_counter() - started) / repeats
    fresh = SeldonMetrics()
    started = time.perf_counter()
    for _ in range(repeats):
        fresh.update([], "predict")
    wrapper_alone = (time.perf_counter() - started) / repeats
    store = SeldonMetrics()
    for _ in range(50):
        store.update([dict(m, tags=dict(m.get("tags", {}))) for m in drained], "predict")
    timings = {}
    for name, payload in (("empty", []), ("ours", drained)):
        started = time.perf_counter()
        for _ in range(repeats):
            store.update([dict(m, tags=dict(m.get("tags", {}))) for m in payload], "predict")
        timings[name] = (time.perf_counter() - started) / repeats
    return {
        "buffer_us": ours * 1e6,
        "seldon_update_no_custom_metrics_us": wrapper_alone * 1e6,
        "seldon_update_empty_us": timings["empty"] * 1e6,
        "seldon_update_ours_us": timings["ours"] * 1e6,
        "metrics_per_request": len(drained),
    }


def main() -> None:
    mode, bundle_dir, rows_file = sys.argv[1:4]
    rows = json.loads(open(rows_file).read())
    if mode == "one-row":
        result = one_row(bundle_dir, rows, float(sys.argv[4]), int(sys.argv[5]))
    elif mode == "batch":
        result = batch(bundle_dir, rows, int(sys.argv[4]))
    else:
        result = metrics(bundle_dir, rows, int(sys.argv[4]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
