"""In-process side of benchmarks/serving.py, run in the serving environment.

    python benchmarks/serving_floor.py BUNDLE ROWS.json

Reads one JSON command per stdin line and answers one JSON line, so the benchmark can alternate
rounds of floor and server measurements while the machine's load drifts:
  {"mode": "one-row", "seconds": 5}   2 warm processes call the predict path on one-row bodies
  {"mode": "batch", "repeats": 5}      the predict path on one body of all the rows
  {"mode": "latency", "repeats": 3000} median / p99 of one one-row request, one process
  {"mode": "metrics", "repeats": 3000} per-request cost of the model's metrics and Seldon's store
  {"mode": "crossover"}                compiled trees vs vectorised path by request rows
  {"mode": "overheads"}                what a served request adds to the predict path, part by
                                       part, for one row and for all the rows: body decoding
                                       (orjson and the nesting check), request log line, answer
The "predict path" is what the server runs per request minus HTTP: `scoring.predictor.Predictor`
itself (validate -> encode -> score -> threshold), the object the Seldon model class wraps.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from contract.bundle import load_bundle
from scoring.predictor import Predictor

PROCESSES = 2
CROSSOVER_ROWS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 1000)


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


def latency(predict, rows: list, repeats: int) -> dict:
    """Median and p99 of one one-row request through the predictor, in this process."""
    bodies = [{"jsonData": row} for row in rows[:200]]
    times = []
    for index in range(repeats):
        started = time.perf_counter()
        predict(bodies[index % len(bodies)])
        times.append(time.perf_counter() - started)
    times.sort()
    return {"median_ms": statistics.median(times) * 1e3, "p99_ms": times[int(0.99 * len(times))] * 1e3}


def metrics_cost(bundle, repeats: int) -> dict:
    """Per-request cost of the model's metrics (what `predict_raw` records for one row), written
    in prometheus-client's multiprocess mode as in the server; and of Seldon's custom-metrics
    store, with no entry (the update `seldon.serve` skips) and with 27 entries."""
    from seldon_core.metrics import SeldonMetrics

    from seldon.metrics import ServingMetrics

    metrics = ServingMetrics("bench")  # any prefix: the names cost nothing per update
    metrics.classes(bundle.schema.output.row_labels)
    metrics.model_loaded(bundle.metadata, None)
    scores, labels = np.array([0.3]), np.array([0])
    started = time.perf_counter()
    for _ in range(repeats):
        metrics.predicted(scores, labels, {})
        metrics.request("ok", 0.004)
    ours = (time.perf_counter() - started) / repeats

    def timed(store, payload) -> float:
        begin = time.perf_counter()
        for _ in range(repeats):
            store.update([dict(m, tags=dict(m.get("tags", {}))) for m in payload], "predict")
        return (time.perf_counter() - begin) / repeats

    entries = [{"type": "COUNTER", "key": f"m{i}", "value": 1.0, "tags": {"k": str(i)}} for i in range(27)]
    store = SeldonMetrics()
    timed(store, entries)  # the store holds the series, as in a running worker
    return {
        "ours_us": ours * 1e6,
        "seldon_empty_update_us": timed(SeldonMetrics(), []) * 1e6,
        "seldon_update_27_us": timed(store, entries) * 1e6,
        "multiprocess": bool(os.environ.get("prometheus_multiproc_dir")),
    }


def crossover(bundle, rows: list) -> dict:
    """ms per request of the compiled trees and of the vectorised path, by row count."""
    predictor = Predictor(bundle, max_rows=100_000)
    table, faster_up_to, still_faster = [], 0, True
    for n in CROSSOVER_ROWS:
        body = {"jsonData": rows[:n]}
        matrix = predictor.encode(predictor.check(body).columns)
        compiled = median_ms(lambda m=matrix: predictor.compiled_scores(m))
        vectorised = median_ms(lambda m=matrix: predictor.vectorised_scores(m))
        table.append((n, compiled, vectorised))
        still_faster = still_faster and compiled < vectorised
        if still_faster:
            faster_up_to = n
    return {"table": table, "faster_up_to": faster_up_to, "configured": predictor.compiled_max_rows}


def overheads(predict, rows: list) -> dict:
    """ms per request of each served step around the predict path, on the benchmark's bodies."""
    import orjson

    from contract.request_log import RequestLog, request_json
    from seldon.wrapper_changes import decode_json

    log = RequestLog(tempfile.mkdtemp(prefix="floor-log-"))
    table = {}
    for label, records in (("one_row", rows[0]), ("batch", rows)):
        raw = json.dumps({"jsonData": records}).encode()
        body = decode_json(raw)
        prediction = predict(body)
        probability, predicted = prediction.probability.tolist(), prediction.predicted.tolist()
        rows_out = list(zip(probability, predicted, strict=True))
        answer = {"data": {"names": ["probability", "predicted"], "ndarray": rows_out}}
        table[label] = {
            "predict_ms": median_ms(lambda b=body: predict(b), 200),
            "decode_ms": median_ms(lambda r=raw: decode_json(r), 200),
            "request_log_ms": median_ms(
                lambda b=body, r=raw, p=probability, f=predicted: log.write(
                    "id", "flights", "1", request_json(b, r), p, f, {}
                ),
                200,
            ),
            "answer_ms": median_ms(lambda a=answer: orjson.dumps(a), 200),
        }
    log.close()
    return table


def median_ms(call, repeats: int = 40) -> float:
    call()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1e3


def main() -> None:
    # the model's metrics as the server writes them (before prometheus_client is imported)
    metrics_dir = tempfile.mkdtemp(prefix="floor-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["prometheus_multiproc_dir"] = metrics_dir
    bundle_dir, rows_file = sys.argv[1:3]
    rows = json.loads(open(rows_file).read())
    batch_body = {"jsonData": rows}
    commands = [mp.Queue() for _ in range(PROCESSES)]
    results: mp.Queue = mp.Queue()
    workers = [
        mp.Process(target=_one_row_worker, args=(bundle_dir, rows[:200], queue, results))
        for queue in commands
    ]
    for worker in workers:
        worker.start()  # before this process scores anything: a fork after OpenMP ran can hang
    bundle, predict = _path(bundle_dir)
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
        elif command["mode"] == "latency":
            answer = latency(predict, rows, command["repeats"])
        elif command["mode"] == "crossover":
            answer = crossover(bundle, rows)
        elif command["mode"] == "overheads":
            answer = overheads(predict, rows)
        else:
            answer = metrics_cost(bundle, command["repeats"])
        print(json.dumps(answer), flush=True)
    for queue in commands:
        queue.put(None)
    for worker in workers:
        worker.join()


if __name__ == "__main__":
    main()
