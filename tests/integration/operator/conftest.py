"""The operator's view, one fixture chain of real processes shared by the tests of this folder:

a Pushgateway (Debian's binary) -> a real `mlflow server` -> two local training runs (their
champion pushed) -> a real monitoring run that pushes its figures (and retrains) -> the Seldon
microservice serving two registered versions, swapped once, with traffic -> a real Prometheus
scraping the microservice and the Pushgateway (honor_labels, as in production) with our rules.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

import pytest
import requests

from core.gate import GateDecision
from core.model import Hyperparameters
from core.monitoring import MonitoringThresholds
from tests.integration.mlflow_server import free_port, mlflow_server
from tests.support.processes import start_ready, stop_group
from tests.support.system_tools import pushgateway_assets, start_prometheus, system_binary, wait_for

# Train on January 2013, hold out February (two sizes, two versions); monitor March's first week.
AS_OF = datetime(2013, 3, 1)
DATA = {"source_dir": "", "train_months": 1, "holdout_months": 1}
SMALL = Hyperparameters(max_iter=15, max_leaf_nodes=8, learning_rate=0.1, early_stopping=False)
LARGER = Hyperparameters(max_iter=25, max_leaf_nodes=8, learning_rate=0.1, early_stopping=False)
PERIOD = (datetime(2013, 3, 1), datetime(2013, 3, 8))
# Any rise of the log loss counts as decay: the run takes the decay path (and retrains) for sure.
DECAY_ALWAYS = MonitoringThresholds(max_log_loss_rise=-10.0, max_feature_psi=1e9, max_score_psi=1e9)
PROMETHEUS_JOBS = ("flights-serving", "pushgateway")


@pytest.fixture(scope="session")
def pushgateway(tmp_path_factory):
    """Debian's prometheus-pushgateway on a free loopback port; yields its address."""
    base = tmp_path_factory.mktemp("pushgateway")
    address = f"127.0.0.1:{free_port()}"
    process = start_ready(
        [
            system_binary("prometheus-pushgateway"),
            f"--web.listen-address={address}",
            f"--web.local-assets={pushgateway_assets()}",
        ],
        f"http://{address}/-/ready",
        base / "pushgateway.log",
    )
    try:
        yield address
    finally:
        stop_group(process, timeout=10)


@dataclass
class Loop:
    tracking_uri: str
    decisions: dict[str, GateDecision]  # the two trainings, by version
    report: object = None  # the monitoring run's MonitoringReport
    retrain: GateDecision | None = None


@pytest.fixture(scope="session")
def loop(tmp_path_factory, pushgateway):
    """Two trainings and one monitoring run against a real tracking server, pushing to the
    Pushgateway as production would (PUSHGATEWAY_URL set for the whole chain)."""
    from tasks.data import DataConfig
    from workflows.monitoring import monitoring_workflow
    from workflows.training import training_workflow

    base = tmp_path_factory.mktemp("operator-loop")
    with mlflow_server(base / "mlflow") as uri:
        with pytest.MonkeyPatch.context() as patch:  # only while the loop runs: no leak to other tests
            patch.setenv("MLFLOW_TRACKING_URI", uri)
            patch.setenv("PUSHGATEWAY_URL", pushgateway)
            data = DataConfig(**DATA)
            decisions = [
                training_workflow(as_of=AS_OF, data=data, hyperparameters=hyperparameters)
                for hyperparameters in (SMALL, LARGER)
            ]
            outcome = monitoring_workflow(
                start=PERIOD[0], end=PERIOD[1], thresholds=DECAY_ALWAYS, data=data, hyperparameters=SMALL
            )
        yield Loop(uri, {d.version: d for d in decisions}, outcome.report, outcome.gate)


@dataclass
class Served:
    server: object  # serving_support.Server
    champion: str  # the registry's champion after the loop
    version: str  # the version served at the end: another one, pinned by hand


@pytest.fixture(scope="session")
def served(tmp_path_factory, loop):
    """The microservice (one worker) starting on the registry's champion, then pointed at another
    registered version (an operator pinning an old one), with traffic: good rows, an unknown
    category, a request breaking a rule (4xx)."""
    from core import registry
    from seldon.pointer import write_pointer
    from tests.integration.serving.serving_support import Server, make_root, sample_records

    base = tmp_path_factory.mktemp("operator-served")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_TRACKING_URI", loop.tracking_uri)
        champion = registry.alias_version(registry.MODEL_NAME, "champion")
        other = next(v for v in sorted(loop.decisions) if v != champion)
        bundles = {
            v: registry.download_bundle(registry.MODEL_NAME, v, base / f"bundle-{v}")
            for v in (champion, other)
        }
    root = make_root(base, bundles, current=champion)
    server = Server(root, env={"REQUEST_LOG_DIR": str(base / "request-log")}, workers=1).start()
    try:
        records = sample_records(*PERIOD, 60)
        for record in records[:20]:
            assert server.predict({"jsonData": record}).status_code == 200
        write_pointer(root, other)  # the worker swaps on its next request
        deadline = time.monotonic() + 60
        while True:
            assert time.monotonic() < deadline, f"no swap to version {other}:\n{server.log()[-3000:]}"
            answer = server.predict({"jsonData": records[20]})
            assert answer.status_code == 200, answer.text
            if answer.json()["meta"]["tags"]["model_version"] == other:
                break
            time.sleep(0.2)
        for record in records[21:]:
            assert server.predict({"jsonData": record}).status_code == 200
        # the readiness probe's job in a cluster (every 5 s): each call's copy of the model info
        # is true as of that call, so the health copy must see the swap too
        assert requests.get(f"{server.url}/health/status", timeout=5).status_code == 200
        assert server.predict({"jsonData": dict(records[0], carrier="ZZ")}).status_code == 200
        assert server.predict({"jsonData": dict(records[0], arr_hour=-3)}).status_code == 400
        yield Served(server, champion, other)
    finally:
        server.stop()


@pytest.fixture(scope="session")
def prometheus(tmp_path_factory, served, pushgateway):
    """A real Prometheus scraping the microservice and the Pushgateway every second, with the
    PrometheusRule's groups evaluated every second."""
    base = tmp_path_factory.mktemp("prometheus")
    scrape_configs = [
        {
            "job_name": "flights-serving",
            "metrics_path": "/metrics",
            "static_configs": [{"targets": [f"127.0.0.1:{served.server.metrics_port}"]}],
        },
        {
            "job_name": "pushgateway",
            "honor_labels": True,  # keep the pushed job label (flights-monitoring, flights-registry)
            "static_configs": [{"targets": [pushgateway]}],
        },
    ]
    address = f"127.0.0.1:{free_port()}"
    process = start_prometheus(base, scrape_configs, address)
    url = f"http://{address}"
    try:
        for job in PROMETHEUS_JOBS:
            wait_for(url, f'up{{job="{job}"}} == 1', lambda r: len(r) == 1)
        yield url
    finally:
        stop_group(process, timeout=10)
