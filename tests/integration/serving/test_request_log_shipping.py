"""Two replicas ship their request logs to a real MLflow server's artifact proxy (the use
case's own location, `experiments:/<model>-request-logs/request-logs`, resolved to the
experiment's `mlflow-artifacts:/<id>/...`), and monitoring reads exactly their requests back:
through the store going down and coming back, and a replica stopped with SIGTERM."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from serving_support import Server, load_cases, make_root

from contract import log_store
from contract.log_segments import closed_segments, open_segments
from contract.request_log import iter_request_lines
from tests.integration.mlflow_server import free_port, mlflow_server
from tests.support import deployment_env
from tests.support.processes import REPO, stop_group

STORE = log_store.location("flights-late-arrival")  # the served bundles' model
# one real flight as a caller sends it: the scheduled departure and tail number, no features
# the online store gives
RECORD = load_cases().records()[0]


class Replica:
    """One serving process and its shipper, sharing a request-log directory (a pod)."""

    def __init__(self, base: Path, name: str, bundles, uri: str, segment_seconds: float) -> None:
        self.name, self.uri = name, uri
        self.log_dir = base / name / "request-log"
        self.server = Server(
            make_root(base / name, bundles),
            workers=1,
            env={
                "REQUEST_LOG_DIR": str(self.log_dir),
                "REQUEST_LOG_SEGMENT_SECONDS": str(segment_seconds),
                "REQUEST_LOG_KEEP_SEGMENTS": "0",
                "SHADOW_SHARE": "1",  # a challenger, when given one, scores every request
            },
        )
        self.shipper: subprocess.Popen | None = None

    def start(self) -> Replica:
        self.server.start()
        self.start_shipper()
        return self

    def start_shipper(self) -> None:
        log = self.log_dir.parent / "ship.log"
        started = log.read_text().count(" as replica ") if log.exists() else 0
        self.shipper = subprocess.Popen(
            [sys.executable, "-m", "seldon.ship", "--dir", str(self.log_dir), "--to", STORE,
             "--replica", self.name, "--interval", "0.5"],
            cwd=REPO,
            env={**os.environ, **deployment_env(), "PYTHONPATH": str(REPO), "MLFLOW_TRACKING_URI": self.uri},
            stdout=open(log, "a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        wait_until(
            lambda: log.read_text().count(" as replica ") > started, what=f"{self.name}'s shipper started"
        )

    def send(self, prefix: str, count: int) -> None:
        for index in range(count):
            response = self.server.predict(
                {"jsonData": RECORD}, headers={"X-Request-Id": f"{prefix}-{index}"}
            )
            assert response.status_code == 200, response.text  # no 5xx, whatever the store does

    def local_ids(self) -> set[str]:
        return {line["request_id"] for line in iter_request_lines(self.log_dir)}

    def stop(self) -> None:
        self.server.stop()
        if self.shipper is not None:
            stop_group(self.shipper, timeout=30)


def shipped_ids(prefix: str = "") -> list[str]:
    from core.request_logs import read_location

    now = datetime.now(UTC).replace(tzinfo=None)
    rows = read_location(STORE, now - timedelta(hours=1))[0]
    return sorted(r["request_id"] for r in rows if r["request_id"].startswith(prefix))


def wait_until(check, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {timeout} s: {what}")
        time.sleep(0.3)


class Store:
    """The MLflow server the replicas ship to; stop() and start() again: an outage and its end."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self._running = ExitStack()

    def start(self) -> Store:
        # a loaded machine can take minutes to start it
        self._running.enter_context(mlflow_server(self.directory, port=self.port, startup_timeout=300))
        return self

    def stop(self) -> None:
        self._running.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, bundles):
    """An MLflow server and two replicas shipping to it."""
    base = tmp_path_factory.mktemp("shipping")
    with ExitStack() as stack:
        store = Store(base / "mlflow").start()
        stack.callback(store.stop)
        uri = store.uri
        from mlflow import MlflowClient

        # what scripts/registry_access.py makes on a server with authentication
        MlflowClient(tracking_uri=uri).create_experiment(log_store.parse(STORE)[0])
        replicas = {
            "r1": Replica(base, "r1", bundles, uri, segment_seconds=1),  # closes by age
            "r2": Replica(base, "r2", bundles, uri, segment_seconds=3600),  # closes only at exit
        }
        for replica in replicas.values():
            stack.callback(replica.stop)
            replica.start()
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("MLFLOW_TRACKING_URI", uri)
            yield {"base": base, "store": store, **replicas}


def test_two_replicas_ship_and_monitoring_counts_exactly_both(cluster):
    r1, r2 = cluster["r1"], cluster["r2"]
    r1.send("both-r1", 25)
    r2.send("both-r2", 15)
    expected = sorted([f"both-r1-{i}" for i in range(25)] + [f"both-r2-{i}" for i in range(15)])
    wait_until(lambda: len(shipped_ids("both-r1")) == 25, what="r1's segments shipped")
    assert shipped_ids("both-r2") == []  # r2's segment is still open

    # SIGTERM (a pod stopped): the worker closes its open segment as it exits, the shipper drains
    os.killpg(r2.server.process.pid, signal.SIGTERM)
    r2.server.process.wait(timeout=30)
    assert not open_segments(r2.log_dir)  # closed by the worker itself, not adopted later
    os.killpg(r2.shipper.pid, signal.SIGTERM)
    assert r2.shipper.wait(timeout=40) == 0
    assert not closed_segments(r2.log_dir)
    assert shipped_ids("both-") == expected  # each request once, from both replicas
    r2.server.start()
    r2.start_shipper()


def test_store_down_segments_wait_on_disk_and_ship_on_recovery(cluster):
    r1 = cluster["r1"]
    store = cluster["store"]
    store.stop()
    try:
        r1.send("outage", 30)  # every answer a 200 while the store is down
        wait_until(lambda: not open_segments(r1.log_dir), what="segments closed by age")
        time.sleep(2)  # several shipping cycles fail
        assert {f"outage-{i}" for i in range(30)} <= r1.local_ids()
        assert closed_segments(r1.log_dir)
    finally:
        store.start()
    wait_until(lambda: len(shipped_ids("outage")) == 30, timeout=90, what="shipped after recovery")
    assert shipped_ids("outage") == sorted(f"outage-{i}" for i in range(30))
    assert not closed_segments(r1.log_dir)


def test_kill_9_of_a_worker_under_traffic_loses_no_answered_request(cluster):
    """A worker serving a shadow challenger is killed with SIGKILL mid-traffic. Each prediction's
    line is written and flushed before its answer, and the dead worker's open segment is adopted
    by the shipper through its free lock, so no answered request is lost: only the challenger's
    queued scores can be (they follow in batches, `scoring.shadow`); the figure is in
    docs/deploy.md."""
    import threading

    import requests

    from contract.request_log import SHADOW
    from seldon.pointer import CHALLENGER_POINTER_FILE, write_pointer

    r2 = cluster["r2"]  # one worker, segments closed only at exit: the kill hits an open segment
    write_pointer(r2.server.root, "2", name=CHALLENGER_POINTER_FILE)

    def shadowing() -> bool:
        r2.send("shadow-on", 1)
        return any(line.get("kind") == SHADOW for line in iter_request_lines(r2.log_dir))

    wait_until(shadowing, what="r2's worker scoring the challenger")
    (worker,) = [int(p.name.split("-")[1].split(".")[0]) for p in open_segments(r2.log_dir)]
    answered: list[str] = []
    stop = threading.Event()

    def traffic() -> None:
        index = 0
        while not stop.is_set():
            request_id = f"kill9-{index}"
            index += 1
            try:
                response = r2.server.predict({"jsonData": RECORD}, headers={"X-Request-Id": request_id})
            except requests.RequestException:  # the request the kill cut off
                continue
            if response.status_code == 200:
                answered.append(request_id)

    sender = threading.Thread(target=traffic)
    sender.start()
    try:
        wait_until(lambda: len(answered) >= 150, what="traffic before the kill")
        os.kill(worker, signal.SIGKILL)
        at_kill = len(answered)
        wait_until(lambda: len(answered) >= at_kill + 150, timeout=120, what="traffic after the restart")
    finally:
        stop.set()
        sender.join(timeout=30)
    # the replacement worker's segment closes at its exit (SIGTERM), then everything can ship
    os.killpg(r2.server.process.pid, signal.SIGTERM)
    r2.server.process.wait(timeout=30)
    wait_until(lambda: not closed_segments(r2.log_dir) and not open_segments(r2.log_dir), timeout=90)
    shipped = shipped_ids("kill9-")
    lost = set(answered) - set(shipped)
    # the figure in docs/deploy.md (pytest --log-cli-level=INFO shows it)
    logging.getLogger(__name__).info("kill -9: %d answered, %d lost", len(answered), len(lost))
    assert len(shipped) == len(set(shipped))  # each line once
    assert not lost, (sorted(lost), at_kill)
    assert len(answered) >= 300
    (r2.server.root / CHALLENGER_POINTER_FILE).unlink()
    r2.server.start()
