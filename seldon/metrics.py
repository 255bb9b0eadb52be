"""Serving metrics, declared in one place, exported through Seldon's custom metrics API.

The wrapper keeps custom metrics in a shared multiprocessing dict keyed by worker pid and serves
them on the metrics port (`/metrics` standalone, `/prometheus` under the operator) with a
`worker_id` label: sum over it in PromQL. It receives metrics only from the model's responses
(`meta.metrics` of predict/feedback, `metrics()` on health), so this module buffers updates in
the worker (microseconds) and `drain()` hands over what changed since the last response.

The wrapper labels each metric with the `method` that exported it. Counters and the latency
histogram leave with every response (sum them `without (method, worker_id)`); gauges leave only
with health probes (`method="health"`), so each gauge has exactly one series per worker and is
as fresh as the last readiness probe (every 5 s on Kubernetes).

Counters travel as deltas, gauges as values, latencies as Seldon TIMERs (histogram in seconds,
value given in ms). The score histogram is exported as cumulative `le` gauges (Seldon's TIMER has
fixed log buckets meant for latency), so `histogram_quantile` works on it.
"""

from __future__ import annotations

import threading

import numpy as np

REQUESTS = "flights_requests_total"  # {outcome: ok|rejected|error}
REJECTED = "flights_rejected_requests_total"  # {reason: the rule that failed}
LATENCY = "flights_request_duration_seconds"  # histogram (Seldon TIMER)
ROWS = "flights_predicted_rows_total"  # {label: late|on_time}
UNKNOWN_CATEGORY = "flights_unknown_category_total"  # {feature}
SCORE = "flights_model_score"  # _bucket{le}, _sum, _count: cumulative per worker
POSITIVE_RATE = "flights_positive_rate"  # share of rows labelled late since this worker loaded
MODEL_INFO = "flights_model_info"  # {bundle_version, run_id, model_name} = 1 for the served one
SWAPS = "flights_model_swaps_total"  # {outcome: ok|failed}
FEEDBACK_ROWS = "flights_feedback_rows_total"
FEEDBACK_CORRECT = "flights_feedback_correct_rows_total"
ONLINE_ACCURACY = "flights_online_accuracy"  # correct / feedback rows since this worker started

SCORE_EDGES = np.round(np.linspace(0.05, 1.0, 20), 2)
SCORE_LABELS = [f"{edge:g}" for edge in SCORE_EDGES] + ["+Inf"]

COUNTER, GAUGE, TIMER = "COUNTER", "GAUGE", "TIMER"


class ServingMetrics:
    """Worker-local buffer of metric updates; thread-safe (the pointer watcher writes too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deltas: dict[tuple, float] = {}
        self._gauges: dict[tuple, float] = {}
        self._dirty: set[tuple] = set()
        self._timings_ms: list[float] = []
        self._score_counts = np.zeros(len(SCORE_EDGES) + 1, dtype=np.int64)
        self._score_sum = 0.0
        self._rows = 0
        self._positives = 0
        self._feedback_rows = 0
        self._feedback_correct = 0

    def _count(self, key: str, value: float, **tags: str) -> None:
        slot = (key, tuple(sorted(tags.items())))
        self._deltas[slot] = self._deltas.get(slot, 0.0) + value

    def _set(self, key: str, value: float, **tags: str) -> None:
        slot = (key, tuple(sorted(tags.items())))
        self._gauges[slot] = float(value)
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
        bins = np.bincount(
            np.searchsorted(SCORE_EDGES, scores, side="left"), minlength=len(SCORE_EDGES) + 1
        )
        positives = int(labels.sum())
        with self._lock:
            self._score_counts += bins
            self._score_sum += float(scores.sum())
            self._rows += len(scores)
            self._positives += positives
            self._count(ROWS, positives, label="late")
            self._count(ROWS, len(scores) - positives, label="on_time")
            for feature, count in unknown.items():
                self._count(UNKNOWN_CATEGORY, count, feature=feature)
            cumulative = np.cumsum(self._score_counts)
            first = int(np.flatnonzero(bins)[0]) if len(scores) else len(SCORE_LABELS)
            for label, value in zip(SCORE_LABELS[first:], cumulative[first:], strict=True):
                self._set(f"{SCORE}_bucket", int(value), le=label)
            self._set(f"{SCORE}_sum", self._score_sum)
            self._set(f"{SCORE}_count", self._rows)
            self._set(POSITIVE_RATE, self._positives / self._rows)

    def feedback(self, rows: int, correct: int) -> None:
        with self._lock:
            self._feedback_rows += rows
            self._feedback_correct += correct
            self._count(FEEDBACK_ROWS, rows)
            self._count(FEEDBACK_CORRECT, correct)
            self._set(ONLINE_ACCURACY, self._feedback_correct / self._feedback_rows)

    def model_loaded(self, metadata: dict, previous: dict | None) -> None:
        with self._lock:
            if previous is not None:
                self._set(MODEL_INFO, 0, **_info_tags(previous))
                self._count(SWAPS, 1, outcome="ok")
            self._set(MODEL_INFO, 1, **_info_tags(metadata))

    def swap_failed(self) -> None:
        with self._lock:
            self._count(SWAPS, 1, outcome="failed")

    def drain(self, gauges: bool = False) -> list[dict]:
        """Counters and timings changed since the last drain (and, on health probes, the gauges
        changed since the last probe), as Seldon custom metric dicts."""
        with self._lock:
            out = [
                {"type": COUNTER, "key": key, "value": value, "tags": dict(tags)}
                for (key, tags), value in self._deltas.items()
                if value
            ]
            if gauges:
                out += [
                    {
                        "type": GAUGE,
                        "key": key,
                        "value": self._gauges[(key, tags)],
                        "tags": dict(tags),
                    }
                    for key, tags in self._dirty
                ]
                self._dirty.clear()
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
