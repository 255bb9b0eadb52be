"""Faults injected into the real microservice under load, and what it promises about each."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from serving_support import Server, make_root, metric_sum, parse_metrics

from contract.request_log import read_request_log

pytestmark = pytest.mark.slow
PREDICT = "/api/v1.0/predictions"
FAILURES = "flights_request_log_failures_total"


@dataclass
class Load:
    """Closed-loop clients recording (sent_at, answered_at, status or exception name). A request
    counts as sent once its connection is made: from then on the kernel holds it in the server's
    backlog, and the server owes it an answer. (A time taken before the client had encoded the
    body and connected let a request sent after SIGTERM pass for one sent before it.)"""

    url: str
    bodies: list
    clients: int = 4
    results: list = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list = field(default_factory=list)

    def _client(self, offset: int, encoded: list[bytes]) -> None:
        address = urlsplit(self.url)
        index = offset
        while not self.stop.is_set():
            body = encoded[index % len(encoded)]
            index += self.clients
            connection = http.client.HTTPConnection(address.hostname, address.port, timeout=30)
            try:
                connection.connect()
            except ConnectionRefusedError:  # never reached a server: nothing was in flight
                now = time.monotonic()
                self.results.append((now, now, "refused"))
                continue
            sent = time.monotonic()
            try:
                connection.request("POST", PREDICT, body=body, headers={"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                status: int | str = response.status
            except (OSError, http.client.HTTPException) as exc:
                status = type(exc).__name__
            finally:
                connection.close()
            self.results.append((sent, time.monotonic(), status))

    def __enter__(self) -> Load:
        encoded = [json.dumps(body).encode() for body in self.bodies]
        self.threads = [threading.Thread(target=self._client, args=(i, encoded)) for i in range(self.clients)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=60)


def worker_pids(log_dir) -> set[int]:
    """Gunicorn workers of the REST server: each writes requests-<pid>.jsonl."""
    pids = {int(p.name.split("-")[1].split(".")[0]) for p in log_dir.glob("requests-*.jsonl")}
    return {pid for pid in pids if os.path.exists(f"/proc/{pid}")}


def _alive(pid: int) -> bool:
    """The process runs (not a zombie, not reaped)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_a_worker_killed_during_load_fails_only_its_requests_in_flight(tmp_path, bundles, july_records):
    root = make_root(tmp_path, {"1": bundles["1"]})
    log_dir = tmp_path / "request-log"
    server = Server(root, env={"REQUEST_LOG_DIR": str(log_dir)}).start()
    bodies = [{"jsonData": r} for r in july_records[:200]]
    try:
        with Load(server.url, bodies, clients=4) as load:
            deadline = time.monotonic() + 30
            while len(worker_pids(log_dir)) < 2 and time.monotonic() < deadline:
                time.sleep(0.2)
            victims = sorted(worker_pids(log_dir))
            assert len(victims) == 2, victims
            time.sleep(1)
            killed_at = time.monotonic()
            os.kill(victims[0], signal.SIGKILL)
            # SIGKILL is delivered asynchronously: the worker may still accept a connection until
            # it is dead (a zombie until the arbiter reaps it, or gone)
            while _alive(victims[0]) and time.monotonic() < killed_at + 10:
                time.sleep(0.001)
            dead_at = time.monotonic()
            # the arbiter forks a new worker, which loads the bundle and serves again
            while len(worker_pids(log_dir) - {victims[0]}) < 2 and time.monotonic() < killed_at + 60:
                time.sleep(0.2)
            time.sleep(2)
        respawned = worker_pids(log_dir) - set(victims)
        assert respawned, "the killed worker was not replaced"
    finally:
        server.stop()
    failed = [r for r in load.results if r[2] != 200]
    ok = [r for r in load.results if r[2] == 200]
    # a request can fail only if it was in flight on the killed worker: sent before it died,
    # answered (with an error) after it. One per client at most, each client waits for its answer.
    in_flight = [sent <= dead_at and killed_at <= done for sent, done, _ in failed]
    assert all(in_flight), (killed_at, dead_at, failed)
    assert len(failed) <= load.clients, failed
    assert len(ok) > 100 and any(sent > killed_at + 1 for sent, _, _ in ok)
    print(f"worker killed: {len(ok)} answered, {len(failed)} failed in flight: {[f[2] for f in failed]}")


def test_sigterm_during_load_lets_requests_in_flight_finish(tmp_path, bundles, july_records):
    root = make_root(tmp_path, {"1": bundles["1"]})
    server = Server(root).start()
    batch = {"jsonData": july_records[:1000]}  # tens of ms each: SIGTERM lands mid-request
    try:
        with Load(server.url, [batch], clients=4) as load:  # 2 always wait in the backlog
            time.sleep(3)
            in_flight_before = len(load.results)
            term_at = time.monotonic()
            os.kill(server.process.pid, signal.SIGTERM)  # the arbiter, as the kubelet does
            server.process.wait(timeout=60)
            time.sleep(0.5)
    finally:
        server.stop()
    assert server.process.returncode == 0, server.log()[-2000:]
    assert in_flight_before > 4
    started_before = [r for r in load.results if r[0] < term_at]
    answered_in_flight = [r for r in started_before if r[1] > term_at]
    # every request the server had begun before SIGTERM was answered: no reset, no 5xx
    assert all(status == 200 for _, _, status in started_before), [r for r in started_before if r[2] != 200]
    assert answered_in_flight, "no request was in flight at SIGTERM"
    # requests sent after it may be answered or refused, never given a 5xx
    after = [status for sent, _, status in load.results if sent > term_at]
    assert not [s for s in after if isinstance(s, int) and s != 200], after


def test_request_log_unwritable_predictions_still_answered_and_failures_counted(
    tmp_path, bundles, july_records
):
    """The log directory disappears under the running server (a file takes its place: every
    open, rotation and mkdir fails), then comes back."""
    root = make_root(tmp_path, {"1": bundles["1"]})
    log_dir = tmp_path / "request-log"
    env = {"REQUEST_LOG_DIR": str(log_dir), "REQUEST_LOG_MAX_BYTES": "1"}  # rotate (reopen) every line
    server = Server(root, workers=1, env=env).start()
    body = {"jsonData": july_records[0]}

    def failures() -> float:
        requests.get(f"{server.url}/health/status", timeout=10)  # counters leave with any response
        return metric_sum(parse_metrics(requests.get(server.metrics_url, timeout=10).text), FAILURES)

    try:
        assert server.predict(body).status_code == 200
        assert failures() == 0
        shutil.rmtree(log_dir)
        log_dir.write_text("not a directory")
        answered = [server.predict(body).status_code for _ in range(10)]
        assert answered == [200] * 10
        assert failures() >= 10
        log_dir.unlink()  # the disk is back: lines are written again
        for _ in range(3):
            assert server.predict(body, headers={"X-Request-Id": "after-recovery"}).status_code == 200
        assert any(r["request_id"] == "after-recovery" for r in read_request_log(log_dir))
        assert "line(s) not written so far" in server.log()
    finally:
        server.stop()
