"""The score histogram's bulk observation (`seldon.metrics._observe_many`) writes prometheus-client's
private bucket and sum values: no public API adds many observations at once. This test pins it
against the library as the server runs it: the serving environment's prometheus-client, in
multiprocess mode, merged from the worker's files on scrape. The bulk call must leave exactly the
samples one `observe` per value leaves (in the pipeline environment's prometheus-client:
tests/unit/serving/test_serving_parts.py, test_many_rows_count_like_one_at_a_time)."""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest

from tests.support import REPO, SERVING_PYTHON

# on an edge, between edges, above the last edge (+Inf), many in one bucket
VALUES = [0.05, 0.07, 0.35, 0.3500001, 0.99, 1.0, 1.5, *np.linspace(0.0, 1.2, 997).tolist()]

COMPARE = """
import json, os, sys, tempfile
os.environ["prometheus_multiproc_dir"] = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
import numpy as np
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.multiprocess import MultiProcessCollector
from seldon.metrics import SCORE_EDGES, _observe_many
values = np.array(json.loads(sys.argv[1]))
owned = CollectorRegistry()
bulk, each = (Histogram(name, name, buckets=SCORE_EDGES, registry=owned) for name in ("bulk", "each"))
_observe_many(bulk, SCORE_EDGES, values)
for value in values.tolist():
    each.observe(value)
scraped = CollectorRegistry()
MultiProcessCollector(scraped)
def sample(s):
    return s.name.split("_")[-1], sorted(s.labels.items()), round(s.value, 9)
samples = {family.name: sorted(sample(s) for s in family.samples) for family in scraped.collect()}
print(json.dumps(samples))
"""


def test_bulk_observation_equals_one_observe_per_value_in_the_serving_environment():
    if not SERVING_PYTHON.exists():
        pytest.fail("no .venv-serving: run `make setup-serving` first")
    done = subprocess.run(
        [str(SERVING_PYTHON), "-c", COMPARE, json.dumps(VALUES)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    samples = json.loads(done.stdout)
    assert samples["bulk"] == samples["each"]
    buckets = {labels[0][1]: value for name, labels, value in samples["bulk"] if name == "bucket"}
    assert buckets["+Inf"] == len(VALUES) and buckets["1.0"] < len(VALUES)  # 1.5 and above: +Inf only
