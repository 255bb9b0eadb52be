"""Serving metrics, declared in one place, written with prometheus-client's multiprocess mode.

Each gunicorn worker writes its samples to memory-mapped files in `PROMETHEUS_MULTIPROC_DIR`
(a few microseconds per update, no lock shared between processes); the wrapper's metrics server
(`/metrics` standalone, `/prometheus` under the operator) merges every worker's files on scrape,
beside Seldon's own series (`seldon/serve.py` wires both). Seldon's custom-metrics channel is not
used: it sends every update through a multiprocessing manager dict (its cost per request:
docs/performance.md).

Counters and histograms are summed over the workers (no `worker_id` label); the gauges keep one
series per live worker, labelled `pid`, and a worker's series leave when it exits. Without
PROMETHEUS_MULTIPROC_DIR (a single process: unit tests, the benchmark's probe) the same objects
count in memory, in the registry this object owns.
"""

from __future__ import annotations

import math
import threading
from typing import Any, Final

import numpy as np
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from contract.bundle import Metadata

REQUESTS = "requests_total"  # {outcome: ok|rejected|error}
REJECTED = "rejected_requests_total"  # {reason: the rule that failed}
LATENCY = "request_duration_seconds"  # histogram: request start to response body
ROWS = "predicted_rows_total"  # {label: the predicted class, `contract.names.metric_label`}
UNKNOWN_CATEGORY = "unknown_category_total"  # {feature}
SCORE = "model_score"  # histogram of predicted probabilities, one observation per row
POSITIVE_RATE = "positive_rate"  # share of rows flagged positive since this worker started
MODEL_INFO = "model_info"  # {bundle_version, bundle_name, run_id}: 1 served, 0 replaced
SWAPS = "model_swaps_total"  # {outcome: ok|failed}
REQUEST_LOG_FAILURES = "request_log_failures_total"  # lines the request log could not write
FEEDBACK_ROWS = "feedback_rows_total"
FEEDBACK_CORRECT = "feedback_correct_rows_total"
ONLINE_ACCURACY = "online_accuracy"  # correct / feedback rows since this worker started
SHADOW = "shadow_requests_total"  # {outcome: scored|too_many_rows|failed|load_failed}
ONLINE_FEATURES_MISSING = "online_features_missing_total"  # {feature, reason}: scoring.online
# The explain route, counted like predictions under names of its own (its latency is not a
# prediction's): requests by outcome, rejections by rule, rows by predicted class, latency.
EXPLAIN_REQUESTS = "explain_requests_total"  # {outcome: ok|rejected|error}
EXPLAIN_REJECTED = "explain_rejected_requests_total"  # {reason}
EXPLAINED_ROWS = "explained_rows_total"  # {label: the predicted class}
EXPLAIN_LATENCY = "explain_duration_seconds"  # histogram

LATENCY_EDGES = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# finer below 0.4, where a classifier of a minority class puts most of its scores
SCORE_EDGES = (0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.6, 0.8, 1.0)
PER_WORKER: Final = "liveall"  # gauges: one series per live worker (label pid)


class ServingMetrics:
    """The worker's metric objects, each named `<prefix>_<its constant above>`; thread-safe (the
    pointer watcher writes too). The labels of predicted rows are the served bundle's classes,
    set when a bundle loads (`classes`), never looked up per request."""

    def __init__(self, prefix: str, registry: CollectorRegistry | None = None) -> None:
        self.prefix = prefix
        self.registry = r = registry if registry is not None else CollectorRegistry()

        def counter(suffix: str, doc: str, *labels: str) -> Counter:  # the library adds `_total`
            return Counter(f"{prefix}_{suffix}".removesuffix("_total"), doc, labels, registry=r)

        def per_worker(suffix: str, doc: str, *labels: str) -> Gauge:  # one series per live worker
            return Gauge(f"{prefix}_{suffix}", doc, labels, registry=r, multiprocess_mode=PER_WORKER)

        def histogram(suffix: str, doc: str, edges: tuple[float, ...]) -> Histogram:
            return Histogram(f"{prefix}_{suffix}", doc, buckets=edges, registry=r)

        self._requests = counter(REQUESTS, "Prediction requests by outcome", "outcome")
        self._ok = self._requests.labels("ok")  # the common case: no label lookup per request
        self._rejected = counter(REJECTED, "Rejected prediction requests by rule", "reason")
        self._latency = histogram(LATENCY, "Prediction request duration", LATENCY_EDGES)
        self._rows = counter(ROWS, "Predicted rows by class", "label")
        self._unknown = counter(UNKNOWN_CATEGORY, "Rows with a category unseen in training", "feature")
        self._shadow = counter(SHADOW, "Requests the challenger scored in shadow, or not", "outcome")
        self._online_missing = counter(ONLINE_FEATURES_MISSING, "Rows missing it", "feature", "reason")
        self._score = histogram(SCORE, "Predicted probability per row", SCORE_EDGES)
        self._positive_rate = per_worker(POSITIVE_RATE, "Share flagged positive since the worker started")
        info = ("bundle_version", "bundle_name", "run_id")
        self._info = per_worker(MODEL_INFO, "Served bundle: 1, replaced: 0", *info)
        self._swaps = counter(SWAPS, "Bundle swaps by outcome", "outcome")
        self._log_failures = counter(REQUEST_LOG_FAILURES, "Request log lines not written")
        self._feedback_rows = counter(FEEDBACK_ROWS, "Rows with feedback (truth)")
        self._feedback_correct = counter(FEEDBACK_CORRECT, "Feedback rows predicted right")
        self._accuracy = per_worker(ONLINE_ACCURACY, "Correct share of feedback rows since the start")
        self._explain_requests = counter(EXPLAIN_REQUESTS, "Explain requests by outcome", "outcome")
        self._explain_rejected = counter(EXPLAIN_REJECTED, "Rejected explain requests by rule", "reason")
        self._explained = counter(EXPLAINED_ROWS, "Explained rows by predicted class", "label")
        self._explain_latency = histogram(EXPLAIN_LATENCY, "Explain request duration", LATENCY_EDGES)
        self._rows_by_flag: tuple[Any, Any] = (None, None)  # (flag 0, flag 1): `classes` makes them
        self._explained_by_flag: tuple[Any, Any] = (None, None)
        # no rate before the first row, no accuracy before the first feedback: NaN, not 0 (a
        # worker that has seen no feedback would otherwise report an accuracy of 0)
        self._positive_rate.set(math.nan)
        self._accuracy.set(math.nan)
        self._lock = threading.Lock()
        self._n_rows = self._n_positive = self._n_feedback = self._n_correct = 0

    def classes(self, row_labels: tuple[str, str]) -> None:
        """The labels of rows flagged 0 and 1: the served bundle's `output.row_labels`."""
        self._rows_by_flag = (self._rows.labels(row_labels[0]), self._rows.labels(row_labels[1]))
        self._explained_by_flag = (
            self._explained.labels(row_labels[0]),
            self._explained.labels(row_labels[1]),
        )

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
        negative, positive = self._rows_by_flag
        if positives:
            positive.inc(positives)
        if n_rows - positives:
            negative.inc(n_rows - positives)
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
        negative, positive = self._explained_by_flag
        if positives:
            positive.inc(positives)
        if len(labels) - positives:
            negative.inc(len(labels) - positives)

    def feedback(self, rows: int, correct: int) -> None:
        self._feedback_rows.inc(rows)
        self._feedback_correct.inc(correct)
        with self._lock:
            self._n_feedback += rows
            self._n_correct += correct
            accuracy = self._n_correct / self._n_feedback
        self._accuracy.set(accuracy)

    def model_loaded(self, metadata: Metadata, previous: Metadata | None) -> None:
        # "model_version" and "model_name" are taken by the wrapper's default labels (image tag)
        if previous is not None:
            self._info.labels(previous.version, previous.name, previous.run_id).set(0)
            self._swaps.labels("ok").inc()
        self._info.labels(metadata.version, metadata.name, metadata.run_id).set(1)

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
