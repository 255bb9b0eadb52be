"""The registry's champion as a Pushgateway metric, pushed by whoever moves the alias: promotion
(`core.promotion`) and rollback (`seldon.rollback`). The alert on a served version that is not the
champion compares the served `<prefix>_model_info` with it.

    <prefix>_registry_champion_info{bundle_name, bundle_version}       the `champion` alias (always 1)

`<prefix>` is the use case's metric prefix (`UseCase.metric_prefix`), given
by the caller: this module runs where the use case's declaration is not installed. Its own job
(`<prefix>-registry`), so that the alert does not depend on when monitoring last ran.
prometheus_client is imported inside the functions; the URL is read when a function runs, never
at import.
"""

from __future__ import annotations

import os
import re

PUSHGATEWAY_URL_ENV = "PUSHGATEWAY_URL"
_PREFIX = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def champion_info(prefix: str) -> str:
    """The champion metric's name for the metric prefix `prefix`."""
    if not _PREFIX.fullmatch(prefix or ""):
        raise ValueError(f"metric prefix {prefix!r} is not a Prometheus name: letters, digits and _")
    return f"{prefix}_registry_champion_info"


def registry_job(prefix: str) -> str:
    return f"{prefix}-registry"


def pushgateway_url() -> str:
    """The configured Pushgateway (`host:port` or a URL), empty when nothing is pushed."""
    return os.environ.get(PUSHGATEWAY_URL_ENV, "").strip()


def champion_registry(model_name: str, version: str, prefix: str):
    """The registry's champion as an info metric."""
    from prometheus_client import CollectorRegistry, Gauge

    registry = CollectorRegistry()
    Gauge(
        champion_info(prefix),
        "the registered version the champion alias points at",
        ("bundle_name", "bundle_version"),
        registry=registry,
    ).labels(model_name, str(version)).set(1.0)
    return registry


def push(url: str, job: str, registry) -> None:
    """Push one job's metrics; a configured gateway that refuses fails with its URL named."""
    from prometheus_client import push_to_gateway

    try:
        push_to_gateway(url, job=job, registry=registry, timeout=10)
    except OSError as error:
        raise RuntimeError(
            f"could not push the {job} metrics to the Pushgateway at {url} "
            f"(set by {PUSHGATEWAY_URL_ENV}): {error}"
        ) from error


def push_champion(model_name: str, version: str, prefix: str, url: str | None = None) -> bool:
    """Push `version` as the champion of `model_name`, under the metric prefix `prefix`, when a
    Pushgateway is configured; False when none is."""
    url = pushgateway_url() if url is None else url
    if not url or not version:
        return False
    push(url, registry_job(prefix), champion_registry(model_name, version, prefix))
    return True
