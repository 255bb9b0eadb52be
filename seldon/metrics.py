"""Serving metrics, declared in one place, exported through Seldon's custom metrics API.

The wrapper keeps custom metrics in a shared multiprocessing dict keyed by worker pid and serves
them on the metrics port (`/metrics` standalone, `/prometheus` under the operator) with a
`worker_id` label. It receives metrics only from the model's responses (`meta.metrics` of
predict and feedback, `metrics()` on health probes), so this module buffers updates in the
worker (tens of microseconds) and `drain(source)` hands over what changed since.

The wrapper also adds a `method` label: the call whose response carried the metric. Counters
leave with the next response of any kind: sum them `without (method, worker_id)`. A gauge
leaves only with the responses of the call that changes it (latency and score histograms and
the positive rate with predictions, online accuracy with feedback), so each has one series per
worker; `flights_model_info` leaves with every response, each copy true as of that call.

Histograms are cumulative per worker and exported as `_bucket{le}`/`_sum`/`_count` gauges, so
`histogram_quantile` and `rate` work as on native histograms. Seldon's own TIMER type is not
used: its fixed 51-bucket list of numpy floats is pickled through the shared dict on every
request, which cost more than the whole rest of our metrics.
"""

from __future__ import annotations

import bisect
import threading

import numpy as np

from contract.bundle import Metadata

REQUESTS = "flights_requests_total"  # {outcome: ok|rejected|error}
REJECTED = "flights_rejected_requests_total"  # {reason: the rule that failed}
LATENCY = "flights_request_duration_seconds"  # histogram: request start to response body
ROWS = "flights_predicted_rows_total"  # {label: late|on_time}, the predicted flag
UNKNOWN_CATEGORY = "flights_unknown_category_total"  # {feature}
SCORE = "flights_model_score"  # histogram of predicted probabilities, one observation per row
POSITIVE_RATE = "flights_positive_rate"  # share of rows labelled late since this worker started
MODEL_INFO = "flights_model_info"  # {bundle_version, bundle_name, run_id}: 1 served, 0 replaced
SWAPS = "flights_model_swaps_total"  # {outcome: ok|failed}
REQUEST_LOG_FAILURES = "flights_request_log_failures_total"  # lines the request log could not write
FEEDBACK_ROWS = "flights_feedback_rows_total"
FEEDBACK_CORRECT = "flights_feedback_correct_rows_total"
ONLINE_ACCURACY = "flights_online_accuracy"  # correct / feedback rows since this worker started
# The explain route, counted like predictions under names of its own (its latency is not a
# prediction's): requests by outcome, rejections by rule, rows by predicted flag, latency.
EXPLAIN_REQUESTS = "flights_explain_requests_total"  # {outcome: ok|rejected|error}
EXPLAIN_REJECTED = "flights_explain_rejected_requests_total"  # {reason}
EXPLAINED_ROWS = "flights_explained_rows_total"  # {label: late|on_time}
EXPLAIN_LATENCY = "flights_explain_duration_seconds"  # histogram

LATENCY_EDGES = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# finer where the scores live (late rate ~20%) and around the 0.35 threshold
SCORE_EDGES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0)

COUNTER, GAUGE = "COUNTER", "GAUGE"
PREDICT, FEEDBACK, HEALTH, ANY = "predict", "feedback", "health", "any"


class _Histogram:
    """Cumulative bucket counts; `observe` returns the gauges that changed."""

    def __init__(self, name: str, edges: tuple[float, ...]):
        self.name = name
        self.edges = np.asarray(edges)
        self.labels = [f"{edge:g}" for edge in edges] + ["+Inf"]
        self.counts = [0] * (len(edges) + 1)  # per bucket, not cumulative
        self.total = 0.0

    def observe(self, values: np.ndarray | float) -> list[tuple[str, float, dict]]:
        if isinstance(values, float):
            first = bisect.bisect_left(self.edges, values)
            self.counts[first] += 1
            self.total += values
        else:
            bins = np.bincount(np.searchsorted(self.edges, values), minlength=len(self.counts))
            first = int(np.flatnonzero(bins)[0])
            for index in range(first, len(bins)):
                self.counts[index] += int(bins[index])
            self.total += float(values.sum())
        cumulative = sum(self.counts[:first])
        changed: list[tuple[str, float, dict]] = []
        for index in range(first, len(self.counts)):
            cumulative += self.counts[index]
            changed.append((f"{self.name}_bucket", cumulative, {"le": self.labels[index]}))
        changed.append((f"{self.name}_sum", self.total, {}))
        changed.append((f"{self.name}_count", cumulative, {}))
        return changed


class ServingMetrics:
    """Worker-local buffer of metric updates; thread-safe (the pointer watcher writes too)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._deltas: dict[tuple, float] = {}
        # explain responses are plain Flask responses the wrapper never reads: what the explain
        # route changes is handed over through the health handler (seldon/explaining.py)
        self._gauges: dict[str, dict[tuple, float]] = {PREDICT: {}, FEEDBACK: {}, HEALTH: {}, ANY: {}}
        self._dirty: set[tuple] = set()
        self._latency = _Histogram(LATENCY, LATENCY_EDGES)
        self._score = _Histogram(SCORE, SCORE_EDGES)
        self._explain_latency = _Histogram(EXPLAIN_LATENCY, LATENCY_EDGES)
        self._rows = 0
        self._positives = 0
        self._feedback_rows = 0
        self._feedback_correct = 0

    def _count(self, key: str, value: float, **tags: str) -> None:
        slot = (key, tuple(sorted(tags.items())))
        self._deltas[slot] = self._deltas.get(slot, 0.0) + value

    def _set(self, source: str, key: str, value: float, tags: dict[str, str]) -> None:
        slot = (key, tuple(sorted(tags.items())))
        self._gauges[source][slot] = value
        self._dirty.add(slot)

    def request(self, outcome: str, seconds: float, reason: str | None = None) -> None:
        with self._lock:
            self._count(REQUESTS, 1, outcome=outcome)
            if reason is not None:
                self._count(REJECTED, 1, reason=reason)
            for key, value, tags in self._latency.observe(float(seconds)):
                self._set(PREDICT, key, value, tags)

    def predicted(self, scores: np.ndarray, labels: np.ndarray, unknown: dict[str, int]) -> None:
        positives = int(labels.sum())
        with self._lock:
            self._rows += len(scores)
            self._positives += positives
            self._count(ROWS, positives, label="late")
            self._count(ROWS, len(scores) - positives, label="on_time")
            for feature, count in unknown.items():
                self._count(UNKNOWN_CATEGORY, count, feature=feature)
            for key, value, tags in self._score.observe(scores):
                self._set(PREDICT, key, value, tags)
            self._set(PREDICT, POSITIVE_RATE, self._positives / self._rows, {})

    def explain_request(self, outcome: str, seconds: float, reason: str | None = None) -> None:
        with self._lock:
            self._count(EXPLAIN_REQUESTS, 1, outcome=outcome)
            if reason is not None:
                self._count(EXPLAIN_REJECTED, 1, reason=reason)
            for key, value, tags in self._explain_latency.observe(float(seconds)):
                self._set(HEALTH, key, value, tags)

    def explained(self, labels: np.ndarray) -> None:
        positives = int(labels.sum())
        with self._lock:
            self._count(EXPLAINED_ROWS, positives, label="late")
            self._count(EXPLAINED_ROWS, len(labels) - positives, label="on_time")

    def feedback(self, rows: int, correct: int) -> None:
        with self._lock:
            self._feedback_rows += rows
            self._feedback_correct += correct
            self._count(FEEDBACK_ROWS, rows)
            self._count(FEEDBACK_CORRECT, correct)
            accuracy = self._feedback_correct / self._feedback_rows
            self._set(FEEDBACK, ONLINE_ACCURACY, accuracy, {})

    def model_loaded(self, metadata: Metadata, previous: Metadata | None) -> None:
        with self._lock:
            if previous is not None:
                self._set(ANY, MODEL_INFO, 0, _info_tags(previous))
                self._count(SWAPS, 1, outcome="ok")
            self._set(ANY, MODEL_INFO, 1, _info_tags(metadata))

    def swap_failed(self) -> None:
        with self._lock:
            self._count(SWAPS, 1, outcome="failed")

    def request_log_failed(self) -> None:
        with self._lock:
            self._count(REQUEST_LOG_FAILURES, 1)

    def drain(self, source: str) -> list[dict]:
        """Counters since the last drain, the gauges `source` changed, and the model info, as
        Seldon custom metric dicts (`source`: predict, feedback or health)."""
        with self._lock:
            out = [
                {"type": COUNTER, "key": key, "value": value, "tags": dict(tags)}
                for (key, tags), value in self._deltas.items()
                if value
            ]
            gauges = self._gauges.get(source, {})
            changed = self._dirty.intersection(gauges)
            out += [
                {"type": GAUGE, "key": key, "value": gauges[(key, tags)], "tags": dict(tags)}
                for key, tags in changed
            ]
            self._dirty -= changed
            out += [
                {"type": GAUGE, "key": key, "value": value, "tags": dict(tags)}
                for (key, tags), value in self._gauges[ANY].items()
            ]
            self._deltas.clear()
        return out


def _info_tags(metadata: Metadata) -> dict[str, str]:
    # "model_version" and "model_name" are taken by the wrapper's default labels (image tag)
    return {
        "bundle_version": metadata.version,
        "bundle_name": metadata.name,
        "run_id": metadata.run_id,
    }
