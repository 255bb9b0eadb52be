"""Changes to the stock wrapper that no request shows: the bind host and the skipped empty update
of Seldon's custom-metrics store (`seldon/wrapper_changes.py`, entries 1 and 3)."""

from __future__ import annotations

import subprocess

from serving_support import REPO, SERVING_PYTHON

LOOPBACK_HEX = "0100007F"  # 127.0.0.1 as /proc/net/tcp writes it


def _listening_addresses(port: int) -> set[str]:
    found = set()
    for line in open("/proc/net/tcp").read().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
            found.add(address)
    return found


def test_the_server_listens_on_the_bind_host_only(server):
    assert _listening_addresses(server.http_port) == {LOOPBACK_HEX}


def test_an_empty_custom_metrics_update_is_skipped_and_a_real_one_kept(tmp_path):
    script = f"""
from pathlib import Path
from seldon_core.metrics import SeldonMetrics
calls = []
SeldonMetrics.update = lambda self, metrics, method: calls.append(metrics)
from seldon import wrapper_changes
wrapper_changes.merge_model_metrics(Path({str(tmp_path)!r}))
SeldonMetrics.update(None, [], "predict")
SeldonMetrics.update(None, [{{"key": "k", "type": "COUNTER", "value": 1}}], "predict")
print(calls)
"""
    done = subprocess.run(
        [str(SERVING_PYTHON), "-c", script], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[[{'key': 'k', 'type': 'COUNTER', 'value': 1}]]"
