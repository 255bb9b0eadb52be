"""Serving metrics, declared in one place, exported through Seldon's custom metrics API.

The wrapper keeps custom metrics in a shared multiprocessing dict keyed by worker pid and serves
them on the metrics port (`/metrics` standalone, `/prometheus` under the operator) with a
`worker_id` label: sum over it in PromQL. It receives metrics only from the model's responses
(`meta.metrics` of predict/feedback, `metrics()` on health probes), so this module buffers
updates in the worker (microseconds) and `drain(source)` hands over what changed since.

The wrapper labels each metric with the `method` whose response carried it. Counters and the
latency histogram leave with the next response of any kind: sum them `without (method,
worker_id)`. A gauge leaves only with the responses of the call that changes it (the positive
rate with predictions, online accuracy with feedback), so it has one series per worker;
`flights_model_info` leaves with every response, each copy true as of that call.

The score distribution is a counter per upper bound `le` (rows scored <= le), so that
`histogram_quantile(0.5, sum by (le) (rate(flights_model_score_rows_total[5m])))` works;
Seldon's own histogram type has fixed logarithmic buckets meant for latency.
"""

from __future__ import annotations

import threading

import numpy as np

REQUESTS = "flights_requests_total"  # {outcome: ok|rejected|error}
REJECTED = "flights_rejected_requests_total"  # {reason: the rule that failed}
LATENCY = "flights_request_duration_seconds"  # histogram (Seldon TIMER)
ROWS = "flights_predicted_rows_total"  # {label: late|on_time}
UNKNOWN_CATEGORY = "flights_unknown_category_total"  # {feature}
SCORE_ROWS = "flights_model_score_rows_total"  # {le}: rows with score <= le (cumulative buckets)
SCORE_SUM = "flights_model_score_total"  # sum of scores: mean = rate(this) / rate(rows)
POSITIVE_RATE = "flights_positive_rate"  # share of rows labelled late since this worker started
MODEL_INFO = "flights_model_info"  # {bundle_version, run_id, model_name} = 1 for the served one
SWAPS = "flights_model_swaps_total"  # {outcome: ok|failed}
FEEDBACK_ROWS = "flights_feedback_rows_total"
FEEDBACK_CORRECT = "flights_feedback_correct_rows_total"
ONLINE_ACCURACY = "flights_online_accuracy"  # correct / feedback rows since this worker started

# finer where the scores live (late rate ~20%) and around the 0.35 threshold
SCORE_EDGES = np.array([0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0])
SCORE_LABELS = [f"{edge:g}" for edge in SCORE_EDGES] + ["+Inf"]

COUNTER, GAUGE, TIMER = "COUNTER", "GAUGE", "TIMER"
PREDICT, FEEDBACK, ANY = "predict", "feedback", "any"


class ServingMetrics:
    """Worker-local buffer of metric updates; thread-safe (the pointer watcher writes too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deltas: dict[tuple, float] = {}
        self._gauges: dict[str, dict[tuple, float]] = {PREDICT: {}, FEEDBACK: {}, ANY: {}}
        self._dirty: set[tuple] = set()
        self._timings_ms: list[float] = []
        self._rows = 0
        self._positives = 0
        self._feedback_rows = 0
        self._feedback_correct = 0

    def _count(self, key: str, value: float, **tags: str) -> None:
        slot = (key, tuple(sorted(tags.items())))
        self._deltas[slot] = self._deltas.get(slot, 0.0) + value

    def _set(self, source: str, key: str, value: float, **tags: str) -> None:
        slot = (key, tuple(sorted(tags.items())))
        self._gauges[source][slot] = float(value)
        self._dirty.add(slot)

    def request(
        self, outcome: str, seconds: float | None = None, reason: str | None = None
    ) -> None:
        with self._lock:
            self._count(REQUESTS, 1, outcome=outcome)
            if reason is not None:
                self._count(REJECTED, 1, reason=reason)
            if seconds is not None:
                self._timings_ms.append(seconds * 1000.0)

    def predicted(self, scores: np.ndarray, labels: np.ndarray, unknown: dict[str, int]) -> None:
        bins = np.bincount(np.searchsorted(SCORE_EDGES, scores), minlength=len(SCORE_EDGES) + 1)
        positives = int(labels.sum())
        with self._lock:
            self._rows += len(scores)
            self._positives += positives
            self._count(ROWS, positives, label="late")
            self._count(ROWS, len(scores) - positives, label="on_time")
            for feature, count in unknown.items():
                self._count(UNKNOWN_CATEGORY, count, feature=feature)
            for label, count in zip(SCORE_LABELS, np.cumsum(bins), strict=True):
                if count:
                    self._count(SCORE_ROWS, int(count), le=label)
            self._count(SCORE_SUM, float(scores.sum()))
            self._set(PREDICT, POSITIVE_RATE, self._positives / self._rows)

    def feedback(self, rows: int, correct: int) -> None:
        with self._lock:
            self._feedback_rows += rows
            self._feedback_correct += correct
            self._count(FEEDBACK_ROWS, rows)
            self._count(FEEDBACK_CORRECT, correct)
            self._set(FEEDBACK, ONLINE_ACCURACY, self._feedback_correct / self._feedback_rows)

    def model_loaded(self, metadata: dict, previous: dict | None) -> None:
        with self._lock:
            if previous is not None:
                self._set(ANY, MODEL_INFO, 0, **_info_tags(previous))
                self._count(SWAPS, 1, outcome="ok")
            self._set(ANY, MODEL_INFO, 1, **_info_tags(metadata))

    def swap_failed(self) -> None:
        with self._lock:
            self._count(SWAPS, 1, outcome="failed")

    def drain(self, source: str) -> list[dict]:
        """Counters and timings since the last drain, the gauges `source` changed, and the model
        info, as Seldon custom metric dicts (`source`: predict, feedback or health)."""
        with self._lock:
            out = [
                {"type": COUNTER, "key": key, "value": value, "tags": dict(tags)}
                for (key, tags), value in self._deltas.items()
                if value
            ]
            gauges = self._gauges.get(source, {})
            out += [
                {"type": GAUGE, "key": key, "value": gauges[(key, tags)], "tags": dict(tags)}
                for key, tags in self._dirty.intersection(gauges)
            ]
            self._dirty.difference_update(gauges)
            out += [
                {"type": GAUGE, "key": key, "value": value, "tags": dict(tags)}
                for (key, tags), value in self._gauges[ANY].items()
            ]
            out += [{"type": TIMER, "key": LATENCY, "value": ms} for ms in self._timings_ms]
            self._deltas.clear()
            self._timings_ms.clear()
        return out


def _info_tags(metadata: dict) -> dict[str, str]:
    # "model_version" and "model_name" are taken by the wrapper's default labels (image tag)
    return {
        "bundle_version": str(metadata.get("version", "")),
        "bundle_name": str(metadata.get("name", "")),
        "run_id": str(metadata.get("run_id", "")),
    }
