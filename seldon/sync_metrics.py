"""Prometheus metrics of the registry sync (`python -m seldon.sync --metrics-port 6001`).

The sync runs in its own process (the sidecar), so it has its own registry and HTTP endpoint.
Every name starts with the deployment's metric prefix (`METRIC_PREFIX`, `<prefix>` below):

  <prefix>_sync_polls_total{outcome}                ok (pointer flipped), unchanged, failed (registry
                                                    unreachable or any other error), refused (the
                                                    bundle failed its checks: nothing published);
                                                    with --shadow-alias also shadow_failed (the
                                                    challenger not published, beside the outcome)
  <prefix>_sync_refused_bundles_total{reason}       registry_sha256 (model file differs from the
                                                    registry's record: tampering), bundle (sha256 vs
                                                    metadata.json, allowlist, missing file)
  <prefix>_sync_last_success_timestamp_seconds      last poll that reached the registry and ended well
  <prefix>_sync_published_info{version}             1 for the version the pointer names
"""

from __future__ import annotations

import time

POLL_OUTCOMES = ("ok", "unchanged", "failed", "refused", "shadow_failed")
REFUSAL_REASONS = ("registry_sha256", "bundle")


class SyncMetrics:
    def __init__(self, prefix: str) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        self.registry = CollectorRegistry()
        self.polls = Counter(
            f"{prefix}_sync_polls_total", "Registry polls by outcome", ["outcome"], registry=self.registry
        )
        self.refused = Counter(
            f"{prefix}_sync_refused_bundles_total",
            "Bundles refused at sync, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.last_success = Gauge(
            f"{prefix}_sync_last_success_timestamp_seconds",
            "Unix time of the last poll that reached the registry and ended well",
            registry=self.registry,
        )
        self.published = Gauge(
            f"{prefix}_sync_published_info",
            "The version the pointer names",
            ["version"],
            registry=self.registry,
        )
        for outcome in POLL_OUTCOMES:  # every series exists from the start: rate() and increase() see 0
            self.polls.labels(outcome)
        for reason in REFUSAL_REASONS:
            self.refused.labels(reason)
        self._version: str | None = None

    def serve(self, port: int, host: str) -> None:
        from prometheus_client import start_http_server

        start_http_server(port, addr=host, registry=self.registry)

    def poll(self, outcome: str) -> None:
        self.polls.labels(outcome).inc()
        if outcome in ("ok", "unchanged"):
            self.last_success.set(time.time())

    def refusal(self, reason: str) -> None:
        self.poll("refused")
        self.refused.labels(reason).inc()

    def publish(self, version: str) -> None:
        if self._version is not None and self._version != version:
            self.published.labels(self._version).set(0)
        self.published.labels(version).set(1)
        self._version = version
