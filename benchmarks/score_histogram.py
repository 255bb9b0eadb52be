"""Cost of the score histogram for one request, as the server writes it (prometheus-client's
multiprocess mode, in the serving environment): `seldon.metrics._observe_many`, one update per
bucket, against the public route, one `Histogram.observe` per row.

    PYTHONPATH=. .venv-serving/bin/python benchmarks/score_histogram.py

Prints one JSON line: median microseconds of each, by request rows, and their ratio.
"""

from __future__ import annotations

import json
import os
import tempfile

# before prometheus_client is imported: its value class is chosen at import
os.environ["PROMETHEUS_MULTIPROC_DIR"] = os.environ["prometheus_multiproc_dir"] = tempfile.mkdtemp()

import numpy as np  # noqa: E402
from prometheus_client import CollectorRegistry, Histogram  # noqa: E402

from benchmarks.serving_floor import median_ms  # noqa: E402
from seldon.metrics import SCORE_EDGES, _observe_many  # noqa: E402

ROWS = (1, 10, 100, 1000)
REPEATS = 300
MS = 1e3  # microseconds in a millisecond


def main() -> None:
    registry = CollectorRegistry()
    bulk = Histogram("bulk", "bulk", buckets=SCORE_EDGES, registry=registry)
    each = Histogram("each", "each", buckets=SCORE_EDGES, registry=registry)
    scores = np.random.default_rng(0).beta(2, 6, max(ROWS))  # about the served score distribution
    table = {}
    for rows in ROWS:
        values = scores[:rows]
        bulk_us = MS * median_ms(lambda values=values: _observe_many(bulk, SCORE_EDGES, values), REPEATS)
        each_us = MS * median_ms(lambda values=values: [each.observe(v) for v in values.tolist()], REPEATS)
        table[rows] = {
            "bulk_us": round(bulk_us, 1),
            "per_value_us": round(each_us, 1),
            "ratio": round(each_us / bulk_us, 1),
        }
    print(json.dumps(table))


if __name__ == "__main__":
    main()
