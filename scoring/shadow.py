"""The shadow challenger's scoring, in batches: the worker queues each shadowed request's checked
columns and scores the queue in one call once it holds `batch_rows` rows (after the answer that
filled it) or its oldest request is `batch_seconds` old (a thread of its own).

Why batches: the challenger's trees are as large as the champion's, and scoring them after every
request pushed the champion's trees out of the core's cache, so the next request's own scoring
took 1.70x as long, 1.02x with batches of 32 (`benchmarks/serving_shadow.py --cache`,
docs/serving.md#benchmark): a batch brings the challenger in once per `batch_rows` rows. The
trees' walk itself costs the same per row either way.

The serving session (`seldon.session`) writes the prediction's log line at once, as without a
challenger; the challenger's scores follow through `write(request_id, version, probabilities)`
as a `shadow` line under the request's id (`contract.request_log`), so a worker killed with
SIGKILL loses at most the queued scores, never a prediction. SIGTERM scores the queue before the
request log closes (atexit runs the later registration first). A request above `max_rows` rows
is not queued; a batch the challenger fails on is scored request by request, so that one request
it cannot score costs only its own scores. Each outcome goes to `count(outcome)`: `scored`,
`too_many_rows`, `failed` (the worker's `<prefix>_shadow_requests_total{outcome}`).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable

import numpy as np

from scoring.predictor import Predictor
from scoring.validation import Checked

DEFAULT_BATCH_ROWS = 32
DEFAULT_BATCH_SECONDS = 1.0

logger = logging.getLogger(__name__)

Queued = tuple[Predictor, str, Checked]  # the challenger it was queued for, request id, columns
Write = Callable[[str, str, list[float]], None]  # request id, challenger version, probabilities


class ShadowQueue:
    def __init__(
        self,
        write: Write,
        count: Callable[[str], None],
        max_rows: int,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        batch_seconds: float = DEFAULT_BATCH_SECONDS,
    ) -> None:
        self.write = write
        self.count = count
        self.max_rows = max_rows
        self.batch_rows = batch_rows
        self.batch_seconds = batch_seconds
        self._queued: list[Queued] = []
        self._rows = 0
        self._oldest = 0.0  # monotonic time the oldest queued request was queued
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        if batch_seconds > 0:
            threading.Thread(target=self._flush_when_due, name="shadow-batch", daemon=True).start()
        atexit.register(self.close)  # made after the request log: atexit runs this first

    def add(self, challenger: Predictor, request_id: str, checked: Checked) -> bool:
        """Queue a request for the challenger; True when the queue is due (the caller runs
        `flush`, after its answer). A request above `max_rows` rows is counted, not queued."""
        if checked.n_rows > self.max_rows:
            self.count("too_many_rows")
            return False
        with self._lock:
            if not self._queued:
                self._oldest = time.monotonic()
            self._queued.append((challenger, request_id, checked))
            self._rows += checked.n_rows
            return self._rows >= self.batch_rows

    def flush(self) -> None:
        """Score what is queued, one call per challenger, and log each request's scores."""
        with self._lock:
            queued, self._queued, self._rows = self._queued, [], 0
        start = 0
        for end in range(1, len(queued) + 1):  # runs of one challenger (it changes at a swap)
            if end == len(queued) or queued[end][0] is not queued[start][0]:
                self._score(queued[start:end])
                start = end

    def close(self) -> None:
        self._stopped.set()
        self.flush()

    def _score(self, queued: list[Queued]) -> None:
        challenger = queued[0][0]
        try:
            scores = score_together(challenger, [checked for _, _, checked in queued])
        except Exception as exc:  # the champion answered; the challenger's failure is only counted
            if len(queued) > 1:  # find the request it fails on: the others keep their scores
                for one in queued:
                    self._score([one])
                return
            self.count("failed")
            logger.debug("challenger version %s failed on a request: %r", challenger.version, exc)
            return
        offset = 0
        for _, request_id, checked in queued:
            self.count("scored")  # counted before the line: a reader of the line sees it
            self.write(request_id, challenger.version, scores[offset : offset + checked.n_rows].tolist())
            offset += checked.n_rows

    def _flush_when_due(self) -> None:
        tick = self.batch_seconds / 4
        while not self._stopped.wait(tick):
            with self._lock:
                due = bool(self._queued) and time.monotonic() - self._oldest >= self.batch_seconds
            if due:
                try:
                    self.flush()
                except Exception:  # never let the thread die: the next tick tries again
                    logger.exception("shadow batch not scored")


def score_together(challenger: Predictor, requests: list[Checked]) -> np.ndarray:
    """The challenger's probabilities of every row of `requests`, in order: their encoded rows
    stacked and scored as one matrix (in pieces the compiled trees take, so each row gets the
    number it would get alone)."""
    matrix = np.vstack([challenger.encode(checked.columns) for checked in requests])
    step = challenger.compiled_max_rows or len(matrix)
    return np.concatenate(
        [challenger.score_matrix(matrix[i : i + step]) for i in range(0, len(matrix), step)]
    )
