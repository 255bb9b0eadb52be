"""Serving metrics, declared in one place, written with prometheus-client's multiprocess mode.

Each gunicorn worker writes its samples to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR`
(a few microseconds per update, no lock shared between processes); the wrapper's metrics server
(`/metrics` standalone, `/prometheus` under the operator) merges every worker's files on scrape,
beside Seldon's own series (`seldon/serve.py` wires both). Seldon's custom-metrics channel is not
used: it sends every update through a multiprocessing manager dict (its cost per request:
docs/performance.md).

Counters and histograms are summed over the workers (no `worker_id` label); the gauges keep one
series per live worker, labelled `pid`, and a worker's series leave when it exits.

Without PROMETHEUS_MULTIPROC_DIR (a single process: unit tests, the benchmark's probe) the same
objects count in memory, in the registry this object owns.
"""

from __future__ import annotations

import math
import threading
from typing import Final

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from contract.bundle import Metadata

REQUESTS = "flights_requests_total"  # {outcome: ok|rejected|error}
REJECTED = "flights_rejected_requests_total"  # {reason: the rule that failed}
LATENCY = "flights_request_duration_seconds"  # histogram: request start to response body
ROWS = "flights_predicted_rows_total"  # {label: late|on_time}, the predicted flag
UNKNOWN_CATEGORY = "flights_unknown_category_total"  # {feature}
SCORE = "flights_model_score"  # histogram of predicted probabilities, one observation per row
POSITIVE_RATE = "flights_positive_rate"  # share of rows flagged late since this worker started
MODEL_INFO = "flights_model_info"  # {bundle_version, bundle_name, run_id}: 1 served, 0 replaced
SWAPS = "flights_model_swaps_total"  # {outcome: ok|failed}
REQUEST_LOG_FAILURES = "flights_request_log_failures_total"  # lines the request log could not write
FEEDBACK_ROWS = "flights_feedback_rows_total"
FEEDBACK_CORRECT = "flights_feedback_correct_rows_total"
ONLINE_ACCURACY = "flights_online_accuracy"  # correct / feedback rows since this worker started
SHADOW = "flights_shadow_requests_total"  # {outcome: scored|too_many_rows|failed|load_failed}
ONLINE_FEATURES_MISSING = "flights_online_features_missing_total"  # {feature, reason}: scoring.online
# The explain route, counted like predictions under names of its own (its latency is not a
# prediction's): requests by outcome, rejections by rule, rows by predicted flag, latency.
EXPLAIN_REQUESTS = "flights_explain_requests_total"  # {outcome: ok|rejected|error}
EXPLAIN_REJECTED = "flights_explain_rejected_requests_total"  # {reason}
EXPLAINED_ROWS = "flights_explained_rows_total"  # {label: late|on_time}
EXPLAIN_LATENCY = "flights_explain_duration_seconds"  # histogram

LATENCY_EDGES = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# finer where the scores live (late rate ~20%) and around the 0.35 threshold
SCORE_EDGES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0)
PER_WORKER: Final = "liveall"  # gauges: one series per live worker (label pid)


def _counter(name: str, doc: str, labels: tuple[str, ...], registry: CollectorRegistry) -> Counter:
    # prometheus-client adds the `_total` suffix of a counter's samples itself
    return Counter(name.removesuffix("_total"), doc, labels, registry=registry)


def _per_worker_gauge(name: str, doc: str, labels: tuple[str, ...], registry: CollectorRegistry) -> Gauge:
    return Gauge(name, doc, labels, registry=registry, multiprocess_mode=PER_WORKER)


class ServingMetrics:
    """The worker's metric objects; thread-safe (the pointer watcher writes too)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self._requests = _counter(REQUESTS, "Prediction requests by outcome", ("outcome",), r)
        self._ok = self._requests.labels("ok")  # the common case: no label lookup per request
        self._rejected = _counter(REJECTED, "Rejected prediction requests by rule", ("reason",), r)
        self._latency = Histogram(LATENCY, "Prediction request duration", buckets=LATENCY_EDGES, registry=r)
        self._rows = _counter(ROWS, "Predicted rows by flag", ("label",), r)
        self._late, self._on_time = self._rows.labels("late"), self._rows.labels("on_time")
        self._unknown = _counter(UNKNOWN_CATEGORY, "Rows with a category unseen in training", ("feature",), r)
        self._shadow = _counter(SHADOW, "Requests the challenger scored in shadow, or not", ("outcome",), r)
        self._online_missing = _counter(ONLINE_FEATURES_MISSING, "Rows missing it", ("feature", "reason"), r)
        self._score = Histogram(SCORE, "Predicted probability per row", buckets=SCORE_EDGES, registry=r)
        self._positive_rate = _per_worker_gauge(
            POSITIVE_RATE, "Share flagged late since the worker started", (), r
        )
        info_labels = ("bundle_version", "bundle_name", "run_id")
        self._info = _per_worker_gauge(MODEL_INFO, "Served bundle: 1, replaced: 0", info_labels, r)
        self._swaps = _counter(SWAPS, "Bundle swaps by outcome", ("outcome",), r)
        self._log_failures = _counter(REQUEST_LOG_FAILURES, "Request log lines not written", (), r)
        self._feedback_rows = _counter(FEEDBACK_ROWS, "Rows with feedback (truth)", (), r)
        self._feedback_correct = _counter(FEEDBACK_CORRECT, "Feedback rows predicted right", (), r)
        self._accuracy = _per_worker_gauge(
            ONLINE_ACCURACY, "Correct share of feedback rows since the worker started", (), r
        )
        self._explain_requests = _counter(EXPLAIN_REQUESTS, "Explain requests by outcome", ("outcome",), r)
        self._explain_rejected = _counter(
            EXPLAIN_REJECTED, "Rejected explain requests by rule", ("reason",), r
        )
        self._explained = _counter(EXPLAINED_ROWS, "Explained rows by predicted flag", ("label",), r)
        self._explain_latency = Histogram(
            EXPLAIN_LATENCY, "Explain request duration", buckets=LATENCY_EDGES, registry=r
        )
        # no rate before the first row, no accuracy before the first feedback: NaN, not 0 (a
        # worker that has seen no feedback would otherwise report an accuracy of 0)
        self._positive_rate.set(math.nan)
        self._accuracy.set(math.nan)
        self._lock = threading.Lock()
        self._n_rows = self._n_positive = self._n_feedback = self._n_correct = 0

    def request(self, outcome: str, seconds: float, reason: str | None = None) -> None:
        (self._ok if outcome == "ok" else self._requests.labels(outcome)).inc()
        if reason is not None:
            self._rejected.labels(reason).inc()
        self._latency.observe(seconds)

    def predicted(
        self, scores: np.ndarray, labels: np.ndarray, unknown: dict[str, int], missing=None
    ) -> None:
        for (feature, reason), rows in (missing or {}).items():  # operational features missing
            self._online_missing.labels(feature, reason).inc(rows)
        positives = int(labels.sum())
        n_rows = len(scores)
        if positives:
            self._late.inc(positives)
        if n_rows - positives:
            self._on_time.inc(n_rows - positives)
        for feature, count in unknown.items():
            self._unknown.labels(feature).inc(count)
        _observe_many(self._score, SCORE_EDGES, scores)
        with self._lock:
            self._n_rows += n_rows
            self._n_positive += positives
            rate = self._n_positive / self._n_rows
        self._positive_rate.set(rate)

    def explain_request(self, outcome: str, seconds: float, reason: str | None = None) -> None:
        self._explain_requests.labels(outcome).inc()
        if reason is not None:
            self._explain_rejected.labels(reason).inc()
        self._explain_latency.observe(seconds)

    def explained(self, labels: np.ndarray) -> None:
        positives = int(labels.sum())
        if positives:
            self._explained.labels("late").inc(positives)
        if len(labels) - positives:
            self._explained.labels("on_time").inc(len(labels) - positives)

    def feedback(self, rows: int, correct: int) -> None:
        self._feedback_rows.inc(rows)
        self._feedback_correct.inc(correct)
        with self._lock:
            self._n_feedback += rows
            self._n_correct += correct
            accuracy = self._n_correct / self._n_feedback
        self._accuracy.set(accuracy)

    def model_loaded(self, metadata: Metadata, previous: Metadata | None) -> None:
        if previous is not None:
            self._info.labels(*_info_labels(previous)).set(0)
            self._swaps.labels("ok").inc()
        self._info.labels(*_info_labels(metadata)).set(1)

    def swap_failed(self) -> None:
        self._swaps.labels("failed").inc()

    def shadow(self, outcome: str) -> None:
        self._shadow.labels(outcome).inc()

    def request_log_failed(self) -> None:
        self._log_failures.inc()


def _observe_many(histogram: Histogram, edges: tuple[float, ...], values: np.ndarray) -> None:
    """`histogram.observe` of every value, as one update per bucket. prometheus-client 0.8.0 (0.26
    in the pipeline) has no public bulk observe, and a custom Collector is not read in
    multiprocess mode; a thousand `observe` calls cost far more (docs/performance.md). The one
    reach into its internals (`_buckets`, `_sum`): tests/unit/serving/test_histogram_bulk.py."""
    if len(values) == 1:
        histogram.observe(float(values[0]))
        return
    counts = np.bincount(np.searchsorted(edges, values, side="left"), minlength=len(edges) + 1)
    for bucket, count in zip(histogram._buckets, counts.tolist(), strict=True):  # noqa: SLF001
        if count:
            bucket.inc(count)
    histogram._sum.inc(float(np.sum(values)))  # noqa: SLF001


def _info_labels(metadata: Metadata) -> tuple[str, str, str]:
    # "model_version" and "model_name" are taken by the wrapper's default labels (image tag)
    return metadata.version, metadata.name, metadata.run_id
