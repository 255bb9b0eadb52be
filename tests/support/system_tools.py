"""Where the tests find Debian's prometheus, promtool, prometheus-pushgateway and redis-server:
unpacked into .tools/system by `make setup-system` (no package installed, no service enabled); a
Prometheus started with the project's alert and recording rules, and its query API; a Redis on
loopback (scripts/redis_server.sh, the launcher `make serve` uses)."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import requests
import yaml

from tests.support import REPO
from tests.support.processes import start_ready, stop_group

SYSTEM = REPO / ".tools" / "system"


def system_binary(name: str) -> str:
    """The unpacked binary, else one on PATH; fails naming the command that provides it."""
    unpacked = SYSTEM / "usr" / "bin" / name
    if unpacked.is_file():
        return str(unpacked)
    found = shutil.which(name)
    assert found, f"{name} missing: run `make setup-system` (Debian's prometheus, prometheus-pushgateway)"
    return found


def pushgateway_assets() -> Path:
    """The Pushgateway's web page templates, which the binary reads from its package's directory."""
    return SYSTEM / "usr" / "share" / "prometheus" / "pushgateway"


def start_prometheus(base: Path, scrape_configs: list[dict], address: str) -> subprocess.Popen:
    """Debian's prometheus on `address` (`127.0.0.1:<port>`), ready, its files in `base`: it
    scrapes `scrape_configs` every second and evaluates the rules of the use case this process
    runs (seldon/k8s/usecases/<name>/rules.yaml) every second. Stop it with `stop_group`."""
    import usecases

    spec = yaml.safe_load((REPO / "seldon/k8s/usecases" / usecases.current().name / "rules.yaml").read_text())
    for group in spec["groups"]:
        group["interval"] = "1s"  # evaluate as often as we scrape, the tests are short
    (base / "rules.yaml").write_text(yaml.safe_dump(spec))
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": ["rules.yaml"],
        "scrape_configs": scrape_configs,
    }
    (base / "prometheus.yml").write_text(yaml.safe_dump(config))
    return start_ready(
        [
            system_binary("prometheus"),
            f"--config.file={base / 'prometheus.yml'}",
            f"--storage.tsdb.path={base / 'data'}",
            f"--web.listen-address={address}",
        ],
        f"http://{address}/-/ready",
        base / "prometheus.log",
    )


def query(url: str, promql: str) -> list[dict]:
    """The result of an instant query to the Prometheus at `url`."""
    answer = requests.get(f"{url}/api/v1/query", params={"query": promql}, timeout=10).json()
    assert answer["status"] == "success", answer
    return answer["data"]["result"]


def wait_for(url: str, promql: str, check, timeout: float = 30) -> list[dict]:
    """The first non-empty result of `promql` that passes `check`, polled every half second."""
    deadline = time.monotonic() + timeout
    result: list[dict] = []
    while time.monotonic() < deadline:
        result = query(url, promql)
        if result and check(result):
            return result
        time.sleep(0.5)
    raise AssertionError(f"{promql} never satisfied the check; last result {result}")


def start_redis(base: Path, port: int, timeout: float = 15) -> subprocess.Popen:
    """redis-server on 127.0.0.1:`port`, answering PING, its log in `base`. Stop it with `stop_group`."""
    import redis

    assert (SYSTEM / "usr" / "bin" / "redis-server").exists(), "redis-server missing: run `make setup-system`"
    log = base / f"redis-{port}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [str(REPO / "scripts" / "redis_server.sh"), str(port), str(base)],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    client = redis.Redis(port=port, socket_timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited: {log.read_text()[-2000:]}")
        try:
            if client.ping():
                return process
        except redis.ConnectionError:
            time.sleep(0.05)
    stop_group(process)
    raise TimeoutError(f"redis-server not ready after {timeout} s: {log.read_text()[-2000:]}")
