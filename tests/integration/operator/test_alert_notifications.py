"""A firing alert reaches a person once, routed by its severity, and its end too: real processes.

A local HTTP server is both a tiny exporter (a gauge per component the test sets) and the webhook
the receivers call; Debian's Prometheus scrapes it and evaluates rules that carry the labels the
project's rules promise (`severity`, `component`, `impact: outage`); Debian's Alertmanager runs
deploy/alertmanager/alertmanager.yml as it is (routes, grouping, inhibition), with only the
webhook addresses, the token file and the timings shortened to seconds.

The serving component goes down: its outage pages, its two symptoms (one that would page, one
that would open a ticket) stay quiet; the monitoring component, stale at the same time, opens a
ticket. The page receiver gets exactly one notification (the outage alone) and the ticket
receiver one (monitoring's); when the causes go, each gets exactly one resolved notification.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests
import yaml

from tests.support import REPO, free_port
from tests.support.processes import start_ready, stop_group
from tests.support.system_tools import query, system_binary

pytestmark = pytest.mark.slow

CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
FAST = {"group_wait": "1s", "group_interval": "1s", "repeat_interval": "1h"}
QUIET_SECONDS = 4  # four group intervals: any further notification would have been sent by then

# The symptoms come before the outage in the group: Prometheus sends each rule's alerts as it
# evaluates it, so when the causes go, the symptoms' end reaches Alertmanager before the outage's
# and no symptom is ever seen firing without its outage.
RULES = {
    "groups": [
        {
            "name": "notification-test",
            "interval": "1s",
            "rules": [
                {
                    "alert": "ServingLatencyHigh",
                    "expr": 'component_up{component="serving"} == 0',
                    "labels": {"severity": "page", "component": "serving"},
                },
                {
                    "alert": "ServingRejectsHigh",
                    "expr": 'component_up{component="serving"} == 0',
                    "labels": {"severity": "ticket", "component": "serving"},
                },
                {
                    "alert": "ServingDown",
                    "expr": 'component_up{component="serving"} == 0',
                    "labels": {"severity": "page", "component": "serving", "impact": "outage"},
                },
                {
                    "alert": "MonitoringStale",
                    "expr": 'component_up{component="monitoring"} == 0',
                    "labels": {"severity": "ticket", "component": "monitoring"},
                },
            ],
        }
    ]
}


@dataclass
class Endpoint:
    """The exporter's gauges and what the webhook received: (path, Authorization, body)."""

    up: dict[str, int] = field(default_factory=lambda: {"serving": 1, "monitoring": 1})
    received: list[tuple[str, str, dict]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def notifications(self, receiver: str) -> list[dict]:
        with self.lock:
            return [body for path, _, body in self.received if path == f"/{receiver}"]


def _handler(endpoint: Endpoint):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            text = "".join(f'component_up{{component="{c}"}} {v}\n' for c, v in endpoint.up.items())
            self._answer(text.encode())

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with endpoint.lock:
                endpoint.received.append((self.path, self.headers.get("Authorization", ""), body))
            self._answer(b"")

        def _answer(self, payload: bytes):
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):  # keep the test's output to the assertions
            pass

    return Handler


@pytest.fixture
def endpoint() -> Iterator[tuple[Endpoint, str]]:
    state = Endpoint()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def _shortened(config: dict, webhook: str, token_file: Path) -> dict:
    """The repository's config with its receivers pointed at `webhook` and second-long timings;
    routes, matchers, grouping and inhibition unchanged."""
    routes = [config["route"]]
    while routes:
        route = routes.pop()
        route.update({k: v for k, v in FAST.items() if k in route or route is config["route"]})
        routes.extend(route.get("routes", []))
    for receiver in config["receivers"]:
        for hook in receiver["webhook_configs"]:
            hook["url"] = f"http://{webhook}/{receiver['name']}"
            hook["http_config"]["authorization"]["credentials_file"] = str(token_file)
    return config


def _until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what} within {timeout} s")


def test_an_outage_pages_once_without_its_symptoms_and_resolves(endpoint, tmp_path):
    state, webhook = endpoint
    token = "token-for-the-notification-test"
    (tmp_path / "token").write_text(token)
    config = _shortened(yaml.safe_load(CONFIG.read_text()), webhook, tmp_path / "token")
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(RULES))
    alertmanager_address = f"127.0.0.1:{free_port()}"
    prometheus_config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yml"],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager_address]}]}]},
        "scrape_configs": [{"job_name": "components", "static_configs": [{"targets": [webhook]}]}],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(prometheus_config))
    alertmanager = start_ready(
        [
            str(REPO / "scripts" / "alertmanager.sh"),
            f"--config.file={tmp_path / 'alertmanager.yml'}",
            f"--storage.path={tmp_path / 'alertmanager'}",
            f"--web.listen-address={alertmanager_address}",
            "--cluster.listen-address=",  # one instance: no gossip port
        ],
        f"http://{alertmanager_address}/-/ready",
        tmp_path / "alertmanager.log",
    )
    prometheus_address = f"127.0.0.1:{free_port()}"
    prometheus = None
    try:
        prometheus = start_ready(
            [
                system_binary("prometheus"),
                f"--config.file={tmp_path / 'prometheus.yml'}",
                f"--storage.tsdb.path={tmp_path / 'prometheus'}",
                f"--web.listen-address={prometheus_address}",
            ],
            f"http://{prometheus_address}/-/ready",
            tmp_path / "prometheus.log",
        )
        prometheus_url = f"http://{prometheus_address}"
        _until(lambda: len(query(prometheus_url, "component_up == 1")) == 2, 30, "both components scraped up")
        assert query(prometheus_url, "ALERTS") == []

        state.up.update(serving=0, monitoring=0)  # the causes
        pages = _until(lambda: state.notifications("page"), 30, "a page")
        _until(lambda: state.notifications("ticket"), 30, "a ticket")
        alerts = requests.get(f"http://{alertmanager_address}/api/v2/alerts", timeout=5).json()
        by_name = {a["labels"]["alertname"]: a for a in alerts}
        assert set(by_name) == {"ServingDown", "ServingLatencyHigh", "ServingRejectsHigh", "MonitoringStale"}
        outage = by_name["ServingDown"]["fingerprint"]
        for symptom in ("ServingLatencyHigh", "ServingRejectsHigh"):
            status = by_name[symptom]["status"]
            assert status["state"] == "suppressed" and outage in status["inhibitedBy"], (symptom, status)
        assert by_name["MonitoringStale"]["status"]["state"] == "active"
        time.sleep(QUIET_SECONDS)

        pages, tickets = state.notifications("page"), state.notifications("ticket")
        assert len(pages) == 1, pages
        assert len(tickets) == 1, tickets
        page, ticket = pages[0], tickets[0]
        assert (page["receiver"], page["status"]) == ("page", "firing")
        assert [a["labels"]["alertname"] for a in page["alerts"]] == ["ServingDown"]
        assert page["groupLabels"] == {"component": "serving"}  # one page per component
        assert (ticket["receiver"], ticket["status"]) == ("ticket", "firing")
        assert [a["labels"]["alertname"] for a in ticket["alerts"]] == ["MonitoringStale"]

        state.up.update(serving=1, monitoring=1)  # the causes go
        _until(lambda: len(state.notifications("page")) == 2, 30, "the page resolved")
        _until(lambda: len(state.notifications("ticket")) == 2, 30, "the ticket resolved")
        time.sleep(QUIET_SECONDS)

        pages, tickets = state.notifications("page"), state.notifications("ticket")
        assert [p["status"] for p in pages] == ["firing", "resolved"], pages
        assert [t["status"] for t in tickets] == ["firing", "resolved"], tickets
        assert pages[1]["groupKey"] == pages[0]["groupKey"]
        # The end of the outage, and of the symptom grouped with it, which was never paged: a
        # resolved notification lists every alert of the group that ended.
        ended = {a["labels"]["alertname"]: a["status"] for a in pages[1]["alerts"]}
        assert ended["ServingDown"] == "resolved" and set(ended.values()) == {"resolved"}, ended
        assert set(ended) <= {"ServingDown", "ServingLatencyHigh"}
        assert {auth for _, auth, _ in state.received} == {f"Bearer {token}"}  # read from the file
        assert token not in (tmp_path / "alertmanager.log").read_text()
    finally:
        if prometheus is not None:
            stop_group(prometheus, timeout=10)
        stop_group(alertmanager, timeout=10)
